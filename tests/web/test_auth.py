"""Login, rate limiting, idle timeout, logout everywhere, the login gate, CSRF and headers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals import users
from appeals.models import AuditEvent, LoginAttempt, User, UserSession, utcnow
from tests.web.conftest import HTMX, PASSWORD, World, csrf_token, log_in

PUBLIC = {"auth.login", "auth.login_post", "static"}


def _example_url(app: Flask, rule) -> str:  # type: ignore[no-untyped-def]
    values = {arg: 1 if "id" in arg and arg != "job_id" else "x" for arg in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_endpoint_but_login_and_static_refuses_anonymous_users(
    app: Flask, anonymous: FlaskClient, world: World
) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = _example_url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = anonymous.open(url, method=method)
            # GETs go to the login page; POSTs without a session fail CSRF or the gate.
            assert response.status_code in (302, 400), (method, url, response.status_code)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/auth/login")
            checked += 1
    assert checked >= 20


def test_htmx_requests_without_a_session_are_sent_to_login(anonymous: FlaskClient) -> None:
    response = anonymous.get("/queue", headers=HTMX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/auth/login")


def test_login_page_is_public_and_sets_security_headers(anonymous: FlaskClient) -> None:
    response = anonymous.get("/auth/login")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.get_data(as_text=True)


def test_it_logs_in_and_records_the_login(app: Flask, world: World, session: Session) -> None:
    client = log_in(app.test_client(), "specialist")
    assert client.get("/queue").status_code == 200
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "login")).all()
    assert [e.user_id for e in events] == [world.users["specialist"]]


def test_wrong_password_is_refused_with_a_message(anonymous: FlaskClient, world: World) -> None:
    token = csrf_token(anonymous)
    response = anonymous.post(
        "/auth/login", data={"username": "specialist", "password": "nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert anonymous.get("/queue").status_code == 302


def test_unknown_usernames_check_a_dummy_hash_of_the_configured_method(session: Session) -> None:
    result = users.authenticate(session, "nobody-here", PASSWORD, "10.0.0.1")
    assert result.user is None and not result.throttled
    assert users.dummy_hash().startswith("pbkdf2:sha256:1000$")  # what the tests configure
    assert users.dummy_hash() is users.dummy_hash()


def test_a_successful_login_prunes_old_attempts(world: World, session: Session) -> None:
    old = utcnow() - users.LOGIN_WINDOW * 5
    session.add(LoginAttempt(username="x", address="10.0.0.2", at=old))
    session.add(LoginAttempt(username="specialist", address="10.0.0.2"))  # recent: kept
    session.commit()
    assert users.authenticate(session, "specialist", "wrong", "10.0.0.2").user is None
    session.commit()
    assert session.exec(select(LoginAttempt).where(LoginAttempt.at == old)).all()  # not yet
    assert users.authenticate(session, "specialist", PASSWORD, "10.0.0.2").user is not None
    session.commit()
    left = session.exec(select(LoginAttempt)).all()
    assert len(left) == 3 and all(a.at > old for a in left)


def test_login_is_rate_limited_per_account(
    anonymous: FlaskClient, world: World, session: Session
) -> None:
    token = csrf_token(anonymous)
    for _ in range(5):
        anonymous.post(
            "/auth/login", data={"username": "manager", "password": "bad", "csrf_token": token}
        )
    response = anonymous.post(
        "/auth/login", data={"username": "manager", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    attempts = session.exec(select(LoginAttempt).where(LoginAttempt.username == "manager")).all()
    assert len(attempts) == 6 and not any(a.succeeded for a in attempts)


def test_login_is_rate_limited_per_address(anonymous: FlaskClient, world: World) -> None:
    token = csrf_token(anonymous)
    for number in range(20):
        anonymous.post(
            "/auth/login",
            data={"username": f"guess{number}", "password": "bad", "csrf_token": token},
        )
    response = anonymous.post(
        "/auth/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429


def test_disabled_accounts_cannot_log_in(
    anonymous: FlaskClient, world: World, session: Session
) -> None:
    user = session.get(User, world.users["colleague"])
    assert user is not None
    user.active = False
    session.add(user)
    session.commit()
    token = csrf_token(anonymous)
    response = anonymous.post(
        "/auth/login", data={"username": "colleague", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 401


def test_next_only_redirects_within_the_site(anonymous: FlaskClient, world: World) -> None:
    token = csrf_token(anonymous)
    data = {"username": "specialist", "password": PASSWORD, "csrf_token": token}
    response = anonymous.post("/auth/login", data=data | {"next": "https://evil.example/x"})
    assert response.headers["Location"] == "/queue"
    anonymous.post("/auth/logout", headers={"X-CSRFToken": csrf_token(anonymous, "/queue")})
    token = csrf_token(anonymous)
    data["csrf_token"] = token
    response = anonymous.post("/auth/login", data=data | {"next": "/reasons/"})
    assert response.headers["Location"] == "/reasons/"


def test_session_expires_after_inactivity(specialist: FlaskClient, session: Session) -> None:
    assert specialist.get("/queue").status_code == 200
    record = session.exec(select(UserSession)).one()
    record.last_seen_at = utcnow() - timedelta(minutes=31)
    session.add(record)
    session.commit()
    response = specialist.get("/queue")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert specialist.get("/queue").status_code == 302


def test_logout_ends_the_session(specialist: FlaskClient) -> None:
    response = specialist.post("/auth/logout")
    assert response.status_code == 303
    assert specialist.get("/queue").status_code == 302


def test_logout_everywhere_ends_every_session_of_the_user(app: Flask, world: World) -> None:
    laptop = log_in(app.test_client(), "specialist")
    phone = log_in(app.test_client(), "specialist")
    other = log_in(app.test_client(), "manager")
    assert laptop.post("/auth/logout-everywhere").status_code == 303
    assert phone.get("/queue").status_code == 302
    assert laptop.get("/queue").status_code == 302
    assert other.get("/queue").status_code == 200


def test_post_without_csrf_token_is_rejected(csrf_client: FlaskClient, world: World) -> None:
    denial = world.denials["mohs"]
    response = csrf_client.post(f"/denials/{denial}/status", data={"status": "in_progress"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    response = csrf_client.post(
        f"/denials/{denial}/status",
        data={"status": "in_progress"},
        headers=HTMX | {"X-CSRFToken": "forged"},
    )
    assert response.status_code == 400


def test_csrf_token_in_header_or_form_is_accepted(csrf_client: FlaskClient, world: World) -> None:
    denial = world.denials["mohs"]
    token = csrf_token(csrf_client, "/queue")
    response = csrf_client.post(
        f"/denials/{denial}/status", data={"status": "in_progress"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 303
    response = csrf_client.post(
        f"/denials/{denial}/status", data={"status": "new", "csrf_token": token}
    )
    assert response.status_code == 303


def test_pages_carry_the_csrf_header_for_htmx(specialist: FlaskClient) -> None:
    page = specialist.get("/queue").get_data(as_text=True)
    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", page)


@pytest.mark.parametrize("url", ["/admin/users", "/admin/audit"])
def test_specialists_cannot_open_admin_pages(specialist: FlaskClient, url: str) -> None:
    assert specialist.get(url).status_code == 403
