"""The web application: factory, database session per request, blueprints."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appeals import audit, db
from appeals.files import private_folder, write_private

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
csrf = CSRFProtect()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        "appeals",
        instance_path=os.environ.get("APPEALS_INSTANCE", str(db.DEFAULT_INSTANCE)),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(Path(__file__).parent / "static"),
    )
    app.config.from_mapping(
        SECRET_KEY=None,
        DATABASE_URL=None,
        MAX_CONTENT_LENGTH=200 * 1024 * 1024,
    )
    app.config.from_prefixed_env("APPEALS")
    if test_config:
        app.config.update(test_config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = db.default_url(app.instance_path)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    app.teardown_appcontext(_close_session)
    _init_web(app)
    return app


def _init_web(app: Flask) -> None:
    """Extensions, the security gate and the blueprints (imported here: they use get_session)."""
    from appeals.web import (
        admin,
        auth,
        denials,
        documentation,
        errors,
        followups,
        format,
        htmx,
        imports,
        letter_settings,
        letters,
        maintenance,
        model,
        outcomes,
        queue,
        reasons,
        reports,
        security,
        serving,
    )

    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    # Flask's defaults already hold these keys (SameSite None, Secure off): setdefault would not do.
    app.config["SESSION_COOKIE_SAMESITE"] = app.config["SESSION_COOKIE_SAMESITE"] or "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config["PREFERRED_URL_SCHEME"] == "https":  # APPEALS_PREFERRED_URL_SCHEME=https
        app.config["SESSION_COOKIE_SECURE"] = True
    csrf.init_app(app)
    modules = (
        serving,  # ProxyFix first: everything after sees the client's address and scheme
        security,
        errors,
        format,
        htmx,
        auth,
        queue,
        denials,
        documentation,
        reasons,
        imports,
        letters,
        letter_settings,
        outcomes,
        maintenance,
        followups,
        model,
        reports,
    )
    for module in (*modules, admin):
        module.init_app(app)


def _instance_secret(folder: Path) -> str:
    """A random secret kept in the instance folder, so sessions survive restarts."""
    path = private_folder(folder) / "secret_key"
    if not path.exists():
        # Written whole under a temporary name, then linked in: a process starting at the same
        # moment reads either no file or the complete key, and only one key wins.
        draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        write_private(draft, secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def get_engine() -> Engine:
    from flask import current_app

    return db.get_engine(current_app.config["DATABASE_URL"])


def record_read(
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit a read (a page view, a download) without making the person wait for the write
    (`audit.ReadTrail`); under test it is stored before the answer goes out."""
    from flask import current_app

    trail = current_app.extensions.get("appeals.read_trail")
    if trail is None:
        trail = current_app.extensions["appeals.read_trail"] = audit.ReadTrail(get_engine())
    trail.add(user_id, action, entity, entity_id, detail)
    if current_app.testing:
        trail.flush()


def get_session() -> Session:
    """One session per request (or CLI command), closed on teardown."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
