"""The Appeal panel: recording a sending, a decision, the next level; batch sending."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals import lifecycle
from appeals.models import Appeal, AuditEvent, Denial
from tests.web.conftest import HTMX, TODAY, World


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def sent_on(days_ago: int = 2) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def send(client: FlaskClient, denial_id: int, **fields: str):  # type: ignore[no-untyped-def]
    data = {"sent_on": sent_on(), "method": "fax", "reference": "FAX-77", **fields}
    return client.post(f"/denials/{denial_id}/appeal/send", data=data, headers=HTMX)


def test_sending_needs_a_method_and_says_so_beside_the_field(
    specialist: FlaskClient, world: World
) -> None:
    refused = send(specialist, world.denials["mohs"], method="")
    assert refused.status_code == 422
    assert "Choose how it was sent" in soup(refused).select_one("#method-error").get_text()
    future = send(specialist, world.denials["mohs"], sent_on=(TODAY + timedelta(1)).isoformat())
    assert "future" in soup(future).select_one("#sent_on-error").get_text()


def test_sending_records_the_appeal_and_updates_the_page(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    response = send(specialist, world.denials["mohs"])
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("#appeal-levels li[data-level='1']") is not None
    assert page.select_one("#decision-form") is not None
    assert page.select_one("#workflow[hx-swap-oob]").select_one("#current-status").get_text() == (
        "Appealed"
    )
    assert "sent" in page.select_one("#deadline-box[hx-swap-oob]").get_text()
    assert "denial-changed" in response.headers["HX-Trigger"]
    findings = soup(specialist.get(f"/denials/{world.denials['mohs']}/findings", headers=HTMX))
    assert findings.select_one("h2").get_text() == "Waiting for the payer's decision"
    appeal = session.exec(select(Appeal)).one()
    user = world.users["specialist"]
    assert (appeal.method, appeal.reference, appeal.sent_by_id) == ("fax", "FAX-77", user)
    assert appeal.follow_up_on == TODAY - timedelta(2) + timedelta(60)  # Medicare: 60 days
    history = soup(specialist.get(f"/denials/{world.denials['mohs']}/history", headers=HTMX))
    assert "sent the level 1 appeal" in history.get_text()


def test_a_partial_decision_without_an_amount_is_refused_beside_the_field(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial_id = world.denials["mohs"]
    send(specialist, denial_id)
    url = f"/denials/{denial_id}/appeal/decision"
    refused = specialist.post(
        url, data={"outcome": "partial", "decided_on": sent_on(1)}, headers=HTMX
    )
    assert refused.status_code == 422
    assert soup(refused).select_one("#amount-error").get_text() == (
        "A partial win needs the amount recovered."
    )
    ok = specialist.post(
        url, data={"outcome": "partial", "decided_on": sent_on(1), "amount": "400.00"}, headers=HTMX
    )
    assert ok.status_code == 200
    session.expire_all()
    denial = session.get(Denial, denial_id)
    assert denial is not None
    assert (denial.status, denial.recovered_amount) == ("partial", Decimal("400.00"))
    page = soup(specialist.get(f"/denials/{denial_id}"))
    assert "$400.00 recovered" in page.select_one("#deadline-box").get_text()
    assert page.select_one("#recommendation h2").get_text().startswith("Outcome: Partially won")


def test_a_lost_decision_opens_level_two_with_its_deadline_and_template(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial_id = world.denials["mohs"]  # Medicare
    send(specialist, denial_id)
    decided = TODAY - timedelta(1)
    lost = specialist.post(
        f"/denials/{denial_id}/appeal/decision",
        data={"outcome": "lost", "decided_on": decided.isoformat(), "next_step": "next_level"},
        headers=HTMX,
    )
    assert lost.status_code == 200
    session.expire_all()
    denial = session.get(Denial, denial_id)
    assert denial is not None
    assert (denial.status, denial.appeal_level) == ("in_progress", 2)
    assert denial.deadline == decided + timedelta(days=185)  # reconsideration: 180 + 5 days
    page = soup(specialist.get(f"/denials/{denial_id}"))
    assert "Reconsideration (QIC) by" in page.select_one("#deadline-box").get_text()
    assert "42 CFR 405.962" in page.select_one("#deadline-basis").get_text()
    assert page.select_one("#send-form") is not None
    letter_page = soup(specialist.get(f"/denials/{denial_id}/letter"))
    assert "42 CFR 405.962" in letter_page.select_one("#letter-deadline").get_text()
    chosen = letter_page.select_one("select[name=template] option[selected]")
    assert chosen is not None and chosen["value"] == "second_level"


def test_a_closed_denial_shows_its_outcome_not_a_deadline(
    specialist: FlaskClient, world: World
) -> None:
    page = soup(specialist.get(f"/denials/{world.denials['won']}"))
    box = page.select_one("#deadline-box")
    assert "closed" in box["class"] and "by" not in box.get_text().split()
    assert page.select_one("#recommendation h2").get_text().startswith("Outcome: Won")
    assert page.select_one("#send-form") is None


def test_an_expired_denial_recommends_good_cause_or_write_off(
    specialist: FlaskClient, world: World
) -> None:
    page = soup(specialist.get(f"/denials/{world.denials['cosmetic']}"))  # 3 days past
    assert page.select_one("#recommendation h2").get_text() == (
        "Deadline passed: good cause or write off"
    )
    assert "405.942(b)" in page.select_one("#expired-advice").get_text()


def test_a_plain_form_error_renders_the_page_with_the_error(
    specialist: FlaskClient, world: World
) -> None:
    response = specialist.post(
        f"/denials/{world.denials['mohs']}/appeal/send", data={"sent_on": "yesterday"}
    )
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#sent_on-error").get_text() == "Enter a date as YYYY-MM-DD."
    assert page.select_one("#claim-lines") is not None


def test_sending_in_a_batch_and_the_scope_of_practices(
    specialist: FlaskClient, outsider: FlaskClient, world: World, session: Session
) -> None:
    ids = [world.denials["mohs"], world.denials["excision"]]
    data = {"ids": [str(i) for i in ids], "sent_on": sent_on(), "method": "portal"}
    response = specialist.post("/appeals/send", data={**data, "next": "/queue"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/queue")
    statuses = session.exec(select(Denial.status).where(Denial.id.in_(ids))).all()  # type: ignore[union-attr]
    assert set(statuses) == {"appealed"}
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "appeal_sent")).all()
    assert len(events) == 2 and "Alvarez" not in "".join(e.detail for e in events)
    other = world.denials["other_practice"]
    assert send(outsider, world.denials["mohs"]).status_code == 404
    assert specialist.post("/appeals/send", data={**data, "ids": [str(other)]}).status_code == 404
    assert lifecycle.pending_appeal(session, session.get(Denial, other)) is None  # type: ignore[arg-type]


def test_every_appeal_post_needs_login_and_csrf(
    anonymous: FlaskClient, csrf_client: FlaskClient, world: World
) -> None:
    url = f"/denials/{world.denials['mohs']}/appeal/send"
    assert anonymous.post(url, data={"method": "fax"}).status_code in (302, 303, 400, 401)
    assert csrf_client.post(url, data={"method": "fax"}).status_code == 400
    assert csrf_client.post("/appeals/send", data={"ids": ["1"]}).status_code == 400
