"""A payer call may record the date the payer promised an answer by; it feeds the follow-ups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals.models import Note
from tests.web.conftest import HTMX, TODAY, World


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def call(**changes: str) -> dict[str, str]:
    return {
        "kind": "call",
        "body": "Rep says the appeal is in review",
        "call_date": (TODAY - timedelta(days=3)).isoformat(),
        "call_person": "Pat (provider line)",
    } | changes


def test_a_call_records_the_promised_date_and_shows_it(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial = world.denials["mohs"]
    form = soup(specialist.get(f"/denials/{denial}")).select_one("#notes form")
    assert form is not None and form.select_one(".call-fields input[name=follow_up_on]")
    promised = TODAY + timedelta(days=14)
    response = specialist.post(
        f"/denials/{denial}/notes", data=call(follow_up_on=promised.isoformat()), headers=HTMX
    )
    assert response.status_code == 200
    shown = soup(response).select_one(f'#notes [data-promised-by="{promised.isoformat()}"]')
    assert shown is not None and f"{promised:%m/%d/%Y}" in shown.get_text()
    note = session.exec(select(Note)).one()
    assert note.follow_up_on == promised


def test_the_promised_date_is_optional_and_ignored_on_plain_notes(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    url = f"/denials/{world.denials['mohs']}/notes"
    assert specialist.post(url, data=call(), headers=HTMX).status_code == 200
    later = (TODAY + timedelta(days=5)).isoformat()
    plain = {"kind": "note", "body": "Asked for the op note", "follow_up_on": later}
    assert specialist.post(url, data=plain, headers=HTMX).status_code == 200
    assert [n.follow_up_on for n in session.exec(select(Note)).all()] == [None, None]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("in two weeks", "Enter a date as YYYY-MM-DD."),
        ((TODAY - timedelta(days=4)).isoformat(), "The promised date is before the call."),
    ],
)
def test_a_bad_promised_date_is_explained_beside_the_field(
    specialist: FlaskClient, world: World, session: Session, value: str, message: str
) -> None:
    url = f"/denials/{world.denials['mohs']}/notes"
    response = specialist.post(url, data=call(follow_up_on=value), headers=HTMX)
    assert response.status_code == 422
    page = soup(response)
    error = page.select_one("#follow_up_on-error")
    assert error is not None and error.get_text() == message
    field = page.select_one("input[name=follow_up_on]")
    assert field["aria-invalid"] == "true" and field["value"] == value
    assert session.exec(select(Note)).all() == []


def test_a_promise_due_puts_the_denial_on_the_callers_follow_ups(
    specialist: FlaskClient, world: World
) -> None:
    denial = world.denials["auth"]
    data = call(follow_up_on=(TODAY - timedelta(days=1)).isoformat())
    assert specialist.post(f"/denials/{denial}/notes", data=data, headers=HTMX).status_code == 200
    row = soup(specialist.get("/followups/")).select_one(f'tr[data-denial-id="{denial}"]')
    assert row is not None and row["data-kind"] == "promise"
