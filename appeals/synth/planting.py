"""Denials planted into encounters: each kind builds a visit that really has (or only seems to
have) the problem, says which lines the payer denies with which CARC/RARC, and how a corrected
claim would fix it. The documentation facts tell the two apart, which is what the dermatology
checks and the ranker have to learn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from appeals.synth import clinical as c
from appeals.synth.params import DenialKind


@dataclass(slots=True)
class Plan:
    """What the payer does to a claim with a planted problem."""

    kind: DenialKind
    merit: bool
    group: str
    carc: str
    rarcs: list[str]
    lines: list[int] = field(default_factory=list)  # empty = every line
    policy: str = ""
    status: str = "1"
    claim_moa: str = ""
    fixes: dict[int, tuple[str, list[str]]] = field(default_factory=dict)
    late_filing: bool = False
    true_duplicate: bool = False
    abn: bool = False

    @property
    def whole_claim(self) -> bool:
        return not self.lines


@dataclass(slots=True)
class Context:
    rng: random.Random
    payer_kind: str
    new_patient: bool
    x_modifiers: bool


def _em_with(rng: random.Random, ctx: Context, separate: bool) -> list[c.Line]:
    procedure = rng.choice(
        (c.ak_destruction, c.biopsy, c.benign_destruction, c.injection, c.ak_destruction)
    )(rng)
    dx = procedure[0].facts.get("diagnosis", "")
    return [c.separate_em(rng, ctx.new_patient, separate, procedure_dx=dx), *procedure]


def _mod25_missing(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    lines = _em_with(ctx.rng, ctx, separate=merit)
    lines[0].modifiers.remove("25")
    carc = ctx.rng.choices(("97", "4"), (70, 30))[0]
    plan = Plan(kind, merit, "CO", carc, ["M15"], [0], fixes={0: (lines[0].code, ["25"])})
    return c.Encounter("em_procedure", lines), plan


def _mod25_not_separate(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    lines = _em_with(ctx.rng, ctx, separate=merit)
    return c.Encounter("em_procedure", lines), Plan(kind, merit, "CO", "97", ["M15"], [0])


def _distinct_lesion(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rng = ctx.rng
    biopsy = c.biopsy(rng, [rng.choice(c.BODY_SITES)])
    ak = c.Line("17000", facts={"diagnosis": "L57.0", "lesion_count": "1"})
    if merit:
        place = rng.choice(c.HEAD_SITES)
        ak.facts.update(place.facts())
        ak.facts["lesion_id"] = "B"
        ak.facts["clinical_summary"] = "Cryotherapy of a separate actinic keratosis."
        ak.facts["distinct_sites"] = f"biopsy: {biopsy[0].facts['site']}; AK: {place.label}"
    else:
        for key in ("site", "laterality", "lesion_id"):
            if key in biopsy[0].facts:
                ak.facts[key] = biopsy[0].facts[key]
        ak.facts["clinical_summary"] = "Same lesion biopsied and then destroyed at the session."
    modifier = "XS" if ctx.x_modifiers else "59"
    plan = Plan(kind, merit, "CO", "97", ["M80"], [1], fixes={1: ("17000", [modifier])})
    return c.Encounter("biopsy", [*biopsy, ak]), plan


def _repair_bundled(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rng = ctx.rng
    lines = c.excision(rng, rng.random() < 0.6, repair="intermediate")
    if not merit:
        lines[1].facts["clinical_summary"] = "Wound closed with simple sutures in one layer."
    carc = rng.choices(("97", "236"), (70, 30))[0]
    scenario = "malignant_excision" if lines[0].code.startswith("116") else "benign_excision"
    return c.Encounter(scenario, lines), Plan(kind, merit, "CO", carc, ["N20"], [1])


def _global_period(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    lines = c.global_period(ctx.rng, with_79=False)
    if not merit:
        lines[0].facts["relationship_to_prior"] = "complication"
        lines[0].facts["clinical_summary"] = "Wound problem at the excision site treated."
    plan = Plan(kind, merit, "CO", "97", ["M144"], [0], fixes={0: (lines[0].code, ["79"])})
    return c.Encounter("global_period", lines), plan


def _laterality(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rng = ctx.rng
    right, left = rng.choice(c.EXTREMITY_PAIRS)
    first = c.excision(rng, False, right, repair="")
    second = c.excision(rng, False, left, repair="")
    first[0].modifiers.clear()
    second[0].modifiers.clear()
    if not merit:
        second[0].facts["laterality"] = "right"
        second[0].facts["clinical_summary"] = "Second excision at the same site as the first."
    fixes = {0: (first[0].code, ["RT"]), 1: (second[0].code, ["LT"])}
    plan = Plan(kind, merit, "CO", "4", ["N822"], [1], fixes=fixes)
    return c.Encounter("benign_excision", [*first, *second]), plan


def _malignant_code_benign(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rng = ctx.rng
    lines = c.excision(rng, True, repair="")
    facts = lines[0].facts
    fixes = {}
    if not merit:
        site = c.find_site(facts["site"], facts.get("laterality", "")) or c.SITES[0]
        facts["pathology"] = "dysplastic nevus, severe atypia, margins clear"
        facts["diagnosis"] = c.ICD[site.region][3]
        diameter = Decimal(facts["lesion_size_cm"]) + 2 * Decimal(facts["margin_cm"])
        fixes[0] = (c.excision_code(False, site, diameter), [])
    return c.Encounter("malignant_excision", lines), Plan(
        kind, merit, "CO", "11", ["M76"], [0], fixes=fixes
    )


def _cosmetic_lesion(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rng = ctx.rng
    builder = rng.choice((c.benign_destruction, c.shave_removal, c.skin_tags))
    lines = builder(rng, symptomatic=merit)
    if ctx.payer_kind == "medicare":
        abn = not merit and rng.random() < 0.35
        for line in lines:
            line.facts["abn_on_file"] = "yes" if abn else "no"
        if abn:
            lines[0].modifiers.append("GA")
            plan = Plan(kind, merit, "PR", "50", ["N115"], [0], abn=True)
        else:
            plan = Plan(kind, merit, "CO", "50", ["N115"], [0])
    else:
        plan = Plan(kind, merit, "CO", rng.choice(("96", "204")), ["N130"], [0])
    plan.policy = "benign-lesion"
    return c.Encounter("cosmetic_lesion", lines), plan


def _excision_size(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rng = ctx.rng
    malignant = rng.random() < 0.5
    lines = c.excision(rng, malignant, repair="")
    line = lines[0]
    fixes = {}
    if not merit:
        # Billed one size band above what lesion + 2 x margin supports.
        documented = line.code
        last = int(documented[-1])
        if last < 6:
            line.code = documented[:-1] + str(6 if last == 4 else last + 1)
            fixes[0] = (documented, [])
    else:
        line.facts["clinical_summary"] = "Lesion and margins measured before excision."
    scenario = "malignant_excision" if malignant else "benign_excision"
    return c.Encounter(scenario, lines), Plan(kind, merit, "CO", "150", ["N657"], [0], fixes=fixes)


def _mohs_criteria(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    lines = c.mohs(ctx.rng, meets_criteria=merit)
    mohs_lines = [i for i, line in enumerate(lines) if line.code.startswith("173")]
    rarc = "N115" if ctx.payer_kind == "medicare" else "N130"
    plan = Plan(kind, merit, "CO", "50", [rarc], mohs_lines, policy="mohs")
    return c.Encounter("mohs", lines, mohs=True), plan


def _dx_not_covered(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    lines = c.phototherapy(ctx.rng, documented=merit)
    if not merit:
        lines[0].facts["diagnosis"] = ctx.rng.choice(("L81.4", "L90.8", "L80"))
    rarc = "N115" if ctx.payer_kind == "medicare" else "N130"
    return c.Encounter("phototherapy", lines), Plan(
        kind, merit, "CO", "167", [rarc], [0], policy="phototherapy"
    )


def _units_exceeded(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    lines = c.phototherapy(ctx.rng, documented=True)
    lines[0].facts["clinical_summary"] += (
        " Session 41 of the course; flare after taper, response documented."
        if merit
        else " Session 41 of the course; no response assessment recorded."
    )
    return c.Encounter("phototherapy", lines), Plan(kind, merit, "CO", "151", ["N362"], [0])


def _cosmetic_procedure(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    lines = c.cosmetic(ctx.rng)
    if ctx.payer_kind == "medicare":
        lines[0].modifiers.append("GY")
        plan = Plan(kind, False, "PR", "96", ["N425"], [0])
    else:
        plan = Plan(kind, False, "CO", "96", ["N130"], [0])
    return c.Encounter("cosmetic", lines), plan


def _any_visit(ctx: Context) -> c.Encounter:
    rng = ctx.rng
    pick = rng.random()
    if pick < 0.35:
        return c.em_only(rng, ctx.new_patient)
    if pick < 0.6:
        return c.Encounter("em_procedure", _em_with(rng, ctx, separate=True))
    if pick < 0.75:
        return c.Encounter("biopsy", c.biopsy(rng))
    if pick < 0.9:
        return c.Encounter("excision", c.excision(rng, rng.random() < 0.5))
    return c.Encounter("ak_destruction", c.ak_destruction(rng))


def _missing_info(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rng = ctx.rng
    encounter = _any_visit(ctx)
    if ctx.payer_kind == "medicare" and rng.random() < 0.5:
        plan = Plan(kind, merit, "CO", "16", ["MA130", "M76"], [0], claim_moa="MA130")
        encounter.lines[0].facts["additional_notes"] = "Diagnosis pointer missing on the claim."
    elif rng.random() < 0.5:
        plan = Plan(kind, merit, "CO", "16", ["N290"])
        for line in encounter.lines:
            line.facts["additional_notes"] = "Rendering provider NPI omitted on the claim."
    else:
        plan = Plan(kind, merit, "CO", "16", ["M76"], [len(encounter.lines) - 1])
    return encounter, plan


def _cob(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rarc = {"medicare": "MA04", "medicare_advantage": "MA04", "medicaid": "N479"}.get(
        ctx.payer_kind, "N179"
    )
    encounter = _any_visit(ctx)
    note = (
        "Patient confirmed no other coverage; COB questionnaire returned."
        if merit
        else "Patient has employer coverage that is primary."
    )
    for line in encounter.lines:
        line.facts["additional_notes"] = note
    return encounter, Plan(kind, merit, "CO", "22", [rarc])


def _eligibility(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    encounter = _any_visit(ctx)
    note = (
        "Member id keyed with a transposed digit; card on file shows the correct id."
        if merit
        else "Coverage ended before the date of service; patient confirmed."
    )
    for line in encounter.lines:
        line.facts["additional_notes"] = note
    if ctx.rng.random() < 0.35:
        return encounter, Plan(kind, merit, "CO", "31", ["N30"], status="4")
    return encounter, Plan(kind, merit, "CO", "27", ["N30"])


def _wrong_payer(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    encounter = _any_visit(ctx)
    return encounter, Plan(kind, False, "CO", "109", ["N418"])


def _no_auth(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rng = ctx.rng
    pick = rng.random()
    if pick < 0.5:
        encounter = c.Encounter("mohs", c.mohs(rng), mohs=True)
    elif pick < 0.8:
        encounter = c.Encounter("phototherapy", c.phototherapy(rng))
    else:
        encounter = c.Encounter("malignant_excision", c.excision(rng, True))
    number = f"AUTH{rng.randint(100000, 999999)}"
    for line in encounter.lines:
        if merit:
            line.facts["authorization_number"] = number
            line.facts["additional_notes"] = "Obtained before the visit; left off the claim."
        else:
            line.facts["additional_notes"] = "No authorization was requested."
    return encounter, Plan(kind, merit, "CO", "197", ["M62"])


def _duplicate(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    rng = ctx.rng
    if merit:
        lines = c.biopsy(rng, [rng.choice(c.SITES)])
        first = lines[0]
        first.code = "11104"
        repeat = c.Line("11104", facts=dict(first.facts))
        repeat.facts["distinguishing_facts"] = (
            "Repeat punch biopsy of the same site later the same day: first specimen inadequate."
        )
        plan = Plan(kind, merit, "CO", "18", ["M86"], [1], fixes={1: ("11104", ["76"])})
        return c.Encounter("biopsy", [first, repeat]), plan
    encounter = _any_visit(ctx)
    return encounter, Plan(kind, False, "CO", "18", [], true_duplicate=True)


def _timely(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    encounter = _any_visit(ctx)
    note = (
        "Clearinghouse acceptance report shows the claim was filed within the limit."
        if merit
        else "Claim held in the billing queue past the filing limit."
    )
    for line in encounter.lines:
        line.facts["submission_proof" if merit else "delay_reason"] = note
    return encounter, Plan(kind, merit, "CO", "29", [], late_filing=True)


def _not_credentialed(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    encounter = _any_visit(ctx)
    note = (
        "Credentialing approved retroactive to the provider's start date."
        if merit
        else "Provider not yet enrolled with this plan on the date of service."
    )
    for line in encounter.lines:
        line.facts["additional_notes"] = note
    return encounter, Plan(kind, merit, "CO", "B7", ["N570"])


def _benefit_max(ctx: Context, kind: DenialKind, merit: bool) -> tuple[c.Encounter, Plan]:
    lines = c.phototherapy(ctx.rng)
    return c.Encounter("phototherapy", lines), Plan(kind, False, "CO", "119", ["N130"], [0])


PLANTERS = {
    "mod25_missing": _mod25_missing,
    "mod25_not_separate": _mod25_not_separate,
    "distinct_lesion": _distinct_lesion,
    "repair_bundled": _repair_bundled,
    "global_period": _global_period,
    "laterality_missing": _laterality,
    "malignant_code_benign": _malignant_code_benign,
    "cosmetic_lesion": _cosmetic_lesion,
    "excision_size": _excision_size,
    "mohs_criteria": _mohs_criteria,
    "dx_not_covered": _dx_not_covered,
    "units_exceeded": _units_exceeded,
    "cosmetic_procedure": _cosmetic_procedure,
    "missing_info": _missing_info,
    "cob": _cob,
    "eligibility": _eligibility,
    "wrong_payer": _wrong_payer,
    "no_auth": _no_auth,
    "duplicate": _duplicate,
    "timely_filing": _timely,
    "not_credentialed": _not_credentialed,
    "benefit_max": _benefit_max,
}


def plant(ctx: Context, kind: DenialKind) -> tuple[c.Encounter, Plan]:
    """Build an encounter with the denial `kind` planted; merit drawn from the kind's share."""
    merit = ctx.rng.random() < kind.merit
    return PLANTERS[kind.name](ctx, kind, merit)
