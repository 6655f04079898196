"""Alembic environment: runs with the connection `appeals.db.upgrade` hands over."""

from alembic import context
from sqlmodel import SQLModel

import appeals.models  # noqa: F401  (registers every table on the metadata)
from appeals.db import create_engine, default_url

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        engine = context.config.attributes.get("engine") or create_engine(default_url())
        with engine.begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
