"""Upload jobs live in the database: any process shows their progress, a restart or a stopped
worker fails them with the reason, progress writes are throttled, and the import runs on the
app's configured database (not the one it was created with)."""

from __future__ import annotations

import io
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from appeals.models import RemittanceFile, UploadJob, UploadJobFile
from appeals.web import create_app, jobs
from tests.web.conftest import HTMX, World, log_in

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _job(
    session: Session, user_id: int, job_id: str, *, pid: int = 0, host: str | None = None
) -> None:
    session.add(UploadJob(id=job_id, user_id=user_id, host=host or jobs.host_name(), pid=pid))
    session.add(UploadJobFile(job_id=job_id, position=0, name="a.835", size=1000, done=1000,
                              state="imported", claims=3, denials=1,
                              denied_amount=Decimal("12.50")))  # fmt: skip
    session.add(UploadJobFile(job_id=job_id, position=1, name="b.835", size=1000, done=400,
                              state="importing"))  # fmt: skip
    session.add(UploadJobFile(job_id=job_id, position=2, name="c.835", size=1000))
    session.commit()


def test_any_process_shows_a_jobs_progress_from_the_database(
    app: Flask, specialist: FlaskClient, session: Session, world: World
) -> None:
    """The job was started elsewhere (another worker): this app has no thread for it."""
    _job(session, world.users["specialist"], "b" * 32, pid=1)
    page = BeautifulSoup(
        specialist.get(f"/imports/jobs/{'b' * 32}", headers=HTMX).get_data(as_text=True),
        "html.parser",
    )
    section = page.select_one("#import-job")
    assert section["data-done"] == "false" and section.get("hx-trigger") == "every 1s"
    states = [tr["data-file-state"] for tr in page.select("tr[data-file-state]")]
    assert states == ["imported", "importing", "queued"]
    assert page.select_one("progress")["value"] == "40"
    assert "Importing… 46%" in page.get_text()  # (1000 + 400 + 0) / 3000


def test_a_restart_fails_unfinished_jobs_with_the_reason(
    app: Flask, specialist: FlaskClient, engine: Engine, session: Session, world: World
) -> None:
    _job(session, world.users["specialist"], "c" * 32)
    _job(session, world.users["specialist"], "d" * 32, host="another-server")
    folder = Path(app.config["UPLOAD_FOLDER"])
    (folder / ("c" * 32)).mkdir(parents=True)
    assert jobs.fail_unfinished(engine, jobs.RESTARTED, upload_folder=folder) == 1
    assert not (folder / ("c" * 32)).exists()  # the waiting uploads are removed
    page = BeautifulSoup(
        specialist.get(f"/imports/jobs/{'c' * 32}", headers=HTMX).get_data(as_text=True),
        "html.parser",
    )
    assert page.select_one("#import-job")["data-done"] == "true"
    assert "the server restarted during the import" in page.select_one("#job-error").get_text()
    states = [tr["data-file-state"] for tr in page.select("tr[data-file-state]")]
    assert states == ["imported", "failed", "failed"]  # what was imported stays imported
    with Session(engine) as fresh:
        other = fresh.get(UploadJob, "d" * 32)
        assert other is not None and other.finished_at is None  # another host's job


def test_a_stopped_worker_fails_only_its_own_jobs(
    engine: Engine, session: Session, world: World
) -> None:
    _job(session, world.users["specialist"], "e" * 32, pid=4242)
    _job(session, world.users["specialist"], "f" * 32, pid=4343)
    assert jobs.fail_unfinished(engine, jobs.WORKER_STOPPED, pid=4242) == 1
    with Session(engine) as fresh:
        stopped, running = fresh.get(UploadJob, "e" * 32), fresh.get(UploadJob, "f" * 32)
        assert stopped is not None and stopped.error == jobs.WORKER_STOPPED
        assert running is not None and running.finished_at is None


def test_progress_is_written_throttled_in_its_own_transactions(
    engine: Engine, session: Session, world: World
) -> None:
    _job(session, world.users["specialist"], "9" * 32)
    row = session.exec(select(UploadJobFile).where(UploadJobFile.state == "importing")).one()
    with jobs.ProgressWriter(engine, interval=3600) as writer:
        for position in range(0, 1000, 10):
            writer.set(row.id or 0, position)
        assert writer.writes == 0  # nothing before the interval has passed
    assert writer.writes == 1  # one write of the newest position when the file is done
    with Session(engine) as fresh:
        stored = fresh.get(UploadJobFile, row.id)
        assert stored is not None and stored.done == 990


def test_uploads_import_into_the_database_the_app_is_configured_for_now(
    database_url: str, engine: Engine, world: World, tmp_path: Path
) -> None:
    """`appeals demo` switches the app to its demo database after creating it: the upload
    must land there, not in the database the app started with."""
    first = f"sqlite:///{tmp_path / 'empty-at-start.db'}"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": first,
            "SECRET_KEY": "test-secret",
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        }
    )
    app.config["DATABASE_URL"] = database_url
    client = log_in(app.test_client(), "admin")
    content = (FIXTURES / "derm_initial.835").read_bytes()
    response = client.post(
        "/imports/",
        data={"files": [(io.BytesIO(content), "derm_initial.835")]},
        content_type="multipart/form-data",
        headers=HTMX,
    )
    job_id = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(
        "#import-job"
    )["data-job-id"]
    assert app.extensions["import_jobs"].wait(job_id)
    with Session(engine) as session:
        names = session.exec(select(RemittanceFile.name)).all()
        assert "derm_initial.835" in names
        entry = session.exec(select(UploadJobFile).where(UploadJobFile.job_id == job_id)).one()
        assert entry.state == "imported" and entry.claims > 0


def test_uploaded_files_are_owner_only(
    app: Flask, specialist: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs.JobRegistry, "start", lambda self, engine, job_id: None)
    old = os.umask(0o022)
    try:
        response = specialist.post(
            "/imports/",
            data={"files": [(io.BytesIO(b"ISA*..."), "a.835")]},
            content_type="multipart/form-data",
            headers=HTMX,
        )
    finally:
        os.umask(old)
    job_id = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(
        "#import-job"
    )["data-job-id"]
    uploads = Path(app.config["UPLOAD_FOLDER"])
    for folder in (uploads, uploads / job_id):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list((uploads / job_id).iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
