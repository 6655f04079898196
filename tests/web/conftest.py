"""Web fixtures: the app on the test database, a small world of denials, and personas.

CSRF protection stays on in every web test. Persona clients log in through the real form and
then send the CSRF token in the `X-CSRFToken` header (as htmx does); `anonymous` and
`csrf_client` send none, for the refusal tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appeals import ranking, users
from appeals.models import Denial, User
from appeals.web import create_app, maintenance
from tests.factories import make_claim, make_payer, make_practice

PASSWORD = "correct-horse-battery"
TODAY = date.today()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashing stays real, but with few iterations: every test logs people in."""
    monkeypatch.setattr(users, "HASH_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def app(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        }
    )
    # Today's rescore counts as done: it would run, with a report refresh, before each test's
    # first request (most of a web test's time). test_maintenance.py runs it on other days.
    app.extensions["appeals.rescored_on"] = {"day": maintenance.today()}
    yield app


@dataclass
class World:
    """Two practices, two payers, denials of every kind, and four people."""

    practice_a: int
    practice_b: int
    medicare: int
    acme: int
    users: dict[str, int] = field(default_factory=dict)
    denials: dict[str, int] = field(default_factory=dict)


def add_denial(
    session: Session,
    practice,  # type: ignore[no-untyped-def]
    payer,  # type: ignore[no-untyped-def]
    *,
    last: str,
    first: str = "Synthetic",
    account: str,
    claim_number: str = "",
    procedure: str = "11602",
    modifiers: str = "",
    group: str = "CO",
    carc: str = "50",
    rarc: str = "",
    category: str = "medical_necessity",
    amount: str = "100.00",
    priority: float = 10.0,
    deadline_days: int | None = 60,
    denied_days_ago: int = 10,
    status: str = "new",
    service_date: date | None = None,
) -> Denial:
    """One denied line with the fields the importer and ranking would fill."""
    made = make_claim(
        session,
        [
            {
                "procedure": procedure,
                "modifiers": modifiers,
                "charge": amount,
                "adjustments": [(group, carc, amount)],
                "rarcs": [rarc] if rarc else [],
            },
            {"procedure": "99213", "charge": "80.00", "paid": "60.00"},
        ],
        practice=practice,
        payer=payer,
        patient_control_number=account,
        service_date=service_date or TODAY - timedelta(days=40),
        category=category,
    )
    made.claim.patient_last_name = last
    made.claim.patient_first_name = first
    made.claim.payer_claim_control_number = claim_number
    session.add(made.claim)
    denial = made.denials[0]
    denial.group_code = group
    denial.carc = carc
    denial.carcs = carc
    denial.rarc = rarc
    denial.rarcs = rarc
    denial.denied_amount = Decimal(amount)
    denial.deadline = None if deadline_days is None else TODAY + timedelta(days=deadline_days)
    denial.denied_on = TODAY - timedelta(days=denied_days_ago)
    denial.level_notice_on = denial.denied_on
    denial.payer_type = payer.payer_type
    denial.status = status
    session.add(denial)
    score = ranking.score_of(session, denial.id or 0)
    score.priority = priority
    score.probability = 0.5
    score.expected_recovery = (Decimal(amount) / 2).quantize(Decimal("0.01"))
    score.explanation = '["Medical necessity: 50% recovered (category prior)"]'
    session.add(score)
    session.flush()
    return denial


def make_user(session: Session, username: str, role: str, practice_id: int | None) -> User:
    return users.create_user(session, username, PASSWORD, role=role, practice_id=practice_id)


@pytest.fixture
def world(session: Session) -> World:
    a = make_practice(session, "Sunrise Dermatology")
    b = make_practice(session, "Other Skin Clinic")
    medicare = make_payer(session, "medicare", "Medicare JK")
    acme = make_payer(session, "commercial", "Acme Health")
    w = World(a.id or 0, b.id or 0, medicare.id or 0, acme.id or 0)
    d = w.denials
    d["mohs"] = (
        add_denial(
            session,
            a,
            medicare,
            last="Alvarez",
            account="ACC100",
            claim_number="CLM900100",
            procedure="17311",
            carc="50",
            rarc="N115",
            amount="900.00",
            priority=450.0,
            deadline_days=10,
        ).id
        or 0
    )
    d["excision"] = (
        add_denial(
            session,
            a,
            acme,
            last="Baker",
            account="ACC200",
            procedure="11602",
            modifiers="XS",
            carc="97",
            rarc="M15",
            category="bundling_ncci",
            amount="300.00",
            priority=120.0,
            deadline_days=90,
            denied_days_ago=30,
        ).id
        or 0
    )
    d["auth"] = (
        add_denial(
            session,
            a,
            acme,
            last="Chen",
            first="Dana",
            account="ACC300",
            claim_number="CLM900300",
            procedure="96567",
            carc="197",
            category="authorization_precert",
            amount="150.00",
            priority=60.0,
            deadline_days=None,
            denied_days_ago=5,
        ).id
        or 0
    )
    d["cosmetic"] = (
        add_denial(
            session,
            a,
            medicare,
            last="Dubois",
            account="ACC400",
            procedure="17110",
            group="PR",
            carc="96",
            rarc="N130",
            category="noncovered_cosmetic",
            amount="75.00",
            priority=5.0,
            deadline_days=-3,
            status="in_progress",
        ).id
        or 0
    )
    d["won"] = (
        add_denial(
            session,
            a,
            medicare,
            last="Evans",
            account="ACC500",
            carc="50",
            rarc="N115",
            amount="500.00",
            priority=0.0,
            status="won",
        ).id
        or 0
    )
    d["other_practice"] = (
        add_denial(
            session,
            b,
            acme,
            last="Zimmer",
            account="ZZZ900",
            claim_number="CLMB0001",
            carc="50",
            amount="999.00",
            priority=999.0,
        ).id
        or 0
    )
    for name, role, practice in (
        ("specialist", "specialist", w.practice_a),
        ("manager", "manager", w.practice_a),
        ("admin", "admin", None),
        ("outsider", "specialist", w.practice_b),
        ("colleague", "specialist", w.practice_a),
    ):
        w.users[name] = make_user(session, name, role, practice).id or 0
    session.commit()
    return w


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str = "/auth/login") -> str:
    """A CSRF token for the client's session, read from a page's hidden form field."""
    page = client.get(url).get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    """Log in through the form, then send the CSRF header on every request, like htmx."""
    token = csrf_token(client)
    response = client.post(
        "/auth/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/queue")
    return client


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def specialist(app: Flask, world: World) -> FlaskClient:
    return log_in(app.test_client(), "specialist")


@pytest.fixture
def manager(app: Flask, world: World) -> FlaskClient:
    return log_in(app.test_client(), "manager")


@pytest.fixture
def admin(app: Flask, world: World) -> FlaskClient:
    return log_in(app.test_client(), "admin")


@pytest.fixture
def outsider(app: Flask, world: World) -> FlaskClient:
    return log_in(app.test_client(), "outsider")


@pytest.fixture
def csrf_client(app: Flask, world: World) -> FlaskClient:
    """A logged-in specialist whose requests carry no CSRF token unless a test adds one."""
    client = log_in(app.test_client(), "specialist")
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    return client


HTMX = {"HX-Request": "true"}
