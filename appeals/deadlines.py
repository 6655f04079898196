"""Filing deadlines per claim: appeal windows per payer type and level, timely filing, and why.

Defaults come from `data/denial_rules/appeal_windows.csv` (appeal levels, counted from the
remittance for level 1 and from the previous decision after that) and `timely_filing.csv`
(corrected claims and reopenings, counted from the date of service). An admin may replace
either per payer and product line (`PayerWindow`); `recompute_open` then moves the deadlines of
every unfinished denial of that payer. Every deadline comes with its basis in words.
"""

from __future__ import annotations

import calendar
import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from appeals.formatting import day
from appeals.models import Denial, PayerWindow, utcnow

RULES_DIR = Path(__file__).resolve().parent.parent / "data" / "denial_rules"
WINDOWS_CSV = RULES_DIR / "appeal_windows.csv"
TIMELY_FILING_CSV = RULES_DIR / "timely_filing.csv"

PAYER_TYPES: dict[str, str] = {
    "medicare": "Medicare",
    "medicare_advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "commercial": "Commercial",
    "other": "Other / unknown",
}

# CLP06 claim filing indicator → payer type (product line).
FILING_INDICATOR_TYPES = {
    "MA": "medicare",
    "MB": "medicare",
    "16": "medicare_advantage",
    "MC": "medicaid",
    "CH": "commercial",
    "BL": "commercial",
    "CI": "commercial",
    "HM": "commercial",
    "12": "commercial",
    "13": "commercial",
    "14": "commercial",
    "15": "commercial",
    "17": "commercial",
}

# Routes whose clock is the timely-filing limit from the date of service, not an appeal window.
RESUBMISSION_ROUTES = frozenset({"corrected_claim", "reopening", "resubmit"})
TIMELY_FILING_LEVEL = 0  # PayerWindow.level for a payer's own timely-filing limit

# Medicare ALJ hearings need this amount in controversy (by the year the request is filed).
ALJ_LEVEL = 3
AMOUNT_IN_CONTROVERSY = {2024: Decimal("180"), 2025: Decimal("190"), 2026: Decimal("200")}

# Denials whose deadline still matters: not yet sent, or sent and waiting.
UNFINISHED_STATUSES = ("new", "in_progress", "appealed", "corrected_claim_sent")


@dataclass(frozen=True, slots=True)
class AppealWindow:
    payer_type: str
    level: int
    name: str
    days: int
    receipt_days: int
    decision_days: int  # how long the payer usually takes to decide: the default follow-up
    label: str
    cite: str
    varies: bool
    source: str


@dataclass(frozen=True, slots=True)
class TimelyFiling:
    payer_type: str
    days: int
    months: int
    label: str
    cite: str
    varies: bool
    source: str


@dataclass(frozen=True, slots=True)
class Override:
    """An admin's window for one payer and product line."""

    days: int
    receipt_days: int
    source: str


@dataclass(frozen=True, slots=True)
class Deadline:
    due: date | None
    basis: str


Overrides = Mapping[tuple[str, int], Override]  # (payer type, level) → window, for one payer


@cache
def windows() -> dict[tuple[str, int], AppealWindow]:
    with open(WINDOWS_CSV, newline="", encoding="utf-8") as handle:
        rows = [
            AppealWindow(
                payer_type=row["payer_type"],
                level=int(row["level"]),
                name=row["name"],
                days=int(row["days"]),
                receipt_days=int(row["receipt_days"]),
                decision_days=int(row["decision_days"]),
                label=row["label"],
                cite=row["cite"],
                varies=row["varies"] == "Y",
                source=row["source"],
            )
            for row in csv.DictReader(handle)
        ]
    return {(w.payer_type, w.level): w for w in rows}


@cache
def timely_filing_rules() -> dict[str, TimelyFiling]:
    with open(TIMELY_FILING_CSV, newline="", encoding="utf-8") as handle:
        return {
            row["payer_type"]: TimelyFiling(
                payer_type=row["payer_type"],
                days=int(row["days"]),
                months=int(row["months"]),
                label=row["label"],
                cite=row["cite"],
                varies=row["varies"] == "Y",
                source=row["source"],
            )
            for row in csv.DictReader(handle)
        }


def payer_type_for(filing_indicator: str, default: str = "") -> str:
    """The product line of one claim: its CLP06, else `default` (the payer's type)."""
    if filing_indicator:
        return FILING_INDICATOR_TYPES.get(filing_indicator, "commercial")
    return default or "other"


def window(payer_type: str, level: int = 1) -> AppealWindow:
    """The window for a payer type and level, falling back to level 1 and then to 'other'."""
    table = windows()
    return table.get((payer_type, level)) or table.get((payer_type, 1)) or table[("other", 1)]


def next_level(payer_type: str, level: int) -> AppealWindow | None:
    """The level after `level` for this payer type, or None when the appeals end there."""
    return windows().get((payer_type if (payer_type, 1) in windows() else "other", level + 1))


def amount_in_controversy(on: date) -> Decimal:
    """The ALJ amount-in-controversy threshold for a request filed on `on` (latest known)."""
    known = [year for year in AMOUNT_IN_CONTROVERSY if year <= on.year]
    return AMOUNT_IN_CONTROVERSY[max(known) if known else min(AMOUNT_IN_CONTROVERSY)]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def appeal_deadline(
    notice: date | None, payer_type: str, level: int = 1, override: Override | None = None
) -> Deadline:
    """Last day to file at `level`: days from the notice (level 1) or the previous decision."""
    w = window(payer_type, level)
    days, receipt, cite = (
        (override.days, override.receipt_days, override.source or "this payer's setting")
        if override
        else (w.days, w.receipt_days, w.cite)
    )
    event = "notice" if level == 1 else "decision"
    if notice is None:
        return Deadline(None, f"{w.name}: {days} days from the {event}, whose date is unknown")
    receipt_words = f" + {receipt} days' presumed receipt" if receipt else ""
    basis = f"{w.name}: {days} days from the {day(notice)} {event}{receipt_words}, {cite}"
    return Deadline(notice + timedelta(days=receipt + days), basis)


def add_months(start: date, months: int) -> date:
    """`start` plus whole months; a day the month lacks becomes its last (Feb 29 → Feb 28)."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def timely_filing_deadline(
    service_date: date | None, payer_type: str, override: Override | None = None
) -> Deadline:
    """Last day to send a corrected claim or reopening: the timely-filing limit from service."""
    rules = timely_filing_rules()
    rule = rules.get(payer_type) or rules["other"]
    if override:
        span, cite = _plural(override.days, "day"), override.source or "this payer's setting"
    elif rule.months:
        span, cite = _plural(rule.months, "month"), rule.cite
    else:
        span, cite = _plural(rule.days, "day"), rule.cite
    if service_date is None:
        return Deadline(None, f"Timely filing: {span} from the date of service, which is unknown")
    if override:
        due = service_date + timedelta(days=override.days)
    elif rule.months:
        due = add_months(service_date, rule.months)
    else:
        due = service_date + timedelta(days=rule.days)
    return Deadline(
        due, f"Timely filing: {span} from the {day(service_date)} date of service, {cite}"
    )


def denial_deadline(
    *,
    route: str,
    payer_type: str,
    level: int,
    notice: date | None,
    service_date: date | None,
    overrides: Overrides | None = None,
) -> Deadline:
    """The deadline that governs a denial's next step: timely filing or the level's window."""
    overrides = overrides or {}
    if level <= 1 and route in RESUBMISSION_ROUTES:
        return timely_filing_deadline(
            service_date, payer_type, overrides.get((payer_type, TIMELY_FILING_LEVEL))
        )
    return appeal_deadline(notice, payer_type, level, overrides.get((payer_type, level)))


def days_left(due: date | None, today: date) -> int | None:
    return None if due is None else (due - today).days


def is_expired(due: date | None, today: date) -> bool:
    return due is not None and due < today


# --- stored windows -------------------------------------------------------------------------


def payer_overrides(session: Session | sa.Connection) -> dict[int, dict[tuple[str, int], Override]]:
    """Every payer's own windows: payer id → (payer type, level) → window."""
    table = PayerWindow.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(
            table.c.payer_id,
            table.c.payer_type,
            table.c.level,
            table.c.days,
            table.c.receipt_days,
            table.c.source,
        )
    ).all()
    found: dict[int, dict[tuple[str, int], Override]] = {}
    for payer_id, payer_type, level, days, receipt, source in rows:
        found.setdefault(payer_id, {})[(payer_type, level)] = Override(days, receipt, source)
    return found


def deadline_for(denial: Denial, overrides: Overrides | None = None) -> Deadline:
    """The deadline of a stored denial at its current level."""
    return denial_deadline(
        route=denial.action,
        payer_type=denial.payer_type or "other",
        level=denial.appeal_level,
        notice=denial.level_notice_on or denial.denied_on,
        service_date=denial.service_date,
        overrides=overrides,
    )


def recompute_open(session: Session, payer_id: int | None = None) -> list[int]:
    """Recompute the deadline of every unfinished denial (of one payer); returns those changed."""
    overrides = payer_overrides(session)
    query = select(Denial).where(sa.column("status").in_(UNFINISHED_STATUSES))
    if payer_id is not None:
        query = query.where(Denial.payer_id == payer_id)
    changed = []
    for denial in session.exec(query):
        found = deadline_for(denial, overrides.get(denial.payer_id))
        if (found.due, found.basis) != (denial.deadline, denial.deadline_basis):
            denial.deadline, denial.deadline_basis = found.due, found.basis
            denial.updated_at = utcnow()
            session.add(denial)
            changed.append(denial.id or 0)
    session.flush()
    return changed
