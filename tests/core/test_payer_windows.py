"""A payer's own filing windows: validation by field, audited saves that move open deadlines."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from appeals import deadlines, payer_windows, ranking
from appeals.models import AuditEvent, Denial, Payer, PayerWindow
from appeals.payer_windows import WindowValues
from tests.factories import make_claim, make_payer, make_practice

NOTICE = date(2026, 4, 1)
SERVICE = date(2026, 3, 2)
TODAY = date(2026, 4, 20)
SOURCE = "Acme provider manual 2026, p. 41"
VALID = {"payer_type": "commercial", "level": "1", "days": "90", "receipt_days": "0"}


def _denial(
    session: Session, payer: Payer, *, status: str = "new", action: str = "appeal"
) -> Denial:
    """An unfinished commercial denial of `payer` at level 1, its deadline on the defaults."""
    made = make_claim(
        session,
        [{"procedure": "11602", "adjustments": [("CO", "50", "300.00")]}],
        practice=make_practice(session),
        payer=payer,
        service_date=SERVICE,
        category="medical_necessity",
    )
    denial = made.denials[0]
    denial.payer_type, denial.action, denial.status = "commercial", action, status
    denial.denied_on = denial.level_notice_on = NOTICE
    found = deadlines.deadline_for(denial)
    denial.deadline, denial.deadline_basis = found.due, found.basis
    session.add(denial)
    session.flush()
    return denial


def _reload(session: Session, denial: Denial) -> Denial:
    session.expire_all()
    fresh = session.get(Denial, denial.id)
    assert fresh is not None
    return fresh


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"payer_type": "dental"}, "payer_type", "must be one of"),
        ({"level": "5"}, "level", "between 0 and 4"),
        ({"level": "x"}, "level", "whole number"),
        ({"payer_type": "commercial", "level": "3"}, "level", "no level 3"),
        ({"payer_type": "other", "level": "2"}, "level", "no level 2"),
        ({"days": ""}, "days", "required"),
        ({"days": "0"}, "days", "between 1 and 1095"),
        ({"days": "1096"}, "days", "between 1 and 1095"),
        ({"days": "12.5"}, "days", "whole number"),
        ({"days": "-3"}, "days", "whole number"),
        ({"days": "²"}, "days", "whole number"),
        ({"receipt_days": "31"}, "receipt_days", "between 0 and 30"),
        ({"level": "0", "receipt_days": "5"}, "receipt_days", "date of service"),
        ({"source": ""}, "source", "required"),
        ({"source": "x" * 201}, "source", "at most 200"),
    ],
)
def test_each_field_is_validated_beside_itself(
    changes: dict[str, str], field: str, words: str
) -> None:
    values, errors = payer_windows.validate_window(VALID | {"source": SOURCE} | changes)
    assert values is None
    assert set(errors) == {field}
    assert words in errors[field]


def test_a_valid_window_is_cleaned() -> None:
    form = {
        "payer_type": "medicare",
        "level": " 4 ",
        "days": "60",
        "receipt_days": "",
        "source": f" {SOURCE} ",
    }
    values, errors = payer_windows.validate_window(form)
    assert errors == {}
    assert values == WindowValues("medicare", 4, 60, 0, SOURCE)
    tf, _ = payer_windows.validate_window(VALID | {"level": "0", "days": "365", "source": SOURCE})
    assert tf is not None and tf.level == deadlines.TIMELY_FILING_LEVEL


def test_saving_moves_the_open_deadlines_of_that_payer_only(session: Session) -> None:
    acme, other = make_payer(session, "commercial", "Acme Health"), make_payer(session)
    open_denial = _denial(session, acme)
    elsewhere = _denial(session, other)
    closed = _denial(session, acme, status="won")
    before = {d.id: (d.deadline, d.deadline_basis) for d in (elsewhere, closed)}
    assert open_denial.deadline == NOTICE + timedelta(days=180)
    session.commit()

    values = WindowValues("commercial", 1, 40, 0, SOURCE)
    moved = payer_windows.save_window(session, acme.id or 0, values, None, today=TODAY)
    session.commit()

    assert moved == [open_denial.id]
    fresh = _reload(session, open_denial)
    assert fresh.deadline == NOTICE + timedelta(days=40)
    assert SOURCE in fresh.deadline_basis and "40 days" in fresh.deadline_basis
    # rescored with the new deadline: raised for its urgency, which its reasons name
    score = ranking.score_of(session, fresh.id or 0)
    assert score.priority == float(score.expected_recovery or 0) * 1.25
    shown = ranking.shown_reasons(score.explanation, fresh.deadline, fresh.status, TODAY)
    assert shown[-1] == "deadline in 21 days"
    for denial in (elsewhere, closed):
        again = _reload(session, denial)
        assert (again.deadline, again.deadline_basis) == before[denial.id]

    event = session.exec(select(AuditEvent).where(AuditEvent.entity == "payer")).one()
    assert (event.action, event.entity_id) == ("update", acme.id)
    detail = json.loads(event.detail)
    assert (detail["payer_type"], detail["level"], detail["days"]) == ("commercial", 1, 40)
    assert SOURCE not in event.detail


def test_saving_the_same_window_again_changes_nothing_and_an_edit_updates_it(
    session: Session,
) -> None:
    acme = make_payer(session, "commercial", "Acme Health")
    denial = _denial(session, acme)
    values = WindowValues("commercial", 1, 90, 0, SOURCE)
    assert payer_windows.save_window(session, acme.id or 0, values, None) == [denial.id]
    assert payer_windows.save_window(session, acme.id or 0, values, None) == []
    longer = WindowValues("commercial", 1, 120, 0, SOURCE)
    assert payer_windows.save_window(session, acme.id or 0, longer, None) == [denial.id]
    session.commit()
    window = session.exec(select(PayerWindow)).one()
    assert (window.days, window.source) == (120, SOURCE)
    assert _reload(session, denial).deadline == NOTICE + timedelta(days=120)
    events = session.exec(select(AuditEvent)).all()
    assert [json.loads(e.detail)["fields"] for e in events] == [
        ["days", "receipt_days", "source"],
        ["days"],
    ]


def test_a_timely_filing_window_moves_corrected_claims_from_the_date_of_service(
    session: Session,
) -> None:
    acme = make_payer(session, "commercial", "Acme Health")
    corrected = _denial(session, acme, action="corrected_claim")
    appeal = _denial(session, acme)
    assert corrected.deadline == SERVICE + timedelta(days=90)
    values = WindowValues("commercial", 0, 180, 0, "Acme manual, corrected claims")
    assert payer_windows.save_window(session, acme.id or 0, values, None) == [corrected.id]
    fresh = _reload(session, corrected)
    assert fresh.deadline == SERVICE + timedelta(days=180)
    assert fresh.deadline_basis.startswith("Timely filing: 180 days")
    assert "Acme manual, corrected claims" in fresh.deadline_basis
    assert _reload(session, appeal).deadline == NOTICE + timedelta(days=180)


def test_removing_a_window_goes_back_to_the_default(session: Session) -> None:
    acme = make_payer(session, "commercial", "Acme Health")
    denial = _denial(session, acme)
    default = (denial.deadline, denial.deadline_basis)
    values = WindowValues("commercial", 1, 30, 0, SOURCE)
    payer_windows.save_window(session, acme.id or 0, values, None, today=TODAY)
    session.commit()
    urgent = ranking.score_of(session, denial.id or 0)
    assert urgent.priority == float(urgent.expected_recovery or 0) * 1.5  # 11 days left
    window = session.exec(select(PayerWindow)).one()
    moved = payer_windows.remove_window(session, window, None, today=TODAY)
    session.commit()
    assert moved == [denial.id]
    assert session.exec(select(PayerWindow)).all() == []
    fresh = _reload(session, denial)
    assert (fresh.deadline, fresh.deadline_basis) == default
    score = ranking.score_of(session, fresh.id or 0)
    assert score.priority == float(score.expected_recovery or 0)  # 161 days left: not urgent
    shown = ranking.shown_reasons(score.explanation, fresh.deadline, fresh.status, TODAY)
    assert not any("deadline" in reason for reason in shown)
    details = [json.loads(e.detail) for e in session.exec(select(AuditEvent)).all()]
    assert details[-1] == {
        "deleted_filing_window": window.id,
        "payer_type": "commercial",
        "level": 1,
    }


def test_the_table_lists_each_product_line_timely_filing_first_with_the_override(
    session: Session,
) -> None:
    acme = make_payer(session, "medicaid", "State Plan")
    values = WindowValues("medicaid", 2, 90, 0, "State fair hearing notice 2026")
    payer_windows.save_window(session, acme.id or 0, values, None)
    rows = payer_windows.windows_table(session, acme)
    keys = [(r.payer_type, r.level) for r in rows]
    assert keys[:3] == [("medicaid", 0), ("medicaid", 1), ("medicaid", 2)]  # the payer's own first
    assert len(keys) == len(set(keys)) == len(deadlines.windows()) + len(deadlines.PAYER_TYPES)
    by_key = {(r.payer_type, r.level): r for r in rows}
    assert [k for k, r in by_key.items() if r.override] == [("medicaid", 2)]
    assert by_key[("medicaid", 2)].override.days == 90  # type: ignore[union-attr]
    assert by_key[("medicaid", 2)].level_name == "State fair hearing"
    medicare = by_key[("medicare", 1)]
    assert (medicare.default_text, medicare.default_cite) == (
        "120 days + 5 receipt",
        "42 CFR 405.942",
    )
    assert by_key[("medicare", 0)].default_text == "12 months"
    assert by_key[("commercial", 0)].level_name == "Timely filing (corrected claims)"
    assert payer_windows.count_by_payer(session) == {acme.id: 1}
