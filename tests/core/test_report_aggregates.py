"""The stored report aggregates stay equal to a from-scratch count after every kind of write.

A synthetic practice is imported in two halves (the second brings reversals and later payments
that close earlier denials), its appeal history is imported, appeals are sent and decided,
denials written off and assigned, and days pass (deadlines expire): after each step every
report, under several filters, is built through the aggregates and from scratch and compared
whole (figures and every table cell).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from appeals import grouping, lifecycle, reports, workflow
from appeals.history import import_appeal_history
from appeals.importer import import_file
from appeals.models import Claim, Denial, ReportDenial, ReportStale, User
from appeals.reports import aggregates
from appeals.synth import generate


def _filters(session: Session, today: date) -> list[dict[str, str]]:
    """Periods whole and cut mid-month, both bases, a payer, a provider, every breakdown."""
    payer = session.execute(sa.select(Denial.payer_id).limit(1)).scalar_one()
    npi = session.execute(
        sa.select(Claim.rendering_provider_npi).where(Claim.rendering_provider_npi != "").limit(1)
    ).scalar_one()
    practice = session.execute(sa.select(Denial.practice_id).limit(1)).scalar_one()
    start = (today - timedelta(days=200)).replace(day=1)
    cut = {
        "from": (start + timedelta(days=17)).isoformat(),
        "to": (today - timedelta(days=9)).isoformat(),
    }
    return [
        {},
        {"from": start.isoformat(), "to": today.isoformat(), "by": "carc"},
        {**cut, "by": "family"},
        {**cut, "basis": "service", "by": "provider"},
        {"payer": str(payer), "by": "category"},
        {**cut, "provider": npi, "by": "payer"},
        {"payer": str(payer), "provider": npi, "by": "carc"},
        {"practice": str(practice), "basis": "service"},
    ]


def assert_same(engine: Engine, today: date) -> None:
    with Session(engine) as session:
        for args in _filters(session, today):
            f = reports.ReportFilters.parse(args, scope=None, today=today)
            assert f.errors == {}
            for name in reports.REPORTS:
                fast = reports.build(session, name, f, today).as_json()
                fresh = reports.build(session, name, f, today, from_scratch=True).as_json()
                assert fast == fresh, (name, args)
        for practice in (None, session.execute(sa.select(Denial.practice_id)).scalars().first()):
            fast = grouping.reason_groups(session, practice_id=practice, today=today)
            fresh = grouping.reason_groups_from_scratch(session, practice_id=practice)

            def keyed(groups: dict[str, list[grouping.ReasonGroup]]) -> dict[Any, Any]:
                return {(v, g.group.key): g.group.as_dict() for v, gs in groups.items() for g in gs}

            a, b = keyed(fast), keyed(fresh)
            assert {
                k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)
            } == {}
        assert session.execute(sa.select(sa.func.count()).select_from(ReportStale)).scalar() == 0


@pytest.fixture
def practice(tmp_path: Path) -> tuple[list[Path], Path, date]:
    summary = generate(tmp_path, seed=5, months=5, claims_per_month=70)
    return sorted(tmp_path.glob("*.835")), tmp_path / "appeals.csv", summary.end


def test_aggregates_match_from_scratch_after_every_write(
    engine: Engine, practice: tuple[list[Path], Path, date]
) -> None:
    files, history_csv, today = practice
    half = len(files) // 2
    for path in files[:half]:
        import_file(engine, path, today=today)
    assert_same(engine, today)

    for path in files[half:]:  # reversals, repayments, later payments closing denials
        import_file(engine, path, today=today)
    assert_same(engine, today)

    with Session(engine) as session:
        import_appeal_history(session, history_csv, today=today)
        session.commit()
    assert_same(engine, today)

    with Session(engine) as session:
        user = User(username="agg", password_hash="x", role="manager")
        session.add(user)
        session.flush()
        open_ = session.exec(
            select(Denial).where(Denial.status == "new").order_by(Denial.id).limit(8)
        ).all()
        sending = lifecycle.Sending(today - timedelta(days=20), "portal", "", None)
        lifecycle.send_appeal(session, open_[:6], sending, user.id, today=today)
        outcomes = [("won", None), ("partial", "1.00"), ("lost", None), ("won", None)]
        for denial, (outcome, amount) in zip(open_, outcomes, strict=False):
            value = Decimal(amount) if amount else denial.denied_amount
            decision = lifecycle.Decision(outcome, today - timedelta(days=3), value, False)
            lifecycle.record_decision(session, denial, decision, user.id, today=today)
        workflow.change_status(session, open_[6], "written_off", user.id)
        workflow.assign(session, open_[7], user, user.id)
        workflow.change_status(session, open_[7], "in_progress", user.id)
        session.commit()
    assert_same(engine, today)

    later = today + timedelta(days=45)  # deadlines pass: "expired unworked" moves
    assert_same(engine, later)
    assert_same(engine, today)


def test_a_full_rebuild_stores_what_the_refresh_kept(
    engine: Engine, practice: tuple[list[Path], Path, date]
) -> None:
    files, _, today = practice
    for path in files:
        import_file(engine, path, today=today)
    with Session(engine) as session:
        assert aggregates.refresh(session, today) > 0

        def stored() -> list[Any]:
            columns = [c for c in ReportDenial.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
            return sorted(tuple(map(str, r)) for r in session.execute(sa.select(*columns)))

        kept = stored()
        aggregates.rebuild(session, today)
        assert stored() == kept
        assert aggregates.refresh(session, today) == 0  # nothing stale: nothing recomputed


def test_refresh_stale_recomputes_the_marked_cells_once(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "one.835"
    path.write_bytes(
        (Path(__file__).resolve().parents[1] / "fixtures" / "derm_initial.835").read_bytes()
    )
    assert import_file(engine, path).status == "imported"
    with Session(engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(ReportStale)).scalar_one()
    assert aggregates.refresh_stale(engine) > 0
    assert aggregates.refresh_stale(engine) == 0
    with Session(engine) as session:
        assert (
            session.execute(sa.select(sa.func.count()).select_from(ReportStale)).scalar_one() == 0
        )


def test_postgres_insert_and_delete_triggers_join_stored_rows_by_index(engine: Engine) -> None:
    """Migration 0012: the insert and delete triggers look up claim, payment and denial by
    primary key (hashing a whole table per statement made every import COPY scan every stored
    claim); the update triggers, which join two transition tables, keep the planner's choice."""
    if engine.dialect.name != "postgresql":
        pytest.skip("statement-level trigger functions are PostgreSQL's")
    with engine.connect() as connection:
        configs = dict(
            connection.execute(
                sa.text("SELECT proname, proconfig FROM pg_proc WHERE starts_with(proname, :p)"),
                {"p": "report_"},
            ).all()
        )
    assert len(configs) == 8
    for name, config in configs.items():
        by_index = name.endswith(("_insert", "_delete"))
        settings = set(config or ())
        assert ({"enable_hashjoin=off", "enable_mergejoin=off"} <= settings) == by_index, name


def test_a_long_refresh_lets_sqlite_writers_in_between_cells(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the refresh holds the only write lock: eight slow cells in one transaction kept
    a writer waiting past its busy timeout (in production a 19 s refresh against the 10 s
    timeout of logins and audit events); one cell per transaction, with a pause, lets it in."""
    import sqlite3
    import threading
    import time

    if engine.dialect.name != "sqlite":
        pytest.skip("one write lock is SQLite's")
    today = date(2026, 12, 4)
    with Session(engine) as session:
        for month in range(1, 9):
            session.add(ReportStale(practice_id=1, basis="denied", month=f"2026-{month:02d}",
                                    kind="denial"))  # fmt: skip
        session.commit()
    monkeypatch.setattr(aggregates, "store", lambda *args, **kwargs: time.sleep(0.3))
    refreshed: list[int] = []
    worker = threading.Thread(
        target=lambda: refreshed.append(aggregates.refresh_stale(engine, today))
    )
    worker.start()
    time.sleep(0.15)  # the refresh holds the lock now
    writer = sqlite3.connect(str(engine.url.database), timeout=1.0)
    try:
        writer.execute(
            "INSERT INTO auditevent (at, action, entity, entity_id, detail) "
            "VALUES ('2026-12-04 10:00:00', 'view', 'denial', 1, '')"
        )
        writer.commit()  # before the refresh ends (2.4 s): it would fail after 1 s otherwise
    finally:
        writer.close()
    worker.join()
    assert refreshed == [8]
    with Session(engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(ReportStale)).scalar() == 0
