"""Appeal lifecycle: deadlines per claim, sending, decisions, levels, repeats, daily priority."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from appeals import lifecycle, ranking
from appeals.deadlines import RESUBMISSION_ROUTES
from appeals.importer import import_file
from appeals.models import Appeal, AuditEvent, Denial
from tests.remits import Line, RemitClaim, write_remittance

NOTICE = date(2026, 8, 4)
DOS = date(2026, 7, 13)
TODAY = date(2026, 8, 20)


def necessity(pcn: str, filing_indicator: str = "12", amount: str = "200") -> RemitClaim:
    line = Line("11102", amount, adjustments=[("CO", "50", amount)], rarcs=["N115"])
    return RemitClaim(pcn, [line], filing_indicator=filing_indicator)


def denial_of(session: Session, pcn: str) -> Denial:
    return session.exec(select(Denial).where(Denial.patient_control_number == pcn)).one()


def test_one_payer_id_gets_each_claims_own_window(engine: Engine, tmp_path: Path) -> None:
    """Medicare Advantage (CLP06 16) and commercial (12) claims under one payer ID."""
    claims = [necessity("MA1", "16"), necessity("PPO1", "12"), necessity("IND1", "15")]
    path = write_remittance(tmp_path, "mixed.835", "T-MIXED", NOTICE, claims)
    assert import_file(engine, path, today=TODAY).status == "imported"
    with Session(engine) as session:
        ma, ppo, indemnity = (denial_of(session, p) for p in ("MA1", "PPO1", "IND1"))
        assert (ma.payer_type, ma.deadline) == ("medicare_advantage", NOTICE + timedelta(60))
        assert ma.deadline_basis == (
            "Plan reconsideration: 60 days from the 08/04/2026 notice, 42 CFR 422.582(b)"
        )
        assert (ppo.payer_type, ppo.deadline) == ("commercial", NOTICE + timedelta(180))
        assert indemnity.deadline == NOTICE + timedelta(180)


def test_a_corrected_claim_denial_gets_its_timely_filing_date(
    engine: Engine, tmp_path: Path
) -> None:
    line = Line(
        "11102", "150", adjustments=[("CO", "16", "150")], rarcs=["MA130"], service_date=DOS
    )
    claim = RemitClaim("CC1", [line], filing_indicator="MB")
    path = write_remittance(tmp_path, "cc.835", "T-CC", NOTICE, [claim], payer_id="MEDICARE1")
    import_file(engine, path, today=TODAY)
    with Session(engine) as session:
        denial = denial_of(session, "CC1")
        # the import's coding checks route it (CO-16 MA130: resubmit with what was missing)
        assert denial.action in RESUBMISSION_ROUTES
        assert denial.deadline == date(2027, 7, 13)
        assert denial.deadline_basis == (
            "Timely filing: 12 months from the 07/13/2026 date of service, 42 CFR 424.44"
        )


def _imported(engine: Engine, tmp_path: Path, claim: RemitClaim) -> int:
    path = write_remittance(tmp_path, "one.835", "T-ONE", NOTICE, [claim])
    import_file(engine, path, today=TODAY)
    with Session(engine) as session:
        return denial_of(session, claim.patient_control_number).id or 0


def test_send_lose_go_to_level_two_and_win_with_an_amount(engine: Engine, tmp_path: Path) -> None:
    denial_id = _imported(engine, tmp_path, necessity("LIFE1"))
    with Session(engine) as session:
        denial = session.get(Denial, denial_id)
        assert denial is not None
        sending = lifecycle.parse_sending(
            {"sent_on": "2026-08-10", "method": "portal", "reference": "REF-1"}, TODAY
        )
        [appeal] = lifecycle.send_appeal(session, [denial], sending, None, today=TODAY)
        assert denial.status == "appealed"
        assert (appeal.level, appeal.method, appeal.reference) == (1, "portal", "REF-1")
        assert appeal.follow_up_on == date(2026, 9, 24)  # commercial: decided in about 45 days

        lost = lifecycle.parse_decision(
            {"outcome": "lost", "decided_on": "2026-09-15"}, denial, appeal, date(2026, 9, 20)
        )
        lifecycle.record_decision(session, denial, lost, None, today=date(2026, 9, 20))
        assert appeal.outcome == "lost" and appeal.closed_on == date(2026, 9, 15)
        assert (denial.status, denial.appeal_level) == ("in_progress", 2)
        assert denial.deadline == date(2026, 11, 14)  # 60 days from the first-level decision
        assert denial.deadline_basis.startswith("Second-level appeal: 60 days from the 09/15/2026")

        second = lifecycle.parse_sending(
            {"sent_on": "2026-09-20", "method": "fax"}, TODAY.replace(month=9, day=30)
        )
        [level_two] = lifecycle.send_appeal(session, [denial], second, None)
        assert level_two.level == 2 and level_two.id != appeal.id
        won = lifecycle.parse_decision(
            {"outcome": "won", "decided_on": "2026-10-20", "amount": "180.00"},
            denial,
            level_two,
            date(2026, 10, 21),
        )
        lifecycle.record_decision(session, denial, won, None, today=date(2026, 10, 21))
        session.commit()
        assert denial.status == "won" and denial.recovered_amount == Decimal("180.00")
        assert [(a.level, a.outcome) for a in lifecycle.appeals_of(session, denial_id)] == [
            (1, "lost"),
            (2, "won"),
        ]
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.entity_id == denial_id)
        ).all()
        assert {"appeal_sent", "appeal_decided", "next_level"} <= set(actions)


def test_a_partial_decision_needs_its_amount(session: Session) -> None:
    denial = Denial(
        practice_id=1,
        payer_id=1,
        claim_id=1,
        patient_control_number="X",
        category="other",
        action="appeal",
        denied_amount=Decimal("200.00"),
    )
    with pytest.raises(lifecycle.LifecycleError) as refused:
        lifecycle.parse_decision(
            {"outcome": "partial", "decided_on": "2026-08-01"}, denial, None, TODAY
        )
    assert refused.value.errors == {"amount": "A partial win needs the amount recovered."}
    with pytest.raises(lifecycle.LifecycleError) as whole:
        lifecycle.parse_decision(
            {"outcome": "partial", "decided_on": "2026-08-01", "amount": "200"}, denial, None, TODAY
        )
    assert "record it as won" in whole.value.errors["amount"]
    won = lifecycle.parse_decision(
        {"outcome": "won", "decided_on": "2026-08-01"}, denial, None, TODAY
    )
    assert won.amount == Decimal("200.00")  # won defaults to the denied amount
    with pytest.raises(lifecycle.LifecycleError) as future:
        lifecycle.parse_decision(
            {"outcome": "lost", "decided_on": "2026-09-01"}, denial, None, TODAY
        )
    assert "future" in future.value.errors["decided_on"]


def test_medicare_advantage_forwards_a_lost_level_to_the_ire(
    engine: Engine, tmp_path: Path
) -> None:
    denial_id = _imported(engine, tmp_path, necessity("MA2", "16"))
    with Session(engine) as session:
        denial = session.get(Denial, denial_id)
        assert denial is not None
        sending = lifecycle.Sending(date(2026, 8, 10), "portal", "", None)
        [appeal] = lifecycle.send_appeal(session, [denial], sending, None)
        lost = lifecycle.Decision("lost", date(2026, 9, 1), Decimal("0"), True)
        lifecycle.record_decision(session, denial, lost, None, today=TODAY)
        ire = lifecycle.pending_appeal(session, denial)
        assert ire is not None and (ire.level, ire.method) == (2, "automatic")
        assert denial.status == "appealed" and denial.deadline is None
        assert "forwarded by the plan" in denial.deadline_basis


def test_a_line_denied_again_attaches_to_its_denial_as_a_lost_level(
    engine: Engine, tmp_path: Path
) -> None:
    first = write_remittance(tmp_path, "first.835", "T-1", NOTICE, [necessity("REP1")])
    import_file(engine, first, today=TODAY)
    with Session(engine) as session:
        denial = denial_of(session, "REP1")
        lifecycle.send_appeal(
            session, [denial], lifecycle.Sending(date(2026, 8, 10), "mail", "", None), None
        )
        session.commit()
    again = write_remittance(
        tmp_path, "again.835", "T-2", date(2026, 9, 8), [necessity("REP1"), necessity("NEW1")]
    )
    result = import_file(engine, again, today=TODAY)
    assert result.status == "imported" and result.repeats == 1
    with Session(engine) as session:
        denials = session.exec(select(Denial).order_by(col(Denial.id))).all()
        assert [d.patient_control_number for d in denials] == ["REP1", "NEW1"]
        repeat = denials[0]
        assert (repeat.repeat_count, repeat.last_denied_on) == (1, date(2026, 9, 8))
        assert (repeat.status, repeat.appeal_level) == ("in_progress", 2)
        assert repeat.deadline == date(2026, 9, 8) + timedelta(60)
        [level_one] = lifecycle.appeals_of(session, repeat.id or 0)
        assert (level_one.outcome, level_one.closed_on, level_one.source) == (
            "lost",
            date(2026, 9, 8),
            "remittance",
        )


def test_a_later_payment_fills_the_appeal_for_its_sender(engine: Engine, tmp_path: Path) -> None:
    denial_id = _imported(engine, tmp_path, necessity("PAY1"))
    with Session(engine) as session:
        denial = session.get(Denial, denial_id)
        assert denial is not None
        lifecycle.send_appeal(
            session, [denial], lifecycle.Sending(date(2026, 8, 10), "portal", "R", None), None
        )
        session.commit()
    paid = RemitClaim("PAY1", [Line("11102", "200", paid="170", adjustments=[("CO", "45", "30")])])
    later = write_remittance(tmp_path, "paid.835", "T-PAID", date(2026, 9, 20), [paid])
    import_file(engine, later, today=TODAY)
    with Session(engine) as session:
        appeal = session.exec(select(Appeal)).one()
        assert (appeal.outcome, appeal.recovered_amount) == ("won", Decimal("170.00"))
        assert appeal.closed_on == date(2026, 9, 20)


def test_priority_changes_the_next_day_without_a_command(engine: Engine, tmp_path: Path) -> None:
    denial_id = _imported(engine, tmp_path, necessity("DAY1", "16"))  # deadline 10/03/2026
    with Session(engine) as session:
        assert ranking.rescore_daily(session, date(2026, 9, 18)) == 1
        before = ranking.score_of(session, denial_id).priority
        assert ranking.rescore_daily(session, date(2026, 9, 18)) is None  # once a day
        assert ranking.rescore_daily(session, date(2026, 9, 19)) == 1  # 14 days left: urgent
        session.expire_all()
        after = ranking.score_of(session, denial_id).priority
        assert after > before
