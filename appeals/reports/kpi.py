"""The seed's KPIs from the remittances: net collection rate, denial rate (lines and dollars),
first-pass resolution, days from service to payment, the open backlog by age, deadlines in the
next 14 days, dollars lost to expired deadlines.

`present` builds the report from a `KpiData`, summed from the stored aggregates
(`from_aggregates`) or from scratch (`reference.kpis_data`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from appeals.models import Denial, ReportDenial, ReportRemit
from appeals.reports import aggregates as agg
from appeals.reports.base import (
    AGE_BUCKETS,
    DUE_SOON_DAYS,
    PAY_BUCKETS,
    ZERO,
    Column,
    Figure,
    Report,
    ReportFilters,
    Table,
    _days,
    _denial_where,
    _dialect,
    _money,
    median_of,
    rate,
)
from appeals.workflow import OPEN_STATUSES


@dataclass
class KpiData:
    """The sums the KPI report is made of."""

    paid: Decimal = ZERO
    charges: Decimal = ZERO
    claim_count: int = 0
    contractual: Decimal = ZERO
    lines: int = 0
    line_charges: Decimal = ZERO
    denied_lines: int = 0
    denied_dollars: Decimal = ZERO
    first_count: int = 0
    resolved: int = 0
    histogram: dict[int, int] = field(default_factory=dict)  # days to payment → paid claims
    backlog: dict[int, tuple[int, Decimal]] = field(default_factory=dict)  # age bucket → n, $
    due_n: int = 0
    due: Decimal = ZERO
    expired_n: int = 0
    expired: Decimal = ZERO


def present(f: ReportFilters, today: date, data: KpiData) -> Report:
    """The KPI report from its data."""
    paid, charges, claim_count = data.paid, data.charges, data.claim_count
    contractual, lines, line_charges = data.contractual, data.lines, data.line_charges
    denied_lines, denied_dollars = data.denied_lines, data.denied_dollars
    first_count, resolved, histogram = data.first_count, data.resolved, data.histogram
    report = Report("kpis", "Key figures from the remittances", f)
    net_base = charges - contractual
    report.figures = [
        Figure(
            "net_collection",
            "Net collection rate",
            rate(paid, net_base),
            "rate",
            "payments ÷ (charges − contractual adjustments CO-45); reversals count negative",
            f"${paid:,.2f} ÷ (${charges:,.2f} − ${contractual:,.2f})",
        ),
        Figure(
            "denial_rate_lines",
            "Denial rate (lines)",
            rate(denied_lines, lines),
            "rate",
            "denied lines ÷ adjudicated lines (lines of reversed claims count once)",
            f"{denied_lines:,} ÷ {lines:,}",
        ),
        Figure(
            "denial_rate_dollars",
            "Denial rate (dollars)",
            rate(denied_dollars, line_charges),
            "rate",
            "denied dollars ÷ charges adjudicated",
            f"${denied_dollars:,.2f} ÷ ${line_charges:,.2f}",
        ),
        Figure(
            "first_pass",
            "First-pass resolution",
            rate(resolved, first_count),
            "rate",
            "claims paid with no line denied on their first remittance ÷ claims first remitted",
            f"{resolved:,} of {first_count:,} claims",
        ),
        Figure(
            "days_to_payment",
            "Days from service to payment (median)",
            median_of(histogram),
            "days",
            "median of payment date − date of service over paid claims",
            f"{sum(histogram.values()):,} paid claims",
        ),
    ]
    paid_claims = sum(histogram.values())
    distribution = []
    low = 0
    for high, label in PAY_BUCKETS:
        n = sum(c for d, c in histogram.items() if low <= d <= high or (low == 0 and d < 0))
        distribution.append((label, n, rate(n, paid_claims)))
        low = high + 1
    n = sum(c for d, c in histogram.items() if d >= low)
    distribution.append(("Over 180 days", n, rate(n, paid_claims)))
    report.tables.append(
        Table(
            "days_to_payment",
            "Days from service to payment",
            (
                Column("days", "Days", "text"),
                Column(
                    "claims", "Paid claims", "count", "claims paid (not reversals) in the period"
                ),
                Column("share", "Share", "rate", "claims ÷ all paid claims"),
            ),
            distribution,
        )
    )
    report.tables.extend(_backlog(data, report))
    report.tables.insert(
        0,
        Table(
            "remittance_totals",
            "Remittance totals",
            (
                Column("figure", "Figure", "text"),
                Column("dollars", "Dollars", "money"),
                Column("count", "Count", "count"),
                Column("formula", "How", "text"),
            ),
            [
                ("Payments", paid, None, "Σ claim paid (CLP04), reversals negative"),
                ("Charges", charges, None, "Σ claim charge (CLP03), reversals negative"),
                ("Contractual adjustments", contractual, None, "Σ CAS CO-45"),
                ("Claims adjudicated", None, claim_count, "claims, a reversal subtracting one"),
                ("Lines adjudicated", None, lines, "service lines, a reversal's lines subtracting"),
                ("Line charges", line_charges, None, "Σ line charge (SVC02)"),
                ("Denied lines", None, denied_lines, "denials dated in the period"),
                ("Denied dollars", denied_dollars, None, "Σ denied amount"),
            ],
        ),
    )
    return report


def _backlog(data: KpiData, report: Report) -> list[Table]:
    """Open denials now (every period): by age, due within 14 days, expired unworked."""
    rows, due_n, due = data.backlog, data.due_n, data.due
    expired_n, expired = data.expired_n, data.expired
    report.figures.append(
        Figure(
            "due_soon",
            f"Deadline in the next {DUE_SOON_DAYS} days",
            due,
            "money",
            f"Σ denied of open denials due today to {DUE_SOON_DAYS} days ahead (any period)",
            f"{int(due_n):,} denials",
        )
    )
    report.figures.append(
        Figure(
            "expired",
            "Lost to expired deadlines",
            expired,
            "money",
            "Σ denied of denials still new or in progress whose deadline has passed (any period)",
            f"{int(expired_n):,} denials",
        )
    )
    total_n = sum(n for n, _ in rows.values())
    backlog = [(label, *rows.get(high, (0, ZERO))) for high, label in AGE_BUCKETS]
    backlog.append(("Over 180 days", *rows.get(99999, (0, ZERO))))
    return [
        Table(
            "backlog",
            "Open denials by age",
            (
                Column("age", "Age", "text", "today − denial date"),
                Column("denials", "Denials", "count", "denials new or in progress (any period)"),
                Column("denied", "Denied", "money", "Σ denied amount"),
            ),
            backlog,
            note=f"{total_n:,} open denials, whatever their date: the backlog today.",
        )
    ]


def bucket_of(age: int) -> int:
    """The age bucket (its upper bound in days, 99999 for older) of a denial `age` days old."""
    return next((high for high, _ in AGE_BUCKETS if age <= high), 99999)


def backlog_query(session: Session, f: ReportFilters, today: date, where: list[Any]) -> Any:
    """Open denials by age bucket (count, dollars) under `where`, from scratch."""
    age = _days(sa.literal(today, sa.Date), Denial.denied_on, _dialect(session))
    is_open = Denial.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
    bucket = sa.case(*((age <= high, high) for high, _ in AGE_BUCKETS), else_=99999)
    return session.execute(
        sa.select(bucket, sa.func.count(), _money(Denial.denied_amount))
        .where(*_denial_where(f, dated=False), is_open, Denial.denied_on.is_not(None), *where)  # type: ignore[union-attr]
        .group_by(bucket)
    )


def due_soon(session: Session, f: ReportFilters, today: date) -> tuple[int, Decimal]:
    """Open denials whose deadline falls today to 14 days ahead (any period): few, indexed."""
    is_open = Denial.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
    soon = sa.and_(
        Denial.deadline >= today,  # type: ignore[operator]
        Denial.deadline <= today + timedelta(days=DUE_SOON_DAYS),  # type: ignore[operator]
    )
    n, dollars = session.execute(
        sa.select(sa.func.count(), _money(Denial.denied_amount)).where(
            *_denial_where(f, dated=False), is_open, soon
        )
    ).one()
    return int(n), dollars


def from_aggregates(session: Session, f: ReportFilters, today: date) -> KpiData:
    """The period's remittance and denial sums from the stored cells plus its partial months
    from scratch; the backlog from every denial-month cell, months cut by an age boundary
    from scratch."""
    data = KpiData()
    period = agg.plan(session, f.practice, f.basis, f.date_from, f.date_to)
    edges = [agg.compute(session, cell, today, {"denial", "remit"}, f) for cell in period.edges]
    remit = ("paid", "charges", "claims", "contractual", "lines", "line_charges")
    remit += ("first_claims", "resolved")
    where = [ReportRemit.month.in_(period.whole), *agg.scope_where(ReportRemit, f, f.basis)]  # type: ignore[attr-defined]
    sums = agg.summed(session, ReportRemit, where, [], remit).get(
        (), [0, ZERO, 0, ZERO, 0, ZERO, 0, 0]
    )
    histogram: Counter[int] = agg.histograms(session, ReportRemit, where, []).get((), Counter())
    denied = agg.summed(
        session,
        ReportDenial,
        [
            ReportDenial.basis == f.basis,
            ReportDenial.month.in_(period.whole),
            *agg.dim_where(f, ""),
        ],  # type: ignore[attr-defined]
        [],
        ("denials", "denied"),
    ).get((), [0, ZERO])
    for rows in edges:
        for row in rows["remit"]:
            if agg.row_matches(row, f):
                for i, name in enumerate(remit):
                    sums[i] += row[name]
                histogram.update(agg.read_histogram(row["days"]))
        for row in rows["denial"]:
            if agg.dim_matches(row, f, ""):
                denied[0] += row["denials"]
                denied[1] += row["denied"]
    data.paid, data.charges, data.claim_count, data.contractual = sums[:4]
    data.lines, data.line_charges, data.first_count, data.resolved = sums[4:]
    data.denied_lines, data.denied_dollars = denied
    data.histogram = {d: n for d, n in histogram.items() if n}
    _backlog_from_aggregates(session, f, today, data)
    return data


def _backlog_from_aggregates(
    session: Session, f: ReportFilters, today: date, data: KpiData
) -> None:
    every = [ReportDenial.basis == "denied", *agg.dim_where(f, "")]
    measures = ("open_count", "open_amount", "expired_count", "expired")
    by_month = agg.summed(session, ReportDenial, every, [ReportDenial.month], measures)
    backlog: dict[int, list[Any]] = {}
    cut: list[tuple[date, date]] = []
    for (month,), (n_open, open_amount, n_expired, expired) in by_month.items():
        data.expired_n += n_expired
        data.expired += expired
        if not month or not n_open:
            continue
        first, last = agg.month_bounds(month)
        bucket = bucket_of((today - first).days)
        if bucket != bucket_of((today - last).days):
            cut.append((first, last))
            continue
        agg.add_into(backlog, bucket, [n_open, open_amount])  # type: ignore[arg-type]
    for first, last in cut:
        for bucket, n, dollars in backlog_query(
            session,
            f,
            today,
            [Denial.denied_on >= first, Denial.denied_on <= last],  # type: ignore[operator]
        ):
            agg.add_into(backlog, int(bucket), [int(n), dollars])  # type: ignore[arg-type]
    data.backlog = {b: (int(v[0]), v[1]) for b, v in backlog.items()}
    data.due_n, data.due = due_soon(session, f, today)
