"""The team: per person, denials worked, appeals sent, decided, overturn rate, dollars recovered
on the appeals they sent (wins a later 835 brought included), median days to decision.

`present` builds the report from a `TeamData`, summed from the stored aggregates
(`from_aggregates`) or from scratch (`reference.team_data`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from appeals.models import ReportTeam, User
from appeals.reports import aggregates as agg
from appeals.reports.base import (
    ZERO,
    Column,
    Figure,
    Report,
    ReportFilters,
    Table,
    median_of,
    rate,
)


@dataclass
class TeamData:
    """(user, sent, decided, won, recovered, by 835) rows, days to decision and denials worked
    per person."""

    sent: list[tuple[Any, ...]] = field(default_factory=list)
    hist: dict[int, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    worked: dict[int, int] = field(default_factory=dict)


def present(session: Session, f: ReportFilters, today: date, data: TeamData) -> Report:
    """The team report from its data."""
    sent, hist, worked = data.sent, data.hist, data.worked
    stats = {row[0]: row[1:] for row in sent}
    ids = sorted(set(stats) | set(worked))
    people = {
        u.id: (u.full_name or u.username, u.role)
        for u in session.execute(sa.select(User).where(User.id.in_(ids or [-1]))).scalars()  # type: ignore[union-attr]
    }
    rows = []
    for user_id in ids:
        n_sent, decided, won, recovered, by_835 = stats.get(user_id, (0, 0, 0, ZERO, ZERO))
        name, role = people.get(user_id, ("?", ""))
        rows.append(
            (
                name,
                role,
                int(worked.get(user_id, 0)),
                int(n_sent),
                int(decided),
                rate(won, decided),
                recovered,
                by_835,
                median_of(hist[user_id]),
            )
        )
    rows.sort(key=lambda r: (-r[6], r[0]))
    report = Report("team", "The team", f)
    report.figures = [
        Figure(
            "recovered",
            "Recovered on the team's appeals",
            sum((r[6] for r in rows), ZERO),
            "money",
            "Σ recovered of won and partial appeals the team sent",
        ),
        Figure(
            "sent",
            "Appeals sent",
            sum(r[3] for r in rows),
            "count",
            "appeals sent for the period's denials",
        ),
    ]
    report.tables = [
        Table(
            "people",
            "Per person",
            (
                Column("person", "Person", "text"),
                Column("role", "Role", "text"),
                Column(
                    "worked",
                    "Denials worked",
                    "count",
                    "distinct denials they sent an appeal for, or assigned and moved past new",
                ),
                Column("sent", "Appeals sent", "count", "appeals they sent"),
                Column("decided", "Decided", "count", "their appeals won, partly won or lost"),
                Column("overturn_rate", "Overturn rate", "rate", "(won + partial) ÷ decided"),
                Column(
                    "recovered",
                    "Recovered",
                    "money",
                    "Σ recovered on their won and partial appeals, 835 wins included",
                ),
                Column(
                    "by_835",
                    "Of which by 835",
                    "money",
                    "recovered through a later remittance on an appeal they sent",
                ),
                Column(
                    "median_days",
                    "Median days to decision",
                    "days",
                    "median of decision date − sent date",
                ),
            ),
            rows,
        )
    ]
    return report


def from_aggregates(session: Session, f: ReportFilters, today: date) -> TeamData:
    """The period's team figures from the stored cells plus its partial months from scratch."""
    period = agg.plan(session, f.practice, f.basis, f.date_from, f.date_to)
    where = [ReportTeam.month.in_(period.whole), *agg.scope_where(ReportTeam, f, f.basis)]  # type: ignore[attr-defined]
    names = ("worked", "sent", "decided", "won", "recovered", "by_835")
    user = ReportTeam.user_id
    totals = agg.summed(session, ReportTeam, where, [user], names)
    data = TeamData()
    for (user_id,), counter in agg.histograms(session, ReportTeam, where, [user]).items():
        data.hist[user_id].update(counter)
    for cell in period.edges:
        for row in agg.compute(session, cell, today, {"team"})["team"]:
            if agg.row_matches(row, f):
                agg.add_into(totals, (row["user_id"],), [row[n] for n in names])
                data.hist[row["user_id"]].update(agg.read_histogram(row["days"]))
    for (user, *_), (worked, sent, decided, won, recovered, by_835) in totals.items():
        if worked:
            data.worked[user] = worked
        if sent:
            data.sent.append((user, sent, decided, won, recovered, by_835))
    return data
