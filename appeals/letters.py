"""Appeal letters: choose a template, build its context, render the .docx, store it.

Templates are Word documents with docxtpl tags in `letter_templates/` (defaults) and optionally in
a practice's instance folder, whose copies override the defaults by name. Every field a template
may use is listed in `CONTEXT_SCHEMA` (documented in docs/letter-context.md); each template
declares the fields it requires in `templates.json`. Values are rendered with autoescape on, so
user text such as `O'Brien & <Sons>` or `{{ }}` appears exactly as typed.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import TemplateSyntaxError
from sqlmodel import Session, select

from appeals import audit, codes, documentation, lifecycle
from appeals.deadlines import payer_type_for
from appeals.formatting import day, money
from appeals.letter_schema import COMMON_REQUIRED, CONTEXT_SCHEMA, DOC_FIELDS, MODIFIER_GUIDANCE
from appeals.letter_schema import field_label as field_label
from appeals.letter_templates import (
    BUILTIN_FOLDER,
    LetterError,
    Problem,
    TemplateInfo,
    available_templates,
    check_templates,
    jinja_env,
    template_folders,
    template_info,
    template_source,
    used_fields,
)
from appeals.models import (
    Adjustment,
    Claim,
    Denial,
    Letter,
    Payer,
    PayerAppealAddress,
    Practice,
    ServiceLine,
)
from appeals.rules import tables

__all__ = [
    "BUILTIN_FOLDER",
    "CONTEXT_SCHEMA",
    "DOC_FIELDS",
    "LetterError",
    "MissingFields",
    "Problem",
    "TemplateInfo",
    "available_templates",
    "build_context",
    "check_templates",
    "choose_template",
    "generate_batch",
    "generate_letter",
    "missing_fields",
    "practice_logo",
    "render",
    "render_batch_zip",
    "template_folders",
    "template_info",
    "template_source",
    "used_fields",
    "zip_letters",
]

DEFAULT_TEMPLATE = "medical_necessity"
SECOND_LEVEL_TEMPLATE = "second_level"


_MONTHS = [
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
]
_INVALID_XML = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class MissingFields(LetterError):
    """Required context fields are empty."""

    def __init__(self, template: str, fields: Sequence[str]) -> None:
        self.template = template
        self.fields = list(fields)
        listed = "; ".join(f"{name} ({field_label(name)})" for name in self.fields)
        super().__init__(f"{template}: missing required fields: {listed}")


# --- templates ------------------------------------------------------------------------------


def _findings(denial: Denial) -> list[dict[str, Any]]:
    """The denial's findings JSON as a list of dicts (it may hold one dict or a list)."""
    if not denial.findings:
        return []
    try:
        value = json.loads(denial.findings)
    except ValueError:
        return []
    if isinstance(value, dict):
        inner = value.get("findings")
        return [v for v in inner if isinstance(v, dict)] if isinstance(inner, list) else [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def choose_template(
    denial: Denial,
    folders: Sequence[Path] | None = None,
    *,
    templates: Mapping[str, TemplateInfo] | None = None,
) -> str:
    """The template for a denial: second level, then a finding's `letter`, then the category.

    `templates` is `available_templates(folders)` when the caller already has it.
    """
    templates = available_templates(folders) if templates is None else templates
    if denial.appeal_level >= 2 and SECOND_LEVEL_TEMPLATE in templates:
        return SECOND_LEVEL_TEMPLATE
    for finding in _findings(denial):
        letter = finding.get("letter")
        if isinstance(letter, str) and letter in templates:
            return letter
    for info in templates.values():
        if denial.category in info.categories:
            return info.name
    return DEFAULT_TEMPLATE


# --- context -------------------------------------------------------------------------------


def _long_date(value: date) -> str:
    return f"{_MONTHS[value.month - 1]} {value.day}, {value.year}"


def _units(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return text


def _join(parts: Iterable[str], sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def _city_state_zip(city: str, state: str, postal_code: str) -> str:
    return _join([city, _join([state, postal_code], " ")])


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return list(seen)


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


def _level(payer_type: str, level: int) -> tuple[str, str]:
    names = LEVEL_NAMES.get(payer_type, LEVEL_NAMES["default"])
    return names[min(level, len(names)) - 1]


def _load_denials(session: Session, denial_ids: Sequence[int]) -> list[Denial]:
    if not denial_ids:
        raise LetterError("no denials given")
    rows = {d.id: d for d in session.exec(select(Denial).where(sa.column("id").in_(denial_ids)))}
    missing = [i for i in denial_ids if i not in rows]
    if missing:
        raise LetterError(f"no denial with id {', '.join(map(str, missing))}")
    denials = [rows[i] for i in _unique_ids(denial_ids)]
    if len({d.claim_id for d in denials}) > 1:
        raise LetterError("one letter covers denied lines of one claim; these span several claims")
    return denials


def _unique_ids(ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(ids))


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
    by_line = documentation.facts_for_lines(session, claim, rows) if rows else {}
    date_wide: dict[str, str] | None = None
    result = []
    for line in lines:
        if line is not None:
            result.append(by_line.get(line.id or 0, {}))
            continue
        if date_wide is None:
            facts = (
                documentation.facts_for_date(
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


def _diagnosis_text(codes_text: str) -> str:
    parts = []
    for code in re.split(r"[\s,;]+", codes_text.strip()):
        if not code:
            continue
        known = tables.diagnosis(code) if documentation.ICD10.match(code.upper()) else None
        parts.append(f"{code} ({known.meaning})" if known else code)
    return "; ".join(parts)


def _distinct_sites(denials: Sequence[Denial]) -> str:
    """'11102 was performed on the left cheek; 17000 on the right temple', from the checks."""
    sentences = []
    for denial in denials:
        for finding in _findings(denial):
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


def _citations(denials: Sequence[Denial]) -> list[str]:
    """The facts the coding checks cite, as 'label: value', without what the letter shows."""
    labels = documentation.fields()
    shown = {"procedure", "denial_codes", "modifiers"}
    found = []
    for denial in denials:
        for finding in _findings(denial):
            cite = finding.get("cite")
            if not isinstance(cite, dict):
                continue
            for key, value in cite.items():
                if key in shown or not str(value).strip():
                    continue
                label = labels[key].label if key in labels else key.replace("_", " ").capitalize()
                found.append(f"{label}: {value}")
    return _unique(found)


def _reasons(
    denials: Sequence[Denial], adjustments: Sequence[Adjustment]
) -> tuple[list[dict[str, str]], dict[int, list[str]]]:
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
                    "description": codes.describe_carc(code),
                },
            )
        per_denial[denial.id or 0] = labels + denial.rarcs.split()
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


def build_context(
    session: Session,
    denial_ids: Sequence[int],
    overrides: Mapping[str, str] | None = None,
    today: date | None = None,
    template: str | None = None,
    folders: Sequence[Path] | None = None,
) -> dict[str, Any]:
    """Everything a letter may show for one or more denied lines of one claim (plain values).

    `overrides` are documentation fields (with or without the `doc.` prefix) entered for this
    letter; they replace stored documentation facts. `template` (default: the one chosen for
    the first denial) only decides the default enclosures.
    """
    denials = _load_denials(session, denial_ids)
    first = denials[0]
    template = template or choose_template(first, folders)
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
    ]
    denied_lines = [line_rows.get(d.line_id) if d.line_id else None for d in denials]

    per_line = line_facts(session, claim, denied_lines)
    doc = {name: "" for name in documentation.fields()}
    doc.update(merge_facts(per_line))
    for key, value in (overrides or {}).items():
        name = key.removeprefix("doc.")
        if name in doc:
            doc[name] = str(value).strip()

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
                "diagnosis": _diagnosis_text(facts.get("diagnosis", "")),
            }
        )
    service_dates = sorted(
        _unique_ids(
            [
                (row.service_date if row else None) or d.service_date or claim.service_date
                for d, row in zip(denials, denied_lines, strict=True)
            ]
        ),
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
    overridden = {k.removeprefix("doc.") for k in overrides or {}}
    location = (
        _location(doc)
        if overridden & {"site", "laterality"}
        else "; ".join(_unique(_location(f) for f in per_line))
    )
    size = _size(doc) if overridden & {"lesion_size_cm", "excised_diameter_cm"} else ""
    size = size or "; ".join(_unique(_size(f) for f in per_line))
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
            "dob": doc["patient_dob"],
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
        "lesion": {"location": location, "size": size},
        "diagnosis_text": _diagnosis_text(doc["diagnosis"]),
        "citations": _citations(denials),
        "enclosures": _enclosures(doc, template),
        "doc": doc,
        "denial_ids": [d.id for d in denials],
    }


def _lookup(context: Mapping[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def missing_fields(
    template: str,
    context: Mapping[str, Any],
    folders: Sequence[Path] | None = None,
    *,
    templates: Mapping[str, TemplateInfo] | None = None,
) -> list[str]:
    """Required fields (common and the template's own) that are empty in `context`."""
    info = template_info(template, folders, templates)
    missing = []
    for path in (*COMMON_REQUIRED, *info.required):
        value = _lookup(context, path)
        if value is None or (isinstance(value, str | list | dict) and not value):
            missing.append(path)
    if not context.get("lines"):
        missing.append("lines")
    return _unique(missing)


# --- rendering -----------------------------------------------------------------------------


@cache
def _template_bytes(path: Path, mtime_ns: int) -> bytes:
    return path.read_bytes()


def _clean(value: Any) -> Any:
    """Strip characters XML cannot hold; keep newlines (docxtpl turns them into line breaks)."""
    if isinstance(value, str):
        return _INVALID_XML.sub("", value.replace("\r\n", "\n").replace("\t", " "))
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    folders: Sequence[Path] | None = None,
    logo: bytes | None = None,
    templates: Mapping[str, TemplateInfo] | None = None,
) -> bytes:
    """The filled .docx for `template` (autoescape on) as bytes; `logo` from `practice_logo`."""
    info = template_info(template, folders, templates)
    assert info.path is not None
    source = _template_bytes(info.path, info.path.stat().st_mtime_ns)
    document = DocxTemplate(io.BytesIO(source))
    values = _clean(dict(context))
    if logo:
        values["logo"] = InlineImage(document, io.BytesIO(logo), height=Mm(18))
    try:
        document.render(values, jinja_env=jinja_env(), autoescape=True)
    except TemplateSyntaxError as exc:
        raise LetterError(
            f"{template}: template error on line {exc.lineno}: {exc.message}"
        ) from exc
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def practice_logo(session: Session, practice_id: int) -> bytes | None:
    """The practice's letterhead logo for `render` (None when it has none)."""
    practice = session.get(Practice, practice_id)
    return practice.logo if practice and practice.logo else None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a letter snapshot")


def snapshot(context: Mapping[str, Any]) -> str:
    """The context as JSON (Decimals and dates as strings)."""
    return json.dumps(context, default=_json_default, sort_keys=True)


def next_version(session: Session, denial_id: int, template: str) -> int:
    latest = session.exec(
        select(sa.func.max(Letter.version)).where(
            Letter.denial_id == denial_id, Letter.template == template
        )
    ).one()
    return int(latest or 0) + 1


def generate_letter(
    session: Session,
    denial_ids: Sequence[int],
    template: str | None = None,
    user_id: int | None = None,
    *,
    overrides: Mapping[str, str] | None = None,
    folders: Sequence[Path] | None = None,
    today: date | None = None,
) -> Letter:
    """Render and store a letter for denied lines of one claim; raises MissingFields.

    The letter is linked to the open appeal of every denial it covers (each is credited with
    it). Earlier letters are kept: the version counts per denial and template.
    """
    denials = _load_denials(session, denial_ids)
    name = template or choose_template(denials[0], folders)
    context = build_context(session, denial_ids, overrides, today, name, folders)
    missing = missing_fields(name, context, folders)
    if missing:
        raise MissingFields(name, missing)
    logo = practice_logo(session, denials[0].practice_id)
    docx = render(name, context, folders=folders, logo=logo)
    primary = denials[0]
    letter = Letter(
        appeal_id=lifecycle.appeal_for_letter(session, primary, user_id).id,
        denial_id=primary.id or 0,
        template=name,
        version=next_version(session, primary.id or 0, name),
        context=snapshot(context),
        docx=docx,
        author_id=user_id,
    )
    session.add(letter)
    session.flush()
    lifecycle.credit_letter(session, letter, denials, user_id)
    for denial in denials:
        audit.record(
            session,
            user_id,
            "letter",
            "denial",
            denial.id,
            {"letter_id": letter.id, "template": name, "version": letter.version},
        )
    return letter


def letter_filename(letter: Letter, context: Mapping[str, Any] | None = None) -> str:
    """A file name without patient names: claim number, template, denial and version."""
    ctx = context if context is not None else json.loads(letter.context or "{}")
    claim = _lookup(ctx, "claim.number") or _lookup(ctx, "claim.patient_control_number") or "claim"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(claim))[:40]
    return f"{safe}-{letter.template}-d{letter.denial_id}-v{letter.version}.docx"


Skipped = list[tuple[int, list[str]]]


def generate_batch(
    session: Session,
    denial_ids: Sequence[int],
    user_id: int | None = None,
    *,
    folders: Sequence[Path] | None = None,
    today: date | None = None,
) -> tuple[list[Letter], Skipped]:
    """One letter per claim and template for the selected denials.

    Denials whose letter lacks required fields are skipped and returned with those fields.
    """
    groups: dict[tuple[int, str], list[int]] = {}
    for denial in _load_many(session, denial_ids):
        name = choose_template(denial, folders)
        groups.setdefault((denial.claim_id, name), []).append(denial.id or 0)
    written: list[Letter] = []
    skipped: Skipped = []
    for (_claim_id, name), ids in groups.items():
        try:
            written.append(
                generate_letter(session, ids, name, user_id, folders=folders, today=today)
            )
        except MissingFields as exc:
            skipped.extend((denial_id, exc.fields) for denial_id in ids)
    return written, skipped


def zip_letters(written: Sequence[Letter], skipped: Sequence[tuple[int, list[str]]] = ()) -> bytes:
    """The letters as one zip; SKIPPED.txt lists the denials left out and why."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for letter in written:
            archive.writestr(letter_filename(letter), letter.docx)
        if skipped:
            lines = [f"denial {i}: missing {', '.join(fields)}" for i, fields in skipped]
            archive.writestr("SKIPPED.txt", "\n".join(lines) + "\n")
    return buffer.getvalue()


def render_batch_zip(
    session: Session,
    denial_ids: Sequence[int],
    user_id: int | None = None,
    *,
    folders: Sequence[Path] | None = None,
    today: date | None = None,
) -> tuple[bytes, Skipped]:
    """`generate_batch` and `zip_letters` in one call: the zip and the skipped denials."""
    written, skipped = generate_batch(session, denial_ids, user_id, folders=folders, today=today)
    return zip_letters(written, skipped), skipped


def _load_many(session: Session, denial_ids: Sequence[int]) -> list[Denial]:
    ids = _unique_ids(denial_ids)
    rows = {d.id: d for d in session.exec(select(Denial).where(sa.column("id").in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise LetterError(f"no denial with id {', '.join(map(str, missing))}")
    return [rows[i] for i in ids]


# --- checking templates --------------------------------------------------------------------
