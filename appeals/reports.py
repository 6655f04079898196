"""Reports for managers: monthly recovery, where denials come from, remittance KPIs, appeals, team.

Plain Python over SQL aggregates (a handful of GROUP BY queries per report, none per row), the
same on SQLite (money in integer cents) and PostgreSQL (NUMERIC): every money sum goes through
the `Money` column type, so it comes back as an exact `Decimal`. Each report is a `Report` of
`Figure`s and `Table`s whose columns carry the formula they were computed with, for the page,
the CSV export and `appeals report` alike.

Scope: the caller passes the viewer's practice (`ReportFilters.parse(..., scope=...)`); a
practice-scoped viewer never sees another practice, whatever the arguments say.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session

from appeals import codes
from appeals.denials import category_label
from appeals.models import (
    Adjustment,
    Appeal,
    Claim,
    Denial,
    Money,
    Payer,
    Payment,
    Practice,
    ServiceLine,
    User,
)
from appeals.queue import _text_cell as text_cell
from appeals.rules.tables import family
from appeals.workflow import OPEN_STATUSES, PENDING_STATUSES, RECOVERED_STATUSES

ZERO = Decimal("0.00")
BASES: dict[str, str] = {"denied": "Denial date", "service": "Date of service"}
BREAKDOWNS: dict[str, str] = {
    "payer": "Payer",
    "category": "Category",
    "carc": "CARC",
    "family": "Procedure family",
    "provider": "Rendering provider",
}
SOURCE_DIMENSIONS: dict[str, str] = {
    "payer": "Payer",
    "category": "Category",
    "carc": "CARC",
    "carc-rarc": "CARC + RARC",
    "family": "Procedure family",
    "provider": "Rendering provider",
}
COHORT_DAYS = (30, 60, 90, 180)
AGE_BUCKETS = ((30, "0–30 days"), (60, "31–60 days"), (90, "61–90 days"), (180, "91–180 days"))
PAY_BUCKETS = ((30, "0–30 days"), (60, "31–60 days"), (90, "61–90 days"), (180, "91–180 days"))
DUE_SOON_DAYS = 14
DECIDED = ("won", "partial", "lost")
MAX_SPAN_DAYS = 3660


class Args(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...


# --- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    """The period (by denial date or date of service), payer, provider and practice."""

    date_from: date
    date_to: date
    basis: str = "denied"
    payer: int | None = None
    provider: str = ""  # a rendering provider's NPI, or its name when the 835 gave no NPI
    practice: int | None = None
    by: str = "payer"  # the monthly report's breakdown
    errors: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def default(cls, today: date, scope: int | None = None) -> ReportFilters:
        """The last twelve months, this one included."""
        start = _month_start(today)
        for _ in range(11):
            start = _month_start(start - timedelta(days=1))
        return cls(date_from=start, date_to=today, practice=scope)

    @classmethod
    def parse(cls, args: Args, *, scope: int | None, today: date) -> ReportFilters:
        """Filters from URL arguments or options; bad values are dropped and explained by field.

        `scope` is the viewer's practice: when set it is the practice, whatever was asked.
        """
        base = cls.default(today, scope)
        errors: dict[str, str] = {}
        start = _parse_date(args.get("from"), "from", errors) or base.date_from
        end = _parse_date(args.get("to"), "to", errors) or base.date_to
        if start > end:
            errors["to"] = "The end date is before the start date."
            start, end = base.date_from, base.date_to
        elif (end - start).days > MAX_SPAN_DAYS:
            errors["from"] = "Choose a period of ten years or less."
            start = end - timedelta(days=MAX_SPAN_DAYS)
        basis = (args.get("basis") or "denied").strip()
        if basis not in BASES:
            errors["basis"] = "Choose denial date or date of service."
            basis = "denied"
        payer = _parse_id(args.get("payer"), "payer", errors)
        practice = scope
        if scope is None:
            practice = _parse_id(args.get("practice"), "practice", errors)
        provider = str(args.get("provider") or "").strip()
        if len(provider) > 80:
            errors["provider"] = "Enter an NPI or a name of 80 characters or fewer."
            provider = ""
        by = (args.get("by") or "payer").strip()
        if by not in BREAKDOWNS:
            errors["by"] = "Choose one of the breakdowns."
            by = "payer"
        return cls(start, end, basis, payer, provider, practice, by, errors)

    def to_args(self, **changes: Any) -> list[tuple[str, str]]:
        """URL arguments for these filters (defaults of `by` and `basis` left out)."""
        f = replace(self, **changes) if changes else self
        pairs = [("from", f.date_from.isoformat()), ("to", f.date_to.isoformat())]
        if f.basis != "denied":
            pairs.append(("basis", f.basis))
        if f.payer is not None:
            pairs.append(("payer", str(f.payer)))
        if f.provider:
            pairs.append(("provider", f.provider))
        if f.practice is not None:
            pairs.append(("practice", str(f.practice)))
        if f.by != "payer":
            pairs.append(("by", f.by))
        return pairs

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        """The period of the same length just before this one."""
        end = self.date_from - timedelta(days=1)
        return end - timedelta(days=self.days - 1), end

    @property
    def basis_label(self) -> str:
        return BASES[self.basis]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _parse_date(text: Any, name: str, errors: dict[str, str]) -> date | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        value = date.fromisoformat(str(text).strip())
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None
    if not 1900 <= value.year <= 2200:
        errors[name] = "Enter a date between 1900 and 2200."
        return None
    return value


def _parse_id(text: Any, name: str, errors: dict[str, str]) -> int | None:
    if text is None or str(text).strip() == "":
        return None
    value = str(text).strip()
    if not value.isdigit() or len(value) > 12:
        errors[name] = f"Unknown {name}."
        return None
    return int(value)


# --- what a report is made of ---------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | count | money | rate | days
    formula: str = ""


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: Any
    kind: str
    formula: str
    detail: str = ""


@dataclass
class Table:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    note: str = ""
    links: list[dict[str, str]] | None = None  # per row, filter arguments that narrow to it

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip((c.key for c in self.columns), row, strict=True)) for row in self.rows]


@dataclass
class Report:
    key: str
    title: str
    filters: ReportFilters
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    note: str = ""

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values: money as exact decimal strings, rates as floats."""
        return {
            "report": self.key,
            "title": self.title,
            "filters": dict(self.filters.to_args(by=self.filters.by)),
            "figures": [
                {
                    "key": f.key,
                    "label": f.label,
                    "value": plain(f.value),
                    "formula": f.formula,
                    "detail": f.detail,
                }
                for f in self.figures
            ],
            "tables": [
                {
                    "key": t.key,
                    "title": t.title,
                    "columns": [
                        {"key": c.key, "label": c.label, "formula": c.formula} for c in t.columns
                    ],
                    "rows": [{k: plain(v) for k, v in row.items()} for row in t.as_dicts()],
                }
                for t in self.tables
            ],
        }


def plain(value: Any) -> Any:
    """A JSON- and CSV-friendly value."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_rows(table: Table) -> Iterator[list[Any]]:
    """The table for a CSV file: a header of column keys, raw numbers (money as exact decimal
    strings), text cells kept from running as spreadsheet formulas as the queue export does."""
    yield [c.key for c in table.columns]
    for row in table.rows:
        yield [
            text_cell(str(v)) if c.kind == "text" else ("" if v is None else plain(v))
            for c, v in zip(table.columns, row, strict=True)
        ]


def rate(part: Decimal | int, whole: Decimal | int) -> float | None:
    """part ÷ whole, or None when nothing is in the whole."""
    return float(part) / float(whole) if whole else None


def median_of(histogram: Mapping[int, int]) -> float | None:
    """The median of values given as {value: how many}."""
    total = sum(histogram.values())
    if not total:
        return None
    values = sorted(histogram.items())

    def at(position: int) -> int:
        seen = 0
        for value, count in values:
            seen += count
            if seen > position:
                return value
        return values[-1][0]

    if total % 2:
        return float(at(total // 2))
    return (at(total // 2 - 1) + at(total // 2)) / 2


# --- SQL building blocks --------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _month(column: Any, dialect: str) -> Any:
    """'YYYY-MM' of a date column."""
    if dialect == "postgresql":
        return sa.func.to_char(column, sa.literal_column("'YYYY-MM'"))
    return sa.func.substr(column, 1, 7)


def _days(later: Any, earlier: Any, dialect: str) -> Any:
    """Whole days from `earlier` to `later` (dates)."""
    if dialect == "postgresql":
        return sa.type_coerce(later - earlier, sa.Integer)
    return sa.cast(sa.func.julianday(later) - sa.func.julianday(earlier), sa.Integer)


def _day_of(moment: Any, dialect: str) -> Any:
    """The date part of a timestamp column."""
    if dialect == "postgresql":
        return sa.cast(moment, sa.Date)
    return sa.func.date(moment)


def _money(expr: Any, when: Any = None) -> Any:
    """SUM of a money expression (optionally only where `when`), 0 for no rows, as Decimal."""
    value = expr if when is None else sa.case((when, expr), else_=sa.literal(ZERO, Money()))
    return sa.type_coerce(sa.func.coalesce(sa.func.sum(value), sa.literal(ZERO, Money())), Money())


def _count(when: Any = None) -> Any:
    if when is None:
        return sa.func.count()
    return sa.func.coalesce(sa.func.sum(sa.case((when, 1), else_=0)), 0)


def _provider_match(value: str) -> Any:
    return sa.or_(
        Claim.rendering_provider_npi == value,
        sa.and_(Claim.rendering_provider_npi == "", Claim.rendering_provider_name == value),
    )


def _date_column(f: ReportFilters) -> Any:
    return Denial.denied_on if f.basis == "denied" else Denial.service_date


def _denial_where(f: ReportFilters, *, dated: bool = True) -> list[Any]:
    """WHERE conditions on `Denial` for the filters (`dated`: within the period)."""
    where: list[Any] = []
    if f.practice is not None:
        where.append(Denial.practice_id == f.practice)
    if f.payer is not None:
        where.append(Denial.payer_id == f.payer)
    if f.provider:
        claims = sa.select(Claim.id).where(_provider_match(f.provider))
        where.append(Denial.claim_id.in_(claims))  # type: ignore[attr-defined]
    if dated:
        column = _date_column(f)
        where.extend([column >= f.date_from, column <= f.date_to])
    return where


def _expired(today: date) -> Any:
    return sa.and_(Denial.status.in_(OPEN_STATUSES), Denial.deadline < today)  # type: ignore[attr-defined,operator]


def _outcome_sums(today: date) -> list[Any]:
    """count, denied, recovered, open, lost, expired unworked, written off (one row's worth)."""
    expired = _expired(today)
    still_open = sa.and_(
        Denial.status.in_((*OPEN_STATUSES, *PENDING_STATUSES)),  # type: ignore[attr-defined]
        sa.not_(expired),
    )
    amount = Denial.denied_amount
    return [
        sa.func.count(),
        _money(amount),
        _money(Denial.recovered_amount),
        _money(amount, still_open),
        _money(amount, Denial.status == "lost"),
        _money(amount, expired),
        _money(amount, Denial.status == "written_off"),
    ]


def _recovered_on(dialect: str) -> Any:
    """The day a denial's money came back: its winning decision, else the paying remittance,
    else the day it was closed (a denial the importer closed carries its import time)."""
    decision = (
        sa.select(sa.func.max(Appeal.closed_on))
        .where(Appeal.denial_id == Denial.id, Appeal.outcome.in_(RECOVERED_STATUSES))  # type: ignore[attr-defined]
        .scalar_subquery()
    )
    paid = (
        sa.select(Payment.payment_date)
        .join(Claim, Claim.payment_id == Payment.id)
        .where(Claim.id == Denial.closed_by_claim_id)
        .scalar_subquery()
    )
    return sa.func.coalesce(decision, paid, _day_of(Denial.closed_at, dialect))


# --- labels ---------------------------------------------------------------------------------


def _payer_names(session: Session) -> dict[int, str]:
    return {i: n for i, n in session.execute(sa.select(Payer.id, Payer.name))}


def _carc_label(group_code: str, carc: str) -> tuple[str, str]:
    return f"{group_code}-{carc}", _short(codes.describe_carc(carc))


def _family_of(code: str) -> str:
    return family(code) or ("other" if code else "whole claim")


def _family_label(name: str) -> str:
    special = {"em": "E/M", "mohs": "Mohs", "mohs_addon": "Mohs add-on"}
    return special.get(name, name.replace("_", " ").capitalize())


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


OUTCOME_COLUMNS = (
    Column("denials", "Denials", "count", "number of denied lines (or claims) in the period"),
    Column("denied", "Denied", "money", "Σ denied amount"),
    Column(
        "recovered",
        "Recovered to date",
        "money",
        "Σ recovered amount (appeal decisions and later 835 payments)",
    ),
    Column("rate", "Recovery rate", "rate", "recovered ÷ denied"),
    Column(
        "open",
        "Still open",
        "money",
        "Σ denied of denials new, in progress or awaiting the payer, deadline not passed",
    ),
    Column("lost", "Lost", "money", "Σ denied of denials lost on appeal"),
    Column(
        "expired",
        "Expired unworked",
        "money",
        "Σ denied of denials still new or in progress whose deadline has passed",
    ),
    Column("written_off", "Written off", "money", "Σ denied of denials written off"),
)


def _outcome_row(values: Sequence[Any]) -> tuple[Any, ...]:
    count, denied, recovered, still_open, lost, expired, written_off = values
    return (
        int(count),
        denied,
        recovered,
        rate(recovered, denied),
        still_open,
        lost,
        expired,
        written_off,
    )


def _add_rows(rows: Iterable[Sequence[Any]]) -> list[Any]:
    """Column-wise sums of outcome rows (count, denied, recovered, open, lost, expired, off)."""
    totals: list[Any] = [0, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO]
    for row in rows:
        for i, value in enumerate(row):
            totals[i] += value
    return totals


# --- monthly recovery -----------------------------------------------------------------------


def _cohort_ready(month: str, days: int, today: date) -> bool:
    """Every denial of `month` is at least `days` old."""
    year, number = map(int, month.split("-"))
    following = date(year + (number == 12), number % 12 + 1, 1)
    return following - timedelta(days=1) + timedelta(days=days) <= today


def monthly(session: Session, f: ReportFilters, today: date) -> Report:
    """Per month of denial: denied, recovered to date, rate, open, lost, expired, written off;
    the cohort recovered within 30/60/90/180 days; dollars by the month they came back; and
    the same outcomes by payer, category, CARC, procedure family or provider (`f.by`)."""
    dialect = _dialect(session)
    where = _denial_where(f)
    month = _month(_date_column(f), dialect)
    rows = session.execute(
        sa.select(month, *_outcome_sums(today)).where(*where).group_by(month).order_by(month)
    ).all()
    months = [(m, _outcome_row(values)) for m, *values in rows]
    totals = _add_rows([values for _, *values in rows])

    cohort, came_back = _recoveries(session, f, dialect)
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
            cumulative += cohort[m][n]
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
    report.tables.append(_breakdown(session, f, today))
    return report


def _recoveries(
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


def _breakdown(session: Session, f: ReportFilters, today: date) -> Table:
    """The period's outcomes by one dimension (`f.by`), largest denied dollars first."""
    where = _denial_where(f)
    sums = _outcome_sums(today)
    grouped: dict[str, list[Any]] = {}
    labels: dict[str, str] = {}
    links: dict[str, dict[str, str]] = {}
    if f.by == "provider":
        keys = [Claim.rendering_provider_npi, Claim.rendering_provider_name]
        query = sa.select(*keys, *sums).join(Claim, Claim.id == Denial.claim_id)
    else:
        keys = {
            "payer": [Denial.payer_id],
            "category": [Denial.category],
            "carc": [Denial.group_code, Denial.carc],
            "family": [Denial.procedure_code],
        }[f.by]
        query = sa.select(*keys, *sums)
    names = _payer_names(session) if f.by == "payer" else {}
    for row in session.execute(query.where(*where).group_by(*keys)):
        parts, values = row[: len(keys)], row[len(keys) :]
        if f.by == "payer":
            key, label = str(parts[0]), names.get(parts[0], "?")
            links[key] = {"payer": key}
        elif f.by == "category":
            key, label = parts[0], category_label(parts[0])
        elif f.by == "carc":
            key, description = _carc_label(*parts)
            label = f"{key} {description}"
        elif f.by == "family":
            key = _family_of(parts[0])
            label = _family_label(key)
        else:
            npi, name = parts
            key = npi or name
            label = " · ".join(p for p in (name, npi) if p) or "(not given)"
            if key:
                links[key] = {"provider": key}
        labels[key] = label
        current = grouped.get(key)
        grouped[key] = list(values) if current is None else _add_rows([current, values])
    ordered = sorted(grouped.items(), key=lambda kv: (-kv[1][1], labels[kv[0]]))
    title = BREAKDOWNS[f.by]
    return Table(
        f"by_{f.by}",
        f"By {title.lower()}",
        (Column("key", title, "text"), *OUTCOME_COLUMNS),
        [(labels[k], *_outcome_row(v)) for k, v in ordered],
        links=[links.get(k, {}) for k, _ in ordered],
    )


# --- where denials come from ----------------------------------------------------------------


def sources(session: Session, f: ReportFilters, today: date) -> Report:
    """Count and dollars by payer, category, CARC, CARC + RARC, procedure family and provider,
    against the previous period of the same length; the top ten root causes by dollars with
    the fix the coding checks suggest."""
    prev_from, prev_to = f.previous
    span = replace(f, date_from=prev_from)
    column = _date_column(f)
    current = column >= f.date_from
    measures = [
        _count(current),
        _money(Denial.denied_amount, current),
        _count(sa.not_(current)),
        _money(Denial.denied_amount, sa.not_(current)),
    ]
    fine = [
        Denial.payer_id,
        Denial.category,
        Denial.group_code,
        Denial.carc,
        Denial.rarc,
        Denial.procedure_code,
    ]
    rows = session.execute(
        sa.select(*fine, *measures).where(*_denial_where(span)).group_by(*fine)
    ).all()
    names = _payer_names(session)
    folded: dict[str, dict[str, list[Any]]] = {d: {} for d in SOURCE_DIMENSIONS}
    labels: dict[str, dict[str, tuple[str, str]]] = {d: {} for d in SOURCE_DIMENSIONS}

    def add(dimension: str, key: str, label: tuple[str, str], values: Sequence[Any]) -> None:
        labels[dimension][key] = label
        bucket = folded[dimension].setdefault(key, [0, ZERO, 0, ZERO])
        for i, value in enumerate(values):
            bucket[i] += value

    for payer_id, category, group_code, carc, rarc, procedure, *values in rows:
        add("payer", str(payer_id), (names.get(payer_id, "?"), ""), values)
        add("category", category, (category_label(category), ""), values)
        add("carc", f"{group_code}-{carc}", _carc_label(group_code, carc), values)
        key = f"{group_code}-{carc}" + (f" + {rarc}" if rarc else "")
        description = codes.describe_carc(carc) + (
            f" / {codes.describe_rarc(rarc)}" if rarc else ""
        )
        add("carc-rarc", key, (key, description), values)
        name = _family_of(procedure)
        add("family", name, (_family_label(name), ""), values)
    provider_keys = [Claim.rendering_provider_npi, Claim.rendering_provider_name]
    for npi, name, *values in session.execute(
        sa.select(*provider_keys, *measures)
        .join(Claim, Claim.id == Denial.claim_id)
        .where(*_denial_where(span))
        .group_by(*provider_keys)
    ):
        add(
            "provider",
            npi or name,
            (" · ".join(p for p in (name, npi) if p) or "(not given)", ""),
            values,
        )

    report = Report("sources", "Where denials come from", f)
    now = folded["category"].values()
    count_now = sum(v[0] for v in now)
    dollars_now = sum((v[1] for v in now), ZERO)
    count_before = sum(v[2] for v in now)
    dollars_before = sum((v[3] for v in now), ZERO)
    previous = f"{prev_from.isoformat()} to {prev_to.isoformat()}"
    report.figures = [
        Figure(
            "count",
            "Denials",
            count_now,
            "count",
            "denials dated in the period",
            f"previous period: {count_before:,}",
        ),
        Figure(
            "dollars",
            "Denied",
            dollars_now,
            "money",
            "Σ denied amount in the period",
            f"previous period: ${dollars_before:,.2f}",
        ),
        Figure(
            "change",
            "Change in denied dollars",
            rate(dollars_now - dollars_before, dollars_before),
            "rate",
            "(denied − previous denied) ÷ previous denied",
            f"previous period: {previous}",
        ),
    ]
    report.note = f"Previous period: {previous} (the same number of days just before)."
    for dimension, title in SOURCE_DIMENSIONS.items():
        items = sorted(folded[dimension].items(), key=lambda kv: (-kv[1][1], kv[0]))
        links = []
        table_rows = []
        for key, (n, dollars, n_before, dollars_before_) in items:
            label, description = labels[dimension][key]
            table_rows.append(
                (
                    label,
                    description,
                    n,
                    dollars,
                    rate(dollars, dollars_now),
                    n_before,
                    dollars_before_,
                    dollars - dollars_before_,
                )
            )
            links.append(
                {"payer": key}
                if dimension == "payer"
                else {"provider": key}
                if dimension == "provider" and key
                else {}
            )
        report.tables.append(
            Table(
                f"by_{dimension}",
                f"By {title}" if dimension.startswith("carc") else f"By {title.lower()}",
                (
                    Column("key", title, "text"),
                    Column("description", "Description", "text"),
                    Column("denials", "Denials", "count", "denials dated in the period"),
                    Column("denied", "Denied", "money", "Σ denied amount in the period"),
                    Column("share", "Share", "rate", "denied ÷ all denied in the period"),
                    Column(
                        "previous_denials",
                        "Denials before",
                        "count",
                        "denials in the previous period",
                    ),
                    Column(
                        "previous_denied",
                        "Denied before",
                        "money",
                        "Σ denied amount in the previous period",
                    ),
                    Column("change", "Change", "money", "denied − denied before"),
                ),
                table_rows,
                links=links,
            )
        )
    report.tables.append(_root_causes(session, f, folded["carc-rarc"], labels["carc-rarc"]))
    return report


def _root_causes(
    session: Session,
    f: ReportFilters,
    groups: dict[str, list[Any]],
    labels: dict[str, tuple[str, str]],
    sample: int = 50,
) -> Table:
    """The ten CARC + RARC groups with the most denied dollars in the period, each with the
    fix the coding checks suggest most often among (up to `sample` of) its denials."""
    top = sorted(((k, v) for k, v in groups.items() if v[0]), key=lambda kv: (-kv[1][1], kv[0]))[
        :10
    ]
    fixes: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    checked: Counter[str] = Counter()
    if top:
        wanted = set()
        for key, _ in top:
            reason, _, remark = key.partition(" + ")
            group_code, _, carc = reason.partition("-")
            wanted.add((group_code, carc, remark))
        pairs = sa.tuple_(Denial.group_code, Denial.carc, Denial.rarc).in_(sorted(wanted))
        ranked = (
            sa.select(
                Denial.group_code,
                Denial.carc,
                Denial.rarc,
                Denial.findings,
                sa.func.row_number()
                .over(
                    partition_by=(Denial.group_code, Denial.carc, Denial.rarc),
                    order_by=Denial.id.desc(),
                )  # type: ignore[union-attr]
                .label("n"),
            )
            .where(*_denial_where(f), pairs)
            .subquery()
        )
        for group_code, carc, rarc, text in session.execute(
            sa.select(ranked.c.group_code, ranked.c.carc, ranked.c.rarc, ranked.c.findings).where(
                ranked.c.n <= sample
            )
        ):
            key = f"{group_code}-{carc}" + (f" + {rarc}" if rarc else "")
            checked[key] += 1
            finding = _first_finding(text)
            if finding:
                fixes[key][finding] += 1
    rows = []
    for key, (n, dollars, _, _) in top:
        label, description = labels[key]
        common = fixes[key].most_common(1)
        fix, seen = (common[0][0][1], common[0][1]) if common else ("", 0)
        rows.append(
            (
                label,
                description,
                n,
                dollars,
                fix or "No coding check applies: see the recommended action",
                rate(seen, checked[key]),
            )
        )
    return Table(
        "root_causes",
        "Top 10 root causes by dollars",
        (
            Column("key", "CARC + RARC", "text"),
            Column("description", "Description", "text"),
            Column("denials", "Denials", "count", "denials dated in the period"),
            Column("denied", "Denied", "money", "Σ denied amount in the period"),
            Column("fix", "Suggested fix", "text", "the coding checks' most frequent suggestion"),
            Column(
                "fix_share",
                "Denials it fits",
                "rate",
                f"share of the group's {sample} newest denials with that finding",
            ),
        ),
        rows,
    )


def _first_finding(text: str | None) -> tuple[str, str] | None:
    """(rule id, suggested change or message) of a denial's first coding finding."""
    if not text:
        return None
    try:
        items = json.loads(text)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, dict) and item.get("rule_id"):
            return str(item["rule_id"]), str(
                item.get("suggested_change") or item.get("message") or ""
            )
    return None


# --- KPIs from the remittances --------------------------------------------------------------


def _claim_where(f: ReportFilters) -> list[Any]:
    """Remittance claims in scope: their payment date (or date of service) in the period."""
    where: list[Any] = []
    if f.practice is not None:
        where.append(Claim.practice_id == f.practice)
    if f.payer is not None:
        where.append(Claim.payer_id == f.payer)
    if f.provider:
        where.append(_provider_match(f.provider))
    column = Payment.payment_date if f.basis == "denied" else Claim.service_date
    where.extend([column >= f.date_from, column <= f.date_to])
    return where


def kpis(session: Session, f: ReportFilters, today: date) -> Report:
    """The remittance KPIs: net collection rate, denial rate (lines and dollars), first-pass
    resolution, days from service to payment, the open backlog by age, deadlines soon, expired."""
    dialect = _dialect(session)
    where = _claim_where(f)
    sign = sa.case((Claim.is_reversal, -1), else_=1)
    paid, charges, claim_count = session.execute(
        sa.select(_money(Claim.paid), _money(Claim.charge), sa.func.coalesce(sa.func.sum(sign), 0))
        .join(Payment, Payment.id == Claim.payment_id)
        .where(*where)
    ).one()
    contractual = session.execute(
        sa.select(_money(Adjustment.amount))
        .join(Claim, Claim.id == Adjustment.claim_id)
        .join(Payment, Payment.id == Claim.payment_id)
        .where(*where, Adjustment.group_code == "CO", Adjustment.reason == "45")
    ).scalar_one()
    lines, line_charges = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sign), 0), _money(ServiceLine.charge))
        .join(Claim, Claim.id == ServiceLine.claim_id)
        .join(Payment, Payment.id == Claim.payment_id)
        .where(*where)
    ).one()
    denial_where = _denial_where(f)
    denied_lines, denied_dollars = session.execute(
        sa.select(sa.func.count(), _money(Denial.denied_amount)).where(*denial_where)
    ).one()

    earlier = sa.alias(Claim.__table__, "earlier")
    first = sa.not_(
        sa.exists().where(
            earlier.c.practice_id == Claim.practice_id,
            earlier.c.payer_id == Claim.payer_id,
            earlier.c.patient_control_number == Claim.patient_control_number,
            earlier.c.id < Claim.id,
            earlier.c.is_reversal.is_(False),
        )
    )
    denied_claim = sa.exists().where(Denial.claim_id == Claim.id)
    first_count, resolved = session.execute(
        sa.select(sa.func.count(), _count(sa.and_(Claim.paid > ZERO, sa.not_(denied_claim))))
        .join(Payment, Payment.id == Claim.payment_id)
        .where(*where, Claim.is_reversal.is_(False), first)
    ).one()

    days = _days(Payment.payment_date, Claim.service_date, dialect)
    histogram = {
        int(d): int(n)
        for d, n in session.execute(
            sa.select(days, sa.func.count())
            .select_from(Claim)
            .join(Payment, Payment.id == Claim.payment_id)
            .where(
                *where,
                Claim.is_reversal.is_(False),
                Claim.paid > ZERO,
                Claim.service_date.is_not(None),
            )  # type: ignore[union-attr]
            .group_by(days)
        )
        if d is not None
    }

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
    report.tables.extend(_backlog(session, f, today, report))
    report.tables.insert(
        0,
        Table(
            "remittance_totals",
            "Remittance totals",
            (
                Column("figure", "Figure", "text"),
                Column("value", "Value", "text"),
                Column("formula", "How", "text"),
            ),
            [
                ("Payments", f"{paid:.2f}", "Σ claim paid (CLP04), reversals negative"),
                ("Charges", f"{charges:.2f}", "Σ claim charge (CLP03), reversals negative"),
                ("Contractual adjustments", f"{contractual:.2f}", "Σ CAS CO-45"),
                ("Claims adjudicated", str(claim_count), "claims, a reversal subtracting one"),
                ("Lines adjudicated", str(lines), "service lines, a reversal's lines subtracting"),
                ("Line charges", f"{line_charges:.2f}", "Σ line charge (SVC02)"),
                ("Denied lines", str(denied_lines), "denials dated in the period"),
                ("Denied dollars", f"{denied_dollars:.2f}", "Σ denied amount"),
            ],
        ),
    )
    return report


def _backlog(session: Session, f: ReportFilters, today: date, report: Report) -> list[Table]:
    """Open denials now (every period): by age, due within 14 days, expired unworked."""
    age = _days(sa.literal(today, sa.Date), Denial.denied_on, _dialect(session))
    is_open = Denial.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
    bucket = sa.case(*((age <= high, high) for high, _ in AGE_BUCKETS), else_=99999)
    rows = {
        int(b): (int(n), dollars)
        for b, n, dollars in session.execute(
            sa.select(bucket, sa.func.count(), _money(Denial.denied_amount))
            .where(*_denial_where(f, dated=False), is_open, Denial.denied_on.is_not(None))  # type: ignore[union-attr]
            .group_by(bucket)
        )
    }
    soon = sa.and_(
        Denial.deadline >= today, Denial.deadline <= today + timedelta(days=DUE_SOON_DAYS)
    )  # type: ignore[operator]
    due_n, due, expired_n, expired = session.execute(
        sa.select(
            _count(soon),
            _money(Denial.denied_amount, soon),
            _count(_expired(today)),
            _money(Denial.denied_amount, _expired(today)),
        ).where(*_denial_where(f, dated=False), is_open)
    ).one()
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


# --- appeals --------------------------------------------------------------------------------


def appeals(session: Session, f: ReportFilters, today: date) -> Report:
    """Overturn rate ((won + partial) ÷ decided) and median days to decision, by level and payer."""
    dialect = _dialect(session)
    where = [*_denial_where(f), Appeal.submitted_on.is_not(None)]  # type: ignore[union-attr]
    counts = session.execute(
        sa.select(
            Appeal.level,
            Denial.payer_id,
            Appeal.outcome,
            sa.func.count(),
            _money(Appeal.recovered_amount),
            _money(Denial.denied_amount),
        )
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(*where)
        .group_by(Appeal.level, Denial.payer_id, Appeal.outcome)
    ).all()
    days = _days(Appeal.closed_on, Appeal.submitted_on, dialect)
    timing = session.execute(
        sa.select(Appeal.level, Denial.payer_id, days, sa.func.count())
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(*where, Appeal.outcome.in_(DECIDED), Appeal.closed_on.is_not(None))  # type: ignore[attr-defined,union-attr]
        .group_by(Appeal.level, Denial.payer_id, days)
    ).all()
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


# --- team -----------------------------------------------------------------------------------


def team(session: Session, f: ReportFilters, today: date) -> Report:
    """Per person: denials worked, appeals sent, dollars recovered on the appeals they sent
    (including wins a later 835 brought), median days to decision."""
    dialect = _dialect(session)
    where = _denial_where(f)
    sent = session.execute(
        sa.select(
            Appeal.sent_by_id,
            sa.func.count(),
            _count(Appeal.outcome.in_(DECIDED)),  # type: ignore[attr-defined]
            _count(Appeal.outcome.in_(RECOVERED_STATUSES)),  # type: ignore[attr-defined]
            _money(Appeal.recovered_amount, Appeal.outcome.in_(RECOVERED_STATUSES)),  # type: ignore[attr-defined]
            _money(
                Appeal.recovered_amount,
                sa.and_(Appeal.outcome.in_(RECOVERED_STATUSES), Appeal.source == "remittance"),
            ),  # type: ignore[attr-defined]
        )
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(*where, Appeal.sent_by_id.is_not(None), Appeal.submitted_on.is_not(None))  # type: ignore[union-attr]
        .group_by(Appeal.sent_by_id)
    ).all()
    days = _days(Appeal.closed_on, Appeal.submitted_on, dialect)
    hist: dict[int, Counter[int]] = defaultdict(Counter)
    for user_id, d, n in session.execute(
        sa.select(Appeal.sent_by_id, days, sa.func.count())
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(
            *where,
            Appeal.sent_by_id.is_not(None),
            Appeal.outcome.in_(DECIDED),
            Appeal.closed_on.is_not(None),
            Appeal.submitted_on.is_not(None),
        )  # type: ignore[union-attr,attr-defined]
        .group_by(Appeal.sent_by_id, days)
    ):
        hist[user_id][int(d)] += int(n)
    assigned = sa.select(Denial.assignee_id.label("user_id"), Denial.id.label("denial_id")).where(
        *where,
        Denial.assignee_id.is_not(None),
        Denial.status != "new",  # type: ignore[union-attr]
    )
    appealed = (
        sa.select(Appeal.sent_by_id.label("user_id"), Appeal.denial_id.label("denial_id"))
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(*where, Appeal.sent_by_id.is_not(None), Appeal.submitted_on.is_not(None))  # type: ignore[union-attr]
    )
    worked_union = sa.union(assigned, appealed).subquery()
    worked = dict(
        session.execute(
            sa.select(worked_union.c.user_id, sa.func.count()).group_by(worked_union.c.user_id)
        ).all()
    )
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


REPORTS: dict[str, tuple[str, Callable[[Session, ReportFilters, date], Report]]] = {
    "monthly": ("Monthly recovery", monthly),
    "sources": ("Sources", sources),
    "kpis": ("KPIs", kpis),
    "appeals": ("Appeals", appeals),
    "team": ("Team", team),
}


def build(session: Session, name: str, f: ReportFilters, today: date) -> Report:
    """The report called `name` (a key of REPORTS)."""
    return REPORTS[name][1](session, f, today)


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
