"""Engine, sessions and schema upgrades.

SQLite (WAL mode) in the instance folder by default; PostgreSQL through `DATABASE_URL`.
Every entry point calls `get_engine(url)`, which brings the schema to the newest Alembic revision,
so every command works on a fresh, empty database.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from appeals.files import create_private_file, private_folder

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = PROJECT_ROOT / "migrations"
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"

SQLITE_ANALYSIS_LIMIT = 1000  # rows ANALYZE reads per index: approximate, fast statistics

_engines: dict[str, Engine] = {}


def default_url(instance_path: str | os.PathLike[str] | None = None) -> str:
    """`DATABASE_URL` if set, else a SQLite file in the instance folder."""
    if url := os.environ.get("DATABASE_URL"):
        return normalise_url(url)
    folder = private_folder(instance_path or DEFAULT_INSTANCE)
    return f"sqlite:///{folder / 'appeals.db'}"


def normalise_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@contextmanager
def sqlite_page_cache(connection: Connection, mebibytes: int) -> Iterator[None]:
    """A larger page cache on this one SQLite connection while the block runs, then its own
    size again (SQLite frees the pages above it): for a big write whose index pages the usual
    2 MiB would evict and read again, without every pooled connection keeping that much."""
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{mebibytes * 1024}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


def create_engine(url: str) -> Engine:
    """A new engine for `url` with the project's connection settings (no schema work)."""
    url = normalise_url(url)
    # hide_parameters: a SQL error's message never quotes the values (names, account numbers),
    # wherever it ends up (a log, a CLI error line).
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:" and Path(database).parent.is_dir():
            # SQLite would create the file (and its -wal and -shm, which copy its mode) with the
            # umask's permissions: create it owner-only first.
            create_private_file(database)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False}, hide_parameters=True
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class DatabaseUnavailable(Exception):
    """The database cannot be opened (a missing folder, a server that does not answer)."""


def get_engine(url: str | None = None) -> Engine:
    """The shared, upgraded engine for `url` (default: `default_url()`)."""
    url = normalise_url(url or default_url())
    if url not in _engines:
        engine = create_engine(url)
        try:
            upgrade(engine)
        except sa.exc.OperationalError as error:
            engine.dispose()
            shown = sa.engine.make_url(url).render_as_string(hide_password=True)
            reason = str(error.orig or error).strip().splitlines()[0]
            raise DatabaseUnavailable(f"Cannot open the database {shown}: {reason}") from None
        _engines[url] = engine
    return _engines[url]


def dispose_all() -> None:
    """Close every engine's pooled connections (before forking server workers: a connection
    must never be shared between processes). The engines stay usable and reconnect."""
    for engine in _engines.values():
        engine.dispose()


def reset_after_fork() -> None:
    """In a forked server process: drop the pooled connections inherited from the parent
    (without closing them: they are the parent's) so each process opens its own."""
    for engine in _engines.values():
        engine.dispose(close=False)


def dispose_engine(url: str) -> None:
    """Forget and close the engine for `url` (tests drop databases after this)."""
    engine = _engines.pop(normalise_url(url), None)
    if engine is not None:
        engine.dispose()


def bound(dialect: sa.Dialect, column: sa.Column[Any], values: Iterable[Any]) -> list[Any]:
    """The values as the column's type binds them (Money, dates), exactly as SQLAlchemy would
    send them, for driver-level bulk writes. The type's processor runs once per distinct value:
    a batch's amounts and dates repeat, and it is a Python call or two per value."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    values = values if isinstance(values, list | tuple) else list(values)
    if process is None:
        return list(values)
    done = {value: process(value) for value in set(values)}
    return list(map(done.__getitem__, values))


BULK_UPDATE = 200  # from this many rows on, `update_rows` writes in bulk


def update_rows(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Set columns on rows of `table`: each row is a dict of "b_id" (its id) and the columns
    to set, the same columns in every row.

    Many rows: on PostgreSQL a temporary table filled by COPY and one UPDATE ... FROM, so the
    table's statement-level triggers run once rather than once per row (the coding checks'
    28,000 findings of a 100,000-claim file: 3.0 s of row-by-row UPDATEs); on SQLite the
    driver's executemany of values bound once per distinct value (`bound`). Few rows, or under
    a schema translation (the SQLite merge writes through the attached live database, which
    only SQLAlchemy's statements follow): SQLAlchemy's executemany.
    """
    if not rows:
        return
    translated = (connection.get_execution_options().get("schema_translate_map") or {}).get(None)
    if len(rows) < BULK_UPDATE or translated:
        connection.execute(sa.update(table).where(table.c.id == sa.bindparam("b_id")), rows)
        return
    dialect = connection.dialect
    names = [name for name in rows[0] if name != "b_id"]
    ids = [row["b_id"] for row in rows]
    columns = [bound(dialect, table.c[name], [row[name] for row in rows]) for name in names]
    quote = dialect.identifier_preparer.quote
    if dialect.name == "postgresql":
        scratch = quote(f"{table.name}_update")
        declared = ", ".join(
            f"{quote(name)} {table.c[name].type.compile(dialect=dialect)}" for name in names
        )
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {scratch} (id bigint PRIMARY KEY, {declared}) ON COMMIT DROP"
        )
        copy_rows(connection, f"COPY {scratch} FROM STDIN", zip(ids, *columns, strict=True))
        connection.exec_driver_sql(f"ANALYZE {scratch}")  # a join plan sized to the rows
        assignments = ", ".join(f"{quote(name)} = s.{quote(name)}" for name in names)
        connection.exec_driver_sql(
            f"UPDATE {quote(table.name)} AS t SET {assignments} FROM {scratch} AS s "
            "WHERE t.id = s.id"
        )
        connection.exec_driver_sql(f"DROP TABLE {scratch}")
        return
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"UPDATE {quote(table.name)} SET "
        + ", ".join(f"{quote(name)} = {marker}" for name in names)
        + f" WHERE id = {marker}"
    )
    connection.exec_driver_sql(sql, list(zip(*columns, ids, strict=True)))


def copy_rows(connection: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: stream rows (values as `bound` gives them) into `COPY ... FROM STDIN`
    (psycopg 3), inside the connection's transaction. psycopg's own dumpers write COPY's text
    format, so the stored rows are those an INSERT would store. A database error comes out
    wrapped as SQLAlchemy wraps an INSERT's (an IntegrityError stays one), without values."""
    import psycopg

    raw = connection.connection.dbapi_connection
    assert raw is not None
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
    except psycopg.Error as error:
        raise sa.exc.DBAPIError.instance(
            sql, None, error, psycopg.Error, hide_parameters=True, dialect=connection.dialect
        ) from error


def analyze(connection: Connection, tables: Sequence[str] = ()) -> None:
    """Refresh the query planner's statistics for `tables` (default: every table).

    Run where the data changes shape (after an import that doubled the claims): without them
    SQLite guesses that every index is as selective as any other and can pick a poor one.
    SQLite's ANALYZE samples (`analysis_limit`), so it takes well under a second at any size.
    """
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(t) for t in tables)
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        for table in tables or [""]:
            connection.exec_driver_sql(f"ANALYZE {quote(table)}" if table else "ANALYZE")
    else:
        connection.exec_driver_sql(f"ANALYZE {names}")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
