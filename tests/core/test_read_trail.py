"""Reads are audited without making anyone wait: `audit.ReadTrail` queues a page view or a
download and stores it from a thread of its own, retrying while the database is locked."""

from __future__ import annotations

import json
import sqlite3
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from appeals import audit
from appeals.models import AuditEvent


def test_a_read_is_stored_once_the_write_lock_it_waited_for_is_released(engine: Engine) -> None:
    trail = audit.ReadTrail(engine)
    trail.RETRY_SECONDS = 0.05
    if engine.dialect.name == "sqlite":
        blocker = sqlite3.connect(engine.url.database or "", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # what an import's merge holds for seconds
    else:
        blocker = engine.raw_connection()  # type: ignore[assignment]
        blocker.cursor().execute("LOCK TABLE auditevent IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        trail.add(None, "view", "denial", 7, {"claim_id": 3})
        assert time.monotonic() - started < 0.5  # the page does not wait
        assert not trail.flush(timeout=1.0)  # the row waits for the lock instead
    finally:
        blocker.rollback() if engine.dialect.name != "sqlite" else blocker.execute("ROLLBACK")
        blocker.close()
    assert trail.flush(timeout=30)
    with Session(engine) as session:
        event = session.exec(select(AuditEvent)).one()
    assert (event.action, event.entity, event.entity_id) == ("view", "denial", 7)
    assert json.loads(event.detail) == {"claim_id": 3}
    assert event.at is not None


def test_many_reads_are_stored_in_batches_in_order(engine: Engine) -> None:
    trail = audit.ReadTrail(engine)
    for n in range(1, 1201):
        trail.add(None, "view", "denial", n)
    assert trail.flush(timeout=30)
    with Session(engine) as session:
        stored = session.exec(select(AuditEvent.entity_id).order_by(AuditEvent.id)).all()
    assert stored == list(range(1, 1201))
