"""Login, logout, "log out everywhere", the login-required gate and role checks.

Sessions live in the database (`UserSession`); the signed cookie carries only a random token,
looked up (by its hash) on every request. Logout, "log out everywhere", a password change and
disabling end the row, so a cookie replayed afterwards is refused. A session also ends after
`SESSION_IDLE_MINUTES` without a request and `SESSION_MAX_HOURS` after login, whatever the use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user

from appeals import audit, users
from appeals.models import User
from appeals.queue import Viewer
from appeals.web import get_session

bp = Blueprint("auth", __name__, url_prefix="/auth")
login_manager = LoginManager()
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.login_post", "static"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CurrentUser:
    """The logged-in user as a plain snapshot (no database session attached)."""

    id: int
    username: str
    full_name: str
    role: str
    practice_id: int | None
    # The session's secret token (what Flask-Login keeps in the cookie); never in a repr or log.
    token: str = field(default="", repr=False)
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    @classmethod
    def of(cls, user: User, token: str) -> CurrentUser:
        assert user.id is not None
        return cls(user.id, user.username, user.full_name, user.role, user.practice_id, token)

    def get_id(self) -> str:
        return self.token

    def can(self, role: str) -> bool:
        return users.has_role(self.role, role)

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.id, self.practice_id)

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


@login_manager.user_loader
def load_user(token: str) -> CurrentUser | None:
    """The user of a live server-side session (touched at most once a minute), else None."""
    db = get_session()
    config = current_app.config
    check = users.resume_session(
        db,
        token,
        idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        lifetime=timedelta(hours=config["SESSION_MAX_HOURS"]),
    )
    try:
        if check.wrote:
            db.commit()  # an ended session or a new last-seen time
    except sa.exc.OperationalError:
        # Best effort: a busy database (SQLite's write lock) must not fail the page. An ended
        # session is refused all the same and ended again next time; last_seen waits a minute.
        db.rollback()
    if check.user is None:
        g.session_ended = check.ended
        return None
    return CurrentUser.of(check.user, token)


def me() -> CurrentUser:
    """The logged-in user (every view but login runs behind the gate)."""
    return current_user._get_current_object()  # type: ignore[no-any-return]


def role_required(role: str) -> Callable[[F], F]:
    """Refuse (403) users below `role`."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not me().can(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def _to_login(message: str | None = None) -> Response:
    if message:
        flash(message, "warning")
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


ENDED_MESSAGES = {
    "idle": "You were signed out after a period of inactivity.",
    "expired": "Your session reached its time limit. Please sign in again.",
}


def require_login() -> Response | None:
    """Every endpoint but the allow-list needs a live, recent session."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        return None
    if "_user_id" in session:  # a session that has ended: forget the cookie's token
        logout_user()
        session.clear()
    return _to_login(ENDED_MESSAGES.get(g.pop("session_ended", "")))


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("queue.index")


@bp.get("/login")
def login() -> Any:
    """The login form."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", next=request.args.get("next", ""), error=None)


@bp.post("/login")
def login_post() -> Any:
    """Check the password (rate limited per account and address) and start a session."""
    db = get_session()
    username = request.form.get("username", "")
    result = users.authenticate(
        db, username, request.form.get("password", ""), request.remote_addr or "unknown"
    )
    if result.user is None:
        db.commit()
        error = "Wrong username or password, or the account is disabled."
        if result.throttled:
            minutes = math.ceil((result.retry_after or users.LOGIN_WINDOW).total_seconds() / 60)
            error = f"Too many failed attempts. Wait {minutes} minutes and try again."
        status = 429 if result.throttled else 401
        context = {"next": request.form.get("next", ""), "error": error, "username": username}
        return render_template("auth/login.html", **context), status
    audit.record(db, result.user.id, "login", "user", result.user.id)
    token = users.start_session(db, result.user)
    db.commit()
    session.clear()
    login_user(CurrentUser.of(result.user, token))
    session.permanent = True
    return redirect(_safe_next(request.form.get("next")), 303)


@bp.post("/logout")
def logout() -> Any:
    """End this session."""
    db = get_session()
    audit.record(db, me().id, "logout", "user", me().id)
    users.end_session(db, me().token, "logout")
    db.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)


@bp.post("/logout-everywhere")
def logout_everywhere() -> Any:
    """End every session of this user, on every device."""
    db = get_session()
    user = db.get(User, me().id)
    assert user is not None
    users.logout_everywhere(db, user)
    audit.record(db, user.id, "logout_all", "user", user.id)
    db.commit()
    logout_user()
    session.clear()
    flash("You are signed out on every device.", "info")
    return redirect(url_for("auth.login"), 303)


def init_app(app: Flask) -> None:
    app.config.setdefault("SESSION_IDLE_MINUTES", 30)
    app.config.setdefault("SESSION_MAX_HOURS", 12)
    # Idle and absolute ends are the server's (`users.resume_session`): the cookie lives as long
    # as a session can and is not signed and sent again with every answer.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.before_request(require_login)
    app.register_blueprint(bp)

    @app.context_processor
    def inject_user() -> dict[str, Any]:
        return {"me": current_user}
