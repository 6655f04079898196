"""Shared fixtures: one database per test session, emptied after every test.

The database is SQLite in a temporary folder unless `APPEALS_TEST_DATABASE` names a PostgreSQL
server URL (`make test` runs the suite once each way). On PostgreSQL the suite creates a database
of its own on that server and drops it at the end; when no server answers, the database tests
are skipped with the reason, except in CI (`CI` set), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from appeals import db

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def instance_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Trained models and other instance files go to a temporary folder, never the project's."""
    folder = tmp_path_factory.mktemp("instance")
    before = os.environ.get("APPEALS_INSTANCE")
    os.environ["APPEALS_INSTANCE"] = str(folder)
    yield folder
    if before is None:
        del os.environ["APPEALS_INSTANCE"]
    else:
        os.environ["APPEALS_INSTANCE"] = before


def _postgres_url() -> str | None:
    return os.environ.get("APPEALS_TEST_DATABASE") or None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = _postgres_url()
    if not server:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    name = f"appeals_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(db.normalise_url(server), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            # A test database needs no commit to wait for its WAL flush (minutes per suite).
            connection.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except sa.exc.OperationalError as error:
        if os.environ.get("CI"):
            raise  # CI must test PostgreSQL for real
        reason = str(error.orig or error).splitlines()[0]
        pytest.skip(f"PostgreSQL not reachable at {server} ({reason}): database tests skipped")
    url = make_url(db.normalise_url(server)).set(database=name).render_as_string(False)
    try:
        yield url
    finally:
        db.dispose_engine(url)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_database(engine: Engine) -> None:
    tables = [t for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # TRUNCATE costs ~3 ms a table even when empty: only the filled ones (one query finds
            # them), then every id sequence back to 1 (a rolled-back insert moves one too).
            filled = connection.execute(
                sa.text(
                    " UNION ALL ".join(
                        f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")"
                        for t in tables
                    )
                )
            ).scalars()
            names = ", ".join(f'"{name}"' for name in filled)
            if names:
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            connection.execute(
                sa.text(
                    "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
                )
            )
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The upgraded test database, emptied after the test."""
    engine = db.get_engine(database_url)
    try:
        yield engine
    finally:
        empty_database(engine)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def cli(engine: Engine, database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run an `appeals ...` command against the test database: `cli("import", path)`."""
    from appeals import create_app
    from appeals.cli import main

    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret"})
    runner = app.test_cli_runner()

    def invoke(*args: str, **kwargs):  # type: ignore[no-untyped-def]
        return runner.invoke(main, [str(a) for a in args], **kwargs)

    return invoke
