"""Background imports of uploaded 835 files, kept in the database (`UploadJob`, `UploadJobFile`).

Uploads are written owner-only to the instance folder, then imported one file at a time in a
thread of the process that received them (each file is one transaction in the importer). The
job, its files, their progress and outcomes are rows, so any server process (gunicorn runs
several) shows the progress of any job, and nothing is lost with a process:

- progress (bytes read) is written by a small writer thread at most once a second
  (`PROGRESS_INTERVAL`), each time in its own short transaction, never inside the import's;
- each job records the host and process importing it. When the server starts, its host's
  unfinished jobs are marked failed with `RESTARTED` (`fail_unfinished`); when gunicorn's master
  sees a worker exit, that worker's unfinished jobs get `WORKER_STOPPED`. The folder of uploads
  of such a job is removed.

The import runs on the engine of the request that started it (the app's configured database at
that moment), never on a URL remembered when the app was created.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from appeals.files import private_folder
from appeals.findings import refresh_findings_for_files
from appeals.importer import FileResult, import_file
from appeals.models import UploadJob, UploadJobFile, utcnow
from appeals.web.errors import log_failure
from appeals.web.maintenance import refresh_reports

logger = logging.getLogger(__name__)

RESTARTED = "the server restarted during the import"
WORKER_STOPPED = "the server process running the import stopped"
PROGRESS_INTERVAL = 1.0  # seconds between progress writes of one job
KEEP_DAYS = 90  # finished jobs older than this are deleted when a new one starts
UNFINISHED_STATES = ("queued", "importing")
FINISHED_STATES = ("imported", "duplicate", "failed")


def host_name() -> str:
    return socket.gethostname()[:200]


@dataclass
class JobStatus:
    """A job and its files as read from the database, for the templates."""

    job: UploadJob
    files: list[UploadJobFile]

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def done(self) -> bool:
        return self.job.finished_at is not None

    @property
    def error(self) -> str:
        return self.job.error

    @property
    def percent(self) -> int:
        total = sum(f.size for f in self.files) or 1
        return int(100 * sum(f.size * file_percent(f) / 100 for f in self.files) / total)


def file_percent(entry: UploadJobFile) -> int:
    if entry.state in FINISHED_STATES:
        return 100
    return min(100, int(100 * entry.done / entry.size)) if entry.size else 0


class ProgressWriter:
    """Writes the latest byte position of the file being imported, at most once a second.

    The importer calls `set` as often as it likes (in its own thread, inside its transaction);
    this thread writes the newest value in a short transaction of its own. A write that fails
    (the database busy) is skipped: progress is a display, the next one catches up.
    """

    def __init__(self, engine: Engine, interval: float = PROGRESS_INTERVAL) -> None:
        self.engine = engine
        self.interval = interval
        self.lock = threading.Lock()
        self.pending: tuple[int, int] | None = None  # (file row id, bytes read)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="import-progress", daemon=True)
        self.writes = 0

    def __enter__(self) -> ProgressWriter:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)
        self.flush()

    def set(self, file_row: int, done: int) -> None:
        with self.lock:
            self.pending = (file_row, done)

    def _loop(self) -> None:
        while not self.stopped.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        with self.lock:
            pending, self.pending = self.pending, None
        if pending is None:
            return
        row, done = pending
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.update(UploadJobFile)
                    .where(col(UploadJobFile.id) == row, col(UploadJobFile.state) == "importing")
                    .values(done=done)
                )
            self.writes += 1
        except sa.exc.OperationalError:
            logger.info("import progress not written (database busy); the next write catches up")


class JobRegistry:
    """Creates, runs and reads upload jobs. Threads are per process; state is in the database."""

    def __init__(self, upload_folder: Path) -> None:
        self.upload_folder = upload_folder
        self.threads: dict[str, threading.Thread] = {}
        self.lock = threading.Lock()

    def new_job(self, session: Session, user_id: int, practice_id: int | None) -> UploadJob:
        """A job row (flushed, not committed) and its owner-only upload folder."""
        job = UploadJob(
            id=uuid.uuid4().hex,
            user_id=user_id,
            practice_id=practice_id,
            host=host_name(),
            pid=os.getpid(),
        )
        private_folder(self.folder(job.id))
        session.add(job)
        session.flush()
        return job

    def folder(self, job_id: str) -> Path:
        return self.upload_folder / job_id

    def add_file(self, session: Session, job: UploadJob, position: int, name: str) -> UploadJobFile:
        """A file row of the job; the upload goes to `folder(job) / stored_name(entry)`."""
        entry = UploadJobFile(job_id=job.id, position=position, name=name)
        session.add(entry)
        return entry

    def get(self, session: Session, job_id: str) -> JobStatus | None:
        job = session.get(UploadJob, job_id[:32])
        if job is None:
            return None
        files = session.exec(
            select(UploadJobFile)
            .where(UploadJobFile.job_id == job.id)
            .order_by(col(UploadJobFile.position))
        ).all()
        return JobStatus(job, list(files))

    def start(self, engine: Engine, job_id: str) -> None:
        """Import the committed job's files in a thread of this process."""
        thread = threading.Thread(
            target=self._run, args=(engine, job_id), name=f"import-{job_id[:8]}", daemon=True
        )
        with self.lock:
            self.threads = {k: t for k, t in self.threads.items() if t.is_alive()}
            self.threads[job_id] = thread
        thread.start()

    def wait(self, job_id: str, timeout: float = 60) -> bool:
        """Wait for a job this process runs (tests); False if it is not ours or still running."""
        with self.lock:
            thread = self.threads.get(job_id)
        if thread is None:
            return False
        thread.join(timeout)
        return not thread.is_alive()

    def prune(self, session: Session) -> None:
        """Delete finished jobs older than KEEP_DAYS (their rows only: the files are gone)."""
        old = select(UploadJob.id).where(
            col(UploadJob.finished_at).is_not(None),
            col(UploadJob.finished_at) < utcnow() - timedelta(days=KEEP_DAYS),
        )
        session.execute(sa.delete(UploadJobFile).where(col(UploadJobFile.job_id).in_(old)))
        session.execute(
            sa.delete(UploadJob).where(
                col(UploadJob.finished_at).is_not(None),
                col(UploadJob.finished_at) < utcnow() - timedelta(days=KEEP_DAYS),
            )
        )

    def _run(self, engine: Engine, job_id: str) -> None:
        folder = self.folder(job_id)
        try:
            with Session(engine, expire_on_commit=False) as session:
                status = self.get(session, job_id)
            if status is None:
                return
            job = status.job
            with ProgressWriter(engine) as writer:
                for entry in status.files:
                    if entry.state != "queued":
                        continue
                    _write(engine, entry.id, state="importing")
                    row = entry.id or 0

                    def progress(position: int, row: int = row) -> None:
                        writer.set(row, position)

                    result = import_file(
                        engine,
                        folder / stored_name(entry),
                        name=entry.name,
                        user_id=job.user_id,
                        practice_id=job.practice_id,
                        progress=progress,
                    )
                    if result.file_id is not None:
                        refresh_findings_for_files(engine, [result.file_id])
                    writer.flush()
                    _write(engine, row, **_outcome(result, entry.size))
            _finish(engine, job_id, "")
            refresh_reports(engine)
        except Exception as error:  # the thread must always finish the job
            _finish(engine, job_id, f"an unexpected error ({type(error).__name__})")
            log_failure("import job failed", error)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def stored_name(entry: UploadJobFile) -> str:
    """The uploaded file's name in the job folder: its position, never the user's name."""
    return f"{entry.position:03d}.835"


def _outcome(result: FileResult, size: int) -> dict[str, object]:
    values: dict[str, object] = {"state": result.status, "done": size, "error": result.error}
    if result.status == "imported":
        values |= {
            "file_id": result.file_id,
            "claims": result.claims,
            "lines": result.lines,
            "denials": result.denials,
            "denied_amount": result.denied_amount,
            "warnings": result.warnings,
        }
    return values


def _write(engine: Engine, row: int | None, **values: object) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.update(UploadJobFile).where(col(UploadJobFile.id) == row).values(**values)
        )


def _finish(engine: Engine, job_id: str, error: str) -> None:
    """Mark the job finished; files it never reached fail with `error` (or a generic reason)."""
    with engine.begin() as connection:
        file_error = f"Import stopped: {error}." if error else "Not imported."
        _close(connection, [job_id], file_error, error)


def _close(connection: Connection, job_ids: list[str], file_error: str, job_error: str) -> None:
    """Finish the jobs: their files not yet imported fail with `file_error`."""
    connection.execute(
        sa.update(UploadJobFile)
        .where(
            col(UploadJobFile.job_id).in_(job_ids),
            col(UploadJobFile.state).in_(UNFINISHED_STATES),
        )
        .values(state="failed", error=file_error)
    )
    connection.execute(
        sa.update(UploadJob)
        .where(col(UploadJob.id).in_(job_ids), col(UploadJob.finished_at).is_(None))
        .values(finished_at=utcnow(), error=job_error)
    )


def fail_unfinished(
    engine: Engine,
    reason: str = RESTARTED,
    *,
    host: str | None = None,
    pid: int | None = None,
    upload_folder: Path | None = None,
) -> int:
    """Mark unfinished jobs of `host` (default: this host), and of process `pid` if given,
    failed with `reason`; remove their upload folders. Returns how many jobs."""
    where = [col(UploadJob.finished_at).is_(None), UploadJob.host == (host or host_name())]
    if pid is not None:
        where.append(UploadJob.pid == pid)
    with engine.begin() as connection:
        ids = list(connection.execute(select(UploadJob.id).where(*where)).scalars())
        if not ids:
            return 0
        _close(connection, ids, reason[0].upper() + reason[1:] + ".", reason)
    if upload_folder is not None:
        for job_id in ids:
            shutil.rmtree(upload_folder / job_id, ignore_errors=True)
    logger.warning("%d unfinished upload job(s) marked failed: %s", len(ids), reason)
    return len(ids)
