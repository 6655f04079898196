"""Follow-ups due: the denials whose payer owes an answer by now, found set-wise.

Three reasons put a denial on the list (closed denials never are):

- "follow_up": an appeal was sent, is undecided, and its follow-up date has come;
- "promise": the denial's latest payer call promised an answer by a date that has come;
- "silence": an appeal was sent, is undecided, and the payer type's usual decision time
  (`deadlines.window(...).decision_days`) has passed with no later remittance of the claim
  (a claim of the same practice, payer and account number paid after the sending). A follow-up
  date still to come means someone chose to wait: it holds this reason back.

A denial is listed once, its most overdue reason first and the others beside it. A few queries
whatever the number of rows: undecided appeals, call notes, then names and appeals for the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from appeals import audit
from appeals.deadlines import window, windows
from appeals.formatting import day
from appeals.lifecycle import METHODS
from appeals.models import Appeal, Claim, Denial, Note, Payer, Payment
from appeals.workflow import CLOSED_STATUSES

KINDS: dict[str, str] = {
    "follow_up": "No decision by the follow-up date",
    "promise": "Payer promised an answer",
    "silence": "No response from the payer",
}
MAX_SNOOZE_DAYS = 365


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a denial needs a follow-up: the kind, in words, since when."""

    kind: str  # a key of KINDS
    text: str
    due_on: date
    days_overdue: int


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One denial to chase, with its appeal (if sent) and its reasons, most overdue first."""

    denial_id: int
    patient: str
    procedure: str  # tells two denied lines of one patient apart
    payer: str
    level: int
    appeal_id: int | None  # the sent, undecided appeal whose follow-up date can be moved
    sent_on: date | None
    method: str  # in words
    reference: str
    follow_up_on: date | None  # that appeal's follow-up date
    reasons: tuple[Reason, ...]

    @property
    def kind(self) -> str:
        return self.reasons[0].kind

    @property
    def reason(self) -> str:
        return self.reasons[0].text

    @property
    def due_on(self) -> date:
        return self.reasons[0].due_on

    @property
    def days_overdue(self) -> int:
        return self.reasons[0].days_overdue

    @property
    def others(self) -> tuple[Reason, ...]:
        return self.reasons[1:]


# --- conditions ------------------------------------------------------------------------------


def _payer_type() -> Any:
    """The denial's payer type as `deadlines.window` reads it ('' counts as 'other')."""
    return sa.func.coalesce(sa.func.nullif(Denial.payer_type, ""), "other")


# The conditions below are built with bound parameters (today, the user, the practice, one
# sending cutoff per decision time) so that a statement is built once and run with `_params`:
# building and caching SQLAlchemy's statements cost about 15 ms a page, running them under 1 ms.
_TODAY = sa.bindparam("today", type_=sa.Date)
_USER = sa.bindparam("user_id", type_=sa.Integer)
_PRACTICE = sa.bindparam("practice_id", type_=sa.Integer)


def _cutoff(days: int) -> Any:
    return sa.bindparam(f"sent_by_{days}", type_=sa.Date)


def _params(today: date, user_id: int | None, practice_id: int | None) -> dict[str, Any]:
    """The values of the conditions' parameters."""
    days = {w.decision_days for w in windows().values()}
    return {
        "today": today,
        "user_id": user_id,
        "practice_id": practice_id,
        **{f"sent_by_{d}": today - timedelta(days=d) for d in days},
    }


def _silence_cutoff() -> Any:
    """Per row, the last sending date whose usual decision time has passed by today.

    Looked up as `deadlines.window` does: the payer type's level, else its level 1, else 'other'.
    """
    table = windows()
    ptype = _payer_type()
    cutoff = _cutoff

    by_type = sa.case(
        {kind: cutoff(w.decision_days) for (kind, level), w in table.items() if level == 1},
        value=ptype,
        else_=cutoff(window("other", 1).decision_days),
    )
    return sa.case(
        {f"{kind}:{level}": cutoff(w.decision_days) for (kind, level), w in table.items()},
        value=ptype + ":" + sa.cast(col(Appeal.level), sa.String),
        else_=by_type,
    )


def _later_remittance() -> Any:
    """A remittance of the appeal's claim paid after the appeal was sent."""
    other = aliased(Claim)
    return (
        sa.select(sa.literal(1))
        .select_from(other)
        .join(Payment, col(Payment.id) == other.payment_id)
        .where(
            other.practice_id == Denial.practice_id,
            other.payer_id == Denial.payer_id,
            other.patient_control_number == Denial.patient_control_number,
            col(Payment.payment_date) > col(Appeal.submitted_on),
        )
        .correlate(Denial, Appeal)  # from any enclosing level (the count nests it twice)
        .exists()
    )


def _in_scope(by_practice: bool) -> list[Any]:
    where: list[Any] = [col(Denial.status).not_in(CLOSED_STATUSES)]
    if by_practice:
        where.append(Denial.practice_id == _PRACTICE)
    return where


def _appeal_conditions(by_user: bool, by_practice: bool) -> list[Any]:
    """Sent, undecided appeals of unclosed denials in scope (sent by or assigned to the user)."""
    where = [
        col(Appeal.submitted_on).is_not(None),
        Appeal.outcome == "",
        *_in_scope(by_practice),
    ]
    if by_user:
        where.append(sa.or_(Appeal.sent_by_id == _USER, Denial.assignee_id == _USER))
    return where


def _follow_up_due() -> Any:
    return col(Appeal.follow_up_on) <= _TODAY


def _silent() -> Any:
    return sa.and_(
        col(Appeal.submitted_on) < _silence_cutoff(),
        sa.or_(col(Appeal.follow_up_on).is_(None), col(Appeal.follow_up_on) <= _TODAY),
        ~_later_remittance(),
    )


def _promise_conditions(by_user: bool, by_practice: bool) -> list[Any]:
    """The latest call note of an unclosed denial in scope, with a promise date that has come."""
    later = aliased(Note)
    newer_call = (
        sa.select(sa.literal(1))
        .where(later.denial_id == Note.denial_id, later.kind == "call", later.id > Note.id)
        .correlate(Note)
        .exists()
    )
    where = [
        Note.kind == "call",
        col(Note.follow_up_on) <= _TODAY,
        ~newer_call,
        *_in_scope(by_practice),
    ]
    if by_user:
        where.append(sa.or_(Denial.assignee_id == _USER, Note.author_id == _USER))
    return where


# --- reading -------------------------------------------------------------------------------


def count_due(
    session: Session, today: date, *, user_id: int | None = None, practice_id: int | None = None
) -> int:
    """How many denials `followups_due` would list, in one COUNT query (every page's badge)."""
    statement = _count_statement(user_id is not None, practice_id is not None)
    return int(session.execute(statement, _params(today, user_id, practice_id)).scalar_one())


@cache
def _count_statement(by_user: bool, by_practice: bool) -> Any:
    # Both sides start from the appeals and notes (their denial checked per row, in EXISTS):
    # joined, SQLite's planner reads every denial of the practice (100+ ms at 200,000).
    soonest = min(w.decision_days for w in windows().values())
    denial_matches = (
        sa.select(sa.literal(1))
        .select_from(Denial)
        .where(
            col(Denial.id) == col(Appeal.denial_id),
            *_appeal_conditions(by_user, by_practice),
            sa.or_(_follow_up_due(), _silent()),
        )
        .exists()
    )
    appeals = sa.select(col(Appeal.denial_id).label("denial_id")).where(
        col(Appeal.submitted_on).is_not(None),
        Appeal.outcome == "",
        # a cheap superset of "due": a follow-up date that has come, or sent long enough ago
        sa.or_(_follow_up_due(), col(Appeal.submitted_on) < _cutoff(soonest)),
        denial_matches,
    )
    promised = (
        sa.select(sa.literal(1))
        .select_from(Denial)
        .where(col(Denial.id) == col(Note.denial_id), *_promise_conditions(by_user, by_practice))
        .exists()
    )
    promises = sa.select(col(Note.denial_id).label("denial_id")).where(
        Note.kind == "call", col(Note.follow_up_on) <= _TODAY, promised
    )
    due = sa.union(appeals, promises).subquery()
    return sa.select(sa.func.count()).select_from(due)


def followups_due(
    session: Session,
    today: date,
    *,
    user_id: int | None = None,
    practice_id: int | None = None,
    denial_ids: Sequence[int] | None = None,
) -> list[FollowUp]:
    """Denials to chase today, most overdue first (`denial_ids` narrows to those denials).

    `user_id`: only appeals the user sent, denials assigned to the user and calls the user
    logged; `practice_id`: only that practice's denials.
    """
    only = [] if denial_ids is None else [col(Denial.id).in_(list(denial_ids))]
    reasons: dict[int, list[Reason]] = {}
    appeal_of: dict[int, tuple[Any, ...]] = {}
    silent = _silent()
    by_user, by_practice = user_id is not None, practice_id is not None
    params = _params(today, user_id, practice_id)
    appeal_rows = session.exec(
        select(  # type: ignore[call-overload]
            Appeal.denial_id,
            Appeal.id,
            Appeal.level,
            Appeal.submitted_on,
            Appeal.method,
            Appeal.reference,
            Appeal.follow_up_on,
            Denial.payer_type,
            sa.case((silent, 1), else_=0),
        )
        .join(Denial, col(Denial.id) == col(Appeal.denial_id))
        .where(
            *_appeal_conditions(by_user, by_practice),
            *only,
            sa.or_(_follow_up_due(), silent),
        )
        .order_by(col(Appeal.id)),
        params=params,
    ).all()
    for denial_id, appeal_id, level, sent, method, ref, follow_up, payer_type, quiet in appeal_rows:
        found = reasons.setdefault(denial_id, [])
        if follow_up is not None and follow_up <= today:
            found.append(_reason("follow_up", KINDS["follow_up"], follow_up, today))
        if quiet:
            usual = window(payer_type or "other", level).decision_days
            text = f"No response from the payer after {(today - sent).days} days"
            found.append(_reason("silence", text, sent + timedelta(days=usual), today))
        appeal_of[denial_id] = (appeal_id, level, sent, method, ref, follow_up)
    for denial_id, promised in session.exec(
        select(Note.denial_id, Note.follow_up_on)  # type: ignore[call-overload]
        .join(Denial, col(Denial.id) == col(Note.denial_id))
        .where(*_promise_conditions(by_user, by_practice), *only),
        params=params,
    ).all():
        text = f"Payer promised by {day(promised)}"
        reasons.setdefault(denial_id, []).append(_reason("promise", text, promised, today))
    if not reasons:
        return []
    missing = [i for i in reasons if i not in appeal_of]
    appeal_of.update(_open_appeals(session, missing))
    rows = [
        _follow_up(denial_id, found, appeal_of.get(denial_id), details)
        for denial_id, found, details in _with_details(session, reasons)
    ]
    rows.sort(key=lambda r: (-r.days_overdue, r.denial_id))
    return rows


def _reason(kind: str, text: str, due_on: date, today: date) -> Reason:
    return Reason(kind, text, due_on, (today - due_on).days)


def _open_appeals(session: Session, denial_ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """The latest sent, undecided appeal of each denial listed only for a payer's promise."""
    if not denial_ids:
        return {}
    found: dict[int, tuple[Any, ...]] = {}
    for denial_id, *appeal in session.exec(
        select(  # type: ignore[call-overload]
            Appeal.denial_id,
            Appeal.id,
            Appeal.level,
            Appeal.submitted_on,
            Appeal.method,
            Appeal.reference,
            Appeal.follow_up_on,
        )
        .where(
            col(Appeal.denial_id).in_(list(denial_ids)),
            col(Appeal.submitted_on).is_not(None),
            Appeal.outcome == "",
        )
        .order_by(col(Appeal.id))
    ).all():
        found[denial_id] = tuple(appeal)
    return found


def _with_details(
    session: Session, reasons: dict[int, list[Reason]]
) -> Iterable[tuple[int, list[Reason], tuple[str, str, str, int, str]]]:
    """Each denial's reasons with its patient's name, payer name, level and procedure."""
    rows = session.exec(
        select(  # type: ignore[call-overload]
            Denial.id,
            Claim.patient_last_name,
            Claim.patient_first_name,
            Payer.name,
            Denial.appeal_level,
            Denial.procedure_code,
        )
        .join(Claim, col(Claim.id) == col(Denial.claim_id))
        .join(Payer, col(Payer.id) == col(Denial.payer_id))
        .where(col(Denial.id).in_(list(reasons)))
    ).all()
    for denial_id, last, first, payer, level, procedure in rows:
        yield denial_id, reasons[denial_id], (last or "", first or "", payer, level, procedure)


def _follow_up(
    denial_id: int,
    found: list[Reason],
    appeal: tuple[Any, ...] | None,
    details: tuple[str, str, str, int, str],
) -> FollowUp:
    last, first, payer, level, procedure = details
    appeal_id, appeal_level, sent, method, reference, follow_up = appeal or (
        None,
        level,
        None,
        "",
        "",
        None,
    )
    return FollowUp(
        denial_id=denial_id,
        patient=", ".join(p for p in (last, first) if p),
        procedure=procedure,
        payer=payer,
        level=appeal_level,
        appeal_id=appeal_id,
        sent_on=sent,
        method=METHODS.get(method, method),
        reference=reference,
        follow_up_on=follow_up,
        reasons=tuple(sorted(found, key=lambda r: (-r.days_overdue, r.kind))),
    )


# --- moving a follow-up date -----------------------------------------------------------------


def move_follow_up(
    session: Session, appeal: Appeal, text: str, today: date, user_id: int | None
) -> dict[str, str]:
    """Set a sent, undecided appeal's follow-up date (audited); returns {field: error}."""
    if appeal.submitted_on is None or appeal.outcome:
        return {"follow_up_on": "Only a sent appeal still waiting for its decision has one."}
    text = (text or "").strip()
    if not text:
        return {"follow_up_on": "Enter the new follow-up date."}
    try:
        new = date.fromisoformat(text)
    except ValueError:
        return {"follow_up_on": "Enter a date as YYYY-MM-DD."}
    if new < today:
        return {"follow_up_on": "The follow-up date is in the past."}
    if new > today + timedelta(days=MAX_SNOOZE_DAYS):
        return {"follow_up_on": "Choose a date within a year."}
    if new != appeal.follow_up_on:
        appeal.follow_up_on = new
        session.add(appeal)
        audit.record(
            session,
            user_id,
            "update",
            "denial",
            appeal.denial_id,
            {"fields": ["follow_up_on"], "appeal_id": appeal.id},
        )
        session.flush()
    return {}
