"""Background imports of uploaded 835 files, with progress the browser polls.

Uploads are written to the instance folder, then imported one file at a time in a worker thread
(each file is one transaction in the importer). Job state lives in this process: run the web
app as one process (threads are fine) for the progress view to find its job.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from appeals import db
from appeals.findings import refresh_findings_for_files
from appeals.importer import FileResult, import_file
from appeals.web.errors import log_failure


@dataclass
class JobFile:
    name: str
    path: Path
    size: int
    done: int = 0
    state: str = "queued"  # queued | importing | imported | duplicate | failed
    result: FileResult | None = None

    @property
    def percent(self) -> int:
        if self.state in ("imported", "duplicate", "failed"):
            return 100
        return int(100 * self.done / self.size) if self.size else 0


@dataclass
class ImportJob:
    id: str
    user_id: int
    folder: Path
    practice_id: int | None = None  # the uploader's practice: other payees are refused
    files: list[JobFile] = field(default_factory=list)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    @property
    def percent(self) -> int:
        total = sum(f.size for f in self.files) or 1
        return int(100 * sum(f.size * f.percent / 100 for f in self.files) / total)


class JobRegistry:
    """Running and recent import jobs of this process (the newest 50 are kept)."""

    def __init__(self, upload_folder: Path, database_url: str) -> None:
        self.upload_folder = upload_folder
        self.database_url = database_url
        self.jobs: dict[str, ImportJob] = {}
        self.lock = threading.Lock()

    def new_job(self, user_id: int, practice_id: int | None = None) -> ImportJob:
        job_id = uuid.uuid4().hex
        folder = self.upload_folder / job_id
        folder.mkdir(parents=True)
        job = ImportJob(job_id, user_id, folder, practice_id)
        with self.lock:
            self.jobs[job_id] = job
            for old in list(self.jobs)[:-50]:
                if self.jobs[old].done:
                    del self.jobs[old]
        return job

    def get(self, job_id: str) -> ImportJob | None:
        with self.lock:
            return self.jobs.get(job_id)

    def start(self, job: ImportJob) -> None:
        threading.Thread(
            target=self._run, args=(job,), name=f"import-{job.id[:8]}", daemon=True
        ).start()

    def wait(self, job_id: str, timeout: float = 60) -> bool:
        job = self.get(job_id)
        return job is not None and job.finished.wait(timeout)

    def _run(self, job: ImportJob) -> None:
        try:
            engine = db.get_engine(self.database_url)
            for entry in job.files:
                entry.state = "importing"

                def progress(position: int, entry: JobFile = entry) -> None:
                    entry.done = position

                result = import_file(
                    engine,
                    entry.path,
                    name=entry.name,
                    user_id=job.user_id,
                    practice_id=job.practice_id,
                    progress=progress,
                )
                if result.file_id is not None:
                    refresh_findings_for_files(engine, [result.file_id])
                entry.result = result
                entry.done = entry.size
                entry.state = result.status
        except Exception as error:  # the thread must always finish the job
            for entry in job.files:
                if entry.result is None:
                    entry.state = "failed"
                    entry.result = FileResult(
                        name=entry.name,
                        status="failed",
                        error=f"Import stopped: {type(error).__name__}",
                    )
            log_failure("import job failed", error)
        finally:
            shutil.rmtree(job.folder, ignore_errors=True)
            job.finished.set()
