"""A letter's context: plain, print-ready values for denied lines of one claim.

Every value a template may use is listed in `CONTEXT_SCHEMA` (docs/letter-context.md). Reason
codes are quoted as the payer states them (the CARC's reason without X12's notes; alert remarks
left out), diagnosis codes carry their ICD-10-CM descriptions, and the facts the coding checks
cite are listed by their labels, without those the template already shows, together with the
rules and criteria those facts meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from appeals import codes, lifecycle
from appeals.deadlines import payer_type_for
from appeals.fields import ICD10, facts_for_date, facts_for_lines, fields
from appeals.formatting import day, money
from appeals.letters.choosing import SECOND_LEVEL_TEMPLATE, choose_template, denial_findings
from appeals.letters.schema import (
    COMMON_REQUIRED,
    DERIVED_FROM,
    MODIFIER_GUIDANCE,
    field_label,
    plain_words,
)
from appeals.letters.templates import LetterError, TemplateInfo, shown_fields, template_info
from appeals.models import (
    Adjustment,
    Claim,
    Denial,
    Payer,
    PayerAppealAddress,
    Practice,
    ServiceLine,
)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Labels of the facts the coding checks cite that are not documentation fields.
CITE_LABELS: dict[str, str] = {
    "bundled_with": "Bundled with",
    "same_day_procedure": "Minor procedure the same day",
    "site_of_denied_line": "Site of the denied service",
    "site_of_other_line": "Site of the other service",
    "paid_as": "Paid as",
    "documented_diameter_cm": "Excised diameter documented (cm)",
    "site_group": "Site group of the excision code",
    "documented_code": "Code the documented size and site support",
    "medical_reasons": "Medical reasons documented",
    "auc_area": "Mohs AUC area",
    "global_days": "Global period of the earlier procedure (days)",
}
# Cited facts a letter never lists: shown elsewhere (line table) or named among the authorities.
_NOT_LISTED = frozenset({"procedure", "denial_codes", "modifiers", "policy"})
# Cited facts that `doc.distinct_sites` states when the template shows it.
_IN_DISTINCT_SITES = frozenset({"bundled_with", "site_of_denied_line", "site_of_other_line"})
# The areas of the AAD/ACMS/ASDSA/ASMS 2012 Mohs appropriate-use criteria (Connolly et al.).
AUC_AREAS: dict[str, str] = {
    "H": "high-risk area: the central face, eyelids, eyebrows, nose, lips, chin, ears, "
    "temples, genitalia, hands, feet, nail units, ankles and nipples",
    "M": "middle-risk area: cheeks, forehead, scalp, neck, jawline and pretibial surface",
    "L": "low-risk area: trunk and extremities, except the pretibial surface, hands, feet, "
    "nail units and ankles",
}

LEVEL_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "medicare": (
        ("Redetermination (first-level appeal)", "a redetermination"),
        ("Reconsideration by the Qualified Independent Contractor", "a reconsideration"),
        ("Hearing before an Administrative Law Judge", "a hearing"),
    ),
    "medicare_advantage": (
        ("Plan reconsideration (first-level appeal)", "reconsideration"),
        ("Independent review (second-level appeal)", "independent review"),
    ),
    "default": (
        ("First-level appeal", "reconsideration"),
        ("Second-level appeal", "a second-level review"),
    ),
}


class MissingFields(LetterError):
    """Required context fields are empty."""

    def __init__(self, template: str, fields: Sequence[str]) -> None:
        self.template = template
        self.fields = list(fields)
        listed = "; ".join(f"{name} ({field_label(name)})" for name in self.fields)
        super().__init__(f"{template}: missing required fields: {listed}")

    @property
    def words(self) -> str:
        """What is missing as a person says it, e.g. "needs modifier that applies"."""
        return f"needs {plain_words(self.fields)}"


# --- small helpers -------------------------------------------------------------------------


def _long_date(value: date) -> str:
    return f"{_MONTHS[value.month - 1]} {value.day}, {value.year}"


def _units(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def _join(parts: Iterable[str], sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def _city_state_zip(city: str, state: str, postal_code: str) -> str:
    return _join([city, _join([state, postal_code], " ")])


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _level(payer_type: str, level: int) -> tuple[str, str]:
    names = LEVEL_NAMES.get(payer_type, LEVEL_NAMES["default"])
    return names[min(level, len(names)) - 1]


def _print_date(text: str) -> str:
    """An ISO date as MM/DD/YYYY; anything else as typed."""
    try:
        return day(date.fromisoformat(text.strip()))
    except ValueError:
        return text


# --- loading -------------------------------------------------------------------------------


def load_denials(session: Session, denial_ids: Sequence[int]) -> list[Denial]:
    """The denials in the order given (each once); LetterError when one does not exist."""
    ids = list(dict.fromkeys(denial_ids))
    if not ids:
        raise LetterError("no denials given")
    rows = {d.id: d for d in session.exec(select(Denial).where(sa.column("id").in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise LetterError(f"no denial with id {', '.join(map(str, missing))}")
    return [rows[i] for i in ids]


def _appeal_address(
    session: Session, payer_id: int, product_lines: Sequence[str]
) -> PayerAppealAddress | None:
    rows = session.exec(
        select(PayerAppealAddress).where(PayerAppealAddress.payer_id == payer_id)
    ).all()
    by_line = {row.product_line: row for row in rows}
    for line in (*product_lines, "all"):
        if line in by_line:
            return by_line[line]
    return rows[0] if rows else None


def line_facts(
    session: Session, claim: Claim, lines: Sequence[ServiceLine | None]
) -> list[dict[str, str]]:
    """Documentation facts per denied line (a claim-level denial gets the date-wide facts)."""
    rows = [line for line in lines if line is not None]
    by_line = facts_for_lines(session, claim, rows) if rows else {}
    date_wide: dict[str, str] | None = None
    result = []
    for line in lines:
        if line is not None:
            result.append(by_line.get(line.id or 0, {}))
            continue
        if date_wide is None:
            facts = (
                facts_for_date(
                    session, claim.practice_id, claim.patient_control_number, claim.service_date
                )
                if claim.service_date
                else []
            )
            date_wide = {f.field: f.value for f in facts if not f.procedure_code}
        result.append(date_wide)
    return result


def merge_facts(per_line: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """One value per field for the letter: the lines' distinct values joined with '; '."""
    values: dict[str, list[str]] = {}
    for facts in per_line:
        for name, value in facts.items():
            if value and value.strip():
                values.setdefault(name, []).append(value.strip())
    return {name: "; ".join(_unique(found)) for name, found in values.items()}


# --- what the letter says ------------------------------------------------------------------


def _location(facts: Mapping[str, str]) -> str:
    site = facts.get("site", "").replace("_", " ").strip()
    side = facts.get("laterality", "").strip()
    return " ".join(p for p in (side, site) if p and p != "midline") if site else ""


def _size(facts: Mapping[str, str]) -> str:
    size, excised = facts.get("lesion_size_cm", ""), facts.get("excised_diameter_cm", "")
    if not excised:
        return f"{size} cm" if size else ""
    excised_text = f"excised diameter {excised} cm"
    return f"{size} cm ({excised_text})" if size else excised_text


def diagnosis_text(codes_text: str) -> str:
    """'L82.0 (inflamed seborrheic keratosis); Z94.0 (kidney transplant status)': each code
    with its ICD-10-CM description where the code list has it."""
    parts = []
    for code in _unique(re.split(r"[\s,;]+", codes_text.strip())):
        described = codes.describe_icd10(code) if ICD10.match(code.upper()) else ""
        parts.append(f"{code} ({_lower_first(described)})" if described else code)
    return "; ".join(parts)


def _distinct_sites(denials: Sequence[Denial]) -> str:
    """'11102 was performed on the left cheek; 17000 on the right temple', from the checks."""
    sentences = []
    for denial in denials:
        for finding in denial_findings(denial):
            cite = finding.get("cite")
            if not isinstance(cite, dict) or not cite.get("bundled_with"):
                continue
            mine, other = cite.get("site_of_denied_line", ""), cite.get("site_of_other_line", "")
            if not mine or not other or "not documented" in mine + other or mine == other:
                continue
            code = cite.get("procedure") or denial.procedure_code
            sentences.append(
                f"{code} was performed on the {mine}; {cite['bundled_with']} on the {other}."
            )
    return " ".join(_unique(sentences))


def _cited_value(key: str, value: str) -> str:
    if key == "auc_area" and value in AUC_AREAS:
        return f"{value} ({AUC_AREAS[value]})"
    if key == "site":
        return value.replace("_", " ")
    return value


def _citations(
    denials: Sequence[Denial], shown: frozenset[str], doc: Mapping[str, str]
) -> list[str]:
    """The facts the coding checks cite, as 'label: value'.

    Left out: what the letter shows elsewhere (the line table, documentation fields the template
    prints, the distinct sites when it states them) and absences such as 'site not documented',
    which are not facts a letter may argue from.
    """
    labels = fields()
    states_sites = "doc.distinct_sites" in shown and bool(doc.get("distinct_sites"))
    found = []
    for denial in denials:
        for finding in denial_findings(denial):
            cite = finding.get("cite")
            if not isinstance(cite, dict):
                continue
            for key, raw in cite.items():
                value = str(raw).strip()
                if (
                    not value
                    or "not documented" in value
                    or key in _NOT_LISTED
                    or f"doc.{key}" in shown
                    or (states_sites and key in _IN_DISTINCT_SITES)
                ):
                    continue
                label = labels[key].label if key in labels else CITE_LABELS.get(key)
                found.append(
                    f"{label or key.replace('_', ' ').capitalize()}: {_cited_value(key, value)}"
                )
    return _unique(found)


def _authorities(denials: Sequence[Denial], payer_type: str) -> list[str]:
    """The rules and criteria the letter's facts meet, named, from the appeal findings."""
    medicare = payer_type in ("medicare", "medicare_advantage")
    found: list[str] = []
    for denial in denials:
        for finding in denial_findings(denial):
            if finding.get("action") != "appeal":
                continue
            rule = finding.get("rule_id")
            if rule == "mohs-appropriate-use":
                found.append(
                    "The appropriate use criteria for Mohs micrographic surgery (AAD, ACMS, "
                    "ASDSA and ASMS; J Am Acad Dermatol 2012;67:531-550)"
                )
                found.append(
                    "The Medicare contractor's local coverage determination (LCD) for Mohs "
                    "micrographic surgery, which adopts those criteria"
                    if medicare
                    else "The plan's coverage policy for Mohs micrographic surgery"
                )
            elif rule == "cosmetic-vs-medical":
                found.append(
                    "The Medicare contractor's local coverage determination (LCD) for removal "
                    "of benign skin lesions"
                    if medicare
                    else "The plan's coverage policy for removal of benign skin lesions"
                )
            elif rule == "ncci-pair":
                found.append(
                    "The National Correct Coding Initiative (NCCI) procedure-to-procedure edits "
                    "and the NCCI Policy Manual: modifier 59 or XS for a separate lesion or "
                    "anatomic site"
                )
            elif rule == "repair-after-excision":
                found.append(
                    "CPT repair (closure) guidelines: excision includes simple repair only; "
                    "intermediate and complex repairs are reported in addition"
                )
            elif rule == "em-modifier-25":
                found.append(
                    "CPT modifier 25 and the NCCI Policy Manual: a significant, separately "
                    "identifiable E/M service on the day of a minor procedure"
                )
            elif rule == "global-period":
                found.append(
                    "The Medicare global surgery rules (Medicare Claims Processing Manual, "
                    "chapter 12, section 40)"
                    if medicare
                    else "The CPT global surgical package and modifiers 24, 58, 76 and 79"
                )
            elif rule == "excision-downcode":
                found.append(
                    "CPT excision coding by excised diameter: the lesion's greatest clinical "
                    "diameter plus twice the narrowest margin"
                )
    return _unique(found)


def _reasons(
    denials: Sequence[Denial], adjustments: Sequence[Adjustment]
) -> tuple[list[dict[str, str]], dict[int, list[str]]]:
    """The CARCs quoted (reason text only) and each denial's codes for the line table."""
    groups: dict[tuple[int | None, str], str] = {
        (a.line_id, a.reason): a.group_code for a in adjustments
    }
    reasons: dict[str, dict[str, str]] = {}
    per_denial: dict[int, list[str]] = {}
    for denial in denials:
        labels = []
        for code in denial.carcs.split() or ([denial.carc] if denial.carc else []):
            group = (
                groups.get((denial.line_id, code)) or groups.get((None, code)) or denial.group_code
            )
            label = f"{group}-{code}" if group else code
            labels.append(label)
            reasons.setdefault(
                label,
                {
                    "label": label,
                    "code": code,
                    "group": group,
                    "description": codes.carc_reason(code),
                },
            )
        remarks = [code for code in denial.rarcs.split() if not codes.is_alert(code)]
        per_denial[denial.id or 0] = labels + remarks
    return list(reasons.values()), per_denial


def _correction(first: dict[str, str], modifier: str) -> dict[str, str]:
    token = modifier.strip().split()[0].upper().lstrip("-") if modifier.strip() else ""
    billed_mods = first["modifiers"].split()
    code = first["procedure_code"]
    billed = f"{code}-{'-'.join(billed_mods)}" if billed_mods else f"{code} (no modifier)"
    corrected_mods = billed_mods + ([token] if token and token not in billed_mods else [])
    corrected = f"{code}-{'-'.join(corrected_mods)}" if corrected_mods else code
    guidance = MODIFIER_GUIDANCE.get(token, "")
    if token and not guidance:
        guidance = f"Modifier {token} describes the circumstances documented below."
    return {"billed_line": billed, "corrected_line": corrected, "guidance": guidance}


def _enclosures(doc: Mapping[str, str], template: str) -> list[str]:
    """doc.enclosures when given, else the documents this letter relies on (never invented)."""
    if doc.get("enclosures", "").strip():
        return [line.strip(" -•\t") for line in doc["enclosures"].splitlines() if line.strip()]
    items = [
        "Remittance advice (EOB) showing the denial",
        "Office and procedure notes for the date(s) of service",
    ]
    if doc.get("pathology"):
        items.append("Pathology report")
    if doc.get("photos"):
        items.append("Clinical photographs")
    if template == "timely_filing" and doc.get("submission_proof"):
        items.append("Proof of timely submission (acceptance report)")
    if template == "prior_authorization" and (
        doc.get("authorization_number") or doc.get("retro_requested_on")
    ):
        items.append("Authorization request and the plan's reference")
    if template == SECOND_LEVEL_TEMPLATE:
        items.append("First-level appeal and the payer's decision")
    return items


def _fill_prior_appeal(session: Session, denial: Denial, level: int, doc: dict[str, str]) -> None:
    """Pre-fill a later level's letter with the previous level's date, reference and decision."""
    prior = [a for a in lifecycle.appeals_of(session, denial.id or 0) if a.level < level]
    if not prior:
        return
    last = prior[-1]
    decision = lifecycle.OUTCOMES.get(last.outcome, "")
    if decision and last.closed_on:
        decision = f"{decision} on {day(last.closed_on)}"
        if last.recovered_amount:
            decision += f" ({money(last.recovered_amount)} paid)"
    for name, value in (
        ("prior_appeal_date", last.submitted_on.isoformat() if last.submitted_on else ""),
        ("prior_appeal_reference", last.reference),
        ("prior_decision", decision),
    ):
        if name in doc and not doc[name]:
            doc[name] = value


# --- the context ---------------------------------------------------------------------------


def build_context(
    session: Session,
    denial_ids: Sequence[int],
    overrides: Mapping[str, str] | None = None,
    today: date | None = None,
    template: str | None = None,
    folders: Sequence[Path] | None = None,
    *,
    templates: Mapping[str, TemplateInfo] | None = None,
) -> dict[str, Any]:
    """Everything a letter may show for one or more denied lines of one claim (plain values).

    `overrides` are documentation fields (with or without the `doc.` prefix) entered for this
    letter; they replace stored documentation facts on every line. `template` (default: the one
    chosen for the first denial) decides the default enclosures and which cited facts are listed
    apart; `templates` is `available_templates(folders)` when the caller already has it.
    """
    denials = load_denials(session, denial_ids)
    if len({d.claim_id for d in denials}) > 1:
        raise LetterError("one letter covers denied lines of one claim; these span several claims")
    first = denials[0]
    template = template or choose_template(first, folders, templates=templates)
    info = template_info(template, folders, templates)
    claim = session.get(Claim, first.claim_id)
    practice = session.get(Practice, first.practice_id)
    payer = session.get(Payer, first.payer_id)
    if claim is None or practice is None or payer is None:
        raise LetterError(f"denial {first.id} lacks its claim, practice or payer")
    line_rows = {
        row.id: row
        for row in session.exec(select(ServiceLine).where(ServiceLine.claim_id == claim.id))
    }
    adjustments = session.exec(select(Adjustment).where(Adjustment.claim_id == claim.id)).all()
    reasons, reason_codes = _reasons(denials, adjustments)
    remarks = [
        {"code": code, "description": codes.describe_rarc(code)}
        for code in _unique(code for d in denials for code in d.rarcs.split())
        if not codes.is_alert(code)
    ]
    denied_lines = [line_rows.get(d.line_id) if d.line_id else None for d in denials]

    known = fields()
    entered = {
        key.removeprefix("doc."): str(value).strip()
        for key, value in (overrides or {}).items()
        if key.removeprefix("doc.") in known
    }
    per_line = [{**facts, **entered} for facts in line_facts(session, claim, denied_lines)]
    doc = dict.fromkeys(known, "")
    doc.update(merge_facts(per_line))

    lines = []
    for denial, row, facts in zip(denials, denied_lines, per_line, strict=True):
        service_date = (row.service_date if row else None) or denial.service_date
        lines.append(
            {
                "line_number": str(row.line_number) if row else "",
                "date": day(service_date),
                "procedure_code": row.procedure_code if row else denial.procedure_code,
                "modifiers": row.modifiers if row else "",
                "units": _units(row.units) if row else "",
                "description": row.description if row else "",
                "charge": money(row.charge if row else claim.charge),
                "allowed": money(row.allowed) if row else "",
                "paid": money(row.paid if row else claim.paid),
                "denied": money(denial.denied_amount),
                "reason_codes": " ".join(reason_codes.get(denial.id or 0, [])),
                "location": _location(facts),
                "diagnosis": diagnosis_text(facts.get("diagnosis", "")),
            }
        )
    service_dates = sorted(
        {
            (row.service_date if row else None) or d.service_date or claim.service_date
            for d, row in zip(denials, denied_lines, strict=True)
        },
        key=lambda d: d or date.min,
    )
    payer_type = first.payer_type or payer_type_for(claim.filing_indicator, payer.payer_type)
    level = max(d.appeal_level for d in denials)
    if level >= 2:
        _fill_prior_appeal(session, first, level, doc)
    level_name, request = _level(payer_type, level)
    deadlines = [d.deadline for d in denials if d.deadline]
    address = _appeal_address(
        session, payer.id or 0, [claim.filing_indicator, payer_type, payer.payer_type]
    )
    patient = _join([claim.patient_first_name, claim.patient_last_name], " ")
    doc["distinct_sites"] = doc["distinct_sites"] or _distinct_sites(denials)
    return {
        "today": _long_date(today or date.today()),
        "logo": "",
        "practice": {
            "name": practice.name,
            "npi": practice.npi,
            "tax_id": practice.tax_id,
            "address_line1": practice.address_line1,
            "address_line2": practice.address_line2,
            "city_state_zip": _city_state_zip(practice.city, practice.state, practice.postal_code),
            "phone": practice.phone,
            "fax": practice.fax,
            "email": practice.email,
        },
        "provider": {
            "name": claim.rendering_provider_name,
            "npi": claim.rendering_provider_npi,
            "credentials": doc["provider_credentials"],
        },
        "signer": {
            "name": practice.signer_name or claim.rendering_provider_name,
            "title": practice.signer_title if practice.signer_name else doc["provider_credentials"],
        },
        "payer": {
            "name": payer.name,
            "identifier": payer.identifier,
            "type": payer_type,
            "is_medicare": payer_type == "medicare",
        },
        "appeal_address": {
            "product_line": address.product_line if address else "",
            "department": (address.department if address else "") or "Appeals Department",
            "address_line1": address.address_line1 if address else "",
            "address_line2": address.address_line2 if address else "",
            "city_state_zip": (
                _city_state_zip(address.city, address.state, address.postal_code) if address else ""
            ),
            "fax": address.fax if address else "",
            "portal_url": address.portal_url if address else "",
        },
        "patient": {
            "name": patient,
            "first_name": claim.patient_first_name,
            "last_name": claim.patient_last_name,
            "dob": _print_date(doc["patient_dob"]),
            "member_id": claim.member_id,
            "group_number": doc["group_number"],
        },
        "claim": {
            "number": claim.payer_claim_control_number,
            "patient_control_number": claim.patient_control_number,
            "dates_of_service": _join(day(d) for d in service_dates),
            "denied_on": day(first.denied_on),
            "charge": money(claim.charge),
            "paid": money(claim.paid),
        },
        "lines": lines,
        "total_denied": money(sum((d.denied_amount for d in denials), Decimal("0.00"))),
        "total_billed": money(sum((row.charge for row in denied_lines if row), Decimal("0.00"))),
        "reasons": reasons,
        "remarks": remarks,
        "category": first.category,
        "appeal": {
            "level": level,
            "level_name": level_name,
            "request": request,
            "deadline": day(min(deadlines)) if deadlines else "",
        },
        "correction": _correction(lines[0], doc["modifier"]),
        "lesion": {
            "location": "; ".join(_unique(_location(f) for f in per_line)),
            "size": "; ".join(_unique(_size(f) for f in per_line)),
        },
        "diagnosis_text": diagnosis_text(doc["diagnosis"]),
        "citations": _citations(denials, shown_fields(info), doc),
        "authorities": _authorities(denials, payer_type),
        "enclosures": _enclosures(doc, template),
        "doc": doc,
        "denial_ids": [d.id for d in denials],
    }


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of the context (None when absent)."""
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def missing_fields(
    template: str,
    context: Mapping[str, Any],
    folders: Sequence[Path] | None = None,
    *,
    templates: Mapping[str, TemplateInfo] | None = None,
) -> list[str]:
    """Required fields (common and the template's own) that are empty in `context`.

    A required `lines[].x` must be filled on every line; a missing derived field is reported as
    the documentation field it comes from (`lines[].location` → `doc.site`), which is what a
    person fills in.
    """
    info = template_info(template, folders, templates)
    missing = []
    for path in (*COMMON_REQUIRED, *info.required):
        if path.startswith("lines[]."):
            name = path.removeprefix("lines[].")
            empty = any(_empty(line.get(name)) for line in context.get("lines", []))
        else:
            empty = _empty(lookup(context, path))
        if empty:
            missing.append(DERIVED_FROM.get(path, (path,))[0])
    if not context.get("lines"):
        missing.append("lines")
    return _unique(missing)
