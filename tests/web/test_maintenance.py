"""Priority stays current: the first request of a day rescores every open denial."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals import db, ranking
from appeals.models import AppState, Denial, DenialScore
from appeals.web import maintenance
from tests.web.conftest import World, log_in


def test_priority_changes_the_next_day_with_no_command_run(
    specialist: FlaskClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    denial = session.get(Denial, world.denials["excision"])
    assert denial is not None
    day_one = date(2027, 1, 4)
    denial.deadline = day_one + timedelta(days=15)  # 15 days left: not yet urgent
    session.add(denial)
    session.commit()
    monkeypatch.setattr(maintenance, "today", lambda: day_one)
    assert specialist.get("/queue").status_code == 200
    session.expire_all()
    first = ranking.score_of(session, world.denials["excision"]).priority
    assert session.get(AppState, ranking.RESCORED_ON).value == "2027-01-04"  # type: ignore[union-attr]

    monkeypatch.setattr(maintenance, "today", lambda: day_one + timedelta(days=1))
    assert specialist.get("/queue").status_code == 200
    session.expire_all()
    second = ranking.score_of(session, world.denials["excision"]).priority
    assert second > first  # 14 days left: urgent


def test_the_cron_command_rescores_on_demand(cli, engine) -> None:  # type: ignore[no-untyped-def]
    result = cli("rescore")
    assert result.exit_code == 0, result.output
    assert "Priorities recomputed for 0 open denials." in result.output
    with Session(engine) as session:
        assert session.get(AppState, ranking.RESCORED_ON) is not None


def test_the_cron_command_can_recompute_deadlines_first(cli, world) -> None:  # type: ignore[no-untyped-def]
    result = cli("rescore", "--deadlines")
    assert result.exit_code == 0, result.output
    assert "Deadlines recomputed:" in result.output


def test_a_save_refreshes_report_cells_in_the_background_and_a_login_does_not(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[object] = []

    class Recorded:
        def __init__(self, target: object, **_kwargs: object) -> None:
            self.target = target

        def start(self) -> None:
            started.append(self.target)

    monkeypatch.setattr(maintenance.threading, "Thread", Recorded)
    monkeypatch.setattr(maintenance, "today", lambda: date.today())  # no rescore thread either
    app.extensions["appeals.rescored_on"] = {"day": date.today()}
    monkeypatch.setattr(app, "testing", False)
    client = log_in(app.test_client(), "specialist")
    client.post("/auth/logout")
    assert started == []  # logging in and out counts for no report
    client = log_in(app.test_client(), "specialist")
    denial = world.denials["excision"]
    response = client.post(f"/denials/{denial}/status", data={"status": "in_progress"})
    assert response.status_code < 400
    assert started == [maintenance.refresh_reports]


def test_the_daily_rescore_commits_in_batches_on_sqlite(
    world: World,
    session: Session,
    engine,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """SQLite has one write lock: the rescore of every open denial takes it a batch at a time,
    so logins and saves in between wait a fraction of a second, not the whole rescore."""
    import sqlalchemy as sa

    if engine.dialect.name != "sqlite":
        pytest.skip("one write lock is SQLite's (PostgreSQL writes the scores in one transaction)")
    with engine.begin() as connection:
        open_ = Denial.closed_at.is_(None)  # type: ignore[union-attr]
        connection.execute(
            sa.update(DenialScore)
            .where(DenialScore.id.in_(select(Denial.id).where(open_)))  # type: ignore[union-attr]
            .values(priority=-1.0)
        )
    monkeypatch.setattr(db, "BULK_UPDATE", 2)
    monkeypatch.setattr(ranking, "WRITE_BATCH", 2)
    events: list[str] = []
    update_rows = db.update_rows

    def writing(connection, table, rows):  # type: ignore[no-untyped-def]
        events.append(f"{len(rows)} {table.name}")
        update_rows(connection, table, rows)

    monkeypatch.setattr(db, "update_rows", writing)
    sa.event.listen(engine, "commit", lambda _connection: events.append("commit"))
    count = ranking.rescore_daily(session, date(2027, 2, 1), force=True)
    assert count is not None and count >= 4
    # each batch of two scores is committed before the next is written
    writes = events[events.index("2 denialscore") :]
    batches = [f"{min(2, count - start)} denialscore" for start in range(0, count, 2)]
    assert writes[: 2 * len(batches)] == [e for b in batches for e in (b, "commit")]
    session.expire_all()
    left = session.exec(
        select(DenialScore.priority).join(Denial, Denial.id == DenialScore.id).where(open_)
    ).all()
    assert sum(p >= 0 for p in left) == count  # every rescored row was stored
