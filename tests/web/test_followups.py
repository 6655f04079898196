"""The follow-ups page: whose list, practice scope, moving a follow-up date, the nav badge."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals.models import Appeal, AuditEvent, Denial, Note
from tests.web.conftest import HTMX, TODAY, World


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def listed(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(tr["data-denial-id"]) for tr in soup(response).select("#followups-table tbody tr")
            if tr.has_attr("data-denial-id")]  # fmt: skip


def sent(
    session: Session, denial_id: int, *, by: int | None, days_ago: int = 20, overdue: int = 2
) -> Appeal:
    """An appeal sent `days_ago`, whose follow-up date passed `overdue` days ago."""
    denial = session.get(Denial, denial_id)
    assert denial is not None
    denial.status = "appealed"
    appeal = Appeal(
        denial_id=denial_id,
        level=1,
        submitted_on=TODAY - timedelta(days=days_ago),
        method="portal",
        reference="PORTAL-77",
        follow_up_on=TODAY - timedelta(days=overdue),
        sent_by_id=by,
    )
    session.add_all([denial, appeal])
    session.commit()
    return appeal


@pytest.fixture
def due(world: World, session: Session) -> dict[str, Appeal]:
    """Appeals due: two sent by the specialist, one by a colleague, one in practice B."""
    d, u = world.denials, world.users
    return {
        "mohs": sent(session, d["mohs"], by=u["specialist"], overdue=5),
        "excision": sent(session, d["excision"], by=u["specialist"], overdue=1),
        "auth": sent(session, d["auth"], by=u["colleague"]),
        "other_practice": sent(session, d["other_practice"], by=u["outsider"]),
    }


def test_a_specialist_sees_their_own_follow_ups_most_overdue_first(
    specialist: FlaskClient, world: World, due: dict[str, Appeal]
) -> None:
    response = specialist.get("/followups/")
    assert response.status_code == 200
    d = world.denials
    assert listed(response) == [d["mohs"], d["excision"]]
    page = soup(response)
    row = page.select_one(f'tr[data-denial-id="{d["mohs"]}"]')
    assert row is not None and row["data-kind"] == "follow_up"
    text = row.get_text(" ", strip=True)
    for expected in ("Alvarez, Synthetic", "Medicare JK", "Payer portal", "PORTAL-77",
                     "5 days overdue", "No decision by the follow-up date"):  # fmt: skip
        assert expected in text, expected
    link = row.select_one("a.patient")
    assert link is not None and link["href"] == f"/denials/{d['mohs']}"
    assert page.select_one("#whose") is None  # only managers pick whose list
    assert listed(specialist.get("/followups/?who=everyone")) == [d["mohs"], d["excision"]]


def test_a_manager_picks_everyone_or_one_person_within_the_practice(
    manager: FlaskClient, world: World, due: dict[str, Appeal]
) -> None:
    d, u = world.denials, world.users
    assert listed(manager.get("/followups/")) == []  # the manager sent nothing
    everyone = manager.get("/followups/?who=everyone")
    assert listed(everyone) == [d["mohs"], d["auth"], d["excision"]]  # not practice B's
    options = {o["value"] for o in soup(everyone).select("#whose select[name=who] option")}
    assert {"me", "everyone", str(u["specialist"]), str(u["colleague"])} <= options
    assert str(u["outsider"]) not in options
    assert listed(manager.get(f"/followups/?who={u['colleague']}")) == [d["auth"]]
    assert listed(manager.get(f"/followups/?who={u['outsider']}")) == []  # not theirs to pick
    fragment = manager.get("/followups/?who=everyone", headers=HTMX)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'id="followups-table"' in body
    assert "HX-Request" in fragment.headers["Vary"]


def test_an_admin_of_every_practice_sees_every_practice(
    admin: FlaskClient, world: World, due: dict[str, Appeal]
) -> None:
    assert world.denials["other_practice"] in listed(admin.get("/followups/?who=everyone"))


def test_another_practice_sees_neither_the_rows_nor_the_appeals(
    outsider: FlaskClient, world: World, due: dict[str, Appeal], session: Session
) -> None:
    assert listed(outsider.get("/followups/?who=everyone")) == [world.denials["other_practice"]]
    later = (TODAY + timedelta(days=7)).isoformat()
    mohs = due["mohs"]
    response = outsider.post(f"/followups/appeals/{mohs.id}", data={"follow_up_on": later})
    assert response.status_code == 404
    assert (
        outsider.post("/followups/appeals/999999", data={"follow_up_on": later}).status_code == 404
    )
    session.expire_all()
    assert session.get(Appeal, mohs.id).follow_up_on == mohs.follow_up_on  # type: ignore[union-attr]


def test_a_promise_from_a_payer_call_is_listed(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    cosmetic = world.denials["cosmetic"]
    session.add(
        Note(denial_id=cosmetic, author_id=world.users["specialist"], kind="call", body="x",
             call_date=TODAY - timedelta(days=9), call_person="Pat",
             follow_up_on=TODAY - timedelta(days=2))
    )  # fmt: skip
    session.commit()
    page = soup(specialist.get("/followups/"))
    row = page.select_one(f'tr[data-denial-id="{cosmetic}"]')
    assert row is not None and row["data-kind"] == "promise"
    assert f"Payer promised by {TODAY - timedelta(days=2):%m/%d/%Y}" in row.get_text()
    assert row.select_one("form.snooze") is None  # no appeal to move


def test_moving_the_follow_up_date_needs_the_csrf_token(
    csrf_client: FlaskClient, due: dict[str, Appeal], session: Session
) -> None:
    later = (TODAY + timedelta(days=7)).isoformat()
    mohs = due["mohs"]
    response = csrf_client.post(f"/followups/appeals/{mohs.id}", data={"follow_up_on": later})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Appeal, mohs.id).follow_up_on == mohs.follow_up_on  # type: ignore[union-attr]


def test_moving_the_follow_up_date_takes_the_row_off_and_is_audited(
    specialist: FlaskClient, world: World, due: dict[str, Appeal], session: Session
) -> None:
    mohs = due["mohs"]
    page = soup(specialist.get("/followups/"))
    form = page.select_one(f'tr[data-appeal-id="{mohs.id}"] form.snooze')
    assert form is not None and form["hx-post"] == f"/followups/appeals/{mohs.id}"
    assert form["hx-target"] == "closest tr" and form.select_one("input[name=csrf_token]")
    later = TODAY + timedelta(days=10)
    response = specialist.post(
        form["hx-post"], data={"follow_up_on": later.isoformat()}, headers=HTMX
    )
    assert response.status_code == 200
    row = soup(response).select_one("tr.moved")
    assert row is not None and row.select_one(f'[data-follow-up-on="{later.isoformat()}"]')
    assert "followups-changed" in response.headers["HX-Trigger"]
    session.expire_all()
    assert session.get(Appeal, mohs.id).follow_up_on == later  # type: ignore[union-attr]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "update")).one()
    assert (event.user_id, event.entity, event.entity_id) == (
        world.users["specialist"],
        "denial",
        world.denials["mohs"],
    )
    assert json.loads(event.detail) == {"fields": ["follow_up_on"], "appeal_id": mohs.id}
    assert "Alvarez" not in event.detail
    assert listed(specialist.get("/followups/")) == [world.denials["excision"]]


def test_without_htmx_the_move_redirects_back_to_the_same_list(
    manager: FlaskClient, due: dict[str, Appeal]
) -> None:
    later = (TODAY + timedelta(days=3)).isoformat()
    response = manager.post(
        f"/followups/appeals/{due['auth'].id}", data={"follow_up_on": later, "who": "everyone"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/followups/?who=everyone"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "Enter a date as YYYY-MM-DD."),
        ((TODAY - timedelta(days=1)).isoformat(), "The follow-up date is in the past."),
        ("", "Enter the new follow-up date."),
    ],
)
def test_an_invalid_date_is_refused_beside_the_field(
    specialist: FlaskClient, due: dict[str, Appeal], session: Session, value: str, message: str
) -> None:
    mohs = due["mohs"]
    url = f"/followups/appeals/{mohs.id}"
    response = specialist.post(url, data={"follow_up_on": value}, headers=HTMX)
    assert response.status_code == 422
    row = soup(response).select_one(f'tr[data-appeal-id="{mohs.id}"]')
    assert row is not None
    error = row.select_one(f"#follow_up_on-{mohs.id}-error")
    assert error is not None and error.get_text() == message
    field = row.select_one("input[name=follow_up_on]")
    assert field["aria-invalid"] == "true" and field["value"] == value
    page = specialist.post(url, data={"follow_up_on": value})  # without JavaScript: the page
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)
    assert soup(page).select_one(f"#follow_up_on-{mohs.id}-error").get_text() == message
    session.expire_all()
    assert session.get(Appeal, mohs.id).follow_up_on == mohs.follow_up_on  # type: ignore[union-attr]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "update")).all() == []


def test_the_nav_badge_counts_my_follow_ups(
    specialist: FlaskClient, manager: FlaskClient, due: dict[str, Appeal]
) -> None:
    page = soup(specialist.get("/queue"))
    badge = page.select_one("header nav a[href='/followups/'] #followups-badge")
    assert badge is not None and badge["data-due"] == "2" and badge.get_text() == "2"
    assert badge["hx-trigger"] == "followups-changed from:body"
    refreshed = soup(specialist.get("/followups/badge", headers=HTMX))
    assert refreshed.select_one("#followups-badge")["data-due"] == "2"
    assert soup(manager.get("/queue")).select_one("#followups-badge")["data-due"] == "0"
