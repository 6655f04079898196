"""Server-side sessions: a cookie is only as good as its `UserSession` row.

Every "ended" case replays the cookie the browser had before, as an attacker who copied it
would, and expects the login page.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals import users
from appeals.models import Denial, Note, User, UserSession, utcnow
from tests.web.conftest import HTMX, World, log_in


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, cookie: str, token_header: str) -> FlaskClient:
    """A fresh client that presents a copied session cookie (and the CSRF header it had)."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    thief.environ_base["HTTP_X_CSRFTOKEN"] = token_header
    return thief


def _only_session(session: Session, username: str) -> UserSession:
    user = users.get_by_username(session, username)
    assert user is not None
    session.expire_all()
    return session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()


def _age(session: Session, record: UserSession, **ago: timedelta) -> None:
    for column, delta in ago.items():
        setattr(record, column, utcnow() - delta)
    session.add(record)
    session.commit()


def test_a_cookie_replayed_after_logout_reads_and_writes_nothing(
    app: Flask, specialist: FlaskClient, world: World, session: Session
) -> None:
    cookie, header = _cookie(specialist), specialist.environ_base["HTTP_X_CSRFTOKEN"]
    denial = world.denials["mohs"]
    assert _replay(app, cookie, header).get("/queue").status_code == 200  # a copy works until…
    assert specialist.post("/auth/logout").status_code == 303
    thief = _replay(app, cookie, header)
    response = thief.get("/queue")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    thief = _replay(app, cookie, header)
    response = thief.post(f"/denials/{denial}/notes", data={"kind": "note", "body": "replayed"})
    assert response.status_code in (302, 400)
    assert session.exec(select(Note)).all() == []
    assert _only_session(session, "specialist").end_reason == "logout"


def test_a_cookie_replayed_from_another_device_after_sign_out_everywhere_is_refused(
    app: Flask, world: World
) -> None:
    laptop = log_in(app.test_client(), "specialist")
    phone = log_in(app.test_client(), "specialist")
    cookie, header = _cookie(phone), phone.environ_base["HTTP_X_CSRFTOKEN"]
    assert laptop.post("/auth/logout-everywhere").status_code == 303
    assert _replay(app, cookie, header).get("/queue", headers=HTMX).status_code == 401


def test_the_cookie_holds_a_token_the_database_keeps_only_hashed(
    specialist: FlaskClient, session: Session
) -> None:
    record = _only_session(session, "specialist")
    with specialist.session_transaction() as state:
        token = state["_user_id"]
    assert len(token) >= 40 and token != record.token_hash
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_an_idle_session_ends_and_says_why(specialist: FlaskClient, session: Session) -> None:
    record = _only_session(session, "specialist")
    _age(session, record, last_seen_at=timedelta(minutes=31))
    response = specialist.get("/queue", follow_redirects=True)
    assert "signed out after a period of inactivity" in response.get_data(as_text=True)
    assert _only_session(session, "specialist").end_reason == "idle"
    _age(session, record, last_seen_at=timedelta(0))  # reviving the row does not reopen it
    assert specialist.get("/queue").status_code == 302


def test_the_idle_limit_is_configurable(
    app: Flask, specialist: FlaskClient, session: Session
) -> None:
    app.config["SESSION_IDLE_MINUTES"] = 5
    _age(session, _only_session(session, "specialist"), last_seen_at=timedelta(minutes=6))
    assert specialist.get("/queue").status_code == 302


def test_a_busy_session_still_ends_at_its_absolute_limit(
    specialist: FlaskClient, session: Session
) -> None:
    record = _only_session(session, "specialist")
    _age(session, record, created_at=timedelta(hours=12, minutes=1), last_seen_at=timedelta(0))
    assert specialist.get("/queue").status_code == 302
    assert _only_session(session, "specialist").end_reason == "expired"


def test_last_seen_is_written_at_most_once_a_minute(
    specialist: FlaskClient, session: Session
) -> None:
    record = _only_session(session, "specialist")
    _age(session, record, last_seen_at=timedelta(seconds=20))
    before = _only_session(session, "specialist").last_seen_at
    assert specialist.get("/queue").status_code == 200
    assert _only_session(session, "specialist").last_seen_at == before
    _age(session, record, last_seen_at=timedelta(minutes=2))
    assert specialist.get("/queue").status_code == 200
    assert _only_session(session, "specialist").last_seen_at > utcnow() - timedelta(minutes=1)


def test_a_password_reset_or_disabling_ends_the_users_sessions(
    app: Flask, admin: FlaskClient, world: World, session: Session
) -> None:
    specialist = log_in(app.test_client(), "specialist")
    colleague = log_in(app.test_client(), "colleague")
    assert admin.post(f"/admin/users/{world.users['specialist']}/reset-password").status_code in (
        200,
        303,
    )
    assert admin.post(f"/admin/users/{world.users['colleague']}/disable").status_code in (200, 303)
    assert specialist.get("/queue").status_code == 302
    assert colleague.get("/queue").status_code == 302
    assert _only_session(session, "specialist").end_reason == "password"
    assert _only_session(session, "colleague").end_reason == "disabled"
    assert admin.get("/queue").status_code == 200


def test_the_cli_password_reset_ends_sessions_too(
    app: Flask, world: World, session: Session
) -> None:
    client = log_in(app.test_client(), "manager")
    user = session.get(User, world.users["manager"])
    assert user is not None
    users.set_password(session, user, "another-long-password")
    session.commit()
    assert client.get("/queue").status_code == 302


def test_sessions_not_seen_for_the_retention_period_are_pruned(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    record = _only_session(session, "specialist")
    _age(session, record, last_seen_at=users.SESSION_RETENTION + timedelta(days=1))
    assert users.prune_sessions(session) == 1
    session.commit()
    assert session.exec(select(UserSession)).all() == []
    assert session.get(Denial, world.denials["mohs"]) is not None


def test_a_busy_database_at_the_last_seen_write_does_not_fail_the_page(
    specialist: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appeals.web import auth

    _age(session, _only_session(session, "specialist"), last_seen_at=timedelta(minutes=2))
    real = auth.get_session
    refused: list[bool] = []

    def busy_once() -> Session:
        db = real()
        commit = db.commit

        def refuse() -> None:
            db.commit = commit  # type: ignore[method-assign]
            refused.append(True)
            raise sa.exc.OperationalError("UPDATE user_session", {}, Exception("locked"))

        db.commit = refuse  # type: ignore[method-assign]
        return db

    monkeypatch.setattr(auth, "get_session", busy_once)
    assert specialist.get("/queue").status_code == 200
    assert refused == [True]


def test_pages_do_not_send_the_session_cookie_again(specialist: FlaskClient) -> None:
    """The server ends idle sessions, so the cookie is set at login and not re-signed and sent
    with every page (a tenth of a page's work under load)."""
    response = specialist.get("/queue")
    assert response.status_code == 200
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
