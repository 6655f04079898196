"""Reports for managers: monthly recovery, where denials come from, remittance KPIs, appeals,
the team. No Flask: plain functions of a `Session`, `ReportFilters` and today's date.

Each report is a `Report` of `Figure`s and `Table`s whose columns carry their formula, for the
page, the CSV export and `appeals report` alike. The figures are read from monthly aggregates
(`aggregates`: stale cells are recomputed first, so they always equal a from-scratch count),
and `from_scratch=True` computes the same report directly from the base tables (`reference`).

Modules: `base` (filters, report parts, shared SQL and labels), `aggregates` (the stored
cells), one per report for its data and presentation (`recovery` monthly, `origins` sources,
`kpi`, `overturns` appeals, `people` team), `reference` (from scratch).

Scope: the caller passes the viewer's practice (`ReportFilters.parse(..., scope=...)`); a
practice-scoped viewer never sees another practice, whatever the arguments say.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from appeals.models import Payer, Payment, Practice
from appeals.reports import aggregates, kpi, origins, overturns, people, recovery, reference
from appeals.reports.base import (
    AGE_BUCKETS,
    BASES,
    BREAKDOWNS,
    COHORT_DAYS,
    SOURCE_DIMENSIONS,
    Column,
    Figure,
    Report,
    ReportFilters,
    Table,
    csv_rows,
    median_of,
    plain,
    rate,
)

__all__ = [
    "AGE_BUCKETS",
    "BASES",
    "BREAKDOWNS",
    "COHORT_DAYS",
    "REPORTS",
    "SOURCE_DIMENSIONS",
    "Column",
    "Figure",
    "Report",
    "ReportFilters",
    "Table",
    "aggregates",
    "appeals",
    "build",
    "csv_rows",
    "kpis",
    "median_of",
    "monthly",
    "payers",
    "plain",
    "practices",
    "rate",
    "sources",
    "team",
]


def monthly(
    session: Session, f: ReportFilters, today: date, *, from_scratch: bool = False
) -> Report:
    """Per month of denial (or service): denied, recovered to date, rate, open, lost, expired,
    written off; the cohort within 30/60/90/180 days; dollars by the month they came back;
    a breakdown by payer, category, CARC, procedure family or provider (`f.by`)."""
    dimension = f.by not in ("payer", "provider")
    if from_scratch or (dimension and not aggregates.dims_stored(f)):
        data = reference.monthly_data(session, f, today)
    else:
        aggregates.refresh(session, today)
        data = recovery.from_aggregates(session, f, today)
    return recovery.present(f, today, data)


def sources(
    session: Session, f: ReportFilters, today: date, *, from_scratch: bool = False
) -> Report:
    """Count and dollars by payer, category, CARC, CARC + RARC, procedure family and provider
    against the previous period; the top ten root causes with their most frequent fix."""
    if from_scratch or not aggregates.dims_stored(f):
        data = reference.sources_data(session, f, today)
    else:
        aggregates.refresh(session, today)
        data = origins.from_aggregates(session, f, today)
    return origins.present(session, f, today, data)


def kpis(session: Session, f: ReportFilters, today: date, *, from_scratch: bool = False) -> Report:
    """Net collection rate, denial rate, first-pass resolution, days to payment, the open
    backlog by age, deadlines in the next 14 days, expired."""
    if from_scratch:
        data = reference.kpis_data(session, f, today)
    else:
        aggregates.refresh(session, today)
        data = kpi.from_aggregates(session, f, today)
    return kpi.present(f, today, data)


def appeals(
    session: Session, f: ReportFilters, today: date, *, from_scratch: bool = False
) -> Report:
    """Overturn rate and median days to decision by level and payer."""
    if from_scratch:
        data = reference.appeals_data(session, f, today)
    else:
        aggregates.refresh(session, today)
        data = overturns.from_aggregates(session, f, today)
    return overturns.present(session, f, today, data)


def team(session: Session, f: ReportFilters, today: date, *, from_scratch: bool = False) -> Report:
    """Per person: denials worked, appeals sent, dollars recovered, days to decision."""
    if from_scratch:
        data = reference.team_data(session, f, today)
    else:
        aggregates.refresh(session, today)
        data = people.from_aggregates(session, f, today)
    return people.present(session, f, today, data)


REPORTS: dict[str, tuple[str, Callable[..., Report]]] = {
    "monthly": ("Monthly recovery", monthly),
    "sources": ("Sources", sources),
    "kpis": ("KPIs", kpis),
    "appeals": ("Appeals", appeals),
    "team": ("Team", team),
}


def build(
    session: Session, name: str, f: ReportFilters, today: date, *, from_scratch: bool = False
) -> Report:
    """The report called `name` (a key of REPORTS)."""
    return REPORTS[name][1](session, f, today, from_scratch=from_scratch)


def practices(session: Session) -> list[tuple[int, str]]:
    return [
        (i, n)
        for i, n in session.execute(sa.select(Practice.id, Practice.name).order_by(Practice.name))
    ]


def payers(session: Session, practice: int | None) -> list[tuple[int, str]]:
    """Payers to filter by: those that paid the practice (payments are few, denials many)."""
    query = sa.select(Payer.id, Payer.name).order_by(Payer.name)
    if practice is not None:
        query = query.where(
            Payer.id.in_(sa.select(Payment.payer_id).where(Payment.practice_id == practice))
        )  # type: ignore[union-attr]
    return [(i, n) for i, n in session.execute(query)]
