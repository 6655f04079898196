"""The write thread (the import's on PostgreSQL, the full rescore's): writes run in order, a
failed write surfaces at the next drain and skips the writes after it, a failing block drops its
pending writes, and an import whose write fails stores nothing."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from appeals import importer
from appeals.importer import import_file
from appeals.models import Claim, RemittanceFile
from appeals.write_thread import WriteThread, writes_on_thread
from tests.conftest import FIXTURES

TODAY = date(2026, 1, 20)


def test_writes_run_in_order_and_drain_waits_for_them() -> None:
    done: list[int] = []
    writes = WriteThread()
    for number in range(50):
        writes.submit(lambda number=number: done.append(number))
    writes.drain()
    assert done == list(range(50))
    writes.close()


def test_a_failed_write_surfaces_at_the_next_drain_and_skips_the_rest() -> None:
    done: list[str] = []
    gate = threading.Event()
    writes = WriteThread()
    writes.submit(lambda: (gate.wait(5), done.append("first")))  # all three queued first
    writes.submit(lambda: 1 / 0)
    writes.submit(lambda: done.append("after the failure"))
    gate.set()
    with pytest.raises(ZeroDivisionError):
        writes.drain()
    assert done == ["first"]
    with pytest.raises(ZeroDivisionError):  # the next submit too: the caller stops building
        writes.submit(lambda: done.append("later"))
    with pytest.raises(ZeroDivisionError):
        writes.close()
    assert done == ["first"]


def test_an_abandoned_thread_drops_pending_writes_and_ends() -> None:
    started, release = threading.Event(), threading.Event()
    done: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(5)

    writes = WriteThread()
    writes.submit(slow)
    writes.submit(lambda: done.append("pending"))
    started.wait(5)
    writes.abandon()
    release.set()
    writes.close()
    assert done == []
    assert not any(t.name == "appeals-writes" for t in threading.enumerate())


def test_a_failing_block_drops_its_pending_writes_and_a_failed_write_fails_the_block() -> None:
    done: list[str] = []
    started = threading.Event()

    def slow() -> None:
        started.set()
        give_up = time.monotonic() + 5
        while not writes._discard and time.monotonic() < give_up:  # until "pending" is dropped
            time.sleep(0.01)

    with pytest.raises(KeyError), writes_on_thread() as writes:
        writes.submit(slow)
        writes.submit(lambda: done.append("pending"))
        started.wait(5)
        raise KeyError("the caller failed")
    assert done == []
    with pytest.raises(ZeroDivisionError), writes_on_thread() as writes:
        writes.submit(lambda: 1 / 0)
    assert not any(t.name == "appeals-writes" for t in threading.enumerate())


def test_an_import_whose_write_fails_stores_nothing_and_the_next_one_works(
    engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remarks' insert fails (on the write thread on PostgreSQL, at once on SQLite): the
    file is reported failed, nothing of it is stored, and the connection is fit for the next."""
    insert_plain = importer._insert_plain

    def failing(connection: Any, model: type, rows: list[dict[str, Any]]) -> None:
        if model.__name__ == "Remark" and rows:
            raise sa.exc.OperationalError("COPY remark", {}, Exception("disk full"))
        insert_plain(connection, model, rows)

    monkeypatch.setattr(importer, "_insert_plain", failing)
    result = import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    assert result.status == "failed"
    assert "disk full" in result.error
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(RemittanceFile)).one() == 0
        assert session.exec(select(func.count()).select_from(Claim)).one() == 0
    assert not any(t.name == "appeals-writes" for t in threading.enumerate())
    monkeypatch.setattr(importer, "_insert_plain", insert_plain)
    result = import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    assert result.status == "imported", result.error
