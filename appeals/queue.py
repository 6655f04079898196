"""The denial queue as queries: filters parsed from URL arguments, sorting, keyset paging, CSV rows.

No Flask here: the web layer hands over `request.args` (anything with `getlist`) and the user's
practice. Paging is keyset ("seek") paging on (sort value, id), so a page deep in the list costs
what the first page costs. Nullable sort columns (deadline, denial date) are read in two index-
friendly phases: the rows with a value first, then the rows without one.

Open denials are split by their deadline into views: the default view holds those still
workable (deadline today or later, or unknown), "expired" those whose deadline has passed (a
late appeal needs good cause, else write-off review), "all" both. Other statuses are never split.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import Session, select

from appeals.csvsafe import neutralised
from appeals.deadlines import days_left, is_expired
from appeals.denials import action_label, category_label
from appeals.models import (
    Appeal,
    AppealLetter,
    Claim,
    Denial,
    DenialScore,
    Letter,
    Money,
    Payer,
    ServiceLine,
    User,
)
from appeals.workflow import OPEN_STATUSES, STATUSES
from appeals.workflow import label as status_label

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
# Bounds of URL values, so a malformed one is an error by field and never reaches the database
# (a 23-digit id overflows SQLite's INTEGER and PostgreSQL's integer alike).
MAX_ID = 2**31 - 1  # the widest id column (PostgreSQL integer)
MAX_AMOUNT = Decimal("999999999999.99")  # what a Money column holds
MAX_DAYS = 3650
NO_RARC = "none"
GROUP_CODES = ("CO", "OA", "PI", "PR", "CR")
# Views of the open denials by deadline ("" is the default: not yet expired).
VIEWS: dict[str, str] = {"": "Current", "expired": "Expired", "all": "Any deadline"}
EXPIRED_ACTION = "Good cause or write off"
EXPIRED_ADVICE = (
    "The appeal deadline has passed: Medicare accepts a late appeal only for good cause "
    "(42 CFR 405.942(b)); otherwise review it for write-off."
)


class Args(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[str]: ...


@dataclass(frozen=True)
class SortSpec:
    key: str
    label: str
    column: InstrumentedAttribute[Any]
    descending: bool
    nullable: bool

    @property
    def scored(self) -> bool:
        """Whether the sort column is the denial's score's (`DenialScore`, beside the denial)."""
        return self.column.class_ is DenialScore

    @property
    def ident(self) -> Any:
        """The id paired with the sort value: the score's for a score column, so that its
        (priority, id) index gives the order."""
        return DenialScore.id if self.scored else Denial.id

    def select(self, *where: Any) -> Any:
        """(sort value, id) of the denials matching `where`."""
        query = select(self.column, self.ident)
        if self.scored:
            query = query.join(Denial, Denial.id == DenialScore.id)
        return query.where(*where)

    def value_of(self, denial: Denial, score: DenialScore) -> Any:
        """This denial's sort value."""
        return getattr(score if self.scored else denial, self.column.key)

    def parse(self, text: str) -> Any:
        if self.key == "priority":
            return float(text)
        if self.key == "amount":
            return Decimal(text)
        return date.fromisoformat(text)


SORTS: dict[str, SortSpec] = {
    spec.key: spec
    for spec in (
        SortSpec("priority", "Priority", DenialScore.priority, True, False),  # type: ignore[arg-type]
        SortSpec("deadline", "Deadline", Denial.deadline, False, True),  # type: ignore[arg-type]
        SortSpec("amount", "Denied amount", Denial.denied_amount, True, False),  # type: ignore[arg-type]
        SortSpec("age", "Age (oldest first)", Denial.denied_on, False, True),  # type: ignore[arg-type]
    )
}


def _codes(values: Sequence[str]) -> list[str]:
    """Split 'CO-16, 197 n350' style input into upper-case codes (group prefixes dropped)."""
    codes: list[str] = []
    for value in values:
        for part in re.split(r"[\s,;]+", value.strip()):
            part = part.upper()
            if "-" in part and part.split("-", 1)[0] in {"CO", "OA", "PI", "PR", "CR"}:
                part = part.split("-", 1)[1]
            if part and part not in codes:
                codes.append(part[:10])
    return codes


@dataclass
class QueueFilters:
    """Everything that picks and orders the queue's rows; round-trips through URL arguments."""

    payer: list[int] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    group: list[str] = field(default_factory=list)  # adjustment group code: CO, PR, OA, PI
    carc: list[str] = field(default_factory=list)
    rarc: list[str] = field(default_factory=list)
    procedure: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)  # empty = every open status
    view: str = ""  # a key of VIEWS: how open denials are split by deadline
    assignee: str = ""  # "" anyone | "me" | "none" | a user id
    due_within: int | None = None  # days until the deadline
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    date_from: date | None = None  # date of service
    date_to: date | None = None
    denied_from: date | None = None  # denial date (the remittance's payment date)
    denied_to: date | None = None
    q: str = ""
    sort: str = "priority"
    size: int = DEFAULT_PAGE_SIZE
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Args) -> QueueFilters:
        """Parse URL arguments; bad values are dropped and explained in `errors`."""
        f = cls()
        errors: dict[str, str] = {}
        for text in args.getlist("payer"):
            if is_id(text):
                f.payer.append(int(text))
            elif text.strip():
                errors["payer"] = "Unknown payer."
        f.category = [c for c in args.getlist("category") if c]
        f.group = [g for g in _codes(args.getlist("group")) if g in GROUP_CODES]
        f.carc = _codes(args.getlist("carc"))
        f.rarc = [NO_RARC if c == NO_RARC.upper() else c for c in _codes(args.getlist("rarc"))]
        f.procedure = _codes(args.getlist("procedure"))
        f.status = [s for s in args.getlist("status") if s in STATUSES or s == "all"]
        view = (args.get("view") or "").strip()
        f.view = view if view in VIEWS else ""
        assignee = (args.get("assignee") or "").strip()
        f.assignee = assignee if assignee in {"", "me", "none"} or is_id(assignee) else ""
        f.due_within = _int(args.get("due_within"), "due_within", errors, maximum=MAX_DAYS)
        f.amount_min = _money(args.get("amount_min"), "amount_min", errors)
        f.amount_max = _money(args.get("amount_max"), "amount_max", errors)
        if f.amount_min is not None and f.amount_max is not None and f.amount_min > f.amount_max:
            errors["amount_max"] = "The maximum is below the minimum."
            f.amount_max = None
        f.date_from = _date(args.get("date_from"), "date_from", errors)
        f.date_to = _date(args.get("date_to"), "date_to", errors)
        if f.date_from and f.date_to and f.date_from > f.date_to:
            errors["date_to"] = "The end date is before the start date."
            f.date_to = None
        f.denied_from = _date(args.get("denied_from"), "denied_from", errors)
        f.denied_to = _date(args.get("denied_to"), "denied_to", errors)
        if f.denied_from and f.denied_to and f.denied_from > f.denied_to:
            errors["denied_to"] = "The end date is before the start date."
            f.denied_to = None
        f.q = (args.get("q") or "").strip()[:100]
        sort = args.get("sort") or "priority"
        f.sort = sort if sort in SORTS else "priority"
        size = _int(args.get("size"), "size", errors, minimum=1)
        f.size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
        f.errors = errors
        return f

    def to_args(self, **changes: Any) -> list[tuple[str, str]]:
        """URL arguments for these filters (defaults left out), with `changes` applied."""
        f = replace(self, **changes) if changes else self
        default = QueueFilters()
        pairs: list[tuple[str, str]] = []
        for spec in fields(f):
            if spec.name == "errors":
                continue
            value = getattr(f, spec.name)
            if value == getattr(default, spec.name) or value is None:
                continue
            if isinstance(value, list):
                pairs.extend((spec.name, str(v)) for v in value)
            else:
                pairs.append((spec.name, str(value)))
        return pairs

    @property
    def statuses(self) -> tuple[str, ...]:
        if "all" in self.status:
            return tuple(STATUSES)
        return tuple(self.status) or OPEN_STATUSES

    @property
    def active(self) -> bool:
        """Whether anything beyond the default view is selected."""
        ignore = {"sort", "size"}
        return any(name not in ignore for name, _ in self.to_args())


def is_id(text: str) -> bool:
    """Whether `text` is an id a table can hold (digits, 1 to MAX_ID), for values that are
    skipped quietly when they are not."""
    text = text.strip()
    return (
        text.isascii()
        and text.isdigit()
        and len(text.lstrip("0")) <= 10
        and 0 < int(text) <= MAX_ID
    )


def _int(
    text: Any, name: str, errors: dict[str, str], minimum: int = 0, maximum: int = MAX_ID
) -> int | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        errors[name] = "Enter a whole number."
        return None
    if not minimum <= value <= maximum:
        errors[name] = f"Enter a whole number from {minimum} to {maximum}."
        return None
    return value


def _money(text: Any, name: str, errors: dict[str, str]) -> Decimal | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        value = Decimal(str(text).strip().replace("$", "").replace(",", ""))
    except InvalidOperation:
        errors[name] = "Enter an amount such as 125.00."
        return None
    if not value.is_finite() or value < 0:
        errors[name] = "Enter an amount of 0 or more."
        return None
    if value > MAX_AMOUNT:
        errors[name] = f"Enter an amount up to {MAX_AMOUNT:,}."
        return None
    return value.quantize(Decimal("0.01"))


def _date(text: Any, name: str, errors: dict[str, str]) -> date | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None


# --- query building ---------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the practice scope (None = every practice) and the user id for "me"."""

    user_id: int | None
    practice_id: int | None


def _prefix(column: Any, text: str) -> Any:
    """`column` starts with `text`, written as a range so an index can serve it."""
    upper = text[:-1] + chr(ord(text[-1]) + 1)
    return sa.and_(column >= text, column < upper)


def _cases(text: str) -> set[str]:
    return {text, text.upper(), text.lower(), text[:1].upper() + text[1:].lower()}


def _name(last: str, first: str) -> Any:
    """Last name starting with `last` (as typed, upper case or capitalised: the plain index
    serves it), and first name starting with `first` when given."""
    name = sa.or_(*(_prefix(Claim.patient_last_name, v) for v in sorted(_cases(last))))
    if first:
        name = sa.and_(name, sa.func.lower(Claim.patient_first_name).startswith(first.lower()))
    return name


def name_splits(text: str) -> list[tuple[str, str]]:
    """The (last, first) readings of a typed name: "last, first"; else the whole text as a
    last name, "first last" and "last first" (a two-word last name is the whole-text reading).
    """
    if "," in text:
        last, _, first = (part.strip() for part in text.partition(","))
        return [(last, first)] if last else []
    words = text.split()
    if not words:
        return []
    readings = [(" ".join(words), "")]
    if len(words) > 1:
        readings.append((" ".join(words[1:]), words[0]))  # first last
        readings.append((words[0], " ".join(words[1:])))  # last first
    return list(dict.fromkeys(readings))


def _search(q: str) -> Any:
    """Patient name ("last", "last, first", "first last"), account or payer claim number.

    Prefix matches written as index ranges. Names are matched as typed, upper case (as 835
    files carry them) and capitalised, so the plain index on the last name serves the search.
    """
    text = q.strip()
    account = sorted({text, text.upper()})
    accounts = [_prefix(Denial.patient_control_number, a) for a in account]
    claims = [_prefix(Claim.payer_claim_control_number, a) for a in account]
    claims.extend(_name(last, first) for last, first in name_splits(text))
    # A union of two indexed lookups: an OR across tables would make databases scan.
    by_account = select(Denial.id).where(sa.or_(*accounts))
    by_claim = select(Denial.id).where(
        Denial.claim_id.in_(select(Claim.id).where(sa.or_(*claims)))  # type: ignore[attr-defined]
    )
    return Denial.id.in_(sa.union(by_account, by_claim))  # type: ignore[union-attr]


def _by_status_and_view(filters: QueueFilters, today: date) -> list[Any]:
    """The status filter and the view's deadline split of the open statuses."""
    statuses = filters.statuses
    where: list[Any] = []
    if filters.view == "expired":
        statuses = tuple(s for s in statuses if s in OPEN_STATUSES)
        where.append(Denial.deadline < today)  # type: ignore[operator]
    if not statuses:
        return [sa.false()]
    if set(statuses) != set(STATUSES):
        where.append(Denial.status.in_(statuses))  # type: ignore[attr-defined]
    if filters.view == "":
        current = sa.or_(Denial.deadline >= today, Denial.deadline.is_(None))  # type: ignore[operator,union-attr]
        if not set(statuses) <= set(OPEN_STATUSES):
            current = sa.or_(Denial.status.not_in(OPEN_STATUSES), current)  # type: ignore[attr-defined]
        where.append(current)
    return where


def conditions(filters: QueueFilters, viewer: Viewer, today: date) -> list[Any]:
    """WHERE conditions on `Denial` for these filters, scoped to what the viewer may see."""
    where: list[Any] = []
    if viewer.practice_id is not None:
        where.append(Denial.practice_id == viewer.practice_id)
    where.extend(_by_status_and_view(filters, today))
    if filters.payer:
        where.append(Denial.payer_id.in_(filters.payer))  # type: ignore[attr-defined]
    if filters.category:
        where.append(Denial.category.in_(filters.category))  # type: ignore[attr-defined]
    if filters.group:
        where.append(Denial.group_code.in_(filters.group))  # type: ignore[attr-defined]
    # Reason codes match the CARC that decided the category and its first remark, as the
    # reason groups count them, so a group's link shows exactly the group's rows.
    if filters.carc:
        where.append(Denial.carc.in_(filters.carc))  # type: ignore[attr-defined]
    if filters.rarc:
        where.append(Denial.rarc.in_(["" if c == NO_RARC else c for c in filters.rarc]))  # type: ignore[attr-defined]
    if filters.procedure:
        where.append(Denial.procedure_code.in_(filters.procedure))  # type: ignore[attr-defined]
    if filters.assignee == "me":
        where.append(Denial.assignee_id == viewer.user_id)
    elif filters.assignee == "none":
        where.append(Denial.assignee_id.is_(None))  # type: ignore[union-attr]
    elif filters.assignee:
        where.append(Denial.assignee_id == int(filters.assignee))
    if filters.due_within is not None:
        # Still to come: an expired deadline is not "due within" anything.
        where.append(Denial.deadline >= today)  # type: ignore[operator]
        where.append(Denial.deadline <= today + timedelta(days=filters.due_within))  # type: ignore[operator]
    if filters.amount_min is not None:
        where.append(Denial.denied_amount >= filters.amount_min)
    if filters.amount_max is not None:
        where.append(Denial.denied_amount <= filters.amount_max)
    if filters.date_from is not None:
        where.append(Denial.service_date >= filters.date_from)  # type: ignore[operator]
    if filters.date_to is not None:
        where.append(Denial.service_date <= filters.date_to)  # type: ignore[operator]
    if filters.denied_from is not None:
        where.append(Denial.denied_on >= filters.denied_from)  # type: ignore[operator]
    if filters.denied_to is not None:
        where.append(Denial.denied_on <= filters.denied_to)  # type: ignore[operator]
    if filters.q:
        where.append(_search(filters.q))
    return where


# --- keyset paging ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in the sorted list: the sort value (None in the no-value tail) and the id."""

    value: Any
    id: int

    def encode(self) -> str:
        return f"{'' if self.value is None else self.value}~{self.id}"

    @classmethod
    def decode(cls, text: str | None, spec: SortSpec) -> Cursor | None:
        if not text or "~" not in text:
            return None
        value, _, ident = text.rpartition("~")
        try:
            return cls(spec.parse(value) if value else None, int(ident))
        except (ValueError, InvalidOperation):
            return None


@dataclass
class Page:
    ids: list[int]
    next: Cursor | None
    prev: Cursor | None


def _ordered(spec: SortSpec, where: list[Any], reverse: bool) -> tuple[Any, Any]:
    """Selects of (value, id) for the rows with a sort value and for the rows without one."""
    descending = spec.descending != reverse
    col, ident = spec.column, spec.ident
    order = (col.desc(), ident.desc()) if descending else (col.asc(), ident.asc())
    valued = spec.select(*where)
    if spec.nullable:
        valued = valued.where(col.is_not(None))
    valued = valued.order_by(*order)
    tail = None
    if spec.nullable:
        tail_order = ident.desc() if reverse else ident.asc()
        tail = spec.select(*where, col.is_(None)).order_by(tail_order)
    return valued, tail


def _after(spec: SortSpec, cursor: Cursor, reverse: bool) -> Any:
    """Rows strictly beyond `cursor` in the reading direction (valued part only)."""
    descending = spec.descending != reverse
    value = sa.literal(cursor.value, type_=spec.column.type)
    pair, bound = sa.tuple_(spec.column, spec.ident), sa.tuple_(value, sa.literal(cursor.id))
    return pair < bound if descending else pair > bound


def page(
    session: Session,
    filters: QueueFilters,
    viewer: Viewer,
    today: date,
    *,
    after: str | None = None,
    before: str | None = None,
) -> Page:
    """One page of denial ids in queue order, with cursors for the next and previous pages."""
    spec = SORTS[filters.sort]
    where = conditions(filters, viewer, today)
    reverse = bool(before) and not after
    cursor = Cursor.decode(before if reverse else after, spec)
    limit = filters.size + 1
    valued, tail = _ordered(spec, where, reverse)
    rows: list[tuple[Any, int]] = []
    # Reading forwards the valued rows come first, then the tail; backwards the other way round.
    in_tail = cursor is not None and cursor.value is None
    phases: list[tuple[str, Any]] = [("valued", valued), ("tail", tail)]
    if reverse:
        phases.reverse()
    started = cursor is None
    for name, query in phases:
        if query is None:
            continue
        if not started:
            if (name == "tail") != in_tail:
                continue
            started = True
            if name == "tail":
                assert cursor is not None
                query = query.where(spec.ident < cursor.id if reverse else spec.ident > cursor.id)
            elif cursor is not None:
                query = query.where(_after(spec, cursor, reverse))
        rows.extend(session.exec(query.limit(limit - len(rows))).all())
        if len(rows) >= limit:
            break
    more = len(rows) > filters.size
    rows = rows[: filters.size]
    if reverse:
        rows.reverse()
    first = Cursor(rows[0][0], rows[0][1]) if rows else None
    last = Cursor(rows[-1][0], rows[-1][1]) if rows else None
    if reverse:
        return Page(
            [r[1] for r in rows], next=last if rows else cursor, prev=first if more else None
        )
    return Page([r[1] for r in rows], next=last if more else None, prev=first if cursor else None)


def neighbours(
    session: Session,
    filters: QueueFilters,
    viewer: Viewer,
    today: date,
    denial: Denial,
    score: DenialScore,
) -> tuple[int | None, int | None]:
    """The denials before and after this one in the queue these filters give (keyset reads of
    one row each way from the denial's own position, whether or not it still matches)."""
    spec = SORTS[filters.sort]
    here = Cursor(spec.value_of(denial, score), denial.id or 0).encode()
    one = replace(filters, size=1)
    before = page(session, one, viewer, today, before=here).ids
    after = page(session, one, viewer, today, after=here).ids
    return (before[0] if before else None, after[0] if after else None)


def matching_ids(
    session: Session, filters: QueueFilters, viewer: Viewer, today: date, limit: int
) -> list[int]:
    """The ids of every denial matching the filters (every page), in queue order, at most
    `limit` (a caller asks for one more than it takes, to know there were more)."""
    spec = SORTS[filters.sort]
    valued, tail = _ordered(spec, conditions(filters, viewer, today), reverse=False)
    ids = [row[1] for row in session.exec(valued.limit(limit)).all()]
    if tail is not None and len(ids) < limit:
        ids.extend(row[1] for row in session.exec(tail.limit(limit - len(ids))).all())
    return ids


def count(session: Session, filters: QueueFilters, viewer: Viewer, today: date) -> int:
    where = conditions(filters, viewer, today)
    return int(session.exec(select(sa.func.count()).select_from(Denial).where(*where)).one())


def total_denied(session: Session, filters: QueueFilters, viewer: Viewer, today: date) -> Decimal:
    where = conditions(filters, viewer, today)
    total = sa.type_coerce(sa.func.coalesce(sa.func.sum(Denial.denied_amount), 0), Money())
    return session.exec(select(total).where(*where)).one() or Decimal("0.00")


# --- rows for display and export --------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    denial: Denial
    score: DenialScore
    patient_last_name: str
    patient_first_name: str
    claim_number: str
    payer_name: str
    modifiers: str
    assignee: str
    letters: int = 0  # letters written for the denial (its own or one covering its appeal)

    @property
    def patient(self) -> str:
        return patient_name(self.patient_last_name, self.patient_first_name)

    @property
    def procedure(self) -> str:
        return procedure_text(self.denial.procedure_code, self.modifiers)

    def expired(self, today: date) -> bool:
        return open_and_expired(self.denial.status, self.denial.deadline, today)

    def action_text(self, today: date) -> str:
        return action_text(self.denial.action, self.expired(today))


def patient_name(last: str, first: str) -> str:
    return ", ".join(p for p in (last, first) if p)


def procedure_text(code: str, modifiers: str | None) -> str:
    return " ".join(p for p in (code, modifiers) if p)


def open_and_expired(status: str, deadline: date | None, today: date) -> bool:
    """An open denial whose deadline has passed."""
    return status in OPEN_STATUSES and is_expired(deadline, today)


def action_text(action: str, expired: bool) -> str:
    """The recommended action in words: good cause or write-off once the deadline passed."""
    return EXPIRED_ACTION if expired else action_label(action)


def _row_select() -> Any:
    return (
        select(
            Denial,
            DenialScore,
            Claim.patient_last_name,
            Claim.patient_first_name,
            Claim.payer_claim_control_number,
            Payer.name,
            ServiceLine.modifiers,
            User.username,
        )
        .join(DenialScore, DenialScore.id == Denial.id)
        .join(Claim, Claim.id == Denial.claim_id)
        .join(Payer, Payer.id == Denial.payer_id)
        .join(ServiceLine, ServiceLine.id == Denial.line_id, isouter=True)
        .join(User, User.id == Denial.assignee_id, isouter=True)
    )


def _to_row(values: Sequence[Any]) -> QueueRow:
    denial, score, last, first, number, payer, modifiers, assignee = values
    return QueueRow(denial, score, last, first, number, payer, modifiers or "", assignee or "")


def rows_for(session: Session, ids: Sequence[int]) -> list[QueueRow]:
    """Display rows for these ids, in the given order."""
    if not ids:
        return []
    found = {
        r.denial.id: r
        for r in map(_to_row, session.exec(_row_select().where(Denial.id.in_(ids))).all())  # type: ignore[union-attr]
    }
    counts = letter_counts(session, ids)
    return [replace(found[i], letters=counts.get(i, 0)) for i in ids if i in found]


def letter_counts(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """How many letters cover each of these denials: written from it, or crediting its appeal."""
    if not ids:
        return {}
    wanted = list(ids)
    direct = sa.select(
        Letter.denial_id.label("denial_id"),  # type: ignore[attr-defined]
        Letter.id.label("letter_id"),  # type: ignore[union-attr]
    ).where(Letter.denial_id.in_(wanted))  # type: ignore[attr-defined]
    linked = (
        sa.select(Appeal.denial_id, AppealLetter.letter_id)
        .join(Appeal, Appeal.id == AppealLetter.appeal_id)
        .where(Appeal.denial_id.in_(wanted))  # type: ignore[attr-defined]
    )
    both = sa.union(direct, linked).subquery()
    query = sa.select(both.c.denial_id, sa.func.count()).group_by(both.c.denial_id)
    return {int(d): int(n) for d, n in session.execute(query).all()}


def scoped_denials(session: Session, viewer: Viewer, ids: Sequence[int]) -> list[Denial]:
    """The denials with these ids that the viewer may see (others are silently left out)."""
    query = select(Denial).where(Denial.id.in_(list(ids)))  # type: ignore[union-attr]
    if viewer.practice_id is not None:
        query = query.where(Denial.practice_id == viewer.practice_id)
    return list(session.exec(query.order_by(Denial.id)).all())


# --- export -------------------------------------------------------------------------------

CSV_HEADER = (
    "denial_id",
    "patient",
    "account",
    "payer_claim_number",
    "date_of_service",
    "denial_date",
    "payer",
    "procedure",
    "carc",
    "rarcs",
    "category",
    "recommended_action",
    "denied_amount",
    "probability",
    "expected_recovery",
    "priority",
    "deadline",
    "days_left",
    "status",
    "recovered_amount",
    "closed_on",
    "appeal_level",
    "assignee",
)


def _as_driver_returns(column: Any) -> Any:
    """`column` with no conversion by SQLAlchemy: SQLite gives money as integer cents and dates
    as ISO text, PostgreSQL gives `Decimal`, `date` and `datetime` (converting 200,000 rows'
    money and dates into objects only to write them back as text was a fifth of an export)."""
    return sa.type_coerce(column, sa.types.NullType())


def _export_column(column: Any, dialect: str) -> Any:
    """An exported column as the driver returns it; money as its exact text with two decimals,
    written by the database (SQLite keeps integer cents, PostgreSQL numeric(14, 2))."""
    if not isinstance(column.type, Money):
        return _as_driver_returns(column)
    if dialect == "postgresql":
        return sa.cast(column, sa.Text)
    cents = sa.type_coerce(column, sa.BigInteger)
    sign = sa.case((cents < 0, "-"), else_="")
    whole = sa.func.abs(cents, type_=sa.BigInteger)  # typed: `//` is SQLite's integer division
    text = sa.func.printf("%s%d.%02d", sign, whole // 100, whole % 100)
    return sa.case((cents.is_(None), None), else_=text)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


_EXPORT_COLUMNS = (
    Denial.id,
    Claim.patient_last_name,
    Claim.patient_first_name,
    Denial.patient_control_number,
    Claim.payer_claim_control_number,
    Denial.service_date,
    Denial.denied_on,
    Payer.name,
    Denial.procedure_code,
    ServiceLine.modifiers,
    Denial.carcs,
    Denial.carc,
    Denial.rarcs,
    Denial.category,
    Denial.action,
    Denial.denied_amount,
    DenialScore.probability,
    DenialScore.expected_recovery,
    DenialScore.priority,
    Denial.deadline,
    Denial.status,
    Denial.recovered_amount,
    Denial.closed_at,
    Denial.appeal_level,
    User.username,
)


EXPORT_MMAP_BYTES = 1 << 30  # SQLite: the largest database file the export maps


def export_rows(
    session: Session, filters: QueueFilters, viewer: Viewer, today: date, batch: int = 1000
) -> Iterator[list[str]]:
    """Every row matching the filters in queue order, as the export's cells (`CSV_HEADER`).

    The order of the pages: rows with a sort value, then (nullable sorts) those without, by id.
    Each part is one Core select of just the exported columns, as the driver returns them,
    read `batch` rows at a time (a server-side cursor on PostgreSQL). Money is exact decimal
    text; text from files and users goes through `csvsafe.neutralised`.
    """
    spec = SORTS[filters.sort]
    column, ident = spec.column, spec.ident
    order = (column.desc(), ident.desc()) if spec.descending else (column.asc(), ident.asc())
    connection = session.connection()
    dialect = connection.dialect.name
    base = (
        sa.select(*(_export_column(c, dialect) for c in _EXPORT_COLUMNS))
        .select_from(Denial)
        .join(DenialScore, DenialScore.id == Denial.id)
        .join(Claim, Claim.id == Denial.claim_id)
        .join(Payer, Payer.id == Denial.payer_id)
        .join(ServiceLine, ServiceLine.id == Denial.line_id, isouter=True)
        .join(User, User.id == Denial.assignee_id, isouter=True)
        .where(*conditions(filters, viewer, today))
    )
    parts = [base.where(column.is_not(None)) if spec.nullable else base]
    if spec.nullable:
        parts.append(base.where(column.is_(None)))
    orders = [order, (ident.asc(),)]  # type: ignore[union-attr,attr-defined]
    if dialect == "postgresql":
        # Every row is read: plan the cursor for the whole result, not for its first tenth
        # (PostgreSQL's default for cursors picked index-ordered nested loops: 2.1 s against
        # 1.6 s with hash joins and a sort for 200,000 rows). Ends with the transaction.
        connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
    else:
        # Every row is read, each with a lookup of its claim and line: through memory-mapped
        # pages, not a read call per page (200,000 rows: 0.4 s less). Only while the export
        # runs: the pages it maps count in the process's resident size.
        connection.exec_driver_sql(f"PRAGMA mmap_size={EXPORT_MMAP_BYTES}")
    try:
        for query, ordering in zip(parts, orders, strict=False):
            # The with-block closes the server-side cursor when the export stops early.
            with connection.execute(
                query.order_by(*ordering).execution_options(stream_results=True, yield_per=batch)
            ) as result:
                for row in result:
                    yield _export_cells(*row, today=today)
    finally:
        if dialect == "sqlite":
            # A connection an error broke is discarded anyway: its error is the one to report.
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                connection.exec_driver_sql("PRAGMA mmap_size=0")


def _export_cells(
    ident: int,
    last: str,
    first: str,
    account: str,
    claim_number: str,
    service_date: date | str | None,
    denied_on: date | str | None,
    payer: str,
    procedure: str,
    modifiers: str | None,
    carcs: str,
    carc: str,
    rarcs: str,
    category: str,
    action: str,
    denied: str,
    probability: float | None,
    expected: str | None,
    priority: float,
    deadline: date | str | None,
    status: str,
    recovered: str,
    closed_at: datetime | str | None,
    level: int,
    assignee: str | None,
    today: date,
) -> list[str]:
    due = None if deadline is None else _as_date(deadline)
    left = days_left(due, today)
    cells = [
        str(ident),
        patient_name(last, first),
        account or "",
        claim_number or "",
        "" if service_date is None else str(service_date),
        "" if denied_on is None else str(denied_on),
        payer or "",
        procedure_text(procedure, modifiers),
        " ".join((carcs or carc).split()),
        rarcs or "",
        category_label(category),
        action_text(action, open_and_expired(status, due, today)),
        denied,
        "" if probability is None else f"{probability:.3f}",
        "" if expected is None else expected,
        f"{priority:.2f}",
        "" if deadline is None else str(deadline),
        "" if left is None else str(left),
        status_label(status),
        recovered,
        "" if closed_at is None else str(closed_at)[:10],
        str(level),
        assignee or "",
    ]
    return neutralised(cells, _EXPORT_TEXT_CELLS)


# The cells holding text from files or users (names, numbers, codes): `neutralised`.
_EXPORT_TEXT_CELLS = tuple(
    CSV_HEADER.index(name)
    for name in (
        "patient",
        "account",
        "payer_claim_number",
        "payer",
        "procedure",
        "carc",
        "rarcs",
        "assignee",
    )
)
