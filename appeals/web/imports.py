"""Uploading 835 files in the browser: per-file outcome, progress while importing, history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, current_app, flash, redirect, request, url_for
from sqlmodel import select

from appeals.files import open_private
from appeals.models import Payment, RemittanceFile, User
from appeals.web import get_engine, get_session
from appeals.web.auth import me
from appeals.web.htmx import is_htmx, render_page_or_partial, trigger
from appeals.web.jobs import JobRegistry, JobStatus, file_percent, stored_name

bp = Blueprint("imports", __name__, url_prefix="/imports")
MAX_FILES = 50


def registry() -> JobRegistry:
    return current_app.extensions["import_jobs"]  # type: ignore[no-any-return]


def history(limit: int = 50) -> list[tuple[RemittanceFile, str]]:
    """Recent imported files the user's practice appears in, newest first."""
    query = (
        select(RemittanceFile, User.username)
        .join(User, User.id == RemittanceFile.imported_by_id, isouter=True)
        .order_by(sa.desc(RemittanceFile.imported_at), sa.desc(RemittanceFile.id))
        .limit(limit)
    )
    practice = me().practice_id
    if practice is not None:
        files = select(Payment.file_id).where(Payment.practice_id == practice)
        query = query.where(RemittanceFile.id.in_(files))  # type: ignore[union-attr]
    return [(f, name or "command line") for f, name in get_session().exec(query).all()]


def get_job_for_user(job_id: str) -> JobStatus:
    """The user's own job; admins may follow others' jobs, of their practice if they have one."""
    status = registry().get(get_session(), job_id)
    if status is None:
        abort(404)
    user = me()
    job = status.job
    if job.user_id != user.id and not (
        user.can("admin") and user.practice_id in (None, job.practice_id)
    ):
        abort(404)
    return status


@bp.get("/")
def index() -> Response:
    """The upload form and the import history."""
    return render_page_or_partial(
        "imports/index.html", "imports/_history.html", files=history(), job=None
    )


@bp.post("/")
def upload() -> Response:
    """Save the uploaded files and import them in the background."""
    uploads = [f for f in request.files.getlist("files") if f.filename]
    if not uploads:
        return _refuse("Choose one or more 835 files to upload.")
    if len(uploads) > MAX_FILES:
        return _refuse(f"Upload at most {MAX_FILES} files at a time.")
    session = get_session()
    jobs = registry()
    jobs.prune(session)
    job = jobs.new_job(session, me().id, me().practice_id)
    for number, upload in enumerate(uploads):
        name = Path(upload.filename or "upload.835").name[:200]
        entry = jobs.add_file(session, job, number, name)
        path = jobs.folder(job.id) / stored_name(entry)
        with open_private(path, "wb") as handle:  # the upload is PHI: owner-only from the start
            upload.save(handle)
        entry.size = path.stat().st_size
    session.commit()
    jobs.start(get_engine(), job.id)
    current = jobs.get(session, job.id)
    if not is_htmx():
        return redirect(url_for("imports.job", job_id=job.id), 303)
    return render_page_or_partial("imports/_job.html", "imports/_job.html", job=current)


def _refuse(message: str) -> Response:
    if not is_htmx():
        flash(message, "error")
        return redirect(url_for("imports.index"), 303)
    return render_page_or_partial(
        "imports/_job.html", "imports/_job.html", status=422, job=None, error=message
    )


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> Response:
    """Progress and per-file outcome of an upload (polled until done)."""
    current = get_job_for_user(job_id)
    response = render_page_or_partial(
        "imports/index.html", "imports/_job.html", job=current, files=history()
    )
    return trigger(response, "imports-changed") if current.done and is_htmx() else response


@bp.context_processor
def _context() -> dict[str, Any]:
    return {
        "max_mb": (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024),
        "file_percent": file_percent,
    }


def upload_folder(app: Flask) -> Path:
    """Where uploads wait for their import (created owner-only on the first upload)."""
    return Path(app.config.get("UPLOAD_FOLDER") or Path(app.instance_path) / "uploads")


def init_app(app: Flask) -> None:
    app.extensions["import_jobs"] = JobRegistry(upload_folder(app))
    app.register_blueprint(bp)
