"""A payer's own filing windows per product line: validation, audited changes, the table.

The defaults live in `data/denial_rules/appeal_windows.csv` (appeal levels) and
`timely_filing.csv` (corrected claims and reopenings, level 0 here). An admin replaces one for a
payer and product line with a `PayerWindow` naming its source; every change is audited (codes
and numbers only) and moves the deadline of each unfinished denial of that payer at once
(`deadlines.recompute_open`), whose priority is then rescored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from appeals import audit, deadlines, ranking
from appeals.models import Payer, PayerWindow, utcnow

WINDOW_FIELDS: dict[str, str] = {
    "payer_type": "Product line",
    "level": "Level",
    "days": "Days",
    "receipt_days": "Receipt days",
    "source": "Source",
}

TIMELY_FILING = deadlines.TIMELY_FILING_LEVEL
LEVEL_NAMES: dict[int, str] = {
    TIMELY_FILING: "Timely filing (corrected claims)",
    1: "Level 1: first appeal",
    2: "Level 2: second appeal",
    3: "Level 3: ALJ hearing (Medicare)",
    4: "Level 4: Appeals Council (Medicare)",
}
MAX_LEVEL = 4
MAX_DAYS = 1095  # three years
MAX_RECEIPT_DAYS = 30
MAX_SOURCE = 200
_WHOLE = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, slots=True)
class WindowValues:
    """A validated window, ready to save."""

    payer_type: str
    level: int
    days: int
    receipt_days: int
    source: str


@dataclass(frozen=True, slots=True)
class WindowRow:
    """One product line and level of a payer: the default and the payer's own window, if any."""

    payer_type: str
    product_line: str  # the product line's name
    level: int
    level_name: str
    default_days: int | None  # None: no default for this level (a stray override)
    default_months: int  # timely filing given in months (0: counted in days)
    default_receipt_days: int
    default_cite: str
    default_label: str
    override: PayerWindow | None

    @property
    def default_text(self) -> str:
        """The default span in words, e.g. "120 days + 5 receipt" or "12 months"."""
        if self.default_days is None:
            return ""
        span = (
            _plural(self.default_months, "month")
            if self.default_months
            else _plural(self.default_days, "day")
        )
        return (
            f"{span} + {self.default_receipt_days} receipt" if self.default_receipt_days else span
        )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def levels_for(payer_type: str) -> list[int]:
    """The levels a window may be set for: timely filing, then the default appeal levels."""
    found = sorted(level for kind, level in deadlines.windows() if kind == payer_type)
    return [TIMELY_FILING, *found]


def _whole(text: str, low: int, high: int) -> tuple[int | None, str | None]:
    if not text:
        return None, "required"
    if not _WHOLE.fullmatch(text):
        return None, "must be a whole number"
    value = int(text)
    if not low <= value <= high:
        return None, f"must be between {low} and {high}"
    return value, None


def validate_window(form: Mapping[str, str]) -> tuple[WindowValues | None, dict[str, str]]:
    """The validated window (None when invalid) and errors keyed by field name."""
    text = {name: (form.get(name) or "").strip() for name in WINDOW_FIELDS}
    errors: dict[str, str] = {}
    payer_type = text["payer_type"]
    if payer_type not in deadlines.PAYER_TYPES:
        errors["payer_type"] = f"must be one of: {', '.join(deadlines.PAYER_TYPES)}"
    level, message = _whole(text["level"], TIMELY_FILING, MAX_LEVEL)
    if message:
        errors["level"] = message
    elif level and payer_type in deadlines.PAYER_TYPES and level not in levels_for(payer_type):
        allowed = ", ".join(str(n) for n in levels_for(payer_type) if n)
        name = deadlines.PAYER_TYPES[payer_type]
        errors["level"] = f"{name} has no level {level} appeal (levels: {allowed})"
    days, message = _whole(text["days"], 1, MAX_DAYS)
    if message:
        errors["days"] = message
    receipt, message = _whole(text["receipt_days"] or "0", 0, MAX_RECEIPT_DAYS)
    if message:
        errors["receipt_days"] = message
    elif level == TIMELY_FILING and receipt:
        errors["receipt_days"] = "timely filing counts from the date of service: leave at 0"
    source = text["source"]
    if not source:
        errors["source"] = "required: where this window comes from (contract, manual, page)"
    elif len(source) > MAX_SOURCE:
        errors["source"] = f"at most {MAX_SOURCE} characters"
    if errors or level is None or days is None or receipt is None:
        return None, errors
    return WindowValues(payer_type, level, days, receipt, source), errors


def _recompute(session: Session, payer_id: int, today: date | None) -> list[int]:
    """Move the deadlines of the payer's unfinished denials, then rescore those that moved."""
    session.flush()
    changed = deadlines.recompute_open(session, payer_id)
    if changed:
        ranking.rescore(session, changed, today or date.today())
    return changed


def save_window(
    session: Session,
    payer_id: int,
    values: WindowValues,
    user_id: int | None,
    *,
    today: date | None = None,
) -> list[int]:
    """Set the payer's window for a product line and level (audited); returns denials moved."""
    window = session.exec(
        select(PayerWindow).where(
            PayerWindow.payer_id == payer_id,
            PayerWindow.payer_type == values.payer_type,
            PayerWindow.level == values.level,
        )
    ).first()
    created = window is None
    window = window or PayerWindow(
        payer_id=payer_id, payer_type=values.payer_type, level=values.level, days=values.days
    )
    wanted = {"days": values.days, "receipt_days": values.receipt_days, "source": values.source}
    changed = [name for name, value in wanted.items() if created or getattr(window, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(window, name, wanted[name])
    window.updated_at, window.updated_by_id = utcnow(), user_id
    session.add(window)
    session.flush()
    audit.record(
        session,
        user_id,
        "update",
        "payer",
        payer_id,
        {
            "filing_window_id": window.id,
            "payer_type": values.payer_type,
            "level": values.level,
            "days": values.days,
            "receipt_days": values.receipt_days,
            "fields": changed,
        },
    )
    return _recompute(session, payer_id, today)


def remove_window(
    session: Session, window: PayerWindow, user_id: int | None, *, today: date | None = None
) -> list[int]:
    """Remove a payer's window (audited): back to the default; returns the denials moved."""
    payer_id = window.payer_id
    audit.record(
        session,
        user_id,
        "update",
        "payer",
        payer_id,
        {
            "deleted_filing_window": window.id,
            "payer_type": window.payer_type,
            "level": window.level,
        },
    )
    session.delete(window)
    return _recompute(session, payer_id, today)


def payer_windows(session: Session, payer_id: int) -> list[PayerWindow]:
    """The payer's own windows, by product line and level."""
    return list(
        session.exec(
            select(PayerWindow)
            .where(PayerWindow.payer_id == payer_id)
            .order_by(col(PayerWindow.payer_type), col(PayerWindow.level))
        ).all()
    )


def product_lines(first: str = "") -> list[str]:
    """Every product line, `first` (the payer's own type) leading."""
    return sorted(deadlines.PAYER_TYPES, key=lambda kind: kind != first)


def windows_table(session: Session, payer: Payer) -> list[WindowRow]:
    """Every product line (the payer's own first) and level (timely filing first): the default
    window beside the payer's own."""
    own = {(w.payer_type, w.level): w for w in payer_windows(session, payer.id or 0)}
    appeal = deadlines.windows()
    filing = deadlines.timely_filing_rules()
    rows: list[WindowRow] = []
    for kind in product_lines(payer.payer_type):
        levels = sorted(set(levels_for(kind)) | {level for k, level in own if k == kind})
        for level in levels:
            rows.append(_row(kind, level, appeal, filing, own.get((kind, level))))
    return rows


def _row(
    kind: str,
    level: int,
    appeal: Mapping[tuple[str, int], deadlines.AppealWindow],
    filing: Mapping[str, deadlines.TimelyFiling],
    override: PayerWindow | None,
) -> WindowRow:
    line = deadlines.PAYER_TYPES.get(kind, kind)
    if level == TIMELY_FILING:
        rule = filing.get(kind) or filing["other"]
        days, months, receipt = rule.days, rule.months, 0
        name, cite, label = LEVEL_NAMES[level], rule.cite, rule.label
    elif found := appeal.get((kind, level)):
        days, months, receipt = found.days, 0, found.receipt_days
        name, cite, label = found.name, found.cite, found.label
    else:  # an override of a level without a default
        days, months, receipt = None, 0, 0
        name, cite, label = f"Level {level}", "", ""
    return WindowRow(kind, line, level, name, days, months, receipt, cite, label, override)


def count_by_payer(session: Session) -> dict[int, int]:
    """How many own windows each payer has."""
    rows = session.exec(
        select(PayerWindow.payer_id, sa.func.count()).group_by(col(PayerWindow.payer_id))
    ).all()
    return {payer_id: count for payer_id, count in rows}
