"""Follow-ups due: appeals and payer promises to chase, and moving an appeal's follow-up date.

Everyone sees their own list (appeals they sent, denials assigned to them, calls they logged);
managers and admins may look at everyone's or one person's, always within their practice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlmodel import col, select

from appeals import followups
from appeals.formatting import day
from appeals.models import Appeal, User
from appeals.web import get_session
from appeals.web.auth import me
from appeals.web.denials import get_denial_for_user
from appeals.web.errors import log_failure
from appeals.web.htmx import is_htmx, render_page_or_partial, trigger

bp = Blueprint("followups", __name__, url_prefix="/followups")


def today() -> date:
    return date.today()


@dataclass(frozen=True)
class Whose:
    """Whose follow-ups the page lists: "me", "everyone" or a user id (as text), and that id."""

    key: str
    user_id: int | None


def people() -> list[tuple[int, str]]:
    """The active users a manager may pick: those of the manager's practice (or every one)."""
    query = select(User.id, User.username).where(User.active).order_by(col(User.username))
    practice = me().practice_id
    if practice is not None:
        query = query.where(User.practice_id == practice)
    return [(int(i), name) for i, name in get_session().exec(query).all()]


def whose(value: str | None) -> Whose:
    """The list asked for; anything but "mine" needs a manager (others get their own)."""
    user = me()
    if user.can("manager"):
        if value == "everyone":
            return Whose("everyone", None)
        if value and value.isdigit() and int(value) in {i for i, _ in people()}:
            return Whose(value, int(value))
    return Whose("me", user.id)


def get_appeal_for_user(appeal_id: int) -> Appeal:
    """The appeal if its denial is in the current user's practice; 404 otherwise."""
    appeal = get_session().get(Appeal, appeal_id)
    if appeal is None:
        abort(404)
    get_denial_for_user(appeal.denial_id)
    return appeal


def _page(
    who: Whose, status: int = 200, errors: dict[int, tuple[str, str]] | None = None
) -> Response:
    """The list page (the list alone for htmx); `errors`: appeal id → (message, value)."""
    rows = followups.followups_due(
        get_session(), today(), user_id=who.user_id, practice_id=me().practice_id
    )
    return render_page_or_partial(
        "followups/index.html",
        "followups/_rows.html",
        status=status,
        rows=rows,
        who=who,
        people=people() if me().can("manager") else [],
        errors=errors or {},
        today=today(),
    )


@bp.get("/")
def index() -> Response:
    """The follow-ups due, most overdue first."""
    return _page(whose(request.args.get("who")))


@bp.get("/badge")
def badge() -> Response:
    """The nav badge: how many of my follow-ups are due (refreshed after a change)."""
    return render_page_or_partial(
        "followups/_badge.html", "followups/_badge.html", badge_due=due_count()
    )


@bp.post("/appeals/<int:appeal_id>")
def move(appeal_id: int) -> Response:
    """Set a new follow-up date for a sent appeal; an error is shown beside the field (422)."""
    db = get_session()
    appeal = get_appeal_for_user(appeal_id)
    value = request.form.get("follow_up_on", "")
    errors = followups.move_follow_up(db, appeal, value, today(), me().id)
    if not errors:
        db.commit()
    who = whose(request.form.get("who"))
    if is_htmx():
        return _row(appeal, who, errors.get("follow_up_on"), value)
    if errors:
        return _page(who, 422, {appeal_id: (errors["follow_up_on"], value)})
    flash(f"Next follow-up on {day(appeal.follow_up_on)}.", "success")
    return redirect(url_for("followups.index", who=who.key), 303)


def _row(appeal: Appeal, who: Whose, error: str | None, value: str) -> Response:
    """The denial's row after a change: still due (another reason, or an error), or moved."""
    rows = followups.followups_due(
        get_session(), today(), practice_id=me().practice_id, denial_ids=[appeal.denial_id]
    )
    context: dict[str, Any] = {"who": who, "today": today(), "appeal": appeal, "error": error}
    template = "followups/_moved.html"
    if rows:
        context |= {"row": rows[0], "errors": {appeal.id: (error, value)} if error else {}}
        template = "followups/_row.html"
    response = render_page_or_partial(template, template, status=422 if error else 200, **context)
    return response if error else trigger(response, "followups-changed")


def due_count() -> int | None:
    """My follow-ups due (one COUNT query), or None when signed out or the count fails."""
    if not current_user.is_authenticated:
        return None
    user = me()
    try:
        return followups.count_due(
            get_session(), today(), user_id=user.id, practice_id=user.practice_id
        )
    except sa.exc.SQLAlchemyError as error:  # a badge must not turn a page into an error
        log_failure("follow-up count", error)
        return None


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def followup_badge() -> dict[str, Any]:
        return {"followups_due_count": due_count}
