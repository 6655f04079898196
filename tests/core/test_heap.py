"""Garbage collection paused for bulk work, also when two bulk sections overlap."""

from __future__ import annotations

import gc
import threading

from appeals import heap


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
