"""Denial detail: claim and remittances, status and assignee, notes and call logs, history."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, flash, redirect, request, url_for

from appeals import audit, casefile, lifecycle, queue, ranking, workflow
from appeals.models import Denial, DenialScore, User
from appeals.web import get_session, params, record_read
from appeals.web.auth import me
from appeals.web.htmx import is_htmx, render_page_or_partial, trigger
from appeals.web.queue import denial_url, queue_url, today, view_filters, view_query

bp = Blueprint("denials", __name__, url_prefix="/denials")


def get_denial_for_user(denial_id: int) -> Denial:
    """The denial if the current user's practice may see it; 404 otherwise (no hint it exists)."""
    denial = get_session().get(Denial, denial_id)
    practice = me().practice_id
    if denial is None or (practice is not None and denial.practice_id != practice):
        abort(404)
    return denial


def assignable_users(denial: Denial) -> list[User]:
    from sqlmodel import select

    query = select(User).where(User.active).order_by(User.username)
    query = query.where((User.practice_id == denial.practice_id) | (User.practice_id.is_(None)))  # type: ignore[union-attr]
    return list(get_session().exec(query).all())


def _history(denial: Denial) -> list[audit.AuditRow]:
    return audit.history(get_session(), "denial", [denial.id], exclude=("view",))  # type: ignore[list-item]


def workflow_context(denial: Denial, error: str | None = None) -> dict[str, Any]:
    """The status and assignee panel: the moves a person may choose, the people to assign."""
    return {
        "denial": denial,
        "allowed": workflow.manual_moves(denial.status),
        "people": assignable_users(denial),
        "workflow_error": error,
    }


@bp.get("/<int:denial_id>")
def detail(denial_id: int) -> Response:
    """The whole case: claim lines, adjustments, payment, remittances, notes, documentation."""
    denial = get_denial_for_user(denial_id)
    record_read(me().id, "view", "denial", denial.id, {"claim_id": denial.claim_id})
    return render_detail(denial)


def queue_nav(denial: Denial, score: DenialScore) -> dict[str, Any]:
    """The way back to the queue view the denial was opened from (`?queue=` keeps its
    filters), and the denials before and after it in that view."""
    filters = view_filters(request.args.get("queue", ""))
    before, after = queue.neighbours(get_session(), filters, me().viewer, today(), denial, score)
    view = view_query(filters)
    return {
        "back_url": queue_url(filters),
        "prev_url": denial_url(before, view) if before is not None else None,
        "next_url": denial_url(after, view) if after is not None else None,
    }


def render_detail(
    denial: Denial,
    status: int = 200,
    doc: dict[str, Any] | None = None,
    appeal: dict[str, Any] | None = None,
) -> Response:
    """The detail page (also re-rendered with errors when a plain form post fails)."""
    score = ranking.score_of(get_session(), denial.id or 0)
    return render_page_or_partial(
        "denials/detail.html",
        "denials/detail.html",
        status=status,
        case=casefile.load(get_session(), denial),
        score=score,
        history=_history(denial),
        note_errors={},
        note_form={},
        kinds=casefile.NOTE_KINDS,
        today=date.today(),
        appeal=appeal,
        **queue_nav(denial, score),
        **workflow_context(denial),
        **(
            doc if doc is not None else current_app.jinja_env.globals["documentation_panel"](denial)
        ),
    )


@bp.post("/<int:denial_id>/status")
def change_status(denial_id: int) -> Response:
    """Move the denial along the workflow (refused moves are explained beside the control)."""
    db = get_session()
    denial = get_denial_for_user(denial_id)
    error = None
    chosen = request.form.get("status", "")
    if not chosen:
        # Never a default move: nothing chosen changes nothing.
        return _workflow_response(denial, "Choose the status to move to first.")
    try:
        lifecycle.move(db, denial, chosen, me().id)
        db.commit()
    except workflow.TransitionError as exc:
        db.rollback()
        error = str(exc)
    return _workflow_response(denial, error)


@bp.post("/<int:denial_id>/assign")
def assign(denial_id: int) -> Response:
    """Give the denial to a user of its practice (or nobody)."""
    db = get_session()
    denial = get_denial_for_user(denial_id)
    value = request.form.get("assignee", "")
    assignee = db.get(User, int(value)) if params.is_id(value) else None
    if value and assignee is None:
        abort(400)
    try:
        workflow.assign(db, denial, assignee, me().id)
    except workflow.AssignError:
        abort(400)
    db.commit()
    return _workflow_response(denial, None)


def _workflow_response(denial: Denial, error: str | None) -> Response:
    if not is_htmx():
        if error:
            flash(error, "error")
        return redirect(url_for("denials.detail", denial_id=denial.id), 303)
    response = render_page_or_partial(
        "denials/_workflow.html",
        "denials/_workflow.html",
        status=422 if error else 200,
        **workflow_context(denial, error),
    )
    return trigger(response, "denial-changed")


@bp.get("/<int:denial_id>/history")
def history(denial_id: int) -> Response:
    """The denial's history (refreshed after each change)."""
    denial = get_denial_for_user(denial_id)
    return render_page_or_partial(
        "denials/_history.html", "denials/_history.html", history=_history(denial)
    )


@bp.post("/<int:denial_id>/notes")
def add_note(denial_id: int) -> Response:
    """Add a note or a payer call log; errors are shown beside the fields."""
    db = get_session()
    denial = get_denial_for_user(denial_id)
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    note, errors = casefile.add_note(db, denial, me().id, form)
    if note is not None:
        audit.record(db, me().id, note.kind, "denial", denial.id, {"note_id": note.id})
        db.commit()
        if not is_htmx():
            return redirect(url_for("denials.detail", denial_id=denial.id) + "#notes", 303)
        form = {}
    elif not is_htmx():
        flash("The note was not saved: " + "; ".join(errors.values()), "error")
        return redirect(url_for("denials.detail", denial_id=denial.id) + "#notes", 303)
    response = render_page_or_partial(
        "denials/_notes.html",
        "denials/_notes.html",
        status=422 if errors else 200,
        denial=denial,
        notes=casefile.notes(db, denial),
        note_errors=errors,
        note_form=form,
        kinds=casefile.NOTE_KINDS,
    )
    return trigger(response, "denial-changed") if note else response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
