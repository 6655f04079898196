"""Garbage collection paused for bulk work (imports, rescores, training), also when two
bulk sections overlap."""

from __future__ import annotations

import gc
import threading
from datetime import date
from pathlib import Path

import pytest

from appeals import heap
from classifiers import recovery


def test_overlapping_sections_keep_collection_paused_until_the_last_ends() -> None:
    assert gc.isenabled()
    inner_started, outer_may_end = threading.Event(), threading.Event()

    def import_beside() -> None:
        with heap.frozen():
            inner_started.set()
            outer_may_end.wait(5)

    with heap.frozen():
        assert not gc.isenabled() and gc.get_freeze_count() > 0
        worker = threading.Thread(target=import_beside)
        worker.start()
        inner_started.wait(5)
    # the first section ended while the other still runs: still paused
    assert not gc.isenabled() and gc.get_freeze_count() > 0
    outer_may_end.set()
    worker.join(5)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_collection_stays_off_after_if_it_was_off_before() -> None:
    gc.disable()
    try:
        with heap.frozen():
            assert not gc.isenabled()
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_training_reads_its_outcomes_with_collection_paused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[bool] = []

    def outcomes(session: object, as_of: date) -> list[object]:
        seen.append(gc.isenabled())
        raise LookupError("enough: the outcomes were being read")

    monkeypatch.setattr(recovery, "_outcomes", outcomes)
    with pytest.raises(LookupError):
        recovery.train(None, tmp_path, date(2026, 12, 1))  # type: ignore[arg-type]
    assert seen == [False] and gc.isenabled()
