"""`appeals demo` builds into the database `DATABASE_URL` names (SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from appeals import create_app, db
from appeals.cli import main
from appeals.models import Denial, User


@pytest.mark.slow
def test_demo_honours_database_url(
    database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    app = create_app({"TESTING": True, "SECRET_KEY": "test"})
    app.instance_path = str(tmp_path)
    args = ["demo", "--no-serve", "--months", "2", "--claims-per-month", "60", "--yes"]
    result = app.test_cli_runner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert app.config["DATABASE_URL"] == db.normalise_url(database_url)
    assert not (tmp_path / "demo.db").exists()
    with Session(db.get_engine(database_url)) as session:
        assert session.exec(select(func.count()).select_from(Denial)).one() > 0
        assert session.exec(select(func.count()).select_from(User)).one() == 3
