"""Appeal history CSV: a practice's past appeals and their outcomes, in and out.

One row per appeal (one level of one denied line): when and how it was sent and, once the payer
decided, the outcome. Rows go through `appeals.lifecycle` (`send_appeal`, `record_decision`,
source "history"), so they make the records the web makes and are refused for the same reasons;
a denial a later 835 already paid keeps its status and only gains its Appeal rows. Importing a
file again records nothing twice. Format: `docs/appeal-history-csv.md`.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple, TextIO

from sqlmodel import Session, col, func, select

from appeals import audit, lifecycle
from appeals.csvsafe import read_cell, text_cell
from appeals.formatting import day, money
from appeals.models import Appeal, Claim, Denial, Payer, Payment, ServiceLine
from appeals.workflow import OPEN_STATUSES, PENDING_STATUSES, RECOVERED_STATUSES, label

COLUMNS = (
    "patient_control_number",
    "date_of_service",
    "procedure",
    "payer",
    "level",
    "date_sent",
    "method",
    "outcome",
    "decision_date",
    "amount_recovered",
)
OPTIONAL_COLUMNS = ("reference", "route")
ALL_COLUMNS = (*COLUMNS, *OPTIONAL_COLUMNS)
SOURCE = "history"
# What the export writes for an appeal a Medicare Advantage plan forwarded on its own.
FORWARDED = "automatic"
# A denial in these statuses takes an appeal at its current level.
SENDING_STATUSES = (*OPEN_STATUSES, *PENDING_STATUSES)
PROCEDURE = re.compile(r"^[0-9A-Z]{5}$")
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d")
# The lifecycle's form fields, as CSV columns.
_COLUMN_OF = {
    "sent_on": "date_sent",
    "method": "method",
    "reference": "reference",
    "outcome": "outcome",
    "decided_on": "decision_date",
    "amount": "amount_recovered",
}


class HistoryFormatError(ValueError):
    """The file cannot be read as an appeal history CSV (missing columns, not UTF-8 text)."""


class Unmatched(NamedTuple):
    row: int  # 1 is the header, so the first appeal is row 2
    reason: str


class Invalid(NamedTuple):
    row: int
    field: str  # the CSV column
    message: str


@dataclass
class HistoryReport:
    rows: int = 0
    recorded: int = 0
    already_recorded: int = 0
    unmatched: list[Unmatched] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)


@dataclass
class _Row:
    """One CSV row, parsed as far as it can be without its denial."""

    number: int
    values: dict[str, str]
    errors: dict[str, str]
    key: tuple[str, date, str, str] | None  # patient control number, service date, code, payer
    level: int
    route: str
    outcome: str
    sending: lifecycle.Sending | None


# --- import --------------------------------------------------------------------------------


def import_appeal_history(
    session: Session, path: str | Path, user_id: int | None = None, today: date | None = None
) -> HistoryReport:
    """Record every appeal of the CSV against its denial (flushed, not committed).

    Invalid rows are reported by row number and column, rows that match no denial as unmatched;
    nothing is stored for either. A denial's rows are applied in level order.
    """
    today = today or date.today()
    report = HistoryReport()
    rows = [_parse_row(number, raw, today) for number, raw in _read(path)]
    report.rows = len(rows)
    for row in rows:
        if row.key is None:  # not even matched: the row's own errors
            report.invalid.extend(_invalid(row, row.errors))
    by_denial: dict[int, list[_Row]] = {}
    denials: dict[int, Denial] = {}
    for row, denial, reason in _assign(session, [r for r in rows if r.key is not None]):
        if denial is None:
            if row.errors:
                report.invalid.extend(_invalid(row, row.errors))
            else:
                report.unmatched.append(Unmatched(row.number, reason))
            continue
        denials[denial.id or 0] = denial
        by_denial.setdefault(denial.id or 0, []).append(row)
    last_id = session.exec(select(func.max(Appeal.id))).one() or 0  # later ones are this import's
    for denial_id, own in by_denial.items():
        _apply_denial(session, denials[denial_id], own, report, last_id, user_id, today)
    session.flush()
    report.unmatched.sort()
    report.invalid.sort()
    return report


def _read(path: str | Path) -> list[tuple[int, dict[str | None, str | None]]]:
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [(name or "").strip().lower() for name in reader.fieldnames or []]
            absent = [c for c in COLUMNS if c not in header]
            if absent:
                raise HistoryFormatError(
                    f"missing column(s): {', '.join(absent)}; expected {', '.join(COLUMNS)}"
                    f" (and optionally {', '.join(OPTIONAL_COLUMNS)})"
                )
            reader.fieldnames = header
            return list(enumerate(reader, start=2))  # type: ignore[arg-type]
    except UnicodeDecodeError as error:
        raise HistoryFormatError(f"not a UTF-8 text file: {error}") from error


def _iso(text: str) -> str:
    """A date in any accepted format as YYYY-MM-DD (unparseable text is left for the check)."""
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    return text


def _parse_row(number: int, raw: Mapping[str | None, str | None], today: date) -> _Row:
    values = {name: read_cell((raw.get(name) or "").strip()) for name in ALL_COLUMNS}
    errors: dict[str, str] = {}
    pcn = values["patient_control_number"]
    if not pcn:
        errors["patient_control_number"] = "The patient control number is empty."
    service = _iso(values["date_of_service"])
    try:
        service_date: date | None = date.fromisoformat(service)
    except ValueError:
        service_date = None
        errors["date_of_service"] = "Enter the date of service as YYYY-MM-DD."
    procedure = values["procedure"].upper().split("-")[0].strip()
    if procedure and not PROCEDURE.match(procedure):
        errors["procedure"] = (
            "Enter the 5-character procedure code, or leave it empty for a whole-claim denial."
        )
    level = int(values["level"]) if values["level"].isdecimal() else 0
    if level < 1:
        errors["level"] = "Enter the appeal level as a whole number: 1, 2, …"
    route = values["route"].lower() or "appeal"
    if route not in lifecycle.ROUTES:
        errors["route"] = "Use appeal, corrected_claim or reopening (empty means appeal)."
    elif route != "appeal" and level > 1:
        errors["route"] = "A corrected claim or reopening is level 1; later levels are appeals."
    method = values["method"].lower()
    form = {
        "sent_on": _iso(values["date_sent"]),
        # The web form does not offer a forwarded appeal, but the export writes them.
        "method": lifecycle.SEND_METHODS[0] if method == FORWARDED else method,
        "reference": values["reference"],
    }
    sending = None
    try:
        sending = lifecycle.parse_sending(form, today)
    except lifecycle.LifecycleError as error:
        errors.update(_columns(error.errors))
    if sending is not None and method == FORWARDED:
        sending = dataclasses.replace(sending, method=FORWARDED)
    outcome = values["outcome"].lower()
    outcome = "" if outcome == "pending" else outcome
    if outcome and outcome not in lifecycle.OUTCOMES:
        errors["outcome"] = (
            "Use won, partial, lost or withdrawn, or leave it empty while the appeal is pending."
        )
    elif not outcome:
        if values["decision_date"]:
            errors["decision_date"] = "A pending appeal has no decision date: give the outcome."
        amount = lifecycle.parse_amount(values["amount_recovered"], "amount_recovered", errors)
        if amount:
            errors["amount_recovered"] = "A pending appeal has recovered nothing: give the outcome."
    key_ok = not {"patient_control_number", "date_of_service", "procedure", "level"} & set(errors)
    key = (pcn, service_date, procedure, values["payer"]) if key_ok and service_date else None
    return _Row(number, values, errors, key, level, route, outcome, sending)


def _columns(errors: Mapping[str, str]) -> dict[str, str]:
    return {_COLUMN_OF.get(name, name): message for name, message in errors.items()}


def _invalid(row: _Row, errors: Mapping[str, str]) -> list[Invalid]:
    return [Invalid(row.number, name, message) for name, message in errors.items()]


# --- matching ------------------------------------------------------------------------------


class _Denials:
    """Denials by patient control number (one query per number), with payer and billed code."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[str, list[tuple[Denial, Payer, str]]] = {}

    def _of(self, pcn: str) -> list[tuple[Denial, Payer, str]]:
        if pcn not in self.cache:
            query = (
                select(Denial, Payer, ServiceLine.original_procedure_code)
                .join(Payer, col(Payer.id) == col(Denial.payer_id))
                .outerjoin(ServiceLine, col(ServiceLine.id) == col(Denial.line_id))
                .where(Denial.patient_control_number == pcn)
                .order_by(col(Denial.id))
            )
            self.cache[pcn] = [(d, p, o or "") for d, p, o in self.session.exec(query).all()]
        return self.cache[pcn]

    def match(
        self, pcn: str, service: date, procedure: str, payer: str
    ) -> tuple[list[Denial], str]:
        """The denials a row can mean, first denied first; or none and the reason in words."""
        found = self._of(pcn)
        if not found:
            return [], f"no denial with patient control number {pcn}"
        found = [f for f in found if f[0].service_date == service]
        if not found:
            return [], f"no denial on {service.isoformat()} for this patient control number"
        found = [f for f in found if procedure == f[0].procedure_code or procedure == f[2] != ""]
        if not found:
            if procedure:
                return [], f"no denied line with procedure {procedure} on {service.isoformat()}"
            return [], (
                f"no denial of the whole claim on {service.isoformat()}: "
                "give the procedure of the denied line"
            )
        if payer:
            wanted = payer.casefold()
            found = [
                f for f in found if wanted in (f[1].identifier.casefold(), f[1].name.casefold())
            ]
            if not found:
                return [], f"no denial from payer {payer} for this line"
        return [f[0] for f in found], ""


def _assign(session: Session, rows: Iterable[_Row]) -> list[tuple[_Row, Denial | None, str]]:
    """Each row's denial. When several denied lines fit a row (the same procedure twice on a
    claim), the rows of each level go to them in order, the last line taking any extra rows."""
    denials = _Denials(session)
    seen: dict[tuple[tuple[str, date, str, str], int], int] = {}
    matched = []
    for row in rows:
        assert row.key is not None
        candidates, reason = denials.match(*row.key)
        if not candidates:
            matched.append((row, None, reason))
            continue
        index = seen.get((row.key, row.level), 0)
        seen[(row.key, row.level)] = index + 1
        matched.append((row, candidates[min(index, len(candidates) - 1)], ""))
    return matched


# --- applying ------------------------------------------------------------------------------


class _Refused(Exception):
    """A row that cannot be recorded: CSV column → message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__()
        self.errors = dict(errors)


def _apply_denial(
    session: Session,
    denial: Denial,
    rows: list[_Row],
    report: HistoryReport,
    last_id: int,
    user_id: int | None,
    today: date,
) -> None:
    """Apply one denial's rows level by level; after a refused row the later ones are refused."""
    rows.sort(key=lambda r: (r.level, r.number))
    refused: _Row | None = None
    seen: dict[int, int] = {}
    for row in rows:
        ordinal = seen.get(row.level, 0)
        seen[row.level] = ordinal + 1
        try:
            errors = dict(row.errors)
            decision = None
            if row.outcome in lifecycle.OUTCOMES and row.sending is not None:
                decision, more = _decision(row, denial, today)
                errors.update(more)
            if errors:
                raise _Refused(errors)
            if refused is not None:
                raise _Refused(
                    {
                        "level": f"Not recorded because row {refused.number} (level "
                        f"{refused.level} of the same denial) was not."
                    }
                )
            assert row.sending is not None
            later = any(r.level > row.level for r in rows)
            new = _apply_row(
                session, denial, row, row.sending, decision, ordinal, later, last_id, user_id, today
            )
        except _Refused as refusal:
            report.invalid.extend(_invalid(row, refusal.errors))
            refused = refused or row
            continue
        if new:
            report.recorded += 1
        else:
            report.already_recorded += 1


def _decision(
    row: _Row, denial: Denial, today: date
) -> tuple[lifecycle.Decision | None, dict[str, str]]:
    """The row's decision, checked as the web checks it (the amount against the denial)."""
    assert row.sending is not None
    form = {
        "outcome": row.outcome,
        "decided_on": _iso(row.values["decision_date"]),
        "amount": row.values["amount_recovered"],
    }
    probe = Appeal(denial_id=denial.id or 0, submitted_on=row.sending.sent_on)
    try:
        return lifecycle.parse_decision(form, denial, probe, today), {}
    except lifecycle.LifecycleError as error:
        return None, _columns(error.errors)


def _apply_row(
    session: Session,
    denial: Denial,
    row: _Row,
    sending: lifecycle.Sending,
    decision: lifecycle.Decision | None,
    ordinal: int,
    later: bool,
    last_id: int,
    user_id: int | None,
    today: date,
) -> bool:
    """Record one row (True) or find it already recorded (False); raises _Refused.

    The row is the `ordinal`-th appeal of its level for this denial (a level can be filed again
    after a withdrawal). A lost decision opens the next level when a later row follows.
    """
    stored = [a for a in lifecycle.appeals_of(session, denial.id or 0) if a.level == row.level]
    appeal = stored[ordinal] if ordinal < len(stored) else None
    if appeal is not None:
        if _same(appeal, row.route, sending, decision):
            return (appeal.id or 0) > last_id  # made by an earlier row (a forwarded appeal)
        if appeal.outcome:
            raise _Refused(_conflict(appeal, row.route, sending, decision))
    if denial.status in RECOVERED_STATUSES and denial.closed_by_claim_id is not None:
        _record_paid(session, denial, appeal, row, sending, decision, user_id)
        return True
    # After a lost or partly won level, the next level's row opens it (as sending it does).
    next_level = (
        appeal is None
        and denial.status in ("lost", "partial")
        and row.level == denial.appeal_level + 1
    )
    if next_level and not lifecycle.start_next_level(session, denial, user_id, today=today):
        raise _Refused({"level": f"This payer has no appeal level {row.level}."})
    if denial.status not in SENDING_STATUSES:
        raise _Refused(
            {
                "status": f"The denial is {label(denial.status).lower()} in the app: "
                "reopen it there to record this appeal."
            }
        )
    if row.level != denial.appeal_level:
        current = denial.appeal_level
        raise _Refused(
            {
                "level": f"The denial is already at level {current}."
                if row.level < current
                else f"The denial is at level {current}: give that level's row first "
                "(a lost level opens the next)."
            }
        )
    appeal = appeal or lifecycle.open_appeal(session, denial)
    if appeal is None:
        appeal = Appeal(
            denial_id=denial.id or 0,
            level=denial.appeal_level,
            deadline=denial.deadline,
            created_by_id=user_id,
        )
    appeal.route = row.route
    session.add(appeal)
    session.flush()
    lifecycle.send_appeal(session, [denial], sending, user_id, source=SOURCE, today=today)
    if decision is not None:
        decision = dataclasses.replace(decision, go_on=later)
        lifecycle.record_decision(session, denial, decision, user_id, source=SOURCE, today=today)
    return True


def _same(
    appeal: Appeal, route: str, sending: lifecycle.Sending, decision: lifecycle.Decision | None
) -> bool:
    """Whether the stored appeal says what the row says (a pending row: its sending)."""
    return not _differences(appeal, route, sending, decision)


def _differences(
    appeal: Appeal, route: str, sending: lifecycle.Sending, decision: lifecycle.Decision | None
) -> list[str]:
    pairs = {
        "route": (appeal.route, route),
        "date_sent": (appeal.submitted_on, sending.sent_on),
        "method": (appeal.method, sending.method),
        "reference": (appeal.reference, sending.reference),
    }
    if decision is not None:
        pairs["outcome"] = (appeal.outcome, decision.outcome)
        pairs["decision_date"] = (appeal.closed_on, decision.decided_on)
        pairs["amount_recovered"] = (appeal.recovered_amount, decision.amount)
    return [column for column, (stored, given) in pairs.items() if stored != given]


def _conflict(
    appeal: Appeal, route: str, sending: lifecycle.Sending, decision: lifecycle.Decision | None
) -> dict[str, str]:
    column = _differences(appeal, route, sending, decision)[0]
    sent = f"sent {day(appeal.submitted_on)} by {appeal.method}" if appeal.submitted_on else ""
    decided = (
        f"{lifecycle.OUTCOMES.get(appeal.outcome, appeal.outcome).lower()} "
        f"{day(appeal.closed_on)} ({money(appeal.recovered_amount)})"
    )
    stored = ", ".join(part for part in (appeal.route.replace("_", " "), sent, decided) if part)
    return {
        column: f"Level {appeal.level} is already recorded as {stored}; "
        "change it in the app if the file is right."
    }


def _record_paid(
    session: Session,
    denial: Denial,
    appeal: Appeal | None,
    row: _Row,
    sending: lifecycle.Sending,
    decision: lifecycle.Decision | None,
    user_id: int | None,
) -> None:
    """A denial a later 835 paid: the appeal is stored as the row says, the denial stays closed.

    A row still pending gets the remittance's decision, as the importer gives an open appeal.
    """
    appeal = appeal or Appeal(denial_id=denial.id or 0, level=row.level, created_by_id=user_id)
    appeal.route = row.route
    appeal.submitted_on, appeal.method = sending.sent_on, sending.method
    appeal.reference = sending.reference
    appeal.follow_up_on = lifecycle.default_follow_up(denial.payer_type, row.level, sending.sent_on)
    appeal.sent_by_id = appeal.sent_by_id or user_id
    appeal.source = SOURCE
    by = SOURCE
    if decision is not None:
        appeal.outcome, appeal.closed_on = decision.outcome, decision.decided_on
        appeal.recovered_amount, appeal.decided_by_id = decision.amount, user_id
    else:
        appeal.outcome, appeal.closed_on = denial.status, _paid_on(session, denial)
        appeal.recovered_amount, by = denial.recovered_amount, "remittance"
    denial.appeal_level = max(denial.appeal_level, row.level)
    session.add(appeal)
    session.add(denial)
    session.flush()
    audit.record(
        session,
        user_id,
        "appeal_sent",
        "denial",
        denial.id,
        {
            "appeal_id": appeal.id,
            "level": appeal.level,
            "route": appeal.route,
            "sent_on": appeal.submitted_on,
            "method": appeal.method,
            "follow_up_on": appeal.follow_up_on,
            "by": SOURCE,
        },
    )
    audit.record(
        session,
        user_id,
        "appeal_decided",
        "denial",
        denial.id,
        {
            "appeal_id": appeal.id,
            "level": appeal.level,
            "outcome": appeal.outcome,
            "decided_on": appeal.closed_on,
            "amount": str(appeal.recovered_amount),
            "by": by,
        },
    )


def _paid_on(session: Session, denial: Denial) -> date | None:
    """The payment date of the remittance claim that closed the denial."""
    query = (
        select(Payment.payment_date)
        .join(Claim, col(Claim.payment_id) == col(Payment.id))
        .where(Claim.id == denial.closed_by_claim_id)
    )
    return session.exec(query).first()


# --- export --------------------------------------------------------------------------------


def export_appeal_history(session: Session, out: TextIO) -> int:
    """Write every sent appeal in the import format (denial by denial, level by level).

    Returns the number of rows. Importing the file into a database with the same denials
    records the same appeals.
    """
    query = (
        select(Appeal, Denial, Payer)
        .join(Denial, col(Denial.id) == col(Appeal.denial_id))
        .join(Payer, col(Payer.id) == col(Denial.payer_id))
        .where(col(Appeal.submitted_on).is_not(None))
        .order_by(col(Denial.id), col(Appeal.level), col(Appeal.id))
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ALL_COLUMNS)
    count = 0
    for appeal, denial, payer in session.exec(query):
        assert appeal.submitted_on is not None
        writer.writerow(
            (
                text_cell(denial.patient_control_number),
                denial.service_date.isoformat() if denial.service_date else "",
                text_cell(denial.procedure_code),
                text_cell(payer.identifier),
                appeal.level,
                appeal.submitted_on.isoformat(),
                appeal.method,
                appeal.outcome,
                appeal.closed_on.isoformat() if appeal.outcome and appeal.closed_on else "",
                f"{appeal.recovered_amount:.2f}" if appeal.outcome else "",
                text_cell(appeal.reference),  # typed by a person: kept from running as a formula
                appeal.route,
            )
        )
        count += 1
    return count
