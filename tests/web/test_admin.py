"""Users (admins only) and the audit trail (managers and admins)."""

from __future__ import annotations

from datetime import timedelta

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals.models import AuditEvent, User, utcnow
from tests.web.conftest import HTMX, PASSWORD, World, csrf_token, log_in


def test_managers_see_the_audit_trail_but_not_users(manager: FlaskClient, world: World) -> None:
    manager.get(f"/denials/{world.denials['mohs']}")
    page = BeautifulSoup(manager.get("/admin/audit").get_data(as_text=True), "html.parser")
    actions = [tr["data-action"] for tr in page.select("#audit tr[data-action]")]
    assert actions[:2] == ["view", "login"]
    assert manager.get("/admin/users").status_code == 403
    filtered = manager.get("/admin/audit?action=view", headers=HTMX)
    assert "<html" not in filtered.get_data(as_text=True)
    assert (
        len(BeautifulSoup(filtered.get_data(as_text=True), "html.parser").select("tr[data-action]"))
        == 1
    )


def test_practice_managers_see_only_their_staff(app: Flask, manager: FlaskClient) -> None:
    log_in(app.test_client(), "outsider")
    page = BeautifulSoup(manager.get("/admin/audit").get_data(as_text=True), "html.parser")
    users = {tr.select("td")[1].get_text() for tr in page.select("#audit tr[data-action]")}
    assert "outsider" not in users and "manager" in users


def test_admin_creates_users_with_errors_beside_fields(
    admin: FlaskClient, session: Session
) -> None:
    short = admin.post(
        "/admin/users", data={"username": "newbie", "role": "specialist", "password": "short"}
    )
    assert short.status_code == 422
    page = BeautifulSoup(short.get_data(as_text=True), "html.parser")
    assert page.select_one("#password-error") is not None
    created = admin.post(
        "/admin/users",
        data={
            "username": "newbie",
            "role": "manager",
            "password": PASSWORD,
            "full_name": "New Bie",
        },
    )
    assert created.status_code == 200
    user = session.exec(select(User).where(User.username == "newbie")).one()
    assert user.role == "manager" and user.password_hash != PASSWORD
    duplicate = admin.post(
        "/admin/users", data={"username": "newbie", "role": "manager", "password": PASSWORD}
    )
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)


def test_a_password_with_outer_spaces_is_shown_beside_the_password(admin: FlaskClient) -> None:
    response = admin.post(
        "/admin/users",
        data={"username": "spacey", "role": "specialist", "password": f" {PASSWORD} "},
    )
    assert response.status_code == 422
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    error = page.select_one("#password-error")
    assert error is not None and "No spaces" in error.get_text()
    assert page.select_one("#username-error") is None


def test_disabling_ends_the_users_sessions(app: Flask, admin: FlaskClient, world: World) -> None:
    colleague = log_in(app.test_client(), "colleague")
    response = admin.post(f"/admin/users/{world.users['colleague']}/disable", headers=HTMX)
    assert response.status_code == 200
    row = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one("tr")
    assert row["data-active"] == "false"
    assert colleague.get("/queue").status_code == 302


def test_password_reset_shows_the_new_password_once(
    app: Flask, admin: FlaskClient, world: World, session: Session
) -> None:
    response = admin.post(f"/admin/users/{world.users['colleague']}/reset-password", headers=HTMX)
    new = (
        BeautifulSoup(response.get_data(as_text=True), "html.parser")
        .select_one("#new-password code")
        .get_text()
    )
    log_in(app.test_client(), "colleague", new)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "reset_password")).one()
    assert new not in event.detail


def test_admin_cannot_disable_themselves(admin: FlaskClient, world: World) -> None:
    assert admin.post(f"/admin/users/{world.users['admin']}/disable").status_code == 400
    assert admin.post(f"/admin/users/{world.users['admin']}/explode").status_code == 404


def test_specialist_cannot_manage_users(specialist: FlaskClient, world: World) -> None:
    assert (
        specialist.post("/admin/users", data={"username": "x", "password": PASSWORD}).status_code
        == 403
    )
    assert specialist.post(f"/admin/users/{world.users['manager']}/disable").status_code == 403


def _login_status(client: FlaskClient, username: str) -> int:
    data = {"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)}
    return client.post("/auth/login", data=data).status_code


def test_admin_sees_a_locked_account_and_unlocks_it(
    app: Flask, admin: FlaskClient, world: World, session: Session
) -> None:
    colleague = session.get(User, world.users["colleague"])
    assert colleague is not None
    colleague.failed_logins, colleague.lockouts = 5, 1
    colleague.locked_until = utcnow() + timedelta(minutes=15)
    session.add(colleague)
    session.commit()
    assert _login_status(app.test_client(), "colleague") == 429

    row = BeautifulSoup(admin.get("/admin/users").get_data(as_text=True), "html.parser").select_one(
        f"#user-{colleague.id}"
    )
    assert "locked after failed logins" in row.get_text()
    assert row.select_one("form[action$='/unlock']") is not None

    response = admin.post(f"/admin/users/{colleague.id}/unlock", headers=HTMX)
    assert response.status_code == 200
    assert "locked after failed logins" not in response.get_data(as_text=True)
    session.refresh(colleague)
    assert (colleague.failed_logins, colleague.locked_until, colleague.lockouts) == (0, None, 0)
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "unlock")).one()
    log_in(app.test_client(), "colleague")  # asserts the login went through
