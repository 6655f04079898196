"""The dermatology coding checks: one function per rule, each returning findings or nothing.

Every check reads the denied line, the other lines of the same date, the CARC/RARC codes and
the documentation facts; the code facts come from `data/rules/` through `tables`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from appeals.rules import tables
from appeals.rules.facts import ClaimFacts, Finding, LineFacts

DISTINCT_MODIFIERS = frozenset({"59", "XE", "XS", "XP", "XU"})
LATERALITY_MODIFIERS = frozenset({"RT", "LT"})
BENIGN_REMOVAL_FAMILIES = frozenset(
    {"destruction_benign", "shave", "excision_benign", "skin_tag", "skin_tag_addon"}
)
EXCISION_FAMILIES = frozenset({"excision_benign", "excision_malignant"})
MOHS_FAMILIES = frozenset({"mohs", "mohs_addon"})
REPAIR_FAMILIES = frozenset({"repair_intermediate", "repair_complex"})
MOHS_REQUIRED = ("tumor_type", "site", "lesion_size_cm", "recurrent", "immunosuppressed")
X_OR_59 = "XS (or 59 where the payer does not accept X-modifiers)"


@dataclass
class Context:
    """What every check sees: the claim, the denied line and its codes, the other lines that day."""

    claim: ClaimFacts
    index: int
    docs: dict[str, str]
    line: LineFacts = field(init=False)
    groups: dict[str, str] = field(init=False)  # CARC -> group code
    rarcs: frozenset[str] = field(init=False)
    same_day: list[tuple[int, LineFacts]] = field(init=False)

    def __post_init__(self) -> None:
        self.line = self.claim.lines[self.index]
        self.groups = {}
        for group, carc, _amount in (*self.claim.adjustments, *self.line.adjustments):
            self.groups.setdefault(carc.upper(), group.upper())
        self.rarcs = frozenset(code.upper() for code in (*self.claim.rarcs, *self.line.rarcs))
        day = self.line.service_date
        self.same_day = [
            (i, other)
            for i, other in enumerate(self.claim.lines)
            if i != self.index and (day is None or other.service_date in (None, day))
        ]

    @property
    def code(self) -> str:
        return self.line.procedure

    @property
    def modifiers(self) -> frozenset[str]:
        return frozenset(m.upper() for m in self.line.modifiers)

    def has_carc(self, role: str) -> bool:
        return bool(tables.carcs(role) & self.groups.keys())

    def carcs_in(self, role: str) -> list[str]:
        return sorted(tables.carcs(role) & self.groups.keys())

    def has_rarc(self, role: str) -> bool:
        return bool(tables.rarcs(role) & self.rarcs)

    def denial_codes(self) -> str:
        codes = [f"{group}-{carc}" for carc, group in self.groups.items()]
        return " ".join(sorted(codes) + sorted(self.rarcs))

    def label(self, index: int | None = None) -> str:
        i = self.index if index is None else index
        line = self.claim.lines[i]
        return f"line {line.number or i + 1} ({line.procedure})"


Check = Callable[[Context], list[Finding]]


def yes_no(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    if text in ("yes", "y", "true", "1"):
        return True
    if text in ("no", "n", "false", "0"):
        return False
    return None


def as_decimal(value: str | None) -> Decimal | None:
    try:
        number = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _cite(ctx: Context, *names: str) -> dict[str, str]:
    cite = {"procedure": ctx.line.billed_procedure, "denial_codes": ctx.denial_codes()}
    if ctx.line.modifiers:
        cite["modifiers"] = " ".join(ctx.line.modifiers)
    for name in names:
        if ctx.docs.get(name, "").strip():
            cite[name] = ctx.docs[name].strip()
    return cite


# --- routing: authorization, eligibility, unprocessable, missing information ---------------


def check_authorization(ctx: Context) -> list[Finding]:
    if not ctx.has_carc("authorization"):
        return []
    number = ctx.docs.get("authorization_number", "").strip()
    cite = _cite(ctx, "authorization_number")
    if not number:
        return [
            Finding(
                "authorization",
                "Denied for missing authorization. Ask the payer for a retro-authorization "
                "before anything else; a medical-necessity letter does not fix this.",
                "retro_authorization",
                suggested_change="request retro-authorization, then resubmit with the number",
                cite=cite,
                missing=["authorization_number"],
                badge="retro-auth",
            )
        ]
    if "15" in ctx.groups:
        return [
            Finding(
                "authorization",
                f"The payer says the authorization number is missing or invalid, but "
                f"{number} is on file: send a corrected claim carrying it.",
                "corrected_claim",
                suggested_change=f"put authorization {number} on the claim",
                cite=cite,
                badge="add auth no.",
            )
        ]
    return [
        Finding(
            "authorization",
            f"Denied for no authorization although authorization {number} is on file: "
            "appeal with the authorization attached.",
            "appeal",
            letter="prior_authorization",
            suggested_change=f"appeal citing authorization {number}",
            cite=cite,
            badge="auth on file",
        )
    ]


ELIGIBILITY_MESSAGES = {
    "26": "The payer says the service was before coverage began.",
    "27": "The payer says coverage had ended before the date of service.",
    "31": "The payer could not identify the patient as its member.",
    "32": "The payer says the patient is not an eligible dependent.",
    "33": "The payer says the insured has no dependent coverage.",
    "109": "The payer says another payer or contractor is responsible for this claim.",
    "177": "The payer says the patient has not met its eligibility requirements.",
}


def check_eligibility(ctx: Context) -> list[Finding]:
    codes = ctx.carcs_in("eligibility")
    if not codes:
        return []
    return [
        Finding(
            "eligibility",
            " ".join(ELIGIBILITY_MESSAGES[c] for c in codes)
            + " Re-verify eligibility (member ID, coverage dates, other insurance) and send "
            "the claim to the responsible payer; this is not a medical-necessity appeal.",
            "verify_eligibility",
            suggested_change="re-verify coverage; correct the member ID or bill the right payer",
            cite=_cite(ctx),
            badge="verify eligibility",
        )
    ]


def check_unprocessable(ctx: Context) -> list[Finding]:
    if not (ctx.claim.is_medicare_ffs and ctx.has_rarc("unprocessable")):
        return []
    fixes = sorted({fix for r in ctx.rarcs if (fix := tables.rarc_fix(r))})
    what = f" (fix the {', '.join(fixes)})" if fixes else ""
    return [
        Finding(
            "medicare-unprocessable",
            "Medicare returned this claim as unprocessable (MA130): it has no appeal rights. "
            f"Correct what the remark codes name{what} and send a new claim.",
            "resubmit",
            suggested_change="fix the claim and submit it as a new claim",
            cite=_cite(ctx),
            badge="new claim (MA130)",
        )
    ]


def check_missing_info(ctx: Context) -> list[Finding]:
    if not ctx.has_carc("missing_info"):
        return []
    if ctx.claim.is_medicare_ffs and ctx.has_rarc("unprocessable"):
        return []  # check_unprocessable says it
    fixes = sorted({fix for r in ctx.rarcs if (fix := tables.rarc_fix(r))})
    if fixes:
        change = f"correct the {', '.join(fixes)} and resubmit"
    else:
        change = "supply what the remark codes ask for and resubmit"
    return [
        Finding(
            "missing-info",
            "Denied for missing or invalid information. Fix what the remark codes name and "
            "resubmit; an appeal is not needed.",
            "resubmit",
            suggested_change=change,
            cite=_cite(ctx),
            badge="fix & resubmit",
        )
    ]


# --- E/M with a minor procedure: modifier 25 -----------------------------------------------


def check_em_modifier_25(ctx: Context) -> list[Finding]:
    if tables.family(ctx.code) != "em":
        return []
    if not (ctx.has_carc("em_bundling") or ctx.has_rarc("bundling")):
        return []
    minor = [
        (i, other)
        for i, other in ctx.same_day
        if (info := tables.procedure(other.procedure)) and info.is_minor and info.family != "em"
    ]
    if not minor:
        return []
    proc_index, proc = minor[0]
    cite = _cite(ctx, "em_reason", "diagnosis")
    cite["same_day_procedure"] = proc.procedure
    separate = yes_no(ctx.docs.get("separate_em"))
    reason = ctx.docs.get("em_reason", "").strip()
    supported = separate is True or (separate is None and bool(reason))
    unknown = separate is None and not reason
    missing = ["separate_em", "em_reason"] if unknown else []
    em = ctx.label()
    misplaced = "25" in {m.upper() for m in proc.modifiers} and "25" not in ctx.modifiers
    if separate is False:
        return [
            Finding(
                "em-modifier-25",
                f"The E/M on {em} was billed with the minor procedure {proc.procedure}, and the "
                "note does not show a significant, separately identifiable E/M: it is included "
                "in the procedure's payment.",
                "write_off",
                cite=cite,
                badge="E/M included",
            )
        ]
    if "25" not in ctx.modifiers:
        where = (
            f"move modifier 25 from {ctx.label(proc_index)} to {em}"
            if misplaced
            else f"add modifier 25 to {em}"
        )
        message = (
            f"The E/M on {em} was billed on the same date as the minor procedure "
            f"{proc.procedure} without modifier 25"
            + (" (25 was put on the procedure instead)" if misplaced else "")
            + ". "
            + (
                "The note documents separate E/M work, so correct the claim."
                if supported
                else "Add 25 only if the note shows significant, separately identifiable "
                "E/M work beyond the decision to do the procedure."
            )
        )
        return [
            Finding(
                "em-modifier-25",
                message,
                "corrected_claim",
                suggested_change=where,
                cite=cite,
                missing=missing,
                badge="E/M needs 25",
            )
        ]
    return [
        Finding(
            "em-modifier-25",
            f"The E/M on {em} carried modifier 25 and was still bundled into {proc.procedure}. "
            + (
                "The note supports a separately identifiable E/M: appeal with it."
                if supported
                else "Appeal only if the note documents E/M work beyond the procedure decision."
            ),
            "appeal",
            letter="modifier_correction",
            suggested_change=f"appeal {em} with the E/M documentation",
            cite=cite,
            missing=missing,
            badge="E/M-25 appeal",
        )
    ]


# --- NCCI pairs on the same date -----------------------------------------------------------


def _where(docs: dict[str, str]) -> tuple[str, str, str]:
    return (
        tables.normalise_site(docs.get("site", "")),
        docs.get("laterality", "").strip().lower(),
        docs.get("lesion_id", "").strip().lower(),
    )


def distinct(a: dict[str, str], b: dict[str, str]) -> bool | None:
    """True: documented separate sites or lesions; False: the same one; None: not documented."""
    site_a, side_a, lesion_a = _where(a)
    site_b, side_b, lesion_b = _where(b)
    if lesion_a and lesion_b and lesion_a != lesion_b:
        return True
    if not (site_a and site_b):
        return None
    return site_a != site_b or bool(side_a and side_b and side_a != side_b)


def _describe(docs: dict[str, str]) -> str:
    site, side, lesion = _where(docs)
    parts = [p for p in (side, site.replace("_", " ")) if p]
    text = " ".join(parts) or "site not documented"
    return f"{text} (lesion {lesion})" if lesion else text


def check_ncci_pair(ctx: Context) -> list[Finding]:
    if tables.family(ctx.code) == "em":
        return []
    if not (ctx.has_carc("bundling") or ctx.has_rarc("bundling")):
        return []
    match = next(
        (
            (i, other, pair)
            for i, other in ctx.same_day
            if (pair := tables.pair_for(ctx.code, other.procedure))
        ),
        None,
    )
    if match is None:
        return []
    other_index, other, pair = match
    cite = _cite(ctx, "site", "laterality", "lesion_id", "repair_length_cm")
    cite["bundled_with"] = other.procedure
    cite["site_of_denied_line"] = _describe(ctx.docs)
    cite["site_of_other_line"] = _describe(other.docs)
    here, there = ctx.label(), ctx.label(other_index)
    if pair.kind == "repair_after_excision" and tables.family(ctx.code) in REPAIR_FAMILIES:
        return [
            Finding(
                "repair-after-excision",
                f"The {tables.family(ctx.code).replace('_', ' ')} on {here} was bundled into the "
                f"excision on {there}. Excision codes include simple closure only; intermediate "
                "and complex repairs are reported in addition. Appeal.",
                "appeal",
                letter="bundling",
                suggested_change=f"appeal {here} citing CPT repair guidelines",
                cite=cite,
                missing=[] if ctx.docs.get("repair_length_cm") else ["repair_length_cm"],
                badge="repair is separate",
            )
        ]
    if pair.modifier_indicator == "0":
        return [
            Finding(
                "ncci-pair",
                f"{here} and {there} are a pair that no modifier can separate ({pair.note}).",
                "write_off",
                cite=cite,
                badge="NCCI: no override",
            )
        ]
    separate = distinct(ctx.docs, other.docs)
    billed = (ctx.modifiers | {m.upper() for m in other.modifiers}) & (
        DISTINCT_MODIFIERS | LATERALITY_MODIFIERS
    )
    if separate is False:
        return [
            Finding(
                "ncci-pair",
                f"{here} and {there} were done on the same lesion ({_describe(ctx.docs)}): "
                f"{pair.note}. The bundling is correct.",
                "write_off",
                cite=cite,
                badge="same lesion",
            )
        ]
    missing = [] if separate else ["site", "lesion_id"]
    if billed:
        return [
            Finding(
                "ncci-pair",
                f"{here} was bundled into {there} although modifier {' '.join(sorted(billed))} "
                "marked a separate lesion. "
                + (
                    f"The note places them apart ({cite['site_of_denied_line']} vs "
                    f"{cite['site_of_other_line']}): appeal."
                    if separate
                    else "Document the site of each lesion before appealing."
                ),
                "appeal",
                letter="bundling",
                suggested_change=f"appeal {here} with the site of each lesion",
                cite=cite,
                missing=missing,
                badge="distinct lesion appeal",
            )
        ]
    return [
        Finding(
            "ncci-pair",
            f"{here} and {there} bundle on the same date ({pair.note}). "
            + (
                f"The note shows separate sites ({cite['site_of_denied_line']} vs "
                f"{cite['site_of_other_line']}), so mark the line as distinct."
                if separate
                else "If they were separate lesions, mark the line as distinct; document the "
                "site of each first."
            ),
            "corrected_claim",
            suggested_change=f"add modifier {X_OR_59} to {here}",
            cite=cite,
            missing=missing,
            badge="add XS/59",
        )
    ]


# --- add-ons and units ---------------------------------------------------------------------


def check_addon_primary(ctx: Context) -> list[Finding]:
    primaries = tables.addon_primaries().get(ctx.code)
    if not primaries:
        return []
    if any(other.procedure in primaries for _, other in ctx.same_day):
        return []
    return [
        Finding(
            "addon-without-primary",
            f"Add-on code {ctx.code} on {ctx.label()} is payable only with its primary "
            f"({' or '.join(primaries)}) on the same date, and none is on this claim. Bill the "
            "first lesion or stage with the primary code (unless the primary was paid on "
            "another claim for this date; then appeal with that claim).",
            "corrected_claim",
            suggested_change=f"add primary {primaries[0]} for the first lesion, keep {ctx.code} "
            "for the additional ones",
            cite=_cite(ctx, "lesion_count"),
            badge="add-on w/o primary",
        )
    ]


def _units(value: Decimal) -> str:
    return f"{value.normalize():f}"


def check_destruction_counts(ctx: Context) -> list[Finding]:
    if ctx.code not in ("17000", "17003", "17004"):
        return []
    codes = {other.procedure: other for _, other in ctx.same_day}
    codes[ctx.code] = ctx.line
    count = as_decimal(ctx.docs.get("lesion_count"))
    cite = _cite(ctx, "lesion_count")
    if "17004" in codes and ("17000" in codes or "17003" in codes):
        if count is not None and count >= 15:
            change = "report 17004 alone (1 unit) and remove 17000/17003"
        elif count is not None:
            change = f"report 17000 x1 and 17003 x{_units(count - 1)}, and remove 17004"
        else:
            change = "report 17004 alone for 15 or more lesions, else 17000 + 17003"
        return [
            Finding(
                "destruction-17004-alone",
                "17004 (15 or more premalignant lesions) is reported alone, never with 17000 or "
                "17003 on the same date.",
                "corrected_claim",
                suggested_change=change,
                cite=cite,
                missing=[] if count is not None else ["lesion_count"],
                badge="17004 alone",
            )
        ]
    if count is None:
        return []
    if count >= 15 and "17004" not in codes:
        return [
            Finding(
                "destruction-count",
                f"The note counts {_units(count)} premalignant lesions: 15 or more are reported "
                "with 17004 alone, not 17000 + 17003.",
                "corrected_claim",
                suggested_change="replace 17000/17003 with 17004 x1",
                cite=cite,
                badge="use 17004",
            )
        ]
    line_17003 = codes.get("17003")
    billed = line_17003.units if line_17003 else Decimal(0)
    if "17000" in codes and count <= 14 and billed != count - 1:
        return [
            Finding(
                "destruction-count",
                f"The note counts {_units(count)} lesions, so 17003 should carry "
                f"{_units(count - 1)} unit(s), not {_units(billed)}.",
                "corrected_claim",
                suggested_change=f"bill 17003 x{_units(count - 1)}",
                cite=cite,
                badge="17003 units",
            )
        ]
    return []


def check_units(ctx: Context) -> list[Finding]:
    info = tables.procedure(ctx.code)
    if info is None or info.max_units is None or ctx.line.units <= info.max_units:
        return []
    return [
        Finding(
            "units-above-maximum",
            f"{ctx.label()} carries {_units(ctx.line.units)} units; {ctx.code} is reported at "
            f"most {_units(info.max_units)} per date. Correct the units (or use the add-on code "
            "for additional lesions).",
            "corrected_claim",
            suggested_change=f"bill {ctx.code} x{_units(info.max_units)}",
            cite=_cite(ctx, "lesion_count"),
            badge="units too high",
        )
    ]


# --- excision and shave: size, site group, benign vs malignant -----------------------------


def _excised_diameter(ctx: Context, fam: str) -> tuple[Decimal | None, list[str]]:
    size = as_decimal(ctx.docs.get("lesion_size_cm"))
    if fam == "shave":
        return size, [] if size is not None else ["lesion_size_cm"]
    diameter = as_decimal(ctx.docs.get("excised_diameter_cm"))
    if diameter is not None:
        return diameter, []
    margin = as_decimal(ctx.docs.get("margin_cm"))
    if size is not None and margin is not None:
        return size + 2 * margin, []
    return None, [n for n, v in (("lesion_size_cm", size), ("margin_cm", margin)) if v is None]


def expected_code(fam: str, group: str, size: Decimal) -> str | None:
    """The excision or shave code for a family, site group and excised diameter."""
    for info in tables.procedures().values():
        if info.family == fam and info.site_group == group and info.fits(size):
            return info.code
    return None


def check_excision_code(ctx: Context) -> list[Finding]:
    billed = ctx.line.billed_procedure
    fam = tables.family(billed)
    if fam not in EXCISION_FAMILIES and fam != "shave":
        return []
    pathology = tables.pathology_kind(ctx.docs.get("pathology", ""))
    if fam in EXCISION_FAMILIES and pathology:
        fam = f"excision_{pathology}"
    place = tables.site(ctx.docs.get("site", ""))
    diameter, missing = _excised_diameter(ctx, fam)
    if place is None:
        missing.append("site")
    downcoded = bool(ctx.line.original_procedure) and ctx.line.procedure != billed
    cite = _cite(ctx, "lesion_size_cm", "margin_cm", "excised_diameter_cm", "site", "pathology")
    if downcoded:
        cite["paid_as"] = ctx.line.procedure
    if diameter is None or place is None:
        if not downcoded:
            return []
        return [
            Finding(
                "excision-downcode",
                f"The payer changed {billed} to {ctx.line.procedure}. Appeal if the note "
                "documents the size and site that support the billed code.",
                "appeal",
                letter="modifier_correction",
                suggested_change=f"appeal for {billed} with the measured size",
                cite=cite,
                missing=missing,
                badge="downcode",
            )
        ]
    expected = expected_code(fam, place.excision_group, diameter)
    cite["documented_diameter_cm"] = _units(diameter)
    cite["site_group"] = place.excision_group.replace("_", ", ")
    if expected is None:
        return []
    cite["documented_code"] = expected
    basis = (
        f"{_units(diameter)} cm {'excised diameter' if fam != 'shave' else 'lesion'}, "
        f"{place.name.replace('_', ' ')}" + (f", {pathology}" if pathology else "")
    )
    if downcoded:
        if expected == billed:
            return [
                Finding(
                    "excision-downcode",
                    f"The payer changed {billed} to {ctx.line.procedure}, but the note "
                    f"({basis}) supports {billed}: appeal.",
                    "appeal",
                    letter="modifier_correction",
                    suggested_change=f"appeal for {billed} citing the documented size",
                    cite=cite,
                    badge=f"downcode: {billed} supported",
                )
            ]
        if expected == ctx.line.procedure:
            return [
                Finding(
                    "excision-downcode",
                    f"The payer changed {billed} to {ctx.line.procedure}, and the note ({basis}) "
                    f"supports {ctx.line.procedure}: accept the change.",
                    "write_off",
                    cite=cite,
                    badge="downcode correct",
                )
            ]
    if expected == billed:
        return []
    return [
        Finding(
            "excision-code",
            f"Billed as {billed}, but the note ({basis}) codes as {expected}.",
            "corrected_claim",
            suggested_change=f"change {ctx.label()} to {expected}",
            cite=cite,
            badge=f"code → {expected}",
        )
    ]


# --- cosmetic vs medical -------------------------------------------------------------------


def _medical_reasons(docs: dict[str, str]) -> list[str]:
    reasons = tables.indications_in(
        " ".join(docs.get(k, "") for k in ("symptoms", "functional_impairment"))
    )
    if docs.get("functional_impairment", "").strip() and "functional impairment" not in reasons:
        reasons.append("functional impairment")
    if yes_no(docs.get("suspicion_of_malignancy")) and "suspicion of malignancy" not in reasons:
        reasons.append("suspicion of malignancy")
    if yes_no(docs.get("growth_or_change")) and "recent growth or change" not in reasons:
        reasons.append("recent growth or change")
    for code in docs.get("diagnosis", "").replace(",", " ").split():
        found = tables.diagnosis(code)
        if found and found.supports_medical_removal:
            reasons.append(f"diagnosis {code.upper()} ({found.meaning})")
    return reasons


def _policy_hint(claim: ClaimFacts) -> str:
    if claim.payer_type in ("medicare", "medicare_advantage") or claim.is_medicare_ffs:
        return "the MAC's benign skin lesion LCD (e.g. L34200, L35498)"
    return "the payer's benign skin lesion removal policy (e.g. Aetna CPB 0633)"


def check_cosmetic(ctx: Context) -> list[Finding]:
    if tables.family(ctx.code) not in BENIGN_REMOVAL_FAMILIES:
        return []
    coverage = ctx.has_carc("noncovered") or ctx.has_rarc("coverage_policy")
    if not (coverage or ctx.has_carc("medical_necessity")):
        return []
    reasons = _medical_reasons(ctx.docs)
    cite = _cite(ctx, "diagnosis", "symptoms", "functional_impairment", "site")
    cite["policy"] = _policy_hint(ctx.claim)
    dx = ctx.docs.get("diagnosis", "").upper()
    if reasons:
        cite["medical_reasons"] = "; ".join(reasons)
        change = "appeal with the documented symptoms and photos"
        if "L82.1" in dx and "inflammation" in reasons:
            change += "; the note describes an inflamed SK, which is coded L82.0, not L82.1"
        return [
            Finding(
                "cosmetic-vs-medical",
                f"Benign lesion removal on {ctx.label()} was denied as cosmetic or not "
                f"medically necessary, but the note documents {', '.join(reasons)}: appeal "
                f"under {cite['policy']}.",
                "appeal",
                letter="cosmetic_vs_medical",
                suggested_change=change,
                cite=cite,
                badge="symptomatic: appeal",
            )
        ]
    waiver = yes_no(ctx.docs.get("abn_on_file"))
    if "GA" in ctx.modifiers or "GY" in ctx.modifiers or waiver:
        why = "an ABN/waiver is on file" if waiver or "GA" in ctx.modifiers else "GY applies"
        return [
            Finding(
                "cosmetic-vs-medical",
                f"No symptom or other medical reason is documented for {ctx.label()} and {why}: "
                "the patient is liable.",
                "bill_patient",
                suggested_change="bill the patient under the signed ABN/waiver",
                cite=cite,
                badge="bill patient (ABN)",
            )
        ]
    note = " L82.1 (SK without inflammation) reads as cosmetic." if "L82.1" in dx else ""
    return [
        Finding(
            "cosmetic-vs-medical",
            f"No symptom, functional problem or suspicion of malignancy is documented for "
            f"{ctx.label()}, and no ABN/waiver is on file"
            + (" (GZ)" if "GZ" in ctx.modifiers else "")
            + f": the practice is liable.{note} Write off unless the note shows a medical reason.",
            "write_off",
            cite=cite,
            missing=["symptoms", "abn_on_file"] if waiver is None else ["symptoms"],
            badge="cosmetic: write off",
        )
    ]


def check_patient_responsibility(ctx: Context) -> list[Finding]:
    """PR-group non-covered lines (benign lesion removals have their own check)."""
    if tables.family(ctx.code) in BENIGN_REMOVAL_FAMILIES:
        return []
    codes = [
        c
        for c in (*ctx.carcs_in("noncovered"), *ctx.carcs_in("medical_necessity"))
        if ctx.groups[c] == "PR"
    ]
    if not codes:
        return []
    waiver = yes_no(ctx.docs.get("abn_on_file"))
    signed = waiver or bool({"GA", "GY"} & ctx.modifiers)
    return [
        Finding(
            "patient-responsibility",
            f"The payer made {ctx.label()} the patient's responsibility (PR-{codes[0]})"
            + (
                " and an ABN/waiver is on file: bill the patient."
                if signed
                else ". Bill the patient only if a signed ABN or waiver is on file."
            ),
            "bill_patient",
            suggested_change="bill the patient",
            cite=_cite(ctx, "abn_on_file"),
            missing=[] if signed else ["abn_on_file"],
            badge="bill patient",
        )
    ]


# --- Mohs ----------------------------------------------------------------------------------


def check_mohs(ctx: Context) -> list[Finding]:
    if tables.family(ctx.code) not in MOHS_FAMILIES:
        return []
    findings: list[Finding] = []
    place = tables.site(ctx.docs.get("site", ""))
    code_group = (tables.procedure(ctx.code) or tables.Procedure("", "", "")).site_group
    if place and code_group and place.mohs_group != code_group:
        right = {"17311": "17313", "17313": "17311", "17312": "17314", "17314": "17312"}
        if ctx.code in right:
            findings.append(
                Finding(
                    "mohs-site-code",
                    f"{ctx.label()} is a {code_group.replace('_', ', ')} Mohs code, but the "
                    f"documented site is {place.name.replace('_', ' ')}.",
                    "corrected_claim",
                    suggested_change=f"change {ctx.code} to {right[ctx.code]}",
                    cite=_cite(ctx, "site"),
                    badge=f"Mohs → {right[ctx.code]}",
                )
            )
    if yes_no(ctx.docs.get("mohs_surgeon_is_pathologist")) is False:
        findings.append(
            Finding(
                "mohs-surgeon-pathologist",
                "Mohs codes require one physician acting as both surgeon and pathologist; the "
                "note says otherwise, so the Mohs codes cannot be supported.",
                "write_off",
                cite=_cite(ctx, "mohs_surgeon_is_pathologist"),
                badge="Mohs: not one physician",
            )
        )
        return findings
    if not (
        ctx.has_carc("medical_necessity")
        or ctx.has_carc("noncovered")
        or ctx.has_rarc("coverage_policy")
    ):
        return findings
    missing = [name for name in MOHS_REQUIRED if not ctx.docs.get(name, "").strip()]
    if place is None and "site" not in missing:
        missing.append("site")
    cite = _cite(ctx, *MOHS_REQUIRED, "mohs_stages", "mohs_blocks", "diagnosis")
    if place:
        cite["auc_area"] = place.auc_area
    facts = []
    if place:
        facts.append(f"area {place.auc_area} ({place.name.replace('_', ' ')})")
    if ctx.docs.get("tumor_type", "").strip():
        facts.append(ctx.docs["tumor_type"].strip())
    if yes_no(ctx.docs.get("recurrent")):
        facts.append("recurrent")
    if yes_no(ctx.docs.get("immunosuppressed")):
        facts.append("immunosuppressed patient")
    findings.append(
        Finding(
            "mohs-appropriate-use",
            "Mohs surgery was denied as not medically necessary. "
            + (
                f"The note has the appropriate-use facts ({', '.join(facts)}): appeal citing "
                "the Mohs AUC and the LCD."
                if not missing
                else "Document the appropriate-use facts before appealing: "
                + ", ".join(m.replace("_", " ") for m in missing)
                + "."
            ),
            "appeal",
            letter="medical_necessity",
            suggested_change="appeal with tumour type, AUC area, size, recurrence, immune status",
            cite=cite,
            missing=missing,
            badge="Mohs AUC" if not missing else "Mohs: facts missing",
        )
    )
    return findings


# --- laterality, repeats, global periods ---------------------------------------------------


def check_laterality(ctx: Context) -> list[Finding]:
    if ctx.modifiers >= LATERALITY_MODIFIERS:
        return [
            Finding(
                "laterality",
                f"{ctx.label()} carries both RT and LT: report each side on its own line.",
                "corrected_claim",
                suggested_change=f"split {ctx.label()} into an RT line and an LT line",
                cite=_cite(ctx),
                badge="RT+LT on one line",
            )
        ]
    side = ctx.docs.get("laterality", "").strip().lower()
    tags = {"left": "LT", "right": "RT"}
    twins = [
        (i, other)
        for i, other in ctx.same_day
        if other.procedure == ctx.code
        and not ({m.upper() for m in other.modifiers} | ctx.modifiers)
        & (DISTINCT_MODIFIERS | LATERALITY_MODIFIERS | {"76", "77"})
    ]
    repeat_denial = (
        ctx.has_carc("duplicate") or ctx.has_carc("bundling") or ctx.has_carc("modifier")
    )
    if twins and repeat_denial:
        other_index, other = twins[0]
        separate = distinct(ctx.docs, other.docs)
        cite = _cite(ctx, "site", "laterality", "lesion_id")
        cite["site_of_other_line"] = _describe(other.docs)
        if separate is False:
            return [
                Finding(
                    "repeat-line",
                    f"{ctx.label()} repeats {ctx.label(other_index)} for the same documented "
                    "site: it is a duplicate line.",
                    "write_off",
                    cite=cite,
                    badge="duplicate line",
                )
            ]
        other_side = other.docs.get("laterality", "").strip().lower()
        if side in tags and other_side in tags and side != other_side:
            change = f"add {tags[side]} to {ctx.label()} and {tags[other_side]} to the other line"
        else:
            change = f"add {X_OR_59} (or RT/LT for opposite sides) to {ctx.label()}"
        return [
            Finding(
                "repeat-line",
                f"{ctx.label()} and {ctx.label(other_index)} bill the same code on the same date "
                "without a modifier telling them apart, so the second looks like a duplicate.",
                "corrected_claim",
                suggested_change=change,
                cite=cite,
                missing=[] if separate else ["site", "laterality"],
                badge="same code twice",
            )
        ]
    if side in tags and not ctx.modifiers & LATERALITY_MODIFIERS and ctx.has_carc("modifier"):
        return [
            Finding(
                "laterality",
                f"Denied for a missing or wrong modifier; the note puts {ctx.label()} on the "
                f"{side}, and the line has no {tags[side]}.",
                "corrected_claim",
                suggested_change=f"add modifier {tags[side]} to {ctx.label()}",
                cite=_cite(ctx, "laterality", "site"),
                badge=f"add {tags[side]}",
            )
        ]
    return []


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def check_global_period(ctx: Context) -> list[Finding]:
    if not (ctx.has_carc("global") or ctx.has_rarc("bundling") or ctx.has_rarc("repeat")):
        return []
    prior_date = _date(ctx.docs.get("prior_procedure_date"))
    prior = tables.procedure(ctx.docs.get("prior_procedure_code", "").strip())
    day = ctx.line.service_date
    if prior_date is None or prior is None or day is None:
        return []
    days = prior.global_period_days
    if days is None or not (prior_date < day <= prior_date + timedelta(days=days)):
        return []
    relation = ctx.docs.get("relationship_to_prior", "").strip().lower()
    same_doctor = yes_no(ctx.docs.get("same_physician_as_prior"))
    is_em = tables.family(ctx.code) == "em"
    wanted = {
        "staged": "58",
        "unrelated": "24" if is_em else "79",
        "repeat": "77" if same_doctor is False else "76",
    }.get(relation)
    cite = _cite(ctx, "prior_procedure_date", "prior_procedure_code", "relationship_to_prior")
    cite["global_days"] = str(days)
    within = (
        f"{ctx.label()} falls in the {days}-day global period of {prior.code} on "
        f"{prior_date.isoformat()}"
    )
    if relation == "complication":
        return [
            Finding(
                "global-period",
                f"{within}; treating a complication in the office is included in the global "
                "payment.",
                "write_off",
                cite=cite,
                badge="in global",
            )
        ]
    if wanted is None:
        return [
            Finding(
                "global-period",
                f"{within}. Say whether it was staged (58), unrelated (79, or 24 for an E/M) or "
                "a repeat (76/77) to choose the modifier.",
                "corrected_claim",
                suggested_change="add 58, 79/24 or 76/77 once the relationship is documented",
                cite=cite,
                missing=["relationship_to_prior"],
                badge="global period",
            )
        ]
    if wanted in ctx.modifiers:
        return [
            Finding(
                "global-period",
                f"{within}; modifier {wanted} was billed and the note says the service was "
                f"{relation}: appeal.",
                "appeal",
                letter="modifier_correction",
                suggested_change=f"appeal {ctx.label()} with the {relation} documentation",
                cite=cite,
                badge=f"{wanted} appeal",
            )
        ]
    return [
        Finding(
            "global-period",
            f"{within}; the note says it was {relation}, so it needs modifier {wanted}.",
            "corrected_claim",
            suggested_change=f"add modifier {wanted} to {ctx.label()}",
            cite=cite,
            badge=f"add {wanted}",
        )
    ]


# --- entry point ---------------------------------------------------------------------------

ROUTING: tuple[Check, ...] = (
    check_unprocessable,
    check_authorization,
    check_eligibility,
    check_missing_info,
)
CODING: tuple[Check, ...] = (
    check_em_modifier_25,
    check_ncci_pair,
    check_addon_primary,
    check_destruction_counts,
    check_units,
    check_excision_code,
    check_cosmetic,
    check_patient_responsibility,
    check_mohs,
    check_laterality,
    check_global_period,
)
FIXES = frozenset({"corrected_claim", "reopening", "appeal"})


def check_line(
    claim: ClaimFacts, line_index: int, docs: dict[str, str] | None = None
) -> list[Finding]:
    """Every finding for the denied line `claim.lines[line_index]`.

    `docs` are the line's documentation facts (claim-date facts merged with the procedure's);
    they default to `claim.lines[line_index].docs`.
    """
    line = claim.lines[line_index]
    ctx = Context(claim, line_index, dict(line.docs if docs is None else docs))
    routed = [finding for check in ROUTING for finding in check(ctx)]
    if any(f.rule_id in ("authorization", "eligibility") for f in routed):
        return routed  # route first: coding is moot until coverage or authorization is settled
    coding = [finding for check in CODING for finding in check(ctx)]
    unprocessable = any(f.rule_id == "medicare-unprocessable" for f in routed)
    for finding in coding:
        if unprocessable and finding.action in FIXES:
            finding.action, finding.letter = "resubmit", None
            finding.message += " Make this change on the new claim (MA130: no appeal rights)."
        elif claim.is_medicare_ffs and finding.action == "corrected_claim":
            finding.action = "reopening"
            finding.message += (
                " On Medicare, ask for a reopening to correct this clerical error instead of "
                "resubmitting (a resubmitted claim is denied as a duplicate); check whether your "
                "MAC takes modifier 25/59 changes as reopenings or wants a redetermination."
            )
    findings = routed + coding
    for finding in findings:
        finding.message = finding.message[:1].upper() + finding.message[1:]
    return findings
