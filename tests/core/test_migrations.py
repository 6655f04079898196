"""Migrations that move stored data, run down and up again on rows they must keep."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appeals import db, ranking
from tests.factories import make_claim

SCORE = {
    "probability": 0.25,
    "ranker": "prior",
    "stake": Decimal("80.00"),
    "expected_recovery": Decimal("20.00"),
    "priority": 25.0,
    "explanation": '["CO-50 at Acme came back 25% of the time (8 decided)"]',
}


def _migrate(engine: Engine, revision: str) -> None:
    config = db.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if revision == "head":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)


def _denial_triggers(engine: Engine) -> set[str]:
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'denial'"
        if engine.dialect.name == "sqlite"
        else "SELECT tgname FROM pg_trigger WHERE tgrelid = 'denial'::regclass AND NOT tgisinternal"
    )
    with engine.connect() as connection:
        return set(connection.exec_driver_sql(sql).scalars())


def test_denial_scores_move_to_their_own_table_and_back(engine: Engine) -> None:
    """Down to the scores on the denial row and up again: the score comes back whole, and the
    report triggers on the denial table survive its columns being dropped."""
    triggers = _denial_triggers(engine)
    assert len(triggers) == 3  # the report aggregates' insert, update and delete triggers
    with Session(engine) as session:
        denial_id = (
            make_claim(session, [{"procedure": "11102", "adjustments": [("CO", "50", "100.00")]}])
            .denials[0]
            .id
        )
        assert denial_id is not None
        score = ranking.score_of(session, denial_id)
        for name, value in SCORE.items():
            setattr(score, name, value)
        session.add(score)
        session.commit()
    _migrate(engine, "0014")  # the scores back on the denial row
    try:
        with engine.connect() as connection:
            row = connection.execute(
                sa.text(
                    "SELECT probability, ranker, priority, explanation FROM denial WHERE id = :i"
                ),
                {"i": denial_id},
            ).one()
        assert tuple(row) == (0.25, "prior", 25.0, SCORE["explanation"])
    finally:
        _migrate(engine, "head")
    with Session(engine) as session:
        score = ranking.score_of(session, denial_id)
        assert {name: getattr(score, name) for name in SCORE} == SCORE
    assert _denial_triggers(engine) == triggers
