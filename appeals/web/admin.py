"""Administration: user accounts (admins) and the audit trail (managers and admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, abort, request
from sqlmodel import select

from appeals import audit, users
from appeals.models import AuditEvent, Practice, User
from appeals.web import get_session, params
from appeals.web.auth import me, role_required
from appeals.web.htmx import is_htmx, render_page_or_partial

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PAGE = 100


def _users_context(**extra: Any) -> dict[str, Any]:
    """Every account, or only the practice's own for an admin scoped to one practice."""
    db = get_session()
    practices_query = select(Practice).order_by(Practice.name)
    users_query = select(User).order_by(User.username)
    practice = me().practice_id
    if practice is not None:
        practices_query = practices_query.where(Practice.id == practice)
        users_query = users_query.where(User.practice_id == practice)
    practices = db.exec(practices_query).all()
    return {
        "users": db.exec(users_query).all(),
        "practices": {p.id: p.name for p in practices},
        "roles": users.ROLES,
        "is_locked": users.is_locked,
        "form": {},
        "errors": {},
        "new_password": None,
        **extra,
    }


@bp.get("/users")
@role_required("admin")
def users_page() -> Response:
    """Every account, with the form to add one."""
    return render_page_or_partial("admin/users.html", "admin/users.html", **_users_context())


@bp.post("/users")
@role_required("admin")
def user_create() -> Response:
    """Add an account; errors are shown beside the fields."""
    db = get_session()
    form = {k: request.form.get(k, "") for k in ("username", "full_name", "role", "practice_id")}
    practice = form["practice_id"]
    practice_id = int(practice) if params.is_id(practice) else None
    if me().practice_id is not None:  # a practice's admin adds users to that practice only
        practice_id = me().practice_id
        form["practice_id"] = str(practice_id)
    try:
        user = users.create_user(
            db,
            form["username"],
            request.form.get("password", ""),
            role=form["role"],
            practice_id=practice_id,
            full_name=form["full_name"],
        )
    except users.UserError as error:
        db.rollback()
        context = _users_context(form=form, errors={error.field: str(error)})
        return render_page_or_partial("admin/users.html", "admin/users.html", 422, **context)
    audit.record(db, me().id, "create", "user", user.id, {"role": user.role})
    db.commit()
    context = _users_context(message=f"Created {user.username}.")
    return render_page_or_partial("admin/users.html", "admin/users.html", **context)


@bp.post("/users/<int:user_id>/<operation>")
@role_required("admin")
def user_action(user_id: int, operation: str) -> Response:
    """Disable, enable, unlock or reset the password of an account (the new password is shown
    once)."""
    db = get_session()
    user = db.get(User, user_id)
    practice = me().practice_id
    if user is None or (practice is not None and user.practice_id != practice):
        abort(404)
    new_password = None
    if operation == "disable":
        if user.id == me().id:
            abort(400)
        users.set_active(db, user, False)
    elif operation == "enable":
        users.set_active(db, user, True)
    elif operation == "reset-password":
        new_password = users.reset_password(db, user)
    elif operation == "unlock":
        users.unlock(db, user)
    else:
        abort(404)
    audit.record(db, me().id, operation.replace("-", "_"), "user", user.id)
    db.commit()
    context = _users_context(new_password=new_password, reset_user=user.username)
    if is_htmx():
        return render_page_or_partial(
            "admin/_user_row.html", "admin/_user_row.html", u=user, **context
        )
    return render_page_or_partial("admin/users.html", "admin/users.html", **context)


@bp.get("/audit")
@role_required("manager")
def audit_page() -> Response:
    """The audit trail, newest first, filtered by user, record type or action."""
    db = get_session()
    user_id = params.query_int("user")
    before = params.query_int("before")
    people = select(User.id, User.username).order_by(User.username)
    practice = me().practice_id
    if practice is not None:
        people = people.where(User.practice_id == practice)
    people_rows = db.exec(people).all()
    allowed_ids = {i for i, _ in people_rows}
    chosen = user_id if user_id in allowed_ids else None
    rows = audit.recent(
        db,
        user_id=chosen,
        entity=params.query_text("entity") or None,
        action=params.query_text("action") or None,
        before_id=before,
        limit=AUDIT_PAGE,
        # A practice manager sees what the practice's own staff did.
        user_ids=sorted(allowed_ids) if practice is not None else None,
    )
    entities = db.exec(select(AuditEvent.entity).distinct()).all()
    return render_page_or_partial(
        "admin/audit.html",
        "admin/_audit_rows.html",
        rows=rows,
        people=people_rows,
        chosen=chosen,
        entities=sorted(entities),
        actions=audit.ACTIONS,
        more=len(rows) == AUDIT_PAGE,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
