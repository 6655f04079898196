"""Appeals: overturn rate ((won + partial) ÷ decided), dollars overturned and median days to
decision, by level and by payer, for the appeals sent for the period's denials.

`present` builds the report from an `AppealsData`, summed from the stored aggregates
(`from_aggregates`) or from scratch (`reference.appeals_data`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from appeals.models import ReportAppeal
from appeals.reports import aggregates as agg
from appeals.reports.base import (
    DECIDED,
    ZERO,
    Column,
    Figure,
    Report,
    ReportFilters,
    Table,
    _payer_names,
    median_of,
    rate,
)
from appeals.workflow import RECOVERED_STATUSES


@dataclass
class AppealsData:
    """(level, payer, outcome, appeals, recovered, Σ denied) and (level, payer, days, appeals)."""

    counts: list[tuple[Any, ...]] = field(default_factory=list)
    timing: list[tuple[Any, ...]] = field(default_factory=list)


def present(session: Session, f: ReportFilters, today: date, data: AppealsData) -> Report:
    """The appeals report from its data."""
    counts, timing = data.counts, data.timing
    names = _payer_names(session)

    def fold(index: int, label: Callable[[Any], str]) -> list[tuple[Any, ...]]:
        stats: dict[Any, list[Any]] = {}
        hist: dict[Any, Counter[int]] = defaultdict(Counter)
        for row in counts:
            key, outcome, n, recovered, stake = row[index], row[2], int(row[3]), row[4], row[5]
            s = stats.setdefault(key, [0, 0, 0, 0, ZERO, ZERO])
            s[0] += n
            if outcome in DECIDED:
                s[1] += n
                s[4] += stake
            if outcome in RECOVERED_STATUSES:
                s[2] += n
                s[5] += recovered
            if outcome == "":
                s[3] += n
        for row in timing:
            if row[2] is not None:
                hist[row[index]][int(row[2])] += int(row[3])
        out = []
        for key in sorted(stats, key=lambda k: (-stats[k][0], str(k)) if index else k):
            sent, decided, overturned, pending, stake, recovered = stats[key]
            out.append(
                (
                    label(key),
                    sent,
                    pending,
                    decided,
                    overturned,
                    rate(overturned, decided),
                    recovered,
                    rate(recovered, stake),
                    median_of(hist[key]),
                )
            )
        return out

    columns = (
        Column("sent", "Sent", "count", "appeals sent for the period's denials"),
        Column("pending", "Awaiting decision", "count", "sent, no decision yet"),
        Column("decided", "Decided", "count", "won + partial + lost (withdrawn left out)"),
        Column("overturned", "Overturned", "count", "won + partial"),
        Column("overturn_rate", "Overturn rate", "rate", "(won + partial) ÷ decided"),
        Column("recovered", "Recovered", "money", "Σ recovered of won and partial decisions"),
        Column(
            "dollar_rate", "Dollars overturned", "rate", "recovered ÷ Σ denied of decided appeals"
        ),
        Column(
            "median_days", "Median days to decision", "days", "median of decision date − sent date"
        ),
    )
    by_level = fold(0, lambda level: f"Level {level}")
    by_payer = fold(1, lambda payer: names.get(payer, "?"))
    total_sent = sum(r[1] for r in by_level)
    decided = sum(r[3] for r in by_level)
    overturned = sum(r[4] for r in by_level)
    all_hist: Counter[int] = Counter()
    for row in timing:
        if row[2] is not None:
            all_hist[int(row[2])] += int(row[3])
    report = Report("appeals", "Appeals", f)
    report.figures = [
        Figure(
            "sent",
            "Appeals sent",
            total_sent,
            "count",
            "appeals sent for the period's denials (every level)",
        ),
        Figure(
            "overturn_rate",
            "Overturn rate",
            rate(overturned, decided),
            "rate",
            "(won + partial) ÷ decided",
            f"{overturned:,} of {decided:,} decided",
        ),
        Figure(
            "median_days",
            "Median days to decision",
            median_of(all_hist),
            "days",
            "median of decision date − sent date",
        ),
    ]
    report.tables = [
        Table("by_level", "By level", (Column("level", "Level", "text"), *columns), by_level),
        Table("by_payer", "By payer", (Column("payer", "Payer", "text"), *columns), by_payer),
    ]
    return report


def from_aggregates(session: Session, f: ReportFilters, today: date) -> AppealsData:
    """The period's appeals from the stored cells plus its partial months from scratch."""
    period = agg.plan(session, f.practice, f.basis, f.date_from, f.date_to)
    where = [ReportAppeal.month.in_(period.whole), *agg.scope_where(ReportAppeal, f, f.basis)]  # type: ignore[attr-defined]
    keys = [ReportAppeal.level, ReportAppeal.payer_id, ReportAppeal.outcome]
    counts = agg.summed(session, ReportAppeal, where, keys, ("appeals", "recovered", "stake"))
    timing: dict[tuple[Any, ...], Counter[int]] = defaultdict(Counter)
    for (level, payer), counter in agg.histograms(session, ReportAppeal, where, keys[:2]).items():
        timing[(level, payer)].update(counter)
    for cell in period.edges:
        for row in agg.compute(session, cell, today, {"appeal"})["appeal"]:
            if agg.row_matches(row, f):
                key = (row["level"], row["payer_id"], row["outcome"])
                agg.add_into(counts, key, [row["appeals"], row["recovered"], row["stake"]])
                timing[key[:2]].update(agg.read_histogram(row["days"]))
    return AppealsData(
        [(*key, *values) for key, values in counts.items()],
        [(*key, days, n) for key, hist in timing.items() for days, n in hist.items() if n],
    )
