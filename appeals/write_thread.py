"""One connection's writes, run in order on a thread of their own while the caller goes on.

An import on PostgreSQL spends about half its time waiting for the server to take each batch's
rows (index entries, foreign-key checks), and the server waits for the importer to parse the
next batch: two cores, used one at a time. With the writes on a thread the server works on one
batch while the importer parses and builds the next (the thread holds the interpreter lock only
while it hands rows to the driver, which releases it to wait for the server). On PostgreSQL the
daily full rescore writes each slice of scores the same way while it scores the next.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class WriteThread:
    """Runs submitted writes one after the other, on one thread.

    The submitter uses the connection again only after `drain()`, which waits for every write
    submitted so far. The first write that fails is raised by the next `submit()`, `drain()` or
    `close()`; the writes submitted after it are skipped.
    """

    def __init__(self, pending: int = 0) -> None:
        """`pending`: how many writes may wait at most (`submit` then waits); 0, no limit."""
        self._queue: queue.Queue[Callable[[], object] | None] = queue.Queue(pending)
        self._error: BaseException | None = None
        self._discard = False
        self._thread = threading.Thread(target=self._run, name="appeals-writes", daemon=True)
        self._thread.start()

    def submit(self, write: Callable[[], object]) -> None:
        """Hand on a write; a write that already failed is raised here, so the caller stops
        building more."""
        if self._error is not None:
            raise self._error
        self._queue.put(write)

    def drain(self) -> None:
        self._queue.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """The caller failed and will roll back: the writes not started yet are skipped, and
        `close` raises no error of theirs."""
        self._discard = True

    def close(self) -> None:
        """Stop the thread once the write under way (and, unless abandoned, those after it)
        is done."""
        self._queue.put(None)
        self._thread.join()
        if not self._discard and self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (write := self._queue.get()) is not None:
            try:
                if self._error is None and not self._discard:
                    write()
            except BaseException as error:  # handed to the submitter at its next drain
                self._error = error
            finally:
                self._queue.task_done()
        self._queue.task_done()


@contextmanager
def writes_on_thread(pending: int = 0) -> Iterator[WriteThread]:
    """A `WriteThread` for a block: when the block fails, the writes not started yet are
    dropped (the caller rolls back); when it ends, the thread's first error is raised."""
    writes = WriteThread(pending)
    try:
        yield writes
    except BaseException:
        writes.abandon()
        writes.close()
        raise
    writes.close()
