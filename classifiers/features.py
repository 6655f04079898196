"""Feature rows for the recovery model: only what is known when a denial arrives.

`load_records` reads denials (with their claim, line and payer facts) in one query; `labelled`
gives the practice's own outcomes (won or partly won = 1; lost, written off, a window that
closed without recovery, or a denial `SETTLE` old not recovered yet = 0) with the day each was
decided. `History` answers "how often did this CARC × payer (× procedure) come back, counting
the denials settled before day t and the recoveries decided before it", so a denial's rate
features never see its own outcome or any later one. `matrix` turns records into
the model's columns; `OUTCOME_COLUMNS` lists what must never be among them (a test checks).
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from statistics import median
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from appeals.models import (
    Appeal,
    Claim,
    Denial,
    DenialScore,
    Payer,
    Payment,
    ServiceLine,
    paid_on,
)
from appeals.rules.tables import family
from classifiers.priors import prior_for, shrink

CATEGORICAL = (
    "carc",
    "group_code",
    "rarc",
    "category",
    "action",
    "payer",
    "payer_type",
    "procedure",
    "family",
    "modifier",
    "claim_status",
    "rule",
    "badge",
)
NUMERIC = (
    "log_denied",
    "units",
    "days_to_remit",
    "days_to_deadline",
    "n_carcs",
    "n_rarcs",
    "whole_claim",
    "has_findings",
    "doc_missing",
    "prior",
    "rate_carc",
    "rate_carc_type",
    "rate_carc_payer",
    "rate_carc_payer_proc",
    "log_decided_carc_payer",
)
FEATURES = CATEGORICAL + NUMERIC
# Columns that exist only once a denial has been worked or decided: never features.
OUTCOME_COLUMNS = frozenset(
    {"status", "recovered_amount", "closed_at", "closed_by_claim_id", "appeal_level", "label",
     "decided_on", "recovered", "assignee_id", "worked_at", "probability", "priority"}
)  # fmt: skip
RECOVERED = ("won", "partial")
FINAL_LOSSES = ("lost", "written_off")
OPEN = ("new", "in_progress")


@dataclass(slots=True)
class Record:
    """One denial's facts as plain values (those known at arrival, plus its outcome)."""

    id: int
    practice_id: int
    payer_id: int
    payer_name: str
    payer_type: str
    carc: str
    group_code: str
    rarc: str
    carcs: tuple[str, ...]
    rarcs: tuple[str, ...]
    category: str
    action: str
    procedure: str
    modifiers: tuple[str, ...]
    units: float
    denied_amount: float
    whole_claim: bool
    claim_status: str
    service_date: date | None
    denied_on: date | None
    deadline: date | None
    findings_text: str
    # outcome (never a feature)
    status: str
    recovered: float
    decided_on: date | None = None
    label: int | None = None
    # what ranking stored last (probability, priority, explanation, ranker, stake, expected):
    # compared, never a feature, so unchanged rows are not written again
    stored: tuple[Any, ...] = ()

    @property
    def arrived(self) -> date:
        return self.denied_on or self.service_date or date.min

    @property
    def findings(self) -> list[dict[str, Any]]:
        """The coding checks' findings (parsed when a feature row needs them; read only)."""
        return _findings(self.findings_text)


@lru_cache(maxsize=1 << 16)
def _findings(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def load_records(session: Session, ids: Sequence[int] | None = None) -> list[Record]:
    """Denials with their features' raw facts and their outcome (label set where decided)."""
    d, line, claim, payer, scored = (
        t.__table__  # type: ignore[attr-defined]
        for t in (Denial, ServiceLine, Claim, Payer, DenialScore)
    )
    query = (
        sa.select(
            d.c.id,
            d.c.practice_id,
            d.c.payer_id,
            payer.c.name,
            d.c.payer_type,
            payer.c.payer_type,
            d.c.carc,
            d.c.group_code,
            d.c.rarc,
            d.c.carcs,
            d.c.rarcs,
            d.c.category,
            d.c.action,
            d.c.procedure_code,
            line.c.modifiers,
            line.c.units,
            d.c.denied_amount,
            d.c.line_id,
            claim.c.status,
            d.c.service_date,
            d.c.denied_on,
            d.c.deadline,
            d.c.findings,
            d.c.status,
            d.c.recovered_amount,
            d.c.closed_at,
            scored.c.probability,
            scored.c.priority,
            scored.c.explanation,
            scored.c.ranker,
            scored.c.stake,
            scored.c.expected_recovery,
            paid_on(d.c.closed_by_claim_id),
        )  # fmt: skip
        .join(claim, claim.c.id == d.c.claim_id)
        .join(payer, payer.c.id == d.c.payer_id)
        .outerjoin(line, line.c.id == d.c.line_id)
        .outerjoin(scored, scored.c.id == d.c.id)
        .order_by(d.c.id)
    )
    rows: list[Any] = []
    if ids is None:
        rows = list(session.execute(query).all())
    else:
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            rows.extend(session.execute(query.where(d.c.id.in_(part))).all())
    decided = _decision_days(session, [r[0] for r in rows if r[23] in (*RECOVERED, "lost")])
    records = []
    for r in rows:
        record = Record(
            id=r[0], practice_id=r[1], payer_id=r[2], payer_name=r[3],
            payer_type=r[4] or r[5] or "other", carc=r[6], group_code=r[7], rarc=r[8],
            carcs=tuple(r[9].split()), rarcs=tuple(r[10].split()), category=r[11], action=r[12],
            procedure=r[13], modifiers=tuple((r[14] or "").split()),
            units=float(r[15] or 1), denied_amount=float(r[16]), whole_claim=r[17] is None,
            claim_status=r[18], service_date=r[19], denied_on=r[20], deadline=r[21],
            findings_text=r[22], status=r[23], recovered=float(r[24] or 0),
            stored=tuple(r[26:32]),
        )  # fmt: skip
        # decided on its last appeal decision, else the day the paying remittance was made, else
        # the day it was closed (a denial the importer closed carries the import's time)
        closed = r[25].date() if isinstance(r[25], datetime) else r[25]
        day = decided.get(record.id) or r[32] or closed
        record.label, record.decided_on = _label(record, day)
        records.append(record)
    return records


def _decision_days(session: Session, ids: list[int]) -> dict[int, date]:
    """The last decision date recorded on each denial's appeals."""
    table = Appeal.__table__  # type: ignore[attr-defined]
    found: dict[int, date] = {}
    for start in range(0, len(ids), 900):
        part = ids[start : start + 900]
        query = (
            sa.select(table.c.denial_id, sa.func.max(table.c.closed_on))
            .where(table.c.denial_id.in_(part), table.c.outcome != "")
            .group_by(table.c.denial_id)
        )
        found.update({i: day for i, day in session.execute(query).all() if day})
    return found


def _label(record: Record, closed: date | None) -> tuple[int | None, date | None]:
    if record.status in RECOVERED and record.recovered > 0:
        return 1, closed or record.arrived
    if record.status in FINAL_LOSSES:
        return 0, closed or record.arrived
    if record.status in (*OPEN, "appealed", "corrected_claim_sent") and record.deadline:
        return None, record.deadline  # labelled 0 only once the window has closed (`as_of`)
    return None, None


def labelled(records: Iterable[Record], as_of: date) -> list[Record]:
    """Records whose outcome counts by `as_of`: decided by then, an open window that closed
    (0), or a denial `SETTLE` old not recovered by then (0, as it stands: see `settled`)."""
    old = as_of - SETTLE
    out = []
    for r in records:
        if r.label is not None and r.decided_on and r.decided_on <= as_of:
            out.append(r)
        elif r.arrived <= old or (
            r.label is None and r.decided_on and r.decided_on < as_of and r.status in OPEN
        ):
            out.append(replace(r, label=0))  # a copy: the caller's records keep what they know
    return out


@dataclass(frozen=True)
class OutcomeSql:
    """`_label` and `labelled` as SQL conditions on the denial table, for set-wise counts:
    recovered with money back, finally lost, or an open window that closed before `as_of`;
    `arrived` as `Record.arrived`."""

    won: Any
    lost: Any
    expired: Any
    arrived: Any

    @classmethod
    def on(cls, d: sa.Table, as_of: date) -> OutcomeSql:
        return cls(
            won=d.c.status.in_(RECOVERED) & (d.c.recovered_amount > 0),
            lost=d.c.status.in_(FINAL_LOSSES),
            expired=d.c.status.in_(OPEN) & d.c.deadline.is_not(None) & (d.c.deadline < as_of),
            arrived=sa.func.coalesce(
                d.c.denied_on, d.c.service_date, sa.literal(date.min, sa.Date)
            ),
        )


# By then a cohort's outcomes are mostly known: wins come back within weeks (95 % by 128 days in
# the synthetic practice) while losses and lapsed windows take months (a commercial plan's 180-day
# window): the past rates count an outcome from here on, and training learns only from cohorts
# this old.
SETTLE = timedelta(days=180)


def counted_from(record: Record) -> date:
    """The day a denial starts counting in the past rates: its cohort's settling day (`SETTLE`
    after arriving), as not recovered until `recovered_from`, decided or not.

    Wins come back within weeks and losses and lapsed windows take months, so counting each
    outcome on its decision day overrated recent cohorts: on the demo practice the rates ran
    high and the model over-predicted the newest denials (measured, 18 months × 1,500 claims:
    AUC 0.827 → 0.839, calibration error 0.066 → 0.043 with the wait). Counting every denial
    from one day, whatever became of it later, also keeps its presence in a rate from telling
    anything about its own future.
    """
    return record.arrived + SETTLE


def recovered_from(record: Record) -> date | None:
    """The day a recovery starts counting: its decision, but not before `counted_from`."""
    if record.label and record.decided_on:
        return max(record.decided_on, counted_from(record))
    return None


class History:
    """Outcomes by key: how many counted and how many recovered before a day (`counted_from`,
    `recovered_from`)."""

    def __init__(self, outcomes: Iterable[Record]) -> None:
        counted: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        recovered: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for r in outcomes:
            if r.label is None:
                continue
            day, won = counted_from(r).toordinal(), recovered_from(r)
            for key in _keys(r):
                counted[key].append(day)
                if won is not None:
                    recovered[key].append(won.toordinal())
        self.days = {key: sorted(days) for key, days in counted.items()}
        self.wins = {key: sorted(days) for key, days in recovered.items()}
        self.memo: dict[tuple[tuple[Any, ...], date], tuple[int, int]] = {}
        self.rates_memo: dict[tuple[Any, ...], Rates] = {}

    def before(self, key: tuple[Any, ...], day: date) -> tuple[int, int]:
        """(counted, recovered) for `key` strictly before `day`."""
        days = self.days.get(key)
        if not days:
            return 0, 0
        found = self.memo.get((key, day))
        if found is None:
            at = day.toordinal()
            won = bisect_left(self.wins.get(key, []), at)
            found = self.memo[(key, day)] = (bisect_left(days, at), won)
        return found


# The levels of a denial's past rates, broadest first: each is smoothed toward the one before
LEVELS = ("carc", "carc_type", "carc_payer", "carc_payer_proc")


def _keys(r: Record) -> tuple[tuple[Any, ...], ...]:
    return (
        ("carc", r.carc),
        ("carc_type", r.carc, r.payer_type),
        ("carc_payer", r.carc, r.payer_id),
        ("carc_payer_proc", r.carc, r.payer_id, r.procedure),
    )


@dataclass(frozen=True, slots=True)
class Rates:
    """A denial's hierarchical smoothed recovery rates as of its arrival, with their counts."""

    prior: float
    prior_source: str
    carc: float
    carc_type: float
    carc_payer: float
    carc_payer_proc: float
    decided: dict[str, tuple[int, int]]


def rates(record: Record, history: History, as_of: date | None = None) -> Rates:
    """The hierarchical rates of one denial (the same codes on the same day share them)."""
    day = as_of or record.arrived
    key = (record.carc, record.rarcs, record.payer_type, record.category, record.payer_id,
           record.procedure, day)  # fmt: skip
    found = history.rates_memo.get(key)
    if found is None:
        found = history.rates_memo[key] = _rates(record, history, day)
    return found


def _rates(record: Record, history: History, day: date) -> Rates:
    p0 = prior_for(record.carc, record.rarcs, record.payer_type, record.category)
    counts = {key[0]: history.before(key, day) for key in _keys(record)}
    level = p0.probability
    smoothed = []
    for name in LEVELS:
        n, s = counts[name]
        level = shrink(s, n, level)
        smoothed.append(level)
    return Rates(p0.probability, p0.source, *smoothed, decided=counts)


def row(record: Record, rate: Rates) -> list[Any]:
    """The model's columns for one denial (categorical first, then numeric)."""
    first = record.findings[0] if record.findings else {}
    missing = sum(len(f.get("missing") or []) for f in record.findings)
    arrived = record.arrived
    return [
        record.carc,
        record.group_code,
        record.rarc or "none",
        record.category,
        record.action,
        str(record.payer_id),
        record.payer_type,
        record.procedure or "claim",
        family(record.procedure) or "other",
        record.modifiers[0] if record.modifiers else "none",
        record.claim_status,
        str(first.get("rule_id") or "none"),
        str(first.get("badge") or "none"),
        math.log1p(max(record.denied_amount, 0.0)),
        record.units,
        (arrived - record.service_date).days if record.service_date else -1,
        (record.deadline - arrived).days if record.deadline else -1,
        len(record.carcs),
        len(record.rarcs),
        1.0 if record.whole_claim else 0.0,
        1.0 if record.findings else 0.0,
        float(missing),
        rate.prior,
        rate.carc,
        rate.carc_type,
        rate.carc_payer,
        rate.carc_payer_proc,
        math.log1p(rate.decided["carc_payer"][0]),
    ]


def matrix(records: Sequence[Record], history: History) -> tuple[np.ndarray, list[Rates]]:
    """Feature rows (object array, FEATURES order) and each record's rates."""
    found = [rates(r, history) for r in records]
    data = np.array([row(r, rate) for r, rate in zip(records, found, strict=True)], dtype=object)
    return data.reshape(len(records), len(FEATURES)), found


def expected_payments(
    session: Session, as_of: date, months: int = 12, until: date | None = None
) -> dict[tuple[int, str], Decimal]:
    """What each payer paid (allowed) per procedure on paid lines: the median over `months`
    (and before `until`, for a time split's backtest: its stakes must not see later payments).
    """
    line, claim, payment = (t.__table__ for t in (ServiceLine, Claim, Payment))  # type: ignore[attr-defined]
    since = as_of - timedelta(days=months * 31)
    query = (
        sa.select(claim.c.payer_id, line.c.procedure_code, line.c.allowed, line.c.paid)
        .join(claim, claim.c.id == line.c.claim_id)
        .join(payment, payment.c.id == claim.c.payment_id)
        .where(line.c.paid > 0, payment.c.payment_date >= since, claim.c.is_reversal.is_(False))
    )
    if until is not None:
        query = query.where(payment.c.payment_date < until)
    values: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for payer_id, code, allowed, paid in session.execute(query):
        values[(payer_id, code)].append(allowed if allowed and allowed > 0 else paid)
    return {key: Decimal(median(amounts)) for key, amounts in values.items()}
