"""Security review regressions: practice scope of admins and import jobs, cookie flags."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from appeals.models import Claim, Denial, PayerAppealAddress, User
from appeals.web import create_app
from tests.web.conftest import HTMX, World, log_in, make_user
from tests.web.test_imports import FIXTURES, finish, upload


def _practice_admin(app: Flask, world: World, session: Session) -> FlaskClient:
    make_user(session, "practice-admin", "admin", world.practice_a)
    session.commit()
    return log_in(app.test_client(), "practice-admin")


def test_a_practice_admin_manages_only_the_practices_users(
    app: Flask, world: World, session: Session
) -> None:
    client = _practice_admin(app, world, session)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "colleague" in page
    assert "outsider" not in page and "Other Skin Clinic" not in page
    outsider = world.users["outsider"]
    before = session.get(User, outsider).password_hash  # type: ignore[union-attr]
    for operation in ("reset-password", "disable"):
        assert client.post(f"/admin/users/{outsider}/{operation}").status_code == 404
    session.expire_all()
    other = session.get(User, outsider)
    assert other is not None and other.active and other.password_hash == before


def test_a_practice_admin_creates_users_only_in_the_practice(
    app: Flask, world: World, session: Session
) -> None:
    client = _practice_admin(app, world, session)
    for name, practice in (("everywhere", ""), ("elsewhere", str(world.practice_b))):
        form = {"username": name, "password": "long-enough-password", "role": "admin"}
        client.post("/admin/users", data=form | {"full_name": "", "practice_id": practice})
        user = session.exec(select(User).where(User.username == name)).first()
        assert user is None or user.practice_id == world.practice_a, name


def test_a_practice_admin_cannot_follow_another_practices_import_job(
    app: Flask, specialist: FlaskClient, world: World, session: Session
) -> None:
    good = (FIXTURES / "derm_initial.835").read_bytes()
    response = upload(specialist, [(good, "derm_initial.835")], headers=HTMX)
    finish(app, specialist, response)
    job_id = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(
        "#import-job"
    )["data-job-id"]
    make_user(session, "other-admin", "admin", world.practice_b)
    session.commit()
    other_admin = log_in(app.test_client(), "other-admin")
    assert other_admin.get(f"/imports/jobs/{job_id}").status_code == 404
    assert log_in(app.test_client(), "admin").get(f"/imports/jobs/{job_id}").status_code == 200


def _session_cookie(client: FlaskClient) -> str:
    cookies = client.get("/auth/login").headers.getlist("Set-Cookie")
    return next(c for c in cookies if c.startswith("session="))


def test_the_session_cookie_is_httponly_and_samesite_lax(anonymous: FlaskClient) -> None:
    cookie = _session_cookie(anonymous)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http (development): a Secure cookie would never return


def test_the_session_cookie_is_secure_when_served_over_https(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    config = {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret"}
    app = create_app(config | {"PREFERRED_URL_SCHEME": "https", "UPLOAD_FOLDER": str(tmp_path)})
    cookie = _session_cookie(app.test_client())
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_csv_export_neutralises_spreadsheet_formulas_from_835_text(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial = session.get(Denial, world.denials["mohs"])
    assert denial is not None
    claim = session.get(Claim, denial.claim_id)
    assert claim is not None
    claim.patient_last_name = '=HYPERLINK("http://evil.example","x")'
    claim.payer_claim_control_number = "+1+cmd|' /C calc'!A0"
    session.add(claim)
    session.commit()
    text = specialist.get("/queue/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    row = next(r for r in rows if r["denial_id"] == str(denial.id))
    assert row["patient"].startswith("'=HYPERLINK(")
    assert row["payer_claim_number"] == "'+1+cmd|' /C calc'!A0"
    texts = ("patient", "account", "payer_claim_number", "payer", "procedure", "assignee")
    assert not any(r[k] and r[k][0] in "=+-@" for r in rows for k in texts)


def test_a_practice_admin_reads_but_cannot_change_the_shared_payer_addresses(
    app: Flask, admin: FlaskClient, world: World, session: Session
) -> None:
    address = {"product_line": "medicare", "address_line1": "PO Box 6704", "city": "Fargo"}
    address |= {"state": "ND", "postal_code": "58108-6704", "department": "Redeterminations"}
    assert (
        admin.post(f"/settings/payers/{world.medicare}/addresses", data=address).status_code == 303
    )
    stored = session.exec(select(PayerAppealAddress)).one()
    client = _practice_admin(app, world, session)
    page = BeautifulSoup(
        client.get(f"/settings/payers/{world.medicare}").get_data(as_text=True), "html.parser"
    )
    assert page.select_one("#addresses-shared") is not None
    assert page.select_one(f'#address-{stored.id} [data-field="city"]').get_text() == "Fargo"
    assert page.select("form[data-address]") == []
    changed = address | {"city": "Elsewhere"}
    for url, data in (
        (f"/settings/payers/{world.medicare}/addresses", address),
        (f"/settings/addresses/{stored.id}", changed),
        (f"/settings/addresses/{stored.id}/delete", {}),
    ):
        assert client.post(url, data=data).status_code == 403, url
    session.expire_all()
    assert [a.city for a in session.exec(select(PayerAppealAddress)).all()] == ["Fargo"]
    editable = admin.get(f"/settings/payers/{world.medicare}").get_data(as_text=True)
    assert 'data-address="new"' in editable and "addresses-shared" not in editable
