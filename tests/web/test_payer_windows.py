"""Payer filing windows on the payer settings page: admins for all practices set them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals import deadlines, payer_windows
from appeals.models import Denial, PayerWindow
from tests.web.conftest import World, csrf_token, log_in, make_user

SOURCE = "Acme provider manual 2026, p. 41"
WINDOW = {
    "payer_type": "commercial",
    "level": "1",
    "days": "45",
    "receipt_days": "0",
    "source": SOURCE,
}


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _commercial(session: Session, world: World, name: str = "excision") -> Denial:
    """A world denial of Acme made a commercial level-1 appeal, its deadline on the defaults."""
    denial = session.get(Denial, world.denials[name])
    assert denial is not None
    denial.payer_type, denial.action = "commercial", "appeal"
    denial.level_notice_on = denial.denied_on
    found = deadlines.deadline_for(denial)
    denial.deadline, denial.deadline_basis = found.due, found.basis
    session.add(denial)
    session.commit()
    return denial


def _practice_admin(app: Flask, world: World, session: Session) -> FlaskClient:
    make_user(session, "practice-admin", "admin", world.practice_a)
    session.commit()
    return log_in(app.test_client(), "practice-admin")


def _window(session: Session) -> PayerWindow:
    session.expire_all()
    return session.exec(select(PayerWindow)).one()


def test_an_admin_sets_a_window_and_the_open_deadlines_move(
    admin: FlaskClient, world: World, session: Session
) -> None:
    denial = _commercial(session, world)
    other = _commercial(session, world, "other_practice")  # same payer, another practice
    _commercial(session, world, "auth")
    assert denial.denied_on is not None
    response = admin.post(f"/settings/payers/{world.acme}/windows", data=WINDOW)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/settings/payers/{world.acme}#windows")
    session.expire_all()
    for d in (denial, other):
        fresh = session.get(Denial, d.id)
        assert fresh is not None and fresh.denied_on is not None
        assert fresh.deadline == fresh.denied_on + timedelta(days=45)
        assert SOURCE in fresh.deadline_basis
    medicare = session.get(Denial, world.denials["mohs"])
    assert medicare is not None and medicare.deadline_basis == ""  # another payer: untouched

    page = soup(admin.get(f"/settings/payers/{world.acme}"))
    assert "Saved. 3 open deadlines recomputed." in page.select_one("#flashes").get_text()
    row = page.select_one('#filing-windows tr[data-window="commercial-1"]')
    assert "45 days" in row.select_one('[data-col="own"]').get_text()
    assert row.select_one('[data-col="source"]').get_text().startswith(SOURCE)
    assert page.select_one('#filing-windows tr[data-window="commercial-0"] [data-col="own"]')
    listing = soup(admin.get("/settings/payers"))
    cell = listing.select_one(f'tr[data-payer-id="{world.acme}"] [data-col="windows"]')
    assert cell.get_text() == "1"


def test_invalid_days_are_shown_beside_the_field(
    admin: FlaskClient, world: World, session: Session
) -> None:
    denial = _commercial(session, world)
    bad = WINDOW | {"days": "2000", "source": "<b>manual</b>"}
    response = admin.post(f"/settings/payers/{world.acme}/windows", data=bad)
    assert response.status_code == 422
    form = soup(response).select_one("form[data-window-form]")
    assert "between 1 and 1095" in form.select_one('[data-field="days"] .field-error').get_text()
    assert form.select_one('[data-field="days"] input')["aria-invalid"] == "true"
    assert form.select_one('[data-field="source"] input')["value"] == "<b>manual</b>"
    assert "<b>manual</b>" not in response.get_data(as_text=True)  # escaped
    assert form.select_one('[data-field="source"] .field-error') is None
    assert session.exec(select(PayerWindow)).all() == []
    session.expire_all()
    assert session.get(Denial, denial.id).deadline == denial.deadline  # type: ignore[union-attr]


def test_removing_a_window_restores_the_default(
    admin: FlaskClient, world: World, session: Session
) -> None:
    denial = _commercial(session, world)
    assert admin.post(f"/settings/payers/{world.acme}/windows", data=WINDOW).status_code == 303
    window_id = _window(session).id
    page = soup(admin.get(f"/settings/payers/{world.acme}"))
    assert page.select_one(f'form[data-window-delete="{window_id}"] input[name=csrf_token]')
    response = admin.post(f"/settings/windows/{window_id}/delete")
    assert response.status_code == 303
    session.expire_all()
    assert session.exec(select(PayerWindow)).all() == []
    fresh = session.get(Denial, denial.id)
    assert fresh is not None
    assert (fresh.deadline, fresh.deadline_basis) == (denial.deadline, denial.deadline_basis)
    assert admin.post(f"/settings/windows/{window_id}/delete").status_code == 404


def test_a_practice_admin_reads_the_windows_but_cannot_change_them(
    app: Flask, admin: FlaskClient, world: World, session: Session
) -> None:
    assert admin.post(f"/settings/payers/{world.acme}/windows", data=WINDOW).status_code == 303
    window = _window(session)
    client = _practice_admin(app, world, session)
    page = soup(client.get(f"/settings/payers/{world.acme}"))
    assert page.select_one("#windows-shared") is not None
    assert "45 days" in page.select_one('tr[data-window="commercial-1"]').get_text()
    assert page.select("form[data-window-form], form[data-window-delete]") == []
    changed = WINDOW | {"days": "30"}
    assert client.post(f"/settings/payers/{world.acme}/windows", data=changed).status_code == 403
    assert client.post(f"/settings/windows/{window.id}/delete").status_code == 403
    assert _window(session).days == 45


def test_specialists_and_managers_are_refused(
    specialist: FlaskClient,
    manager: FlaskClient,
    admin: FlaskClient,
    world: World,
    session: Session,
) -> None:
    assert admin.post(f"/settings/payers/{world.acme}/windows", data=WINDOW).status_code == 303
    window = _window(session)
    for client in (specialist, manager):
        assert client.get(f"/settings/payers/{world.acme}").status_code == 403
        changed = WINDOW | {"days": "30"}
        url = f"/settings/payers/{world.acme}/windows"
        assert client.post(url, data=changed).status_code == 403
        assert client.post(f"/settings/windows/{window.id}/delete").status_code == 403
    assert _window(session).days == 45


def test_a_post_without_the_csrf_token_is_refused(
    app: Flask, world: World, session: Session
) -> None:
    client = log_in(app.test_client(), "admin")
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    response = client.post(f"/settings/payers/{world.acme}/windows", data=WINDOW)
    assert response.status_code == 400
    assert session.exec(select(PayerWindow)).all() == []
    token = csrf_token(client, f"/settings/payers/{world.acme}")  # the form's own field
    response = client.post(
        f"/settings/payers/{world.acme}/windows", data=WINDOW | {"csrf_token": token}
    )
    assert response.status_code == 303


def test_anonymous_visitors_are_sent_to_login(
    anonymous: FlaskClient, world: World, session: Session
) -> None:
    response = anonymous.get(f"/settings/payers/{world.acme}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    token = csrf_token(anonymous)
    for url in (f"/settings/payers/{world.acme}/windows", "/settings/windows/1/delete"):
        response = anonymous.post(url, data=WINDOW | {"csrf_token": token})
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/auth/login")
    assert session.exec(select(PayerWindow)).all() == []


def test_a_window_added_meanwhile_by_another_admin_is_updated(
    admin: FlaskClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, calls = payer_windows.save_window, []

    def racing(db, payer_id, values, user_id):  # type: ignore[no-untyped-def]
        calls.append(payer_id)
        if len(calls) == 1:  # the other admin's insert wins the unique constraint
            raise sa.exc.IntegrityError("INSERT INTO payerwindow", {}, Exception("unique"))
        return real(db, payer_id, values, user_id)

    monkeypatch.setattr(payer_windows, "save_window", racing)
    assert admin.post(f"/settings/payers/{world.acme}/windows", data=WINDOW).status_code == 303
    assert calls == [world.acme, world.acme]
    assert _window(session).days == 45
