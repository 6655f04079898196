"""Follow-ups due: each reason, one row per denial, scope by user and practice, moving a date."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from appeals import deadlines
from appeals.followups import count_due, followups_due, move_follow_up
from appeals.models import Appeal, AuditEvent, Denial, Note, Payer, Payment, Practice, User
from tests.factories import make_claim, make_payer, make_practice

TODAY = date(2026, 9, 1)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def make_user(session: Session, name: str, practice: Practice | None = None) -> User:
    user = User(username=name, password_hash="x", practice_id=practice.id if practice else None)
    session.add(user)
    session.flush()
    return user


def make_denial(
    session: Session,
    practice: Practice,
    payer: Payer,
    *,
    status: str = "appealed",
    assignee: User | None = None,
    payer_type: str | None = None,
    last: str = "Testpatient",
) -> Denial:
    made = make_claim(
        session, [{"procedure": "11102", "adjustments": [("CO", "50", "120.00")]}],
        practice=practice, payer=payer,
    )  # fmt: skip
    made.claim.patient_last_name = last
    denial = made.denials[0]
    denial.status = status
    denial.payer_type = payer.payer_type if payer_type is None else payer_type
    denial.assignee_id = assignee.id if assignee else None
    session.add_all([made.claim, denial])
    session.flush()
    return denial


def send(
    session: Session,
    denial: Denial,
    *,
    sent_days_ago: int,
    follow_up: date | None = None,
    level: int = 1,
    outcome: str = "",
    by: User | None = None,
) -> Appeal:
    appeal = Appeal(
        denial_id=denial.id or 0,
        level=level,
        submitted_on=ago(sent_days_ago),
        method="fax",
        reference="REF-1",
        follow_up_on=follow_up,
        outcome=outcome,
        sent_by_id=by.id if by else None,
    )
    session.add(appeal)
    session.flush()
    return appeal


def call(
    session: Session,
    denial: Denial,
    *,
    promised: date | None,
    days_ago: int = 5,
    by: User | None = None,
) -> Note:
    note = Note(
        denial_id=denial.id or 0,
        author_id=by.id if by else None,
        kind="call",
        body="Rep says a decision is coming",
        call_date=ago(days_ago),
        call_person="Pat",
        follow_up_on=promised,
    )
    session.add(note)
    session.flush()
    return note


def remit(session: Session, denial: Denial, paid_on: date, payer: Payer | None = None) -> None:
    """Another remittance of the denial's claim (same practice and account), paid on `paid_on`."""
    practice = session.get(Practice, denial.practice_id)
    made = make_claim(
        session, [{"procedure": "11102", "paid": "80.00"}], practice=practice,
        payer=payer or session.get(Payer, denial.payer_id),
        patient_control_number=denial.patient_control_number,
    )  # fmt: skip
    payment = session.get(Payment, made.claim.payment_id)
    assert payment is not None
    payment.payment_date = paid_on
    session.add(payment)
    session.flush()


@pytest.fixture
def place(session: Session) -> tuple[Practice, Payer]:
    return make_practice(session), make_payer(session, "commercial", "Acme Health")


def due(session: Session, **scope: int | None) -> list:  # type: ignore[type-arg]
    rows = followups_due(session, TODAY, **scope)  # type: ignore[arg-type]
    assert count_due(session, TODAY, **scope) == len(rows)  # type: ignore[arg-type]
    return rows


def test_an_appeal_past_its_follow_up_date_is_due(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    denial = make_denial(session, *place, last="Alvarez")
    appeal = send(session, denial, sent_days_ago=10, follow_up=ago(2))
    [row] = due(session)
    assert (row.denial_id, row.kind, row.reason) == (
        denial.id,
        "follow_up",
        "No decision by the follow-up date",
    )
    assert (row.due_on, row.days_overdue) == (ago(2), 2)
    assert (row.patient, row.payer, row.level) == ("Alvarez, Synthetic", "Acme Health", 1)
    assert (row.appeal_id, row.sent_on, row.method, row.reference) == (
        appeal.id,
        ago(10),
        "Fax",
        "REF-1",
    )
    assert row.others == ()


def test_a_follow_up_date_of_today_is_due_and_tomorrow_is_not(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    today, tomorrow = make_denial(session, *place), make_denial(session, *place)
    send(session, today, sent_days_ago=3, follow_up=TODAY)
    send(session, tomorrow, sent_days_ago=3, follow_up=TODAY + timedelta(days=1))
    [row] = due(session)
    assert row.denial_id == today.id and row.days_overdue == 0


def test_a_decided_appeal_or_a_closed_denial_is_not_listed(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    decided = make_denial(session, *place, status="lost")
    send(session, decided, sent_days_ago=90, follow_up=ago(30), outcome="lost")
    paid = make_denial(session, *place, status="won")  # closed by a remittance, appeal still open
    send(session, paid, sent_days_ago=90, follow_up=ago(30))
    call(session, paid, promised=ago(3))
    unsent = make_denial(session, *place, status="in_progress")
    session.add(Appeal(denial_id=unsent.id or 0, follow_up_on=ago(3)))  # a letter, not sent
    session.flush()
    assert due(session) == []


def test_a_payers_promise_in_the_latest_call_is_due(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    promised = make_denial(session, *place, status="in_progress")
    call(session, promised, promised=ago(1))
    superseded = make_denial(session, *place, status="in_progress")
    call(session, superseded, promised=ago(4), days_ago=9)
    call(session, superseded, promised=None, days_ago=2)  # a later call: the promise is replaced
    later = make_denial(session, *place, status="in_progress")
    call(session, later, promised=TODAY + timedelta(days=3))
    plain = make_denial(session, *place, status="in_progress")
    session.add(Note(denial_id=plain.id or 0, kind="note", body="x", follow_up_on=ago(5)))
    session.flush()
    [row] = due(session)
    assert row.denial_id == promised.id and row.kind == "promise"
    assert row.reason == f"Payer promised by {ago(1):%m/%d/%Y}" and row.days_overdue == 1
    assert row.appeal_id is None and row.sent_on is None  # no appeal sent yet


def test_no_response_after_the_payers_usual_time_is_due(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    usual = deadlines.window("commercial", 1).decision_days  # 45
    silent = make_denial(session, *place)
    send(session, silent, sent_days_ago=usual + 5)
    in_time = make_denial(session, *place)
    send(session, in_time, sent_days_ago=usual)  # the usual time ends today
    [row] = due(session)
    assert row.denial_id == silent.id and row.kind == "silence"
    assert row.reason == f"No response from the payer after {usual + 5} days"
    assert (row.due_on, row.days_overdue) == (ago(5), 5)


def test_a_later_remittance_of_the_claim_cancels_no_response(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    answered, earlier, elsewhere = (make_denial(session, *place) for _ in range(3))
    for denial in (answered, earlier, elsewhere):
        send(session, denial, sent_days_ago=60)
    remit(session, answered, ago(20))  # paid (or denied again) after the appeal went out
    remit(session, earlier, ago(61))  # before it: no answer to the appeal
    remit(session, elsewhere, ago(20), payer=make_payer(session, "commercial", "Other Plan"))
    assert {r.denial_id for r in due(session)} == {earlier.id, elsewhere.id}


def test_a_follow_up_date_still_to_come_holds_back_no_response(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    waiting = make_denial(session, *place)
    send(session, waiting, sent_days_ago=80, follow_up=TODAY + timedelta(days=10))
    assert due(session) == []


@pytest.mark.parametrize(
    ("payer_type", "level"),
    [*sorted(deadlines.windows()), ("medicare", 7), ("", 1), ("unheard_of", 2)],
)
def test_the_usual_time_follows_each_payer_type_and_level(
    session: Session, place: tuple[Practice, Payer], payer_type: str, level: int
) -> None:
    usual = deadlines.window(payer_type or "other", level).decision_days
    late = make_denial(session, *place, payer_type=payer_type)
    send(session, late, sent_days_ago=usual + 1, level=level)
    on_time = make_denial(session, *place, payer_type=payer_type)
    send(session, on_time, sent_days_ago=usual, level=level)
    assert [(r.denial_id, r.kind, r.days_overdue) for r in due(session)] == [
        (late.id, "silence", 1)
    ]


def test_a_denial_is_listed_once_with_its_most_overdue_reason_first(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    denial = make_denial(session, *place)
    send(session, denial, sent_days_ago=60, follow_up=ago(3))  # usual time ended 15 days ago
    call(session, denial, promised=ago(7))
    other = make_denial(session, *place)
    send(session, other, sent_days_ago=10, follow_up=ago(1))
    first, second = due(session)
    assert first.denial_id == denial.id and second.denial_id == other.id
    assert [r.kind for r in first.reasons] == ["silence", "promise", "follow_up"]
    assert [r.days_overdue for r in first.reasons] == [15, 7, 3]
    assert first.days_overdue == 15 and len(first.others) == 2
    assert first.sent_on == ago(60)  # the appeal's details, not the call's


def test_mine_means_appeals_i_sent_denials_assigned_to_me_and_calls_i_logged(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    practice, _ = place
    alice, bob = make_user(session, "alice", practice), make_user(session, "bob", practice)
    sent_by_alice = make_denial(session, *place)
    send(session, sent_by_alice, sent_days_ago=10, follow_up=ago(1), by=alice)
    assigned_to_alice = make_denial(session, *place, assignee=alice)
    send(session, assigned_to_alice, sent_days_ago=10, follow_up=ago(1), by=bob)
    called_by_alice = make_denial(session, *place, status="in_progress")
    call(session, called_by_alice, promised=ago(1), by=alice)
    bobs = make_denial(session, *place)
    send(session, bobs, sent_days_ago=10, follow_up=ago(1), by=bob)
    mine = {r.denial_id for r in due(session, user_id=alice.id)}
    assert mine == {sent_by_alice.id, assigned_to_alice.id, called_by_alice.id}
    assert {r.denial_id for r in due(session, user_id=bob.id)} == {
        assigned_to_alice.id,
        bobs.id,
    }
    assert len(due(session)) == 4


def test_a_practice_sees_only_its_own_follow_ups(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    practice, payer = place
    other = make_practice(session, "Other Skin Clinic")
    ours, theirs = make_denial(session, practice, payer), make_denial(session, other, payer)
    for denial in (ours, theirs):
        send(session, denial, sent_days_ago=10, follow_up=ago(1))
    promise = make_denial(session, other, payer, status="in_progress")
    call(session, promise, promised=ago(1))
    assert [r.denial_id for r in due(session, practice_id=practice.id)] == [ours.id]
    assert {r.denial_id for r in due(session, practice_id=other.id)} == {theirs.id, promise.id}
    assert [r.denial_id for r in followups_due(session, TODAY, denial_ids=[ours.id])] == [ours.id]


def test_moving_a_follow_up_date_is_validated_and_audited(
    session: Session, place: tuple[Practice, Payer]
) -> None:
    denial = make_denial(session, *place)
    appeal = send(session, denial, sent_days_ago=10, follow_up=ago(1))
    for text, message in (
        ("", "Enter the new follow-up date."),
        ("next week", "Enter a date as YYYY-MM-DD."),
        (ago(1).isoformat(), "The follow-up date is in the past."),
        ((TODAY + timedelta(days=400)).isoformat(), "Choose a date within a year."),
    ):
        assert move_follow_up(session, appeal, text, TODAY, None) == {"follow_up_on": message}
    assert appeal.follow_up_on == ago(1)
    later = TODAY + timedelta(days=14)
    user = make_user(session, "alice", place[0])
    assert move_follow_up(session, appeal, later.isoformat(), TODAY, user.id) == {}
    assert appeal.follow_up_on == later and due(session) == []
    event = session.exec(select(AuditEvent)).one()
    assert event.user_id == user.id
    assert (event.action, event.entity, event.entity_id) == ("update", "denial", denial.id)
    assert json.loads(event.detail) == {"fields": ["follow_up_on"], "appeal_id": appeal.id}
    decided = send(session, make_denial(session, *place), sent_days_ago=10, outcome="won")
    assert "follow_up_on" in move_follow_up(session, decided, later.isoformat(), TODAY, user.id)
