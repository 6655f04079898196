"""Monthly recovery (the headline report): per month of denial (or of service), denied,
recovered to date, rate, still open, lost, expired, written off; the cohort recovered within
30/60/90/180 days; dollars by the month they came back; and a breakdown by payer, category,
CARC, procedure family or rendering provider.

`present` turns a `MonthlyData` into the `Report`; the data comes from the stored aggregates
(`from_aggregates`, the pages) or from scratch (`reference.monthly_data`, the check).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from appeals.denials import category_label
from appeals.models import Denial, ReportDenial, ReportReturned
from appeals.reports import aggregates as agg
from appeals.reports.base import (
    BREAKDOWNS,
    COHORT_DAYS,
    OUTCOME_COLUMNS,
    ZERO,
    Column,
    Figure,
    Report,
    ReportFilters,
    Table,
    _add_rows,
    _carc_label,
    _date_column,
    _denial_where,
    _dialect,
    _family_label,
    _money,
    _outcome_row,
    _payer_names,
    _recovered_on,
    rate,
)


@dataclass
class MonthlyData:
    """What the monthly report is made of, however it was summed."""

    # month → count, denied, recovered, open, lost, expired, written off
    months: dict[str, list[Any]] = field(default_factory=dict)
    cohort: dict[str, dict[int, Decimal]] = field(default_factory=dict)  # month → days → $
    came_back: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    # breakdown key → [label, link, the seven sums]
    breakdown: dict[str, list[Any]] = field(default_factory=dict)

    def add_breakdown(self, key: str, label: str, link: dict[str, str], values: Any) -> None:
        current = self.breakdown.get(key)
        if current is None:
            self.breakdown[key] = [label, link, list(values)]
        else:
            current[0], current[2] = label, _add_rows([current[2], values])


def breakdown_entry(
    by: str, parts: tuple[Any, ...], names: dict[int, str]
) -> tuple[str, str, dict[str, str]]:
    """(key, label, narrowing link) of a breakdown row from its grouping values."""
    if by == "payer":
        key = str(parts[0])
        return key, names.get(parts[0], "?"), {"payer": key}
    if by == "category":
        return parts[0], category_label(parts[0]), {}
    if by == "carc":
        key, description = _carc_label(*parts)
        return key, f"{key} {description}", {}
    if by == "family":
        return parts[0], _family_label(parts[0]), {}
    key, label = parts
    return key, label, {"provider": key} if key else {}


def _cohort_ready(month: str, days: int, today: date) -> bool:
    """Every denial of `month` is at least `days` old."""
    year, number = map(int, month.split("-"))
    following = date(year + (number == 12), number % 12 + 1, 1)
    return following - timedelta(days=1) + timedelta(days=days) <= today


def present(f: ReportFilters, today: date, data: MonthlyData) -> Report:
    """The monthly report from its data."""
    ordered_months = sorted(data.months.items())
    months = [(m, _outcome_row(values)) for m, values in ordered_months]
    totals = _add_rows([values for _, values in ordered_months])
    cohort, came_back = data.cohort, data.came_back
    basis = "denial" if f.basis == "denied" else "service"
    report = Report("monthly", "Monthly recovery", f)
    report.figures = [
        Figure(
            "denied",
            "Denied",
            totals[1],
            "money",
            "Σ denied amount of the period's denials",
            f"{totals[0]:,} denials",
        ),
        Figure(
            "recovered",
            "Recovered to date",
            totals[2],
            "money",
            "Σ recovered amount of those denials, whenever it came back",
        ),
        Figure("rate", "Recovery rate", rate(totals[2], totals[1]), "rate", "recovered ÷ denied"),
        Figure("open", "Still open", totals[3], "money", OUTCOME_COLUMNS[4].formula),
        Figure("expired", "Expired unworked", totals[5], "money", OUTCOME_COLUMNS[6].formula),
    ]
    month_column = Column("month", f"Month of {basis}", "text", f"the {basis} date's month")
    report.tables.append(
        Table(
            "months",
            f"By month of {basis}",
            (month_column, *OUTCOME_COLUMNS),
            [(m, *values) for m, values in months],
            note="Recovered to date: every dollar come back for the month's denials so far.",
        )
    )
    cohort_rows = []
    for m, values in months:
        denied = values[1]
        cumulative, cells = ZERO, []
        for n in COHORT_DAYS:
            cumulative += cohort.get(m, {}).get(n, ZERO)
            cells.append(rate(cumulative, denied) if _cohort_ready(m, n, today) else None)
        cohort_rows.append((m, denied, *cells, values[3]))
    report.tables.append(
        Table(
            "cohort",
            "How much came back, and how fast",
            (
                month_column,
                Column("denied", "Denied", "money", "Σ denied amount"),
                *(
                    Column(
                        f"within_{n}",
                        f"Within {n} days",
                        "rate",
                        f"Σ recovered by {n} days after the denial date ÷ denied",
                    )
                    for n in COHORT_DAYS
                ),
                Column("to_date", "To date", "rate", "recovered to date ÷ denied"),
            ),
            cohort_rows,
            note="The day money came back is the winning decision's date, else the paying "
            "remittance's date. A cell stays empty until every denial of the month is that old.",
        )
    )
    report.tables.append(
        Table(
            "returned",
            "Recovered by the month it came back",
            (
                Column(
                    "month",
                    "Month recovered",
                    "text",
                    "month of the winning decision or paying remittance",
                ),
                Column("denials", "Denials", "count", "denials whose money came back that month"),
                Column("recovered", "Recovered", "money", "Σ recovered amount"),
            ),
            [(m, n, amount) for m, (n, amount) in sorted(came_back.items())],
            note="Money that came back within the period, whatever the denial's date.",
        )
    )
    ordered = sorted(data.breakdown.items(), key=lambda kv: (-kv[1][2][1], kv[1][0]))
    title = BREAKDOWNS[f.by]
    report.tables.append(
        Table(
            f"by_{f.by}",
            f"By {title.lower()}",
            (Column("key", title, "text"), *OUTCOME_COLUMNS),
            [(label, *_outcome_row(values)) for _, (label, _, values) in ordered],
            links=[link for _, (_, link, _) in ordered],
        )
    )
    return report


def from_aggregates(session: Session, f: ReportFilters, today: date) -> MonthlyData:
    """The monthly data from the stored cells plus the period's partial months from scratch.

    Needs `agg.dims_stored(f)` when the breakdown is a dimension (not payer or provider).
    """
    period = agg.plan(session, f.practice, f.basis, f.date_from, f.date_to)
    edges = [
        row
        for cell in period.edges
        for row in agg.compute(session, cell, today, {"denial", "cohort"}, f)["denial"]
    ]
    cells = [ReportDenial.basis == f.basis, ReportDenial.month.in_(period.whole)]  # type: ignore[attr-defined]
    measures = (*agg.OUTCOMES, *agg.WITHIN)
    months = agg.summed(
        session, ReportDenial, [*cells, *agg.dim_where(f, "")], [ReportDenial.month], measures
    )
    for row in edges:
        if agg.dim_matches(row, f, ""):
            agg.add_into(months, (row["month"],), [row[m] for m in measures])
    data = MonthlyData()
    for (month,), values in months.items():
        if not values[0]:
            continue
        data.months[month] = values[: len(agg.OUTCOMES)]
        data.cohort[month] = dict(zip(COHORT_DAYS, values[len(agg.OUTCOMES) :], strict=True))
    data.came_back = came_back(session, f)
    names = _payer_names(session) if f.by == "payer" else {}
    if f.by in ("payer", "provider"):
        dim, keys = (
            "",
            [ReportDenial.payer_id]
            if f.by == "payer"
            else [ReportDenial.provider, ReportDenial.label],
        )
    else:
        dim, keys = f.by, [ReportDenial.key]
    grouped = agg.summed(
        session, ReportDenial, [*cells, *agg.dim_where(f, dim)], keys, agg.OUTCOMES
    )
    for row in edges:
        if agg.dim_matches(row, f, dim):
            key = tuple(row[k.key] for k in keys)
            agg.add_into(grouped, key, [row[m] for m in agg.OUTCOMES])
    for parts, values in grouped.items():
        if f.by == "carc":
            parts = tuple(parts[0].split("-", 1))
        key, label, link = breakdown_entry(f.by, parts, names)
        data.add_breakdown(key, label, link, values)
    return data


def came_back(session: Session, f: ReportFilters) -> dict[str, tuple[int, Decimal]]:
    """Recovered dollars of the filters' denials (any date) by the month they came back within
    the period: stored per denial month; a month the period cuts is exact when no stored row of
    it reaches outside the period, else the whole table is counted from scratch."""
    back_months = agg.months_between(f.date_from, f.date_to)
    where = [ReportReturned.back_month.in_(back_months), *agg.scope_where(ReportReturned, f)]  # type: ignore[attr-defined]
    cut = [
        m
        for m in back_months
        if not (agg.month_bounds(m)[0] >= f.date_from and agg.month_bounds(m)[1] <= f.date_to)
    ]
    if cut:
        reaching = session.execute(
            sa.select(sa.func.count()).where(
                *where,
                ReportReturned.back_month.in_(cut),  # type: ignore[attr-defined]
                sa.or_(
                    ReportReturned.first_back < f.date_from,  # type: ignore[operator]
                    ReportReturned.last_back > f.date_to,  # type: ignore[operator]
                ),
            )
        ).scalar_one()
        if reaching:
            return recoveries_from_scratch(session, f, _dialect(session))[1]
    sums = agg.summed(
        session, ReportReturned, where, [ReportReturned.back_month], ("denials", "recovered")
    )
    return {month: (int(n), amount) for (month,), (n, amount) in sums.items() if n}


def recoveries_from_scratch(
    session: Session, f: ReportFilters, dialect: str
) -> tuple[dict[str, dict[int, Decimal]], dict[str, tuple[int, Decimal]]]:
    """One pass over the recovered denials (every date): the period's cohorts by how many days
    after the denial date the money came back, and money by the month it came back."""
    recovered = (
        sa.select(
            _date_column(f).label("k"),
            Denial.denied_on.label("denied_on"),
            _recovered_on(dialect).label("back"),
            Denial.recovered_amount.label("amount"),
        )
        .where(*_denial_where(f, dated=False), Denial.recovered_amount > ZERO)
        .subquery()
    )
    keys = (recovered.c.k, recovered.c.denied_on, recovered.c.back)
    cohort: dict[str, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    came_back: dict[str, tuple[int, Decimal]] = {}
    for k, denied_on, back, n, amount in session.execute(
        sa.select(*keys, sa.func.count(), _money(recovered.c.amount)).group_by(*keys)
    ):
        if k is not None and f.date_from <= k <= f.date_to and back and denied_on:
            days = (back - denied_on).days
            within = next((limit for limit in COHORT_DAYS if days <= limit), 99999)
            cohort[k.isoformat()[:7]][within] += amount
        if back is not None and f.date_from <= back <= f.date_to:
            month = back.isoformat()[:7]
            count, total = came_back.get(month, (0, ZERO))
            came_back[month] = (count + int(n), total + amount)
    return cohort, came_back
