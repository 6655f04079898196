"""Documentation facts: validation, CSV import, saving (definitions and reading: `appeals.fields`).

A fact is one `field = value` for a patient control number and date of service, either for every
line of that date (procedure empty) or for one procedure. The coding checks in `appeals.rules`
and the letters read them; the web form and `appeals documentation import` write them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

# Field definitions and reading facts live below documentation, findings and letters; the
# names stay importable from here.
from appeals.fields import FACT_CHUNK, ICD10, fields
from appeals.fields import FIELDS as FIELDS
from appeals.fields import FieldDef as FieldDef
from appeals.fields import documentation_for_claims as documentation_for_claims
from appeals.fields import facts_for_date as facts_for_date
from appeals.fields import facts_for_line as facts_for_line
from appeals.fields import facts_for_lines as facts_for_lines
from appeals.models import Claim, DocumentationFact, ServiceLine, utcnow
from appeals.rules import tables

CSV_COLUMNS = ("patient_control_number", "date_of_service", "procedure", "field", "value")
PROCEDURE = re.compile(r"^[0-9A-Z]{5}$")
YES = ("yes", "y", "true", "1")
NO = ("no", "n", "false", "0")
MAX_TEXT = 4000
# How EHRs write laterality inside a site ("left cheek", "R upper arm", "cheek, left").
_LATERALITY_WORDS = {
    "left": "left",
    "lt": "left",
    "l": "left",
    "right": "right",
    "rt": "right",
    "r": "right",
    "bilateral": "bilateral",
    "bilat": "bilateral",
    "both": "bilateral",
    "midline": "midline",
}
# Words that place a lesion within a listed site without changing its site group or Mohs area
# ("upper back" is the back, "dorsal hand" the hand); "upper arm" itself is a listed site, so the
# whole phrase is tried first.
_SITE_QUALIFIERS = frozenset(
    [
        "upper",
        "lower",
        "mid",
        "middle",
        "central",
        "anterior",
        "posterior",
        "superior",
        "inferior",
        "medial",
        "lateral",
        "proximal",
        "distal",
        "dorsal",
        "ventral",
        "palmar",
        "plantar",
        "side",
        "sided",
        "of",
        "the",
        "on",
    ]
)


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
        parsed = split_site(text)
        if parsed is None:
            sites = ", ".join(site.replace("_", " ") for site in sorted(tables.sites()))
            return f"unknown site {text!r}; use one of: {sites}"
        if parsed[1]:
            site = parsed[0].replace("_", " ")
            return f"give {parsed[1]!r} as the laterality and {site!r} as the site"
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


def split_site(text: str) -> tuple[str, str] | None:
    """The site key and laterality ("" if none) of a site as EHRs export it, else None.

    "left cheek" -> ("cheek", "left"); "right upper back" -> ("back", "right"); "upper arm" ->
    ("upper_arm", ""); "Cheek, L" -> ("cheek", "left"). Two different lateralities ("left and
    right cheek") or words that leave no listed site are None.
    """
    words = re.findall(r"[a-z]+", text.lower())
    sides = {_LATERALITY_WORDS[w] for w in words if w in _LATERALITY_WORDS}
    if len(sides) > 1:
        return None
    rest = [w for w in words if w not in _LATERALITY_WORDS]
    for candidate in (rest, [w for w in rest if w not in _SITE_QUALIFIERS]):
        if candidate and tables.site("_".join(candidate)) is not None:
            return "_".join(candidate), next(iter(sides), "")
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
        parsed = split_site(text)
        return parsed[0] if parsed else tables.normalise_site(text)
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
    """Finds the claims a row refers to, from the claims and lines of every patient control
    number of the file, read set-wise up front (`preload`)."""

    def __init__(self, session: Session, practice_id: int | None) -> None:
        self.session = session
        self.practice_id = practice_id
        self.cache: dict[str, list[tuple[Any, Any | None]]] = {}

    def preload(self, pcns: Iterable[str]) -> None:
        """Read the claims and lines of these patient control numbers: two queries per 500."""
        claim_t, line_t = Claim.__table__, ServiceLine.__table__  # type: ignore[attr-defined]
        wanted = sorted(set(pcns) - self.cache.keys())
        for start in range(0, len(wanted), FACT_CHUNK):
            part = wanted[start : start + FACT_CHUNK]
            # The number alone goes to the database (the practice index would read them all).
            claims = [
                claim
                for claim in self.session.execute(
                    sa.select(
                        claim_t.c.id,
                        claim_t.c.practice_id,
                        claim_t.c.patient_control_number,
                        claim_t.c.service_date,
                    )
                    .where(claim_t.c.patient_control_number.in_(part))
                    .order_by(claim_t.c.id)
                )
                if self.practice_id is None or claim.practice_id == self.practice_id
            ]
            by_claim: dict[int, list[Any]] = {}
            for line in self.session.execute(
                sa.select(
                    line_t.c.claim_id,
                    line_t.c.service_date,
                    line_t.c.procedure_code,
                    line_t.c.original_procedure_code,
                )
                .where(line_t.c.claim_id.in_([c.id for c in claims]))
                .order_by(line_t.c.claim_id, line_t.c.id)
            ):
                by_claim.setdefault(line.claim_id, []).append(line)
            for pcn in part:
                self.cache[pcn] = []
            for claim in claims:
                own = by_claim.get(claim.id, [])
                pairs = self.cache[claim.patient_control_number]
                if own:
                    pairs.extend((claim, line) for line in own)
                else:
                    pairs.append((claim, None))

    def _lines(self, pcn: str) -> list[tuple[Any, Any | None]]:
        return self.cache.get(pcn, [])  # every account number of the file was preloaded

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


@dataclass(frozen=True)
class _Row:
    """A valid CSV row, normalised."""

    number: int
    pcn: str
    day: date
    procedure: str
    name: str
    value: str


_FactKey = tuple[int, str, date, str, str]  # practice, pcn, date, procedure, field


class _FactWrites:
    """Every upsert of one CSV import, applied in memory in row order, then written set-wise.

    Each row's outcome (created, updated, unchanged, deleted) is what `_upsert` would have
    answered at that point; the database gets one INSERT, UPDATE and DELETE executemany.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.stored: dict[_FactKey, tuple[int, str]] = {}  # as in the database: id, value
        self.now: dict[_FactKey, str | None] = {}  # as the rows so far leave it
        self.touched: set[_FactKey] = set()

    def load(self, pcns: Iterable[str]) -> None:
        """The stored facts of these patient control numbers (one query per 500)."""
        table = DocumentationFact.__table__  # type: ignore[attr-defined]
        wanted = sorted(set(pcns))
        for start in range(0, len(wanted), FACT_CHUNK):
            query = sa.select(
                table.c.id,
                table.c.practice_id,
                table.c.patient_control_number,
                table.c.service_date,
                table.c.procedure_code,
                table.c.field,
                table.c.value,
            ).where(table.c.patient_control_number.in_(wanted[start : start + FACT_CHUNK]))
            for fact in self.session.execute(query):
                key = (
                    fact.practice_id,
                    fact.patient_control_number,
                    fact.service_date,
                    fact.procedure_code,
                    fact.field,
                )
                self.stored[key] = (fact.id, fact.value)

    def upsert(self, key: _FactKey, value: str) -> str:
        """Insert, update or delete one fact (in memory); what `_upsert` answers."""
        current = self.now[key] if key in self.now else self.stored.get(key, (0, None))[1]
        if not value:
            if current is None:
                return "unchanged"
            self.now[key] = None
            return "deleted"
        if current is None:
            self.now[key] = value
            self.touched.add(key)
            return "created"
        if current == value:
            return "unchanged"
        self.now[key] = value
        self.touched.add(key)
        return "updated"

    def write(self) -> None:
        """The net changes to the database; ORM copies of the facts in the session expire."""
        table = DocumentationFact.__table__  # type: ignore[attr-defined]
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        deletes: list[int] = []
        for key, value in self.now.items():
            fact_id = self.stored[key][0] if key in self.stored else None
            if value is None:
                if fact_id is not None:
                    deletes.append(fact_id)
            elif fact_id is None:
                practice_id, pcn, day, procedure, name = key
                inserts.append(
                    {
                        "practice_id": practice_id,
                        "patient_control_number": pcn,
                        "service_date": day,
                        "procedure_code": procedure,
                        "field": name,
                        "value": value,
                        "source": "csv",
                        "updated_at": utcnow(),
                        "updated_by_id": None,
                    }
                )
            elif key in self.touched:
                updates.append({"fact_id": fact_id, "new_value": value, "at": utcnow()})
        self.session.flush()
        for start in range(0, len(deletes), FACT_CHUNK):
            part = deletes[start : start + FACT_CHUNK]
            self.session.execute(sa.delete(table).where(table.c.id.in_(part)))
        if updates:
            self.session.execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("fact_id"))
                .values(
                    value=sa.bindparam("new_value"),
                    source="csv",
                    updated_at=sa.bindparam("at", type_=table.c.updated_at.type),
                    updated_by_id=None,
                ),
                updates,
            )
        if inserts:
            self.session.execute(sa.insert(table), inserts)
        for instance in list(self.session.identity_map.values()):
            if isinstance(instance, DocumentationFact):
                self.session.expire(instance)


def import_documentation_csv(
    session: Session, practice_id: int | None, path: str | Path
) -> ImportReport:
    """Upsert the facts of a CSV file; report unmatched rows and invalid values by row number.

    Valid, matching rows are stored even when other rows are not; nothing is dropped silently.
    Findings of the denials on the affected claims are recomputed. The file is read first; the
    claims and stored facts of its patient control numbers are then read set-wise, the rows
    applied in order in memory and the net changes written with one statement per kind.
    """
    from appeals.findings import refresh_findings_for_claims

    report = ImportReport()
    rows: list[_Row] = []
    session.flush()  # the queries below are Core: facts and claims pending in the session count
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
                rows.extend(_valid_rows(report, number, raw))
    except UnicodeDecodeError as error:
        raise DocumentationImportError(f"not a UTF-8 text file: {error}") from error
    pcns = {row.pcn for row in rows}
    matcher = _Matcher(session, practice_id)
    matcher.preload(pcns)
    writes = _FactWrites(session)
    writes.load(pcns)
    for row in rows:
        targets, reason = matcher.match(row.pcn, row.day, row.procedure)
        if not targets:
            report.unmatched.append(RowProblem(row.number, reason))
            continue
        for target_practice in sorted({t.practice_id for t in targets}):
            key = (target_practice, row.pcn, row.day, row.procedure, row.name)
            outcome = writes.upsert(key, row.value)
            setattr(report, outcome, getattr(report, outcome) + 1)
        report.claim_ids.update(t.claim_id for t in targets)
    writes.write()
    report.denials_refreshed = refresh_findings_for_claims(session, report.claim_ids)
    return report


def _valid_rows(report: ImportReport, number: int, raw: dict[str, str | None]) -> list[_Row]:
    """The row's facts, normalised, or none after adding its problems to `report.invalid`.

    A site with a laterality in it ("left cheek") gives two facts, the site and the laterality,
    as if the file had a laterality row right after it.
    """
    row = {k: (v or "").strip() for k, v in raw.items() if k in CSV_COLUMNS}
    laterality = ""
    if row.get("field", "").lower() == "site" and (parsed := split_site(row.get("value", ""))):
        row["value"], laterality = parsed
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
        return []
    assert day is not None
    facts = [_Row(number, pcn, day, procedure, name, normalise_value(name, row.get("value", "")))]
    if laterality:
        facts.append(_Row(number, pcn, day, procedure, "laterality", laterality))
    return facts
