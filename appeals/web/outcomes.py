"""The Appeal panel of a denial: record that an appeal went out, record the payer's decision.

Sending works for one denial (its page), for the denied lines a letter covers (the letter page)
and for a batch (the batch letters page). Errors come back beside their fields (422).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, flash, redirect, request, url_for

from appeals import lifecycle, workflow
from appeals.deadlines import next_level
from appeals.models import Denial
from appeals.web import get_session, params
from appeals.web.auth import me
from appeals.web.denials import get_denial_for_user, render_detail, workflow_context
from appeals.web.htmx import is_htmx, render_page_or_partial, trigger

bp = Blueprint("outcomes", __name__)


def today() -> date:
    return date.today()


def panel_context(
    denial: Denial,
    form: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the Appeal panel shows: the levels so far, and the send or decision form."""
    db = get_session()
    appeals = lifecycle.appeals_of(db, denial.id or 0)
    pending = lifecycle.pending_appeal(db, denial)
    closed = denial.status in workflow.CLOSED_STATUSES
    further = next_level(denial.payer_type or "other", denial.appeal_level)
    return {
        "denial": denial,
        "appeals": [(a, lifecycle.letters_of_appeal(db, a.id or 0)) for a in appeals],
        "pending": pending,
        "closed": closed,
        "can_send": pending is None
        and denial.status in lifecycle.SENDABLE
        and not (denial.status in ("lost", "partial") and further is None),
        "level_name": lifecycle.level_name(denial),
        "next_level": further,
        "methods": {k: lifecycle.METHODS[k] for k in lifecycle.SEND_METHODS},
        "outcomes": lifecycle.OUTCOMES,
        "follow_up_days": (
            lifecycle.default_follow_up(denial.payer_type, denial.appeal_level, today()) - today()
        ).days,
        "appeal_form": form,
        "appeal_values": values or {},
        "appeal_errors": errors or {},
        "today": today(),
    }


def _respond(denial: Denial, form: str, values: dict[str, str], errors: dict[str, str]) -> Response:
    """The panel (htmx) or the page; 422 with the errors beside the fields when refused."""
    status = 422 if errors else 200
    if not is_htmx():
        if errors:
            return render_detail(denial, 422, appeal=panel_context(denial, form, values, errors))
        return redirect(url_for("denials.detail", denial_id=denial.id), 303)
    response = render_page_or_partial(
        "denials/_appeal_swap.html",
        "denials/_appeal_swap.html",
        status=status,
        p=panel_context(denial, form, values, errors),
        today=today(),
        **workflow_context(denial),
    )
    return response if errors else trigger(response, "denial-changed")


def _form() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


@bp.post("/denials/<int:denial_id>/appeal/send")
def send(denial_id: int) -> Response:
    """Record that the appeal at the denial's level went out (date, method, reference)."""
    db = get_session()
    denial = get_denial_for_user(denial_id)
    values = _form()
    try:
        sending = lifecycle.parse_sending(values, today())
        lifecycle.send_appeal(db, [denial], sending, me().id, today=today())
    except lifecycle.LifecycleError as refused:
        db.rollback()
        return _respond(denial, "send", values, refused.errors)
    db.commit()
    if not is_htmx():
        flash(f"Recorded: {lifecycle.level_name(denial)} sent.", "success")
    return _respond(denial, "", {}, {})


@bp.post("/denials/<int:denial_id>/appeal/decision")
def decide(denial_id: int) -> Response:
    """Record the payer's decision on the pending appeal (outcome, date, amount recovered)."""
    db = get_session()
    denial = get_denial_for_user(denial_id)
    values = _form()
    try:
        appeal = lifecycle.open_appeal(db, denial)
        decision = lifecycle.parse_decision(values, denial, appeal, today())
        lifecycle.record_decision(db, denial, decision, me().id, today=today())
    except lifecycle.LifecycleError as refused:
        db.rollback()
        return _respond(denial, "decision", values, refused.errors)
    db.commit()
    if not is_htmx():
        flash(f"Decision recorded: {lifecycle.OUTCOMES[decision.outcome].lower()}.", "success")
    return _respond(denial, "", {}, {})


@bp.post("/appeals/send")
def send_many() -> Response:
    """Record one sending for several denials (a letter's lines, or a batch of letters)."""
    db = get_session()
    ids = list(dict.fromkeys(int(i) for i in request.form.getlist("ids") if params.is_id(i)))
    denials = [get_denial_for_user(i) for i in ids[:1000]]
    back = request.form.get("next", "")
    target = back if back.startswith("/") and not back.startswith("//") else url_for("queue.index")
    if not denials:
        flash("Select at least one denial to record as sent.", "warning")
        return redirect(target, 303)
    try:
        sending = lifecycle.parse_sending(_form(), today())
        sent = lifecycle.send_appeal(db, denials, sending, me().id, today=today())
    except lifecycle.LifecycleError as refused:
        db.rollback()
        for message in refused.errors.values():
            flash(f"Not recorded: {message}", "error")
        return redirect(target, 303)
    db.commit()
    flash(f"Recorded {len(sent)} appeal{'s' if len(sent) != 1 else ''} as sent.", "success")
    return redirect(target, 303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(appeal_panel=panel_context)
