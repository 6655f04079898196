"""Letter settings: the letterhead and payer appeal addresses, admin only, validated, audited."""

from __future__ import annotations

import base64
import io
import json

from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals.models import AuditEvent, PayerAppealAddress, Practice
from tests.web.conftest import World

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PRACTICE = {
    "name": "Sunrise Dermatology",
    "npi": "1234567893",
    "tax_id": "12-3456789",
    "address_line1": "1 Sun Way",
    "city": "Austin",
    "state": "tx",
    "postal_code": "78701",
    "phone": "512-555-0100",
    "signer_name": "Ana Ruiz",
    "signer_title": "Billing Manager",
}
ADDRESS = {
    "product_line": "medicare",
    "department": "Redeterminations",
    "address_line1": "PO Box 6704",
    "city": "Fargo",
    "state": "ND",
    "postal_code": "58108-6704",
    "fax": "701-555-0199",
    "portal_url": "https://portal.example.org",
    "reviewed_on": "2026-01-15",
    "notes": "From the MAC's appeals page",
}


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def audit_events(session: Session, entity: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.entity == entity)).all())


def test_only_admins_reach_the_settings(
    specialist: FlaskClient, manager: FlaskClient, admin: FlaskClient, world: World
) -> None:
    for client in (specialist, manager):
        assert client.get("/settings/practice").status_code == 403
        assert client.get("/settings/payers").status_code == 403
        assert (
            client.post(f"/settings/payers/{world.medicare}/addresses", data=ADDRESS).status_code
            == 403
        )
    assert admin.get("/settings/practice").status_code == 200
    assert admin.get("/settings/payers").status_code == 200


def test_the_letterhead_is_validated_beside_each_field(admin: FlaskClient, world: World) -> None:
    url = f"/settings/practice/{world.practice_a}"
    data = {
        **PRACTICE,
        "npi": "1234567890",
        "postal_code": "787",
        "logo": (io.BytesIO(b"GIF89a"), "l.gif"),
    }
    response = admin.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = soup(response)
    for name, text in (("npi", "check digit"), ("postal_code", "ZIP"), ("logo", "PNG or JPEG")):
        assert text in page.select_one(f'[data-field="{name}"] .field-error').get_text()
    assert page.select_one('[data-field="npi"] input')["value"] == "1234567890"


def test_saving_the_letterhead_updates_the_practice_and_audits_field_names(
    admin: FlaskClient, world: World, session: Session
) -> None:
    url = f"/settings/practice/{world.practice_a}"
    data = {**PRACTICE, "logo": (io.BytesIO(PNG), "logo.png")}
    response = admin.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    session.expire_all()
    practice = session.get(Practice, world.practice_a)
    assert practice is not None
    assert (practice.state, practice.signer_name, practice.logo_mime) == (
        "TX",
        "Ana Ruiz",
        "image/png",
    )
    assert practice.logo == PNG
    events = audit_events(session, "practice")
    assert len(events) == 1
    detail = json.loads(events[0].detail)
    assert "signer_name" in detail["fields"] and "logo" in detail["fields"]
    assert "Ana Ruiz" not in events[0].detail
    logo = admin.get(f"/settings/practice/{world.practice_a}/logo")
    assert logo.status_code == 200 and logo.data == PNG and logo.content_type == "image/png"


def test_payer_appeal_addresses_are_added_edited_and_removed(
    admin: FlaskClient, world: World, session: Session
) -> None:
    base = f"/settings/payers/{world.medicare}"
    bad = {**ADDRESS, "address_line1": "", "fax": "", "portal_url": "http://insecure.example"}
    response = admin.post(f"{base}/addresses", data=bad)
    assert response.status_code == 422
    form = soup(response).select_one('form[data-address="new"]')
    assert "https://" in form.select_one('[data-field="portal_url"] .field-error').get_text()

    assert admin.post(f"{base}/addresses", data=ADDRESS).status_code == 303
    address = session.exec(select(PayerAppealAddress)).one()
    assert (address.product_line, address.postal_code) == ("medicare", "58108-6704")
    assert str(address.reviewed_on) == "2026-01-15"
    page = soup(admin.get(base))
    assert page.select_one(f"#address-{address.id} input[name=city]")["value"] == "Fargo"

    changed = {**ADDRESS, "city": "Bismarck"}
    assert admin.post(f"/settings/addresses/{address.id}", data=changed).status_code == 303
    session.expire_all()
    assert session.get(PayerAppealAddress, address.id).city == "Bismarck"  # type: ignore[union-attr]

    assert admin.post(f"/settings/addresses/{address.id}/delete").status_code == 303
    session.expire_all()
    assert session.exec(select(PayerAppealAddress)).all() == []
    actions = [(e.action, json.loads(e.detail)) for e in audit_events(session, "payer")]
    assert [a for a, _ in actions] == ["create", "update", "update"]
    assert actions[1][1]["fields"] == ["city"]
    assert "deleted_address" in actions[2][1]
