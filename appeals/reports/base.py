"""What every report is made of: filters, figures, tables, formulas, shared SQL pieces and labels.

Money sums go through the `Money` column type, so SQLite (integer cents) and PostgreSQL
(NUMERIC) both give back exact `Decimal`s.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session

from appeals import codes
from appeals.csvsafe import text_cell
from appeals.models import (
    Appeal,
    Claim,
    Denial,
    Money,
    Payer,
    paid_on,
)
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
    return sa.func.coalesce(
        decision, paid_on(Denial.closed_by_claim_id), _day_of(Denial.closed_at, dialect)
    )


# --- labels ---------------------------------------------------------------------------------


def _payer_names(session: Session) -> dict[int, str]:
    return {i: n for i, n in session.execute(sa.select(Payer.id, Payer.name))}


def _carc_label(group_code: str, carc: str) -> tuple[str, str]:
    return f"{group_code}-{carc}", _short(codes.describe_carc(carc))


@lru_cache(maxsize=4096)
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
