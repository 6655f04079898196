"""Login, logout, "log out everywhere", the login-required gate and role checks.

The login token stored in the session is "user id:session version"; bumping the version
(log out everywhere, password reset, disabling) invalidates every existing session at once.
Sessions also end after `SESSION_IDLE_MINUTES` without a request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
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
    session_version: int
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    @classmethod
    def of(cls, user: User) -> CurrentUser:
        assert user.id is not None
        return cls(
            user.id,
            user.username,
            user.full_name,
            user.role,
            user.practice_id,
            user.session_version,
        )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

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
    ident, _, version = token.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None
    user = get_session().get(User, int(ident))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return CurrentUser.of(user)


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


def require_login() -> Response | None:
    """Every endpoint but the allow-list needs a live, recent session."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return _to_login()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    now = int(time.time())
    if now - int(session.get("seen", 0)) > idle:
        logout_user()
        session.clear()
        return _to_login("You were signed out after a period of inactivity.")
    session["seen"] = now
    return None


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
        error = (
            "Too many failed attempts. Wait 15 minutes and try again."
            if result.throttled
            else "Wrong username or password, or the account is disabled."
        )
        status = 429 if result.throttled else 401
        context = {"next": request.form.get("next", ""), "error": error, "username": username}
        return render_template("auth/login.html", **context), status
    audit.record(db, result.user.id, "login", "user", result.user.id)
    db.commit()
    session.clear()
    login_user(CurrentUser.of(result.user))
    session.permanent = True
    session["seen"] = int(time.time())
    return redirect(_safe_next(request.form.get("next")), 303)


@bp.post("/logout")
def logout() -> Any:
    """End this session."""
    db = get_session()
    audit.record(db, me().id, "logout", "user", me().id)
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
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.before_request(require_login)
    app.register_blueprint(bp)

    @app.context_processor
    def inject_user() -> dict[str, Any]:
        return {"me": current_user}
