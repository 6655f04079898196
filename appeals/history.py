"""Appeal history from a CSV (the synthetic practice's `appeals.csv`, or a practice's own log).

Each row is one appeal or corrected claim already sent for a denied line: it becomes an Appeal
record, and the denial's status follows the outcome. Money that came back arrives through later
835s, which close denials on their own; this only records what the remittances cannot say
(sent, pending, lost).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlmodel import Session, col, select

from appeals import audit
from appeals.models import Appeal, Denial, utcnow
from appeals.workflow import RECOVERED_STATUSES

REQUIRED = ("patient_control_number", "date_of_service", "procedure", "route", "level", "outcome")
RESUBMISSIONS = ("corrected_claim", "reopening", "resubmit")
CLOSED_OUTCOMES = {"won": "won", "partial": "partial", "lost": "lost", "dismissed_untimely": "lost"}


@dataclass(slots=True)
class HistoryReport:
    appeals: int = 0
    unmatched: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _money(text: str) -> Decimal:
    try:
        return Decimal(text or "0")
    except InvalidOperation:
        return Decimal("0")


def import_appeal_history(session: Session, path: Path) -> HistoryReport:
    """Record every appeal in the CSV against its denial (not committed)."""
    report = HistoryReport()
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing columns {', '.join(missing)}")
        for number, row in enumerate(reader, start=2):
            denial = _find_denial(session, row)
            if denial is None:
                report.unmatched.append((number, "no denial for this claim, date and procedure"))
                continue
            _record(session, denial, row)
            report.appeals += 1
    session.flush()
    return report


def _find_denial(session: Session, row: dict[str, str]) -> Denial | None:
    query = (
        select(Denial)
        .where(
            Denial.patient_control_number == row["patient_control_number"],
            Denial.procedure_code == row["procedure"],
            Denial.service_date == _day(row["date_of_service"]),
        )
        .order_by(col(Denial.id))
    )
    return session.exec(query).first()


def _record(session: Session, denial: Denial, row: dict[str, str]) -> None:
    outcome = row["outcome"]
    closed = CLOSED_OUTCOMES.get(outcome, "")
    recovered = _money(row.get("recovered_amount", ""))
    level = int(row["level"] or 1)
    session.add(
        Appeal(
            denial_id=denial.id,  # type: ignore[arg-type]
            level=level,
            submitted_on=_day(row.get("date_appealed", "")),
            method="corrected claim" if row["route"] in RESUBMISSIONS else "",
            outcome=closed,
            recovered_amount=recovered if closed in RECOVERED_STATUSES else Decimal("0"),
            closed_on=_day(row.get("decision_date", "")) if closed else None,
        )
    )
    denial.appeal_level = max(denial.appeal_level, level)
    if denial.status in RECOVERED_STATUSES:
        return  # a later remittance already paid it
    if closed:
        denial.status = closed
        denial.recovered_amount = recovered if closed != "lost" else Decimal("0")
        denial.closed_at = utcnow()
    else:
        denial.status = "corrected_claim_sent" if row["route"] in RESUBMISSIONS else "appealed"
    denial.updated_at = utcnow()
    session.add(denial)
    audit.record(
        session,
        None,
        "status",
        "denial",
        denial.id,
        {"status": denial.status, "by": "appeal history"},
    )
