"""Documentation facts: field definitions and validation, CSV import, facts per service line.

A fact is one `field = value` for a patient control number and date of service, either for every
line of that date (procedure empty) or for one procedure. The coding checks in `appeals.rules`
and the letters read them; the web form and `appeals documentation import` write them.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlmodel import Session, col, select

from appeals.models import Claim, DocumentationFact, ServiceLine, utcnow
from appeals.rules import tables

CSV_COLUMNS = ("patient_control_number", "date_of_service", "procedure", "field", "value")
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.?[0-9A-TV-Z]{1,4})?$")
PROCEDURE = re.compile(r"^[0-9A-Z]{5}$")
YES = ("yes", "y", "true", "1")
NO = ("no", "n", "false", "0")
MAX_TEXT = 4000


@dataclass(frozen=True)
class FieldDef:
    """One documentation field: how it is labelled, what values it takes."""

    name: str
    label: str
    kind: str  # text | decimal | integer | yes_no | choice | site | icd10 | date | procedure
    help: str = ""
    choices: tuple[str, ...] = ()
    above: Decimal | None = None  # decimals and integers must be greater than this
    at_least: Decimal | None = None  # ... or at least this
    below: Decimal | None = None  # ... and less than this
    per_line: bool = False  # usually differs per procedure (site, size) rather than per date


FIELDS: tuple[FieldDef, ...] = (
    FieldDef("diagnosis", "Diagnosis (ICD-10-CM)", "icd10", "one or more codes, e.g. L82.0"),
    FieldDef(
        "symptoms",
        "Symptoms and signs",
        "text",
        "bleeding, itching, pain, inflammation, …",
        per_line=True,
    ),
    FieldDef("functional_impairment", "Functional impairment", "text", per_line=True),
    FieldDef("suspicion_of_malignancy", "Malignancy suspected", "yes_no", per_line=True),
    FieldDef("growth_or_change", "Recent growth or change", "yes_no", per_line=True),
    FieldDef("site", "Anatomic site", "site", "from the site list", per_line=True),
    FieldDef(
        "laterality",
        "Laterality",
        "choice",
        choices=("left", "right", "bilateral", "midline"),
        per_line=True,
    ),
    FieldDef(
        "lesion_id", "Lesion label", "text", "e.g. A, B or 1, 2 as in the note", per_line=True
    ),
    FieldDef(
        "lesion_size_cm",
        "Lesion diameter (cm)",
        "decimal",
        "greatest clinical diameter before excision",
        above=Decimal(0),
        below=Decimal(30),
        per_line=True,
    ),
    FieldDef(
        "margin_cm",
        "Narrowest margin (cm)",
        "decimal",
        at_least=Decimal(0),
        below=Decimal(10),
        per_line=True,
    ),
    FieldDef(
        "excised_diameter_cm",
        "Excised diameter (cm)",
        "decimal",
        "lesion plus twice the narrowest margin",
        above=Decimal(0),
        below=Decimal(30),
        per_line=True,
    ),
    FieldDef(
        "pathology",
        "Pathology result",
        "text",
        "e.g. 'basal cell carcinoma, nodular; S26-1234'",
        per_line=True,
    ),
    FieldDef(
        "lesion_count",
        "Number of lesions",
        "integer",
        above=Decimal(0),
        below=Decimal(1000),
        per_line=True,
    ),
    FieldDef(
        "repair_length_cm",
        "Repair length (cm)",
        "decimal",
        above=Decimal(0),
        below=Decimal(100),
        per_line=True,
    ),
    FieldDef("abn_on_file", "ABN or waiver signed", "yes_no"),
    FieldDef("separate_em", "E/M separately identifiable", "yes_no", "for modifier 25"),
    FieldDef("em_reason", "Problem the E/M addressed", "text", "beyond the procedure decision"),
    FieldDef("tumor_type", "Tumour type and subtype", "text", per_line=True),
    FieldDef("recurrent", "Recurrent tumour", "yes_no", per_line=True),
    FieldDef("immunosuppressed", "Patient immunosuppressed", "yes_no"),
    FieldDef("mohs_surgeon_is_pathologist", "Mohs surgeon read the slides", "yes_no"),
    FieldDef(
        "mohs_stages", "Mohs stages", "integer", above=Decimal(0), below=Decimal(20), per_line=True
    ),
    FieldDef(
        "mohs_blocks",
        "Mohs tissue blocks",
        "integer",
        above=Decimal(0),
        below=Decimal(100),
        per_line=True,
    ),
    FieldDef("prior_procedure_date", "Earlier procedure date", "date", "YYYY-MM-DD", per_line=True),
    FieldDef("prior_procedure_code", "Earlier procedure code", "procedure", per_line=True),
    FieldDef(
        "relationship_to_prior",
        "Relationship to the earlier procedure",
        "choice",
        choices=("staged", "unrelated", "repeat", "complication"),
        per_line=True,
    ),
    FieldDef(
        "same_physician_as_prior",
        "Same physician as the earlier procedure",
        "yes_no",
        per_line=True,
    ),
    FieldDef("authorization_number", "Authorization number", "text"),
)


def _letter_fields() -> tuple[FieldDef, ...]:
    """The letters' free-text fields, so the form and the CSV import take them too."""
    # Imported here: appeals.letter_schema imports FIELDS from this module.
    from appeals.letter_schema import DOC_FIELDS

    return tuple(FieldDef(name, help_, "text") for name, help_ in DOC_FIELDS.items())


@functools.cache
def fields() -> dict[str, FieldDef]:
    """Every documentation field by name: the checks' fields first, then the letters' ones.

    Computed once; callers only read the dict.
    """
    known = {f.name: f for f in FIELDS}
    for extra in _letter_fields():
        known.setdefault(extra.name, extra)
    return known


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def validate_field(name: str, value: str) -> str | None:
    """An error message for `value` in field `name`, or None when it is acceptable.

    An empty value is always acceptable (it clears the fact).
    """
    definition = fields().get(name)
    if definition is None:
        return f"unknown field {name!r}"
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters"
    kind = definition.kind
    if kind in ("decimal", "integer"):
        number = _decimal(text)
        if number is None or (kind == "integer" and number != number.to_integral_value()):
            return "must be a whole number" if kind == "integer" else "must be a number"
        if definition.above is not None and number <= definition.above:
            return f"must be greater than {definition.above}"
        if definition.at_least is not None and number < definition.at_least:
            return (
                "must not be negative"
                if definition.at_least == 0
                else (f"must be at least {definition.at_least}")
            )
        if definition.below is not None and number >= definition.below:
            return f"must be less than {definition.below}"
    elif kind == "yes_no":
        if text.lower() not in YES + NO:
            return "must be yes or no"
    elif kind == "choice":
        if text.lower() not in definition.choices:
            return f"must be one of: {', '.join(definition.choices)}"
    elif kind == "site":
        if tables.site(text) is None:
            return f"unknown site {text!r}; use one of: {', '.join(sorted(tables.sites()))}"
    elif kind == "icd10":
        bad = [c for c in _codes(text) if not ICD10.match(c)]
        if bad:
            return f"not an ICD-10-CM code: {', '.join(bad)}"
    elif kind == "date":
        if _parse_date(text) is None:
            return "must be a date (YYYY-MM-DD)"
    elif kind == "procedure" and not PROCEDURE.match(text.upper()):
        return "must be a 5-character procedure code"
    return None


def _codes(text: str) -> list[str]:
    return [c.upper() for c in re.split(r"[\s,;]+", text.strip()) if c]


def normalise_value(name: str, value: str) -> str:
    """The stored form of a valid value: yes/no, lower-case choices, site keys, upper-case codes."""
    text = (value or "").strip()
    definition = fields().get(name)
    if definition is None or not text:
        return text
    kind = definition.kind
    if kind == "yes_no":
        return "yes" if text.lower() in YES else "no"
    if kind == "choice":
        return text.lower()
    if kind == "site":
        return tables.normalise_site(text)
    if kind == "icd10":
        return " ".join(_codes(text))
    if kind in ("decimal", "integer"):
        number = _decimal(text)
        return f"{number.normalize():f}" if number is not None else text
    if kind == "date":
        parsed = _parse_date(text)
        return parsed.isoformat() if parsed else text
    if kind == "procedure":
        return text.upper()
    return text


def _parse_date(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


# --- reading facts -------------------------------------------------------------------------


def _line_date(claim: Claim, line: ServiceLine) -> date | None:
    return line.service_date or claim.service_date


def facts_for_lines(
    session: Session, claim: Claim, lines: Iterable[ServiceLine]
) -> dict[int, dict[str, str]]:
    """Merged facts for each line id: the date's facts, overridden by the procedure's own."""
    lines = list(lines)
    days = {_line_date(claim, line) for line in lines}
    rows = session.exec(
        select(DocumentationFact).where(
            DocumentationFact.practice_id == claim.practice_id,
            DocumentationFact.patient_control_number == claim.patient_control_number,
            col(DocumentationFact.service_date).in_([d for d in days if d is not None]),
        )
    ).all()
    result: dict[int, dict[str, str]] = {}
    for line in lines:
        day = _line_date(claim, line)
        codes = {line.procedure_code, line.original_procedure_code} - {""}
        merged: dict[str, str] = {}
        for fact in sorted(rows, key=lambda f: f.procedure_code != ""):
            if fact.service_date == day and (
                not fact.procedure_code or fact.procedure_code in codes
            ):
                merged[fact.field] = fact.value
        result[line.id or 0] = merged
    return result


def facts_for_line(session: Session, claim: Claim, line: ServiceLine) -> dict[str, str]:
    """Merged documentation facts for one service line."""
    return facts_for_lines(session, claim, [line])[line.id or 0]


def facts_for_date(
    session: Session, practice_id: int, patient_control_number: str, service_date: date
) -> list[DocumentationFact]:
    """Every stored fact of one patient control number and date, date-wide facts first."""
    return list(
        session.exec(
            select(DocumentationFact)
            .where(
                DocumentationFact.practice_id == practice_id,
                DocumentationFact.patient_control_number == patient_control_number,
                DocumentationFact.service_date == service_date,
            )
            .order_by(col(DocumentationFact.procedure_code), col(DocumentationFact.field))
        ).all()
    )


# --- writing facts -------------------------------------------------------------------------


def _upsert(
    session: Session,
    practice_id: int,
    patient_control_number: str,
    service_date: date,
    procedure_code: str,
    name: str,
    value: str,
    source: str,
    user_id: int | None,
) -> str:
    """Insert, update or delete one fact; returns created | updated | unchanged | deleted."""
    existing = session.exec(
        select(DocumentationFact).where(
            DocumentationFact.practice_id == practice_id,
            DocumentationFact.patient_control_number == patient_control_number,
            DocumentationFact.service_date == service_date,
            DocumentationFact.procedure_code == procedure_code,
            DocumentationFact.field == name,
        )
    ).first()
    if not value:
        if existing is None:
            return "unchanged"
        session.delete(existing)
        session.flush()
        return "deleted"
    if existing is None:
        session.add(
            DocumentationFact(
                practice_id=practice_id,
                patient_control_number=patient_control_number,
                service_date=service_date,
                procedure_code=procedure_code,
                field=name,
                value=value,
                source=source,
                updated_by_id=user_id,
            )
        )
        session.flush()
        return "created"
    if existing.value == value:
        return "unchanged"
    existing.value = value
    existing.source = source
    existing.updated_at = utcnow()
    existing.updated_by_id = user_id
    session.add(existing)
    session.flush()
    return "updated"


def save_fact(
    session: Session,
    practice_id: int,
    patient_control_number: str,
    service_date: date,
    procedure_code: str,
    name: str,
    value: str,
    user_id: int | None = None,
    refresh: bool = True,
) -> str | None:
    """Store one fact entered in the app (empty value deletes it) and refresh the findings.

    Returns an error message when the value is invalid (nothing is stored then). Saving several
    fields: pass `refresh=False` and call `findings.refresh_for_documentation` once after.
    """
    from appeals.findings import refresh_for_documentation

    error = validate_field(name, value)
    if error:
        return error
    outcome = _upsert(
        session,
        practice_id,
        patient_control_number,
        service_date,
        procedure_code.strip().upper(),
        name,
        normalise_value(name, value),
        "app",
        user_id,
    )
    if refresh and outcome != "unchanged":
        refresh_for_documentation(session, practice_id, patient_control_number, service_date)
    return None


# --- CSV import ----------------------------------------------------------------------------


class DocumentationImportError(Exception):
    """The file cannot be read as a documentation CSV at all (wrong columns, not text)."""


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1 is the header, so the first fact is row 2
    reason: str
    field: str = ""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    unmatched: list[RowProblem] = field(default_factory=list)
    invalid: list[RowProblem] = field(default_factory=list)
    claim_ids: set[int] = field(default_factory=set)
    denials_refreshed: int = 0

    @property
    def stored(self) -> int:
        return self.created + self.updated + self.deleted


@dataclass
class _Target:
    practice_id: int
    claim_id: int


class _Matcher:
    """Finds the claims a row refers to, caching the lines of each patient control number."""

    def __init__(self, session: Session, practice_id: int | None) -> None:
        self.session = session
        self.practice_id = practice_id
        self.cache: dict[str, list[tuple[Claim, ServiceLine | None]]] = {}

    def _lines(self, pcn: str) -> list[tuple[Claim, ServiceLine | None]]:
        if pcn not in self.cache:
            query = select(Claim).where(Claim.patient_control_number == pcn)
            if self.practice_id is not None:
                query = query.where(Claim.practice_id == self.practice_id)
            claims = self.session.exec(query).all()
            pairs: list[tuple[Claim, ServiceLine | None]] = []
            ids = [c.id for c in claims]
            lines = (
                self.session.exec(
                    select(ServiceLine).where(col(ServiceLine.claim_id).in_(ids))
                ).all()
                if ids
                else []
            )
            by_claim: dict[int, list[ServiceLine]] = {}
            for line in lines:
                by_claim.setdefault(line.claim_id, []).append(line)
            for claim in claims:
                own = by_claim.get(claim.id or 0, [])
                if own:
                    pairs.extend((claim, line) for line in own)
                else:
                    pairs.append((claim, None))
            self.cache[pcn] = pairs
        return self.cache[pcn]

    def match(self, pcn: str, day: date, procedure: str) -> tuple[list[_Target], str]:
        lines = self._lines(pcn)
        if not lines:
            return [], f"no claim with patient control number {pcn}"
        on_day = [
            (claim, line)
            for claim, line in lines
            if (line.service_date if line and line.service_date else claim.service_date) == day
        ]
        if not on_day:
            return [], f"no service line on {day.isoformat()} for this patient control number"
        if procedure:
            on_day = [
                (claim, line)
                for claim, line in on_day
                if line and procedure in (line.procedure_code, line.original_procedure_code)
            ]
            if not on_day:
                return [], f"no line with procedure {procedure} on {day.isoformat()}"
        targets = {(c.practice_id, c.id or 0): _Target(c.practice_id, c.id or 0) for c, _ in on_day}
        return list(targets.values()), ""


def import_documentation_csv(
    session: Session, practice_id: int | None, path: str | Path
) -> ImportReport:
    """Upsert the facts of a CSV file; report unmatched rows and invalid values by row number.

    Valid, matching rows are stored even when other rows are not; nothing is dropped silently.
    Findings of the denials on the affected claims are recomputed.
    """
    from appeals.findings import refresh_findings_for_claims

    report = ImportReport()
    matcher = _Matcher(session, practice_id)
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            absent = [c for c in CSV_COLUMNS if c not in header]
            if absent:
                raise DocumentationImportError(
                    f"missing column(s): {', '.join(absent)}; expected {', '.join(CSV_COLUMNS)}"
                )
            reader.fieldnames = header
            for number, raw in enumerate(reader, start=2):
                report.rows += 1
                _import_row(session, matcher, report, number, raw)
    except UnicodeDecodeError as error:
        raise DocumentationImportError(f"not a UTF-8 text file: {error}") from error
    report.denials_refreshed = refresh_findings_for_claims(session, report.claim_ids)
    return report


def _import_row(
    session: Session,
    matcher: _Matcher,
    report: ImportReport,
    number: int,
    raw: dict[str, str | None],
) -> None:
    row = {k: (v or "").strip() for k, v in raw.items() if k in CSV_COLUMNS}
    pcn = row.get("patient_control_number", "")
    name = row.get("field", "").lower()
    problems = []
    if not pcn:
        problems.append(
            RowProblem(number, "patient control number is empty", "patient_control_number")
        )
    day = _parse_date(row.get("date_of_service", ""))
    if day is None:
        problems.append(RowProblem(number, "not a date (YYYY-MM-DD)", "date_of_service"))
    procedure = row.get("procedure", "").upper()
    if procedure and not PROCEDURE.match(procedure):
        problems.append(RowProblem(number, "not a 5-character procedure code", "procedure"))
    if name not in fields():
        problems.append(
            RowProblem(number, f"unknown field {name!r}" if name else "field is empty", "field")
        )
    elif error := validate_field(name, row.get("value", "")):
        problems.append(RowProblem(number, error, name))
    if problems:
        report.invalid.extend(problems)
        return
    assert day is not None
    targets, reason = matcher.match(pcn, day, procedure)
    if not targets:
        report.unmatched.append(RowProblem(number, reason))
        return
    value = normalise_value(name, row.get("value", ""))
    for practice_id in sorted({t.practice_id for t in targets}):
        outcome = _upsert(session, practice_id, pcn, day, procedure, name, value, "csv", None)
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.claim_ids.update(t.claim_id for t in targets)
