"""SQLite imports that do not lock everyone out: stage a file's rows, then merge them at once.

SQLite lets one connection write at a time, and a transaction holds that lock from its first
write to its commit. An import that wrote straight into the database held it for its whole run
(parsing, denials, deadlines, priorities: about a minute for 100,000 claims on a busy machine),
and every login and page view (both write a row) waited and then failed.

So on SQLite the importer writes a file's rows into a private staging database first: an
unnamed SQLite file of its own connection, which SQLite deletes as soon as it is opened (no
path, nothing left behind by a crash or `kill -9`). Staged rows get ids above `BASE`, apart from
any stored id; what is already stored is read from the live database through an ordinary
connection (WAL mode: readers never wait for the writer). Changes to stored rows (a later
payment closing an earlier denial, a repeat, a new payer's type) and the audit events are kept
back. Then `Stage.merge` attaches the live database, takes its write lock (`BEGIN IMMEDIATE`),
checks that no other import, practice or payer was stored meanwhile (`generation`), copies
each table with one `INSERT ... SELECT` that moves staged ids to just above the stored ones,
applies what was kept back and commits: the file appears whole or not at all, and the lock is
held for the copy only (a few seconds for 100,000 claims instead of the whole run).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from appeals import models  # noqa: F401  (the tables below live in its metadata)

BASE = 1 << 40  # staged ids are BASE + 1, BASE + 2, ...: above any stored id
# The tables an import writes new rows into, parents first.
STAGED_TABLES = (
    "remittancefile",
    "practice",
    "payer",
    "payment",
    "claim",
    "serviceline",
    "adjustment",
    "remark",
    "denial",
    "denialscore",
    "provideradjustment",
)
# Columns the importer looks staged rows up by (the file's own earlier payments and claims).
_STAGED_INDEXES = (
    ("remittancefile", "sha256"),
    ("practice", "npi"),
    ("practice", "tax_id"),
    ("payer", "identifier"),
    ("payment", "dedupe_key"),
    ("claim", "payer_claim_control_number"),
    ("denial", "patient_control_number"),
)
# Stored rows whose arrival makes a staging stale: what it looked up may have changed.
GENERATION_TABLES = ("remittancefile", "payment", "practice", "payer")
_FLAG = "appeals.staging"
ENABLED = True  # False: every SQLite import writes straight into the database (holding the lock)

Moved = Callable[[str, int], int]  # (table, staged or stored id) → stored id


class Stale(Exception):
    """Another import, practice or payer was stored while the file was staged."""


def stages(engine: Engine) -> bool:
    """Whether imports into `engine` are staged: a SQLite database in a file."""
    database = engine.url.database or ""
    return (
        ENABLED
        and engine.dialect.name == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
    )


def is_staging(connection: Connection) -> bool:
    """Whether `connection` writes into a staging database (ids are then allocated from BASE)."""
    return bool(connection.info.get(_FLAG))


def generation(connection: Connection) -> tuple[int, ...]:
    """The largest id of each of `GENERATION_TABLES`: changes when one of them gets a row."""
    parts = [
        sa.select(
            sa.func.coalesce(sa.func.max(SQLModel.metadata.tables[name].c.id), 0)
        ).scalar_subquery()
        for name in GENERATION_TABLES
    ]
    return tuple(connection.execute(sa.select(*parts)).one())


class Stage:
    """A private staging database for one file, and its merge into the live one."""

    def __init__(self, engine: Engine) -> None:
        self.path = engine.url.database or ""
        self.tables = [SQLModel.metadata.tables[name] for name in STAGED_TABLES]

    def __enter__(self) -> Stage:
        # "" is an unnamed on-disk database, deleted by SQLite when opened; autocommit mode,
        # so that the merge can manage its own transaction (ATTACH needs none open).
        self.raw = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=OFF",  # a throwaway database: no rollback journal, no syncs
            "synchronous=OFF",
            "busy_timeout=10000",
        ):
            self.raw.execute(f"PRAGMA {pragma}")
        self.engine = sa.create_engine(
            "sqlite://", creator=lambda: self.raw, poolclass=StaticPool, hide_parameters=True
        )
        self.connection = self.engine.connect()
        self.connection.info[_FLAG] = True
        metadata = sa.MetaData()
        for table in self.tables:
            copy = sa.Table(
                table.name,
                metadata,
                *(sa.Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns),
            )
            for name, column in _STAGED_INDEXES:
                if name == table.name:
                    sa.Index(f"ix_stage_{name}_{column}", copy.c[column])
        metadata.create_all(self.connection)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.connection.close()
        self.engine.dispose()
        self.raw.close()

    def merge(
        self, mark: Sequence[int], apply: Callable[[Connection, Moved], None]
    ) -> dict[str, int]:
        """Copy the staged rows into the live database in one transaction under its write lock.

        `mark` is the `generation` read before staging began: if it moved, nothing is written and
        `Stale` is raised. `apply(connection, moved)` then makes the changes kept back, through
        `connection` (the live tables). Returns each table's id offset (stored id = staged id -
        BASE + offset; a denial score's id moves by its denial's).
        """
        connection = self.connection
        connection.exec_driver_sql("ATTACH DATABASE ? AS live", (self.path,))
        try:
            connection.exec_driver_sql("PRAGMA live.synchronous=NORMAL")
            # No per-row foreign key checks: the copy's references are the importer's own
            # (staged parents moved with their rows; stored practices, payers and users, which
            # are never deleted; the generation check below covers new ones), and checking
            # each again nearly doubled the time the lock is held.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            # 64 MiB of page cache: a 100,000-claim merge took as long as with 256 MiB
            # (2.4 s), and the import's peak memory fell by 40 MB.
            connection.exec_driver_sql("PRAGMA live.cache_size=-65536")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                offsets = self._copy(connection, mark)
                connection.info[_FLAG] = False  # from here on, ids are the live database's
                connection.execution_options(schema_translate_map={None: "live"})

                def moved(table: str, row_id: int) -> int:
                    return row_id - BASE + offsets[table] if row_id > BASE else row_id

                apply(connection, moved)
                connection.exec_driver_sql("COMMIT")
            except BaseException:
                if not self.raw.in_transaction:
                    raise
                connection.exec_driver_sql("ROLLBACK")
                raise
        finally:
            connection.execution_options(schema_translate_map=None)
            connection.exec_driver_sql("DETACH DATABASE live")
        return offsets

    def _copy(self, connection: Connection, mark: Sequence[int]) -> dict[str, int]:
        live = self.live_generation(connection)
        if tuple(live) != tuple(mark):
            raise Stale
        quote = connection.dialect.identifier_preparer.quote
        offsets: dict[str, int] = {}
        for table in self.tables:
            found = connection.exec_driver_sql(
                f"SELECT max(id) FROM live.{quote(table.name)}"
            ).scalar()
            offsets[table.name] = int(found or 0)
        for table in self.tables:
            columns = ", ".join(quote(c.name) for c in table.columns)
            values = ", ".join(self._moved(c, offsets, quote) for c in table.columns)
            connection.exec_driver_sql(
                f"INSERT INTO live.{quote(table.name)} ({columns}) "
                f"SELECT {values} FROM main.{quote(table.name)} ORDER BY id"
            )
        return offsets

    @staticmethod
    def live_generation(connection: Connection) -> tuple[int, ...]:
        quote = connection.dialect.identifier_preparer.quote
        return tuple(
            int(connection.exec_driver_sql(f"SELECT max(id) FROM live.{quote(name)}").scalar() or 0)
            for name in GENERATION_TABLES
        )

    @staticmethod
    def _moved(column: sa.Column[Any], offsets: dict[str, int], quote: Callable[[str], str]) -> str:
        """SQL moving `column`'s staged ids (its own, or a staged parent's) to stored ones."""
        name = quote(column.name)
        parents = [key.column.table.name for key in column.foreign_keys]
        if parents and parents[0] in offsets:
            target = parents[0]  # a staged parent's id (a denial score's id is its denial's)
        else:
            target = column.table.name if column.primary_key else ""
        if not target:
            return name
        shift = offsets[target] - BASE
        return f"CASE WHEN {name} > {BASE} THEN {name} + ({shift}) ELSE {name} END"
