"""The status workflow and the queue's URL filters, without Flask."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from appeals import workflow
from appeals.models import Denial, DenialScore, User
from appeals.queue import EXPIRED_ACTION, SORTS, Cursor, QueueFilters, QueueRow


def denial(status: str) -> Denial:
    return Denial(practice_id=1, payer_id=1, claim_id=1, patient_control_number="X",
                  category="other", action="appeal", status=status)  # fmt: skip


def test_every_status_can_be_left_and_reopened() -> None:
    for status in workflow.STATUSES:
        assert workflow.allowed(status)
        if status not in ("new", "in_progress"):
            assert "in_progress" in workflow.allowed(status)


def test_outcomes_need_an_action_first() -> None:
    assert "won" not in workflow.allowed("new")
    assert "won" in workflow.allowed("appealed")


class FakeSession:
    def __init__(self) -> None:
        self.added: list[object] = []

    def add(self, item: object) -> None:
        self.added.append(item)


def test_change_status_closes_and_reopens_and_audits() -> None:
    session = FakeSession()
    d = denial("appealed")
    with pytest.raises(workflow.TransitionError):  # a decision comes from the Appeal panel
        workflow.change_status(session, d, "lost", 7)  # type: ignore[arg-type]
    assert workflow.change_status(session, d, "lost", 7, by_lifecycle=True)  # type: ignore[arg-type]
    assert d.closed_at is not None
    assert workflow.change_status(session, d, "in_progress", 7)  # type: ignore[arg-type]
    assert d.closed_at is None
    events = [a for a in session.added if a.__class__.__name__ == "AuditEvent"]
    assert [e.detail for e in events] == [
        '{"from": "appealed", "to": "lost"}',
        '{"from": "lost", "to": "in_progress"}',
    ]  # type: ignore[attr-defined]
    with pytest.raises(workflow.TransitionError):
        workflow.change_status(session, d, "won", 7)  # type: ignore[arg-type]
    assert not workflow.change_status(session, d, "in_progress", 7)  # type: ignore[arg-type]


def test_assign_takes_only_active_users_of_the_denials_practice_or_none() -> None:
    session = FakeSession()
    d = denial("new")  # practice 1
    other = User(id=3, username="other", password_hash="x", practice_id=2)
    with pytest.raises(workflow.AssignError):
        workflow.assign(session, d, other, 7)  # type: ignore[arg-type]
    disabled = User(id=4, username="gone", password_hash="x", practice_id=1, active=False)
    with pytest.raises(workflow.AssignError):
        workflow.assign(session, d, disabled, 7)  # type: ignore[arg-type]
    assert d.assignee_id is None and session.added == []
    for ok in (User(id=5, username="same", password_hash="x", practice_id=1),
               User(id=6, username="any", password_hash="x", practice_id=None)):  # fmt: skip
        assert workflow.assign(session, d, ok, 7)  # type: ignore[arg-type]
        assert d.assignee_id == ok.id
    assert workflow.assign(session, d, None, 7)  # type: ignore[arg-type]
    assert d.assignee_id is None


def test_filters_round_trip_through_url_arguments() -> None:
    args = MultiDict(
        [
            ("payer", "3"),
            ("payer", "4"),
            ("carc", "CO-16, 197"),
            ("rarc", "none"),
            ("amount_min", "$1,000"),
            ("sort", "deadline"),
            ("size", "100"),
            ("q", " Baker "),
        ]
    )
    filters = QueueFilters.from_args(args)
    assert filters.payer == [3, 4] and filters.carc == ["16", "197"] and filters.rarc == ["none"]
    assert filters.amount_min == Decimal("1000.00") and filters.q == "Baker"
    assert QueueFilters.from_args(MultiDict(filters.to_args())) == filters
    assert filters.to_args(sort="priority") == [p for p in filters.to_args() if p[0] != "sort"]


def test_bad_values_become_errors_and_defaults() -> None:
    filters = QueueFilters.from_args(
        MultiDict(
            {
                "amount_min": "5",
                "amount_max": "1",
                "size": "7",
                "sort": "drop table",
                "due_within": "x",
            }
        )
    )
    assert set(filters.errors) == {"amount_max", "due_within"}
    assert filters.sort == "priority" and filters.size == 50
    assert filters.statuses == workflow.OPEN_STATUSES


@pytest.mark.parametrize("sort", list(SORTS))
def test_cursors_round_trip(sort: str) -> None:
    value = {"priority": 12.5, "amount": Decimal("10.00"), "deadline": None, "age": None}[sort]
    cursor = Cursor(value, 42)
    assert Cursor.decode(cursor.encode(), SORTS[sort]) == cursor
    assert Cursor.decode("garbage~x", SORTS[sort]) is None


def test_the_view_round_trips_and_unknown_views_fall_back_to_current() -> None:
    filters = QueueFilters.from_args(MultiDict([("view", "expired"), ("due_within", "7")]))
    assert filters.view == "expired" and ("view", "expired") in filters.to_args()
    assert QueueFilters.from_args(MultiDict(filters.to_args())) == filters
    assert filters.to_args(view="") == [("due_within", "7")]
    assert QueueFilters.from_args(MultiDict({"view": "drop"})).view == ""
    assert QueueFilters().to_args() == []


def test_an_expired_open_denial_reads_good_cause_or_write_off() -> None:
    today = date(2026, 5, 1)

    def row(status: str, days: int | None) -> QueueRow:
        d = denial(status)
        d.deadline = None if days is None else today + timedelta(days=days)
        return QueueRow(d, DenialScore(id=1), "Testpatient", "Synthetic", "", "Payer", "", "")

    assert row("new", -1).action_text(today) == EXPIRED_ACTION
    assert row("in_progress", -30).expired(today)
    assert row("new", 0).action_text(today) == "Appeal"  # the last day is still in time
    assert row("new", None).action_text(today) == "Appeal"
    assert not row("appealed", -30).expired(today)  # sent in time: waiting, not expired
