"""The audit trail: who viewed or changed which record, and when.

`detail` carries ids, field names and code values (statuses, categories), never patient text:
the trail is shown to managers and may be exported, so it must stay free of PHI.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from appeals.models import AuditEvent, User, utcnow

log = logging.getLogger(__name__)

ACTIONS: dict[str, str] = {
    "view": "viewed",
    "update": "edited",
    "create": "created",
    "status": "changed status",
    "assign": "assigned",
    "note": "added a note",
    "call": "logged a payer call",
    "import": "imported",
    "export": "exported",
    "login": "logged in",
    "logout": "logged out",
    "logout_all": "logged out everywhere",
    "disable": "disabled",
    "enable": "enabled",
    "reset_password": "reset the password of",
    "letter": "generated a letter for",
    "appeal_sent": "recorded an appeal sent for",
    "appeal_decided": "recorded an appeal decision for",
    "next_level": "opened the next appeal level of",
    "repeat": "recorded a repeat denial of",
    "train": "trained the recovery model",
}


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    username: str

    @property
    def detail(self) -> dict[str, Any]:
        return parse_detail(self.event.detail)

    @property
    def label(self) -> str:
        return ACTIONS.get(self.event.action, self.event.action)


def record(
    session: Session,
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the session (committed with the change it describes)."""
    event = AuditEvent(**_values(user_id, action, entity, entity_id, detail))
    session.add(event)
    return event


def _values(
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any] | None,
) -> dict[str, Any]:
    """An event's columns (the time of the event included)."""
    return {
        "at": utcnow(),
        "user_id": user_id,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "detail": json.dumps(detail, sort_keys=True, default=str) if detail else "",
    }


def parse_detail(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _rows(session: Session, query: Any) -> list[AuditRow]:
    return [AuditRow(event, username or "system") for event, username in session.exec(query).all()]


def history(
    session: Session, entity: str, entity_ids: Sequence[int], exclude: Sequence[str] = ()
) -> list[AuditRow]:
    """Events about these records (but not the `exclude` actions), newest first."""
    if not entity_ids:
        return []
    query = (
        select(AuditEvent, User.username)
        .join(User, User.id == AuditEvent.user_id, isouter=True)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id.in_(list(entity_ids)))  # type: ignore[union-attr]
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())  # type: ignore[attr-defined,union-attr]
    )
    if exclude:
        query = query.where(AuditEvent.action.not_in(list(exclude)))  # type: ignore[attr-defined]
    return _rows(session, query)


def recent(
    session: Session,
    *,
    user_id: int | None = None,
    user_ids: Sequence[int] | None = None,
    entity: str | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    """The newest events matching the filters; page with `before_id` (the last id shown)."""
    query = select(AuditEvent, User.username).join(
        User, User.id == AuditEvent.user_id, isouter=True
    )
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    if user_ids is not None:
        query = query.where(AuditEvent.user_id.in_(list(user_ids)))  # type: ignore[union-attr]
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if action:
        query = query.where(AuditEvent.action == action)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)  # type: ignore[operator]
    query = query.order_by(sa.desc(AuditEvent.id)).limit(limit)
    return _rows(session, query)


class ReadTrail:
    """Reads (a page viewed, a letter downloaded) written by a thread of their own.

    A view changes nothing, so the person need not wait for its audit row: on SQLite that
    insert waits for the write lock, which an import's merge holds for seconds. Events are
    queued with the time of the read and written in batches; a busy database is retried until
    the rows are stored (never dropped for being busy). `flush` waits for the queue to empty
    (at exit, and in tests). A process forked after the thread started gets its own.
    """

    RETRY_SECONDS = 0.5
    BATCH = 500

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._pid = 0
        self._lock = threading.Lock()

    def add(
        self,
        user_id: int | None,
        action: str,
        entity: str,
        entity_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._started()
        self._queue.put(_values(user_id, action, entity, entity_id, detail))

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event is stored; False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _started(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked worker: a queue of its own
                self._queue = queue.Queue()
                threading.Thread(target=self._run, name="read-trail", daemon=True).start()
                self._pid = os.getpid()
                atexit.register(self.flush, 10.0)

    def _run(self) -> None:
        table = AuditEvent.__table__  # type: ignore[attr-defined]
        source = self._queue
        while True:
            batch = [source.get()]
            while len(batch) < self.BATCH and not source.empty():
                batch.append(source.get_nowait())
            while True:
                try:
                    with self.engine.begin() as connection:
                        connection.execute(sa.insert(table), batch)
                    break
                except sa.exc.OperationalError:  # busy (SQLite's lock) or reconnecting
                    time.sleep(self.RETRY_SECONDS)
                except sa.exc.SQLAlchemyError as error:  # a row the database refuses
                    log.error("read audit events not stored: %s", type(error).__name__)
                    break
            for _ in batch:
                source.task_done()
