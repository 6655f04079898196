"""Monthly aggregates the report pages read instead of every denial and remittance line.

A *cell* is one practice's month by one basis: "denied" (the month of denial, which for the
remittance figures is the month of payment) or "service" (the month of service); month "" holds
rows without that date. Each cell keeps, in `report_*` tables (`appeals.models`):

- `ReportDenial`: outcome sums (denied, recovered, still open, lost, expired, written off, the
  open backlog, the cohort recovered within 30/60/90/180 days) per payer and provider, and per
  category, CARC, CARC + RARC and procedure family per payer and per provider;
- `ReportReturned` (denial-month cells): recovered dollars by the month they came back;
- `ReportAppeal`, `ReportTeam`: appeals by level and outcome, and per person, with the days from
  sending to decision as a small JSON histogram;
- `ReportRemit`: payments, charges, CO-45, lines, first-pass claims, days to payment.

Staying right: triggers (migration 0008) mark a cell stale in the same transaction as any write
to its denials, appeals or claims, whichever code path writes (the importer's bulk inserts and
COPY, outcomes, reversals, history imports, status moves, deadline recomputation). `refresh`
then recomputes just the stale cells from the base tables, with the same queries a period of
any length would use (`compute`). "Expired unworked" depends on today: the day the cells were
computed for is kept (`AppState` "report_aggregates_as_of"), and on another day every cell with
an open denial whose deadline lies between the two days is recomputed.

Reading a period: months wholly inside it come from the stored cells; a month cut by the period
comes from its cell too when every row of the cell falls inside (the current month when the
period ends today), else it is computed from scratch for just those days (`Edges`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from appeals.models import (
    Adjustment,
    Appeal,
    AppState,
    Claim,
    Denial,
    Payment,
    ReportAppeal,
    ReportCell,
    ReportDenial,
    ReportRemit,
    ReportReturned,
    ReportStale,
    ReportTeam,
    ServiceLine,
)
from appeals.reports.base import (
    COHORT_DAYS,
    DECIDED,
    ZERO,
    ReportFilters,
    _count,
    _days,
    _dialect,
    _expired,
    _family_of,
    _money,
    _outcome_sums,
    _recovered_on,
)
from appeals.workflow import CLOSED_STATUSES, OPEN_STATUSES, RECOVERED_STATUSES

AS_OF_KEY = "report_aggregates_as_of"
BASES = ("denied", "service")
DIMS = ("category", "carc", "carc-rarc", "family")
KINDS = frozenset({"denial", "cohort", "returned", "appeal", "team", "remit"})
OUTCOMES = ("denials", "denied", "recovered", "still_open", "lost", "expired", "written_off")
WITHIN = tuple(f"within_{n}" for n in COHORT_DAYS)
STATUS_COUNTS = ("expired_count", "won_count", "closed_count", "open_count")
DENIAL_MEASURES = (*OUTCOMES, *STATUS_COUNTS[:3], "open_count", "open_amount", *WITHIN)
COUNTS = frozenset({"denials", *STATUS_COUNTS, "appeals", "worked", "sent", "decided", "won"})
COUNTS |= {"claims", "lines", "first_claims", "resolved"}
CELL_TABLES = (ReportDenial, ReportAppeal, ReportTeam, ReportRemit)

Row = dict[str, Any]


# --- months and cells -----------------------------------------------------------------------


def month_of(day: date | None) -> str:
    """'YYYY-MM', or '' for no date."""
    return day.isoformat()[:7] if day else ""


def month_bounds(month: str) -> tuple[date, date]:
    year, number = map(int, month.split("-"))
    following = date(year + (number == 12), number % 12 + 1, 1)
    return date(year, number, 1), following - timedelta(days=1)


def months_between(start: date, end: date) -> list[str]:
    months = []
    day = start.replace(day=1)
    while day <= end:
        months.append(month_of(day))
        day = month_bounds(month_of(day))[1] + timedelta(days=1)
    return months


@dataclass(frozen=True)
class Cell:
    """Rows to compute: one practice (None: every practice) by one basis, between two days of
    one month (`start` None: the rows without that date)."""

    practice_id: int | None
    basis: str
    month: str
    start: date | None = None
    end: date | None = None

    @classmethod
    def whole(cls, practice_id: int, basis: str, month: str) -> Cell:
        if not month:
            return cls(practice_id, basis, "")
        return cls(practice_id, basis, month, *month_bounds(month))

    def within(self, column: Any) -> list[Any]:
        if self.start is None:
            return [column.is_(None)]
        return [column >= self.start, column <= self.end]


def _provider(npi: str | None, name: str | None) -> str:
    return npi or name or ""


def _provider_label(npi: str | None, name: str | None) -> str:
    return " · ".join(p for p in (name, npi) if p) or "(not given)"


def _add(row: Row, values: Iterable[tuple[str, Any]]) -> None:
    for name, value in values:
        row[name] = row.get(name, 0) + value


# --- computing cells from the base tables ---------------------------------------------------


def compute(
    session: Session,
    cell: Cell,
    today: date,
    kinds: Iterable[str] = KINDS,
    only: ReportFilters | None = None,
) -> dict[str, list[Row]]:
    """The aggregate rows of `cell` from scratch, by kind ("denial" with "cohort", "returned",
    "appeal", "team", "remit"). With `only` (a period's edge for one request) the dimension
    rows are made for those filters' scope alone."""
    wanted = set(kinds)
    out: dict[str, list[Row]] = {}
    if wanted & {"denial", "cohort", "returned"}:
        out["denial"], out["returned"] = _denial_rows(session, cell, today, wanted, only)
    if wanted & {"appeal", "team"}:
        out["appeal"], out["team"] = _appeal_rows(session, cell)
    if "remit" in wanted:
        out["remit"] = _remit_rows(session, cell)
    return out


def _denial_date(basis: str) -> Any:
    return Denial.denied_on if basis == "denied" else Denial.service_date


def _denial_where(cell: Cell) -> list[Any]:
    where = cell.within(_denial_date(cell.basis))
    if cell.practice_id is not None:
        where.append(Denial.practice_id == cell.practice_id)
    return where


def _denial_measures(today: date) -> list[Any]:
    """SQL sums in `DENIAL_MEASURES` order (the cohort sums come from `_recovered`)."""
    is_open = Denial.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
    return [
        *_outcome_sums(today),
        _count(_expired(today)),
        _count(Denial.status.in_(RECOVERED_STATUSES)),  # type: ignore[attr-defined]
        _count(Denial.status.in_(CLOSED_STATUSES)),  # type: ignore[attr-defined]
        _count(is_open),
        _money(Denial.denied_amount, is_open),
    ]


DIM_KEYS: dict[str, list[Any]] = {
    "category": [Denial.category],
    "carc": [Denial.group_code, Denial.carc],
    "carc-rarc": [Denial.group_code, Denial.carc, Denial.rarc],
    "family": [Denial.procedure_code],
}


def _dim_key(dim: str, parts: Sequence[Any]) -> str:
    if dim == "category":
        return str(parts[0])
    if dim == "carc":
        return f"{parts[0]}-{parts[1]}"
    if dim == "carc-rarc":
        return f"{parts[0]}-{parts[1]}" + (f" + {parts[2]}" if parts[2] else "")
    return _family_of(parts[0])


def _denial_rows(
    session: Session, cell: Cell, today: date, kinds: set[str], only: ReportFilters | None
) -> tuple[list[Row], list[Row]]:
    """Outcome sums per payer and provider (dim ""), per dimension for three scopes (all, one
    payer, one provider); the cohort sums; money by the month it came back.

    The database does the adding: one GROUP BY per dimension and scope over the cell's rows
    (a few hundred result rows), never a row per denial through Python."""
    where = _denial_where(cell)
    measures = _denial_measures(today)
    npi, name = Claim.rendering_provider_npi, Claim.rendering_provider_name
    on_claim = (Claim, Claim.id == Denial.claim_id)
    base = {"basis": cell.basis, "month": cell.month}
    zeros = dict.fromkeys(WITHIN, ZERO)
    totals: dict[tuple[Any, ...], Row] = {}
    keys = [Denial.practice_id, Denial.payer_id, npi, name]
    for practice, payer, npi_, name_, *values in session.execute(
        sa.select(*keys, *measures).join(*on_claim).where(*where).group_by(*keys)
    ):
        provider = _provider(npi_, name_)
        row = totals.get((practice, payer, provider))
        if row is None:
            row = totals[(practice, payer, provider)] = {
                **base, "practice_id": practice, "payer_id": payer, "provider": provider,
                "dim": "", "key": "", **dict(zip(DENIAL_MEASURES, values, strict=False)), **zeros,
            }  # fmt: skip
        else:
            _add(row, zip(DENIAL_MEASURES, values, strict=False))
        row["label"] = _provider_label(npi_, name_)
    dims: dict[tuple[Any, ...], Row] = {}
    # Per payer and per provider; the whole cell is the sum of its per-payer rows.
    scopes: list[tuple[str, list[Any]]] = [("payer", [Denial.payer_id]), ("provider", [npi, name])]
    if only is not None:
        wanted = "provider" if only.provider and only.payer is None else "payer"
        scopes = [s for s in scopes if s[0] == wanted]
    for scope, scope_keys in scopes:
        extra: list[Any] = []
        if only is not None and only.payer is not None:
            extra.append(Denial.payer_id == only.payer)
        for dim, dim_keys in DIM_KEYS.items():
            group = [Denial.practice_id, *scope_keys, *dim_keys]
            query = sa.select(*group, *measures).where(*where, *extra).group_by(*group)
            if scope == "provider":
                query = query.join(*on_claim)
            for result in session.execute(query):
                practice = result[0]
                scoped = result[1 : 1 + len(scope_keys)]
                parts = result[1 + len(scope_keys) : len(group)]
                values = result[len(group) :]
                payer = scoped[0] if scope == "payer" else None
                provider = _provider(*scoped) if scope == "provider" else None
                key = (practice, payer, provider, dim, _dim_key(dim, parts))
                row = dims.get(key)
                if row is None:
                    dims[key] = {
                        **base, "practice_id": practice, "payer_id": payer, "provider": provider,
                        "dim": dim, "key": key[4], "label": "",
                        **dict(zip(DENIAL_MEASURES, values, strict=False)), **zeros,
                    }  # fmt: skip
                else:
                    _add(row, zip(DENIAL_MEASURES, values, strict=False))
    returned: dict[tuple[Any, ...], Row] = {}
    if kinds & {"cohort", "returned"}:
        for practice, payer, npi_, name_, denied_on, back, n, amount in _recovered(session, cell):
            provider = _provider(npi_, name_)
            if "cohort" in kinds and cell.start is not None and back and denied_on:
                days = (back - denied_on).days
                within = next((limit for limit in COHORT_DAYS if days <= limit), None)
                if within is not None:
                    totals[(practice, payer, provider)][f"within_{within}"] += amount
            if "returned" in kinds and cell.basis == "denied" and back is not None:
                row = returned.setdefault(
                    (practice, payer, provider, month_of(back)),
                    {"practice_id": practice, "month": cell.month, "payer_id": payer,
                     "provider": provider, "back_month": month_of(back), "denials": 0,
                     "recovered": ZERO, "first_back": back, "last_back": back},
                )  # fmt: skip
                row["denials"] += int(n)
                row["recovered"] += amount
                row["first_back"] = min(row["first_back"], back)
                row["last_back"] = max(row["last_back"], back)
    for row in (*totals.values(), *dims.values()):
        for measure in STATUS_COUNTS + ("denials",):
            row[measure] = int(row[measure])
    return [*totals.values(), *dims.values()], list(returned.values())


def _recovered(session: Session, cell: Cell) -> list[Any]:
    """Recovered denials of the cell by (practice, payer, provider, denial date, day it came
    back): the decision's date, else the paying remittance's, else the day it was closed."""
    inner = (
        sa.select(
            Denial.practice_id.label("practice_id"),
            Denial.payer_id.label("payer_id"),
            Claim.rendering_provider_npi.label("npi"),
            Claim.rendering_provider_name.label("name"),
            Denial.denied_on.label("denied_on"),
            _recovered_on(_dialect(session)).label("back"),
            Denial.recovered_amount.label("amount"),
        )
        .join(Claim, Claim.id == Denial.claim_id)
        .where(*_denial_where(cell), Denial.recovered_amount > ZERO)
        .subquery()
    )
    keys = [inner.c.practice_id, inner.c.payer_id, inner.c.npi, inner.c.name, inner.c.denied_on]
    keys.append(inner.c.back)
    return list(
        session.execute(sa.select(*keys, sa.func.count(), _money(inner.c.amount)).group_by(*keys))
    )


def _histogram(counter: Counter[int]) -> str:
    return json.dumps({str(k): v for k, v in sorted(counter.items())}) if counter else ""


def read_histogram(text: str | None) -> dict[int, int]:
    return {int(k): int(v) for k, v in json.loads(text).items()} if text else {}


def _appeal_rows(session: Session, cell: Cell) -> tuple[list[Row], list[Row]]:
    """Appeals sent for the cell's denials: by payer, provider, level and outcome; per person
    (appeals they sent, and denials they worked)."""
    dialect = _dialect(session)
    days = _days(Appeal.closed_on, Appeal.submitted_on, dialect)
    by_835 = sa.case((Appeal.source == "remittance", 1), else_=0)
    keys = [
        Denial.practice_id, Denial.payer_id, Claim.rendering_provider_npi,
        Claim.rendering_provider_name, Appeal.level, Appeal.outcome, Appeal.sent_by_id, by_835,
        days,
    ]  # fmt: skip
    query = (
        sa.select(
            *keys, sa.func.count(), _money(Appeal.recovered_amount), _money(Denial.denied_amount)
        )
        .select_from(Appeal)
        .join(Denial, Denial.id == Appeal.denial_id)
        .join(Claim, Claim.id == Denial.claim_id)
        .where(*_denial_where(cell), Appeal.submitted_on.is_not(None))  # type: ignore[union-attr]
        .group_by(*keys)
    )
    base = {"basis": cell.basis, "month": cell.month}
    appeals: dict[tuple[Any, ...], Row] = {}
    team: dict[tuple[Any, ...], Row] = {}
    hist: dict[tuple[Any, ...], Counter[int]] = {}

    def person(practice: int, payer: int, provider: str, user: int) -> Row:
        return team.setdefault(
            (practice, payer, provider, user),
            {**base, "practice_id": practice, "payer_id": payer, "provider": provider,
             "user_id": user, "worked": 0, "sent": 0, "decided": 0, "won": 0,
             "recovered": ZERO, "by_835": ZERO},
        )  # fmt: skip

    for (
        practice,
        payer,
        npi,
        name,
        level,
        outcome,
        user,
        remit,
        d,
        n,
        recovered,
        stake,
    ) in session.execute(query):
        provider = _provider(npi, name)
        decided = outcome in DECIDED and d is not None
        key = (practice, payer, provider, level, outcome)
        row = appeals.setdefault(
            key,
            {**base, "practice_id": practice, "payer_id": payer, "provider": provider,
             "level": level, "outcome": outcome, "appeals": 0, "recovered": ZERO, "stake": ZERO},
        )  # fmt: skip
        row["appeals"] += int(n)
        row["recovered"] += recovered
        row["stake"] += stake
        if decided:
            hist.setdefault(("appeal", *key), Counter())[int(d)] += int(n)
        if user is None:
            continue
        who = person(practice, payer, provider, user)
        who["sent"] += int(n)
        if outcome in DECIDED:
            who["decided"] += int(n)
        if outcome in RECOVERED_STATUSES:
            who["won"] += int(n)
            who["recovered"] += recovered
            if remit:
                who["by_835"] += recovered
        if decided:
            hist.setdefault(("team", practice, payer, provider, user), Counter())[int(d)] += int(n)
    for practice, payer, npi, name, user, n in _worked(session, cell):
        person(practice, payer, _provider(npi, name), user)["worked"] += int(n)
    for key, row in appeals.items():
        row["days"] = _histogram(hist.get(("appeal", *key), Counter()))
    for key, row in team.items():
        row["days"] = _histogram(hist.get(("team", *key), Counter()))
    return list(appeals.values()), list(team.values())


def _worked(session: Session, cell: Cell) -> list[Any]:
    """Distinct denials per person: assigned and moved past new, or an appeal they sent."""
    where = _denial_where(cell)
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
    pairs = sa.union(assigned, appealed).subquery()
    keys = [
        Denial.practice_id, Denial.payer_id, Claim.rendering_provider_npi,
        Claim.rendering_provider_name, pairs.c.user_id,
    ]  # fmt: skip
    return list(
        session.execute(
            sa.select(*keys, sa.func.count())
            .select_from(pairs)
            .join(Denial, Denial.id == pairs.c.denial_id)
            .join(Claim, Claim.id == Denial.claim_id)
            .group_by(*keys)
        )
    )


def _remit_rows(session: Session, cell: Cell) -> list[Row]:
    """Remittance figures of the cell's claims (by payment date, or date of service)."""
    dialect = _dialect(session)
    column = Payment.payment_date if cell.basis == "denied" else Claim.service_date
    where = cell.within(column)
    if cell.practice_id is not None:
        where.append(Claim.practice_id == cell.practice_id)
    keys = [
        Claim.practice_id,
        Claim.payer_id,
        Claim.rendering_provider_npi,
        Claim.rendering_provider_name,
    ]
    sign = sa.case((Claim.is_reversal, -1), else_=1)
    rows: dict[tuple[Any, ...], Row] = {}

    def row(practice: int, payer: int, npi: str, name: str) -> Row:
        provider = _provider(npi, name)
        return rows.setdefault(
            (practice, payer, provider),
            {"basis": cell.basis, "month": cell.month, "practice_id": practice,
             "payer_id": payer, "provider": provider, "paid": ZERO, "charges": ZERO, "claims": 0,
             "contractual": ZERO, "lines": 0, "line_charges": ZERO, "first_claims": 0,
             "resolved": 0, "hist": Counter()},
        )  # fmt: skip

    def run(query: Any, *names: str) -> None:
        for result in session.execute(query.where(*where).group_by(*keys)):
            _add(row(*result[:4]), zip(names, result[4:], strict=True))

    on_payment = (Payment, Payment.id == Claim.payment_id)
    claims = sa.func.coalesce(sa.func.sum(sign), 0)
    run(
        sa.select(*keys, _money(Claim.paid), _money(Claim.charge), claims).join(*on_payment),
        "paid",
        "charges",
        "claims",
    )
    run(
        sa.select(*keys, _money(Adjustment.amount))
        .select_from(Adjustment)
        .join(Claim, Claim.id == Adjustment.claim_id)
        .join(*on_payment)
        .where(Adjustment.group_code == "CO", Adjustment.reason == "45"),
        "contractual",
    )
    run(
        sa.select(*keys, sa.func.coalesce(sa.func.sum(sign), 0), _money(ServiceLine.charge))
        .select_from(ServiceLine)
        .join(Claim, Claim.id == ServiceLine.claim_id)
        .join(*on_payment),
        "lines", "line_charges",
    )  # fmt: skip
    earlier = sa.alias(Claim.__table__, "earlier")  # type: ignore[attr-defined]
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
    run(
        sa.select(*keys, sa.func.count(), _count(sa.and_(Claim.paid > ZERO, sa.not_(denied_claim))))
        .join(*on_payment)
        .where(Claim.is_reversal.is_(False), first),
        "first_claims", "resolved",
    )  # fmt: skip
    days = _days(Payment.payment_date, Claim.service_date, dialect)
    for practice, payer, npi, name, d, n in session.execute(
        sa.select(*keys, days, sa.func.count())
        .select_from(Claim)
        .join(*on_payment)
        .where(
            *where,
            Claim.is_reversal.is_(False),
            Claim.paid > ZERO,
            Claim.service_date.is_not(None),  # type: ignore[union-attr]
        )
        .group_by(*keys, days)
    ):
        if d is not None:
            row(practice, payer, npi, name)["hist"][int(d)] += int(n)
    out = []
    for value in rows.values():
        value["days"] = _histogram(value.pop("hist"))
        value["claims"] = int(value["claims"])
        value["lines"] = int(value["lines"])
        out.append(value)
    return out


def _cell_days(session: Session, cell: Cell) -> tuple[date | None, date | None]:
    """The first and last day carried by the cell's month, over every practice: an index-only
    range for each date (a wider range than the practice's own only makes a partial month
    be computed from scratch more often, never wrongly)."""
    columns = [_denial_date(cell.basis)]
    columns.append(Payment.payment_date if cell.basis == "denied" else Claim.service_date)
    days: list[date] = []
    for column in columns:
        low, high = session.execute(
            sa.select(sa.func.min(column), sa.func.max(column)).where(*cell.within(column))
        ).one()
        days.extend(d for d in (low, high) if d is not None)
    return (min(days), max(days)) if days else (None, None)


# --- keeping the stored cells right ---------------------------------------------------------


def _insert_ignore(session: Session, table: Any) -> Any:
    if _dialect(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _expire(session: Session, today: date) -> None:
    """Cells computed for another day whose open denials' deadlines passed in between."""
    state = session.get(AppState, AS_OF_KEY)
    if state is None:
        session.add(AppState(key=AS_OF_KEY, value=today.isoformat()))
        session.flush()
        return
    if state.value == today.isoformat():
        return
    try:
        then = date.fromisoformat(state.value)
    except ValueError:
        then = date.min
    low, high = sorted((then, today))
    for basis in BASES:
        column = _denial_date(basis)
        month = _month_text(session, column)
        cells = (
            sa.select(Denial.practice_id, sa.literal(basis), month, sa.literal("denial"))
            .where(
                Denial.status.in_(OPEN_STATUSES),  # type: ignore[attr-defined]
                Denial.deadline >= low,  # type: ignore[operator]
                Denial.deadline < high,  # type: ignore[operator]
            )
            .distinct()
        )
        statement = _insert_ignore(session, ReportStale).from_select(
            ["practice_id", "basis", "month", "kind"], cells
        )
        session.execute(statement.on_conflict_do_nothing())
    state.value = today.isoformat()
    session.flush()


def _month_text(session: Session, column: Any) -> Any:
    if _dialect(session) == "postgresql":
        return sa.func.coalesce(sa.func.to_char(column, sa.literal_column("'YYYY-MM'")), "")
    return sa.func.coalesce(sa.func.substr(column, 1, 7), "")


SQLITE_PAUSE = 0.1  # seconds: longer than SQLite's longest busy-wait sleep
SQLITE_HOLD = 0.25  # seconds of cells after which waiting writers get a pause


def refresh(session: Session, today: date) -> int:
    """Recompute every stale cell, one transaction per cell; how many cells were recomputed.

    A cell's stale marks are deleted in the same transaction that recomputes it: a write that
    commits meanwhile marks its cell again (on PostgreSQL it waits for this transaction), so
    nothing it changed is lost; a concurrent refresh finds no marks left to take. One cell at a
    time because on SQLite the transaction holds the only write lock: all of a 200,000-denial
    database's 28 cells in one took 19 s, and every login, audit event and save waiting for it
    failed after the 10 s busy timeout; one cell holds it 0.5 s (at most 1.5 s). Once cells
    have held it `SQLITE_HOLD`, SQLite's writers get `SQLITE_PAUSE` to take it (their busy wait
    polls every 0.1 s, and would otherwise keep missing the moment between two cells).
    """
    state = session.get(AppState, AS_OF_KEY)
    nothing_stale = session.execute(sa.select(ReportStale.practice_id).limit(1)).first() is None
    if state is not None and state.value == today.isoformat() and nothing_stale:
        return 0  # read only: a page view takes no write lock unless there is work
    _expire(session, today)
    session.commit()
    sqlite = session.get_bind().dialect.name == "sqlite"
    cells = session.execute(
        sa.select(ReportStale.practice_id, ReportStale.basis, ReportStale.month)
        .distinct()
        .order_by(ReportStale.practice_id, ReportStale.basis, ReportStale.month)
    ).all()
    session.rollback()  # end the read before the first write
    done, since = 0, time.monotonic()
    for practice, basis, month in cells:
        if sqlite and time.monotonic() - since > SQLITE_HOLD:
            time.sleep(SQLITE_PAUSE)
            since = time.monotonic()
        kinds = set(
            session.execute(
                sa.delete(ReportStale)
                .where(
                    ReportStale.practice_id == practice,
                    ReportStale.basis == basis,
                    ReportStale.month == month,
                )
                .returning(ReportStale.kind)
            ).scalars()
        )
        if kinds:  # else a concurrent refresh took this cell
            store(session, Cell.whole(practice, basis, month), today, kinds)
            done += 1
        session.commit()
    return done


def refresh_stale(engine: sa.Engine, today: date | None = None) -> int:
    """`refresh` in a session of its own: run after writes (imports, the web's saves, the daily
    upkeep) so that a manager's next report view reads ready cells instead of recomputing them."""
    with Session(engine) as session:
        return refresh(session, today or date.today())


def store(
    session: Session, cell: Cell, today: date, parts: Iterable[str] = ("denial", "claim")
) -> None:
    """Replace the stored rows of one whole cell with a fresh computation: its denial side
    (outcomes, money come back, appeals, team) and/or its claim side (remittance figures)."""
    practice, basis, month = cell.practice_id, cell.basis, cell.month
    tables: list[Any] = []
    kinds: set[str] = set()
    if "denial" in parts:
        tables += [ReportDenial, ReportAppeal, ReportTeam]
        kinds |= {"denial", "cohort", "appeal", "team"}
        if basis == "denied":
            kinds.add("returned")
            session.execute(
                sa.delete(ReportReturned).where(
                    ReportReturned.practice_id == practice, ReportReturned.month == month
                )
            )
    if "claim" in parts:
        tables.append(ReportRemit)
        kinds.add("remit")
    for table in (*tables, ReportCell):
        session.execute(
            sa.delete(table).where(
                table.practice_id == practice, table.basis == basis, table.month == month
            )
        )
    rows = compute(session, cell, today, kinds)
    for kind, table in (
        ("denial", ReportDenial), ("returned", ReportReturned), ("appeal", ReportAppeal),
        ("team", ReportTeam), ("remit", ReportRemit),
    ):  # fmt: skip
        if rows.get(kind):
            session.execute(sa.insert(table), rows[kind])
    first, last = _cell_days(session, cell)
    session.add(
        ReportCell(practice_id=practice, basis=basis, month=month, first_day=first, last_day=last)
    )
    session.flush()


def rebuild(session: Session, today: date) -> int:
    """Mark every cell stale and recompute them all (after a restore, or to check)."""
    for table in (*CELL_TABLES, ReportReturned, ReportCell, ReportStale):
        session.execute(sa.delete(table))
    for basis in BASES:
        claim_month = _month_text(
            session, Payment.payment_date if basis == "denied" else Claim.service_date
        )
        cells = sa.union(
            sa.select(
                Denial.practice_id,
                sa.literal(basis),
                _month_text(session, _denial_date(basis)),
                sa.literal("denial"),
            ),
            sa.select(Claim.practice_id, sa.literal(basis), claim_month, sa.literal("claim")).join(
                Payment, Payment.id == Claim.payment_id
            ),
        )
        session.execute(
            sa.insert(ReportStale).from_select(["practice_id", "basis", "month", "kind"], cells)
        )
    return refresh(session, today)


# --- reading a period -----------------------------------------------------------------------


@dataclass
class Period:
    """The months of a period read from stored cells, and the edges computed from scratch."""

    whole: list[str]
    edges: list[Cell]


def plan(session: Session, practice: int | None, basis: str, start: date, end: date) -> Period:
    """Which months of [start, end] the stored cells answer, and which days need computing."""
    whole, edges = [], []
    for month in months_between(start, end):
        first, last = month_bounds(month)
        if first >= start and last <= end:
            whole.append(month)
            continue
        query = sa.select(
            sa.func.count(),
            sa.func.min(ReportCell.first_day),
            sa.func.max(ReportCell.last_day),
        ).where(ReportCell.basis == basis, ReportCell.month == month)
        if practice is not None:
            query = query.where(ReportCell.practice_id == practice)
        cells, low, high = session.execute(query).one()
        if not cells or low is None or (low >= start and high <= end):
            whole.append(month)
        else:
            edges.append(Cell(practice, basis, month, max(first, start), min(last, end)))
    return Period(whole, edges)


def scope_where(table: Any, f: ReportFilters, basis: str | None = None) -> list[Any]:
    """Practice, basis, payer and provider conditions on a stored table with both columns."""
    where = []
    if f.practice is not None:
        where.append(table.practice_id == f.practice)
    if basis is not None:
        where.append(table.basis == basis)
    if f.payer is not None:
        where.append(table.payer_id == f.payer)
    if f.provider:
        where.append(table.provider == f.provider)
    return where


def row_matches(row: Row, f: ReportFilters) -> bool:
    """`scope_where` for a row computed in memory."""
    return (f.payer is None or row["payer_id"] == f.payer) and (
        not f.provider or row["provider"] == f.provider
    )


def dim_where(f: ReportFilters, dim: str) -> list[Any]:
    """The stored rows of a dimension for the filters (by payer, by provider, or all)."""
    if not dim:
        return [ReportDenial.dim == "", *scope_where(ReportDenial, f)]
    where = [ReportDenial.dim == dim]
    if f.practice is not None:
        where.append(ReportDenial.practice_id == f.practice)
    payer, provider = ReportDenial.payer_id, ReportDenial.provider
    if f.provider and f.payer is None:
        return [*where, payer.is_(None), provider == f.provider]  # type: ignore[union-attr]
    scoped = payer.is_not(None) if f.payer is None else payer == f.payer  # type: ignore[union-attr]
    return [*where, scoped, provider.is_(None)]  # type: ignore[union-attr]


def dim_matches(row: Row, f: ReportFilters, dim: str) -> bool:
    """`dim_where` for a row computed in memory."""
    if row["dim"] != dim:
        return False
    if not dim:
        return row_matches(row, f)
    if f.provider and f.payer is None:
        return row["payer_id"] is None and row["provider"] == f.provider
    payer_ok = row["payer_id"] is not None if f.payer is None else row["payer_id"] == f.payer
    return payer_ok and row["provider"] is None


def dims_stored(f: ReportFilters) -> bool:
    """Dimensions are stored for all, one payer or one provider, not both at once."""
    return f.payer is None or not f.provider


def summed(
    session: Session,
    table: Any,
    where: Sequence[Any],
    keys: Sequence[Any],
    measures: Sequence[str],
) -> dict[tuple[Any, ...], list[Any]]:
    """Σ of `measures` of a stored table by `keys` (SQL does the adding)."""
    columns = []
    for name in measures:
        column = getattr(table, name)
        if name in COUNTS:
            columns.append(sa.func.coalesce(sa.func.sum(column), 0))
        else:
            columns.append(_money(column))
    out: dict[tuple[Any, ...], list[Any]] = {}
    for row in session.execute(sa.select(*keys, *columns).where(*where).group_by(*keys)):
        out[tuple(row[: len(keys)])] = [
            int(v) if n in COUNTS else v for n, v in zip(measures, row[len(keys) :], strict=True)
        ]
    return out


def add_into(
    target: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...], values: Sequence[Any]
) -> None:
    current = target.get(key)
    if current is None:
        target[key] = list(values)
    else:
        for i, value in enumerate(values):
            current[i] += value


def histograms(
    session: Session, table: Any, where: Sequence[Any], keys: Sequence[Any]
) -> dict[tuple[Any, ...], Counter[int]]:
    """The day histograms (JSON `days`) of a stored table's rows added up by `keys`, in SQL
    (`json_each` / `jsonb_each_text`): a few hundred result rows instead of parsing one JSON
    text per stored row."""
    text = sa.case((table.days == "", "{}"), else_=table.days)
    if _dialect(session) == "postgresql":
        each = sa.func.jsonb_each_text(sa.cast(text, postgresql.JSONB)).table_valued("key", "value")
        count = sa.cast(each.c.value, sa.Integer)
    else:
        each = sa.func.json_each(text).table_valued("key", "value")
        count = each.c.value
    day = each.c.key
    query = (
        sa.select(*keys, day, sa.func.sum(count))
        .select_from(table)
        .join(each, sa.true())
        .where(*where)
        .group_by(*keys, day)
    )
    out: dict[tuple[Any, ...], Counter[int]] = {}
    for row in session.execute(query):
        out.setdefault(tuple(row[: len(keys)]), Counter())[int(row[-2])] += int(row[-1])
    return out
