"""`appeals demo --no-serve` builds a working demo database from scratch."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from appeals import create_app, db
from appeals.cli import main
from appeals.models import Appeal, Denial, DocumentationFact, PayerAppealAddress, Practice, User
from appeals.practice_settings import (
    ADDRESS_FIELDS,
    PRACTICE_FIELDS,
    validate_address,
    validate_practice,
)


@pytest.mark.slow
def test_demo_builds_a_practice_with_users_and_denials(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)  # else the demo is built there
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "sqlite://"})
    app.instance_path = str(tmp_path)
    runner = app.test_cli_runner()
    args = ["demo", "--no-serve", "--months", "3", "--claims-per-month", "80", "--yes"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Demo users (passwords are shown only now):" in result.output
    assert "specialist  username specialist" in result.output
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Session(db.get_engine(url)) as session:
        assert session.exec(select(func.count()).select_from(Denial)).one() > 5
        assert session.exec(select(func.count()).select_from(DocumentationFact)).one() > 5
        assert session.exec(select(func.count()).select_from(Appeal)).one() > 0
        roles = sorted(u.role for u in session.exec(select(User)))
        assert roles == ["admin", "manager", "specialist"]
        # Seeded settings pass the app's own validation: an admin saving an unrelated field
        # of a demo payer's appeal address is not refused for the seeded portal URL.
        addresses = session.exec(select(PayerAppealAddress)).all()
        assert addresses
        for address in addresses:
            form = {name: str(getattr(address, name) or "") for name in ADDRESS_FIELDS}
            assert validate_address(form)[1] == {}, address.portal_url
            assert address.portal_url.startswith("https://")
        practice = session.exec(select(Practice)).first()
        assert practice is not None
        form = {name: str(getattr(practice, name) or "") for name in PRACTICE_FIELDS}
        assert validate_practice(form)[1] == {}
    # Running it again replaces the demo database instead of adding to it.
    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output
    db.dispose_engine(url)
    with Session(db.get_engine(url)) as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 3
    db.dispose_engine(url)
