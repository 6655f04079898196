"""Uploading 835 files: imported, already imported, failed with the reason, too large, history."""

from __future__ import annotations

import io
from pathlib import Path

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals.models import Denial, RemittanceFile
from tests.web.conftest import HTMX, World, log_in

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def upload(client: FlaskClient, files: list[tuple[bytes, str]], **kwargs):  # type: ignore[no-untyped-def]
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post("/imports/", data=data, content_type="multipart/form-data", **kwargs)


def finish(app: Flask, client: FlaskClient, response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    """Wait for the background job, then read its final state as the browser's poll would."""
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    job_id = page.select_one("#import-job")["data-job-id"]
    assert app.extensions["import_jobs"].wait(job_id, timeout=60)
    done = client.get(f"/imports/jobs/{job_id}", headers=HTMX)
    assert "imports-changed" in done.headers["HX-Trigger"]
    return BeautifulSoup(done.get_data(as_text=True), "html.parser")


def test_upload_imports_reports_duplicates_and_failures(
    app: Flask, specialist: FlaskClient, session: Session
) -> None:
    good = (FIXTURES / "derm_initial.835").read_bytes()
    response = upload(
        specialist, [(good, "derm_initial.835"), (b"ISA*garbage", "broken.835")], headers=HTMX
    )
    assert response.status_code == 200
    job = finish(app, specialist, response)
    states = [tr["data-file-state"] for tr in job.select("tr[data-file-state]")]
    assert states == ["imported", "failed"]
    failed = job.select("tr[data-file-state]")[1].get_text()
    assert "broken.835" in failed and "Failed" in failed
    assert job.select_one("#import-job")["data-done"] == "true"
    assert session.exec(select(Denial)).all()
    again = finish(
        app, specialist, upload(specialist, [(good, "copy-of-initial.835")], headers=HTMX)
    )
    assert [tr["data-file-state"] for tr in again.select("tr[data-file-state]")] == ["duplicate"]
    files = session.exec(select(RemittanceFile).where(RemittanceFile.name != "test.835")).all()
    assert [f.name for f in files] == ["derm_initial.835"]


def test_upload_without_javascript_redirects_to_the_job_page(
    app: Flask, admin: FlaskClient
) -> None:
    good = (FIXTURES / "derm_initial.835").read_bytes()
    response = upload(admin, [(good, "derm_initial.835")])
    assert response.status_code == 303
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    assert app.extensions["import_jobs"].wait(job_id)
    page = admin.get(response.headers["Location"])
    assert "<html" in page.get_data(as_text=True) and "Imported" in page.get_data(as_text=True)
    history = BeautifulSoup(admin.get("/imports/").get_data(as_text=True), "html.parser")
    assert history.select("#import-history-table tr[data-file-id]")


def test_upload_needs_a_file(specialist: FlaskClient) -> None:
    response = specialist.post("/imports/", data={}, headers=HTMX)
    assert response.status_code == 422
    assert "Choose one or more 835 files" in response.get_data(as_text=True)


def test_upload_over_the_size_limit_is_refused_clearly(app: Flask, specialist: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = upload(specialist, [(b"x" * 4096, "big.835")], headers=HTMX)
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True) and "limit" in response.get_data(
        as_text=True
    )


def test_someone_elses_job_is_not_found(app: Flask, specialist: FlaskClient, world: World) -> None:
    good = (FIXTURES / "derm_initial.835").read_bytes()
    response = upload(specialist, [(good, "derm_initial.835")], headers=HTMX)
    finish(app, specialist, response)
    job_id = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(
        "#import-job"
    )["data-job-id"]
    colleague = log_in(app.test_client(), "colleague")
    assert colleague.get(f"/imports/jobs/{job_id}").status_code == 404
    assert colleague.get("/imports/jobs/nonexistent").status_code == 404


def test_import_history_is_scoped_to_the_practice(
    app: Flask, admin: FlaskClient, outsider: FlaskClient
) -> None:
    good = (FIXTURES / "derm_initial.835").read_bytes()
    finish(app, admin, upload(admin, [(good, "derm_initial.835")], headers=HTMX))
    page = BeautifulSoup(outsider.get("/imports/").get_data(as_text=True), "html.parser")
    names = [
        tr.select("td")[1].get_text()
        for tr in page.select("#import-history-table tr[data-file-id]")
    ]
    assert names == ["test.835"]  # the outsider's own practice's file, not the upload
    page = BeautifulSoup(admin.get("/imports/").get_data(as_text=True), "html.parser")
    names = [
        tr.select("td")[1].get_text()
        for tr in page.select("#import-history-table tr[data-file-id]")
    ]
    assert "derm_initial.835" in names


def test_a_specialist_cannot_import_another_practices_remittance(
    app: Flask, outsider: FlaskClient, session: Session
) -> None:
    good = (FIXTURES / "derm_initial.835").read_bytes()
    job = finish(app, outsider, upload(outsider, [(good, "derm_initial.835")], headers=HTMX))
    row = job.select_one("tr[data-file-state]")
    assert row["data-file-state"] == "failed"
    assert "is not your practice" in row.get_text()
    assert session.exec(select(RemittanceFile).where(RemittanceFile.name != "test.835")).all() == []
