"""835 files into the database.

Each file is one transaction: it imports whole or not at all. A file seen before (same SHA-256)
is skipped, and so is a payment seen before inside another file (same payer, trace number,
amount and date: clearinghouses re-send). Claims stream from the reader and are written in
batches with bulk inserts, so memory stays flat and 100,000 claims import in seconds.

Alongside the rows the importer finds denials (appeals.denials), sets their deadline, runs the
dermatology coding checks on them and ranks them before they are written, links reversals to
the claims they reverse, and closes open denials that a later remittance pays. Every lookup
into what is already stored is set-wise, one query per batch on an index that matches it
(reversals on the payer claim control number, repeats and recoveries on the patient control
number), so a day's file costs the same into a large database as into an empty one. On
PostgreSQL the big tables go in with COPY; the planner's statistics are refreshed when the
claims have doubled (`refresh_statistics`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from operator import attrgetter, itemgetter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from appeals import db, deadlines, findings, heap, lifecycle, ranking, staging
from appeals.denials import DenialDraft, find_denials
from appeals.models import (
    Adjustment,
    Appeal,
    AppState,
    AuditEvent,
    Claim,
    Denial,
    DenialScore,
    Payer,
    Payment,
    Practice,
    ProviderAdjustment,
    Remark,
    RemittanceFile,
    ServiceLine,
)
from appeals.workflow import AWAITING_PAYMENT
from appeals.write_thread import WriteThread, writes_on_thread
from appeals.x12 import X12Error, iter_remittance
from appeals.x12 import model as x12

BATCH = 1000
# PostgreSQL: the tables that take most of an import's rows go in with COPY (see `db.copy_rows`);
# `COPY = False` sends them as pipelined INSERTs instead (the tests compare both).
COPY = True
COPY_TABLES = frozenset({"claim", "serviceline", "adjustment", "remark", "denial", "denialscore"})
# Planner statistics: refreshed when the claims reach ANALYZE_FROM, then each time they double.
ANALYZE_FROM = 1000
ANALYZED_AT = "statistics_claims"  # AppState key: the claim count at the last ANALYZE
STATISTICS_TABLES = (
    "claim",
    "serviceline",
    "adjustment",
    "remark",
    "denial",
    "denialscore",
    "payment",
    "appeal",
    "documentationfact",
)
# Denials a repeat does not attach to: settled with money, or written off.
_SETTLED = ("won", "partial", "written_off")
# PostgreSQL: the advisory lock competing imports take ("835" and the issue that asked for it).
IMPORT_LOCK = 835_0015
WRITES_PENDING = 16  # PostgreSQL: writes handed on at most (about two batches: memory stays flat)
STAGE_ATTEMPTS = 3  # SQLite: stagings of one file before it is imported holding the write lock

Progress = Callable[[int], None]


class ImportRefused(Exception):
    """The file is well formed but may not be imported by this user (another practice's)."""


class _AlreadyStored(Exception):
    """The file, or every payment in it, is already stored: nothing new to import."""

    def __init__(self, payments: int = 0) -> None:
        super().__init__(payments)
        self.payments = payments  # the payments found stored (0: the file itself is)


@dataclass(slots=True)
class FileResult:
    """What happened to one file."""

    name: str
    status: str = "imported"  # imported | duplicate | failed
    error: str = ""
    file_id: int | None = None
    payments: int = 0
    duplicate_payments: int = 0
    claims: int = 0
    lines: int = 0
    denials: int = 0
    denied_amount: Decimal = Decimal("0.00")
    recovered: int = 0
    repeats: int = 0  # lines denied again, recorded on their earlier denial
    recovered_amount: Decimal = Decimal("0.00")
    warnings: int = 0
    by_category: dict[str, list[Any]] = field(default_factory=dict)  # category → [count, dollars]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    user_id: int | None = None,
    practice_id: int | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> FileResult:
    """Import one 835 file in one transaction. Never raises for bad input: see `status`/`error`.

    With `practice_id` (a user who works for one practice) every payment's payee must be that
    practice, or nothing is imported. `progress` is called with the number of bytes read so far.
    """
    path = Path(path)
    shown = name or path.name
    try:
        sha = file_sha256(path)
    except OSError as error:
        return FileResult(shown, "failed", f"{shown}: cannot read the file ({error.strerror})")
    job = _Job(path, shown, sha, user_id, practice_id, progress, today or date.today())
    try:
        result = (
            _import_staged(engine, job) if staging.stages(engine) else _import_direct(engine, job)
        )
    except _AlreadyStored as known:
        return FileResult(name=shown, status="duplicate", duplicate_payments=known.payments)
    except (X12Error, ImportRefused) as error:
        return FileResult(name=shown, status="failed", error=str(error))
    except sa.exc.IntegrityError as error:
        if _file_known(engine, sha):  # the same file, committed by another import meanwhile
            return FileResult(name=shown, status="duplicate")
        return FileResult(name=shown, status="failed", error=_database_error(shown, error))
    except sa.exc.SQLAlchemyError as error:
        return FileResult(name=shown, status="failed", error=_database_error(shown, error))
    except (ArithmeticError, ValueError, OSError) as error:
        return FileResult(name=shown, status="failed", error=f"{shown}: {_described(error)}")
    refresh_statistics(engine)
    return result


@dataclass(slots=True)
class _Job:
    """One file to import and who imports it."""

    path: Path
    name: str
    sha: str
    user_id: int | None
    practice_id: int | None
    progress: Progress | None
    today: date


def _import_direct(engine: Engine, job: _Job) -> FileResult:
    """Import in one transaction on the database itself (PostgreSQL; SQLite as a fallback).

    On PostgreSQL competing imports are serialised by a transaction-level advisory lock taken
    before anything stored is looked at, so a payment two overlapping files share is posted by
    the first to commit and found stored by the other. On SQLite the first write takes the
    database's only write lock, and the payments are looked up after it.
    """
    result = FileResult(name=job.name)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
        if _file_known(connection, job.sha):
            raise _AlreadyStored
        with (
            open(job.path, "rb") as handle,
            heap.frozen(),
            _writes_for(connection) as writes,
            _reader_for(engine, writes) as reader,
        ):
            writer = _Writer(
                connection, result, job.user_id, job.today, writes=writes, reader=reader
            )
            writer.only_practice = job.practice_id
            writer.start_file(job.sha, job.path.stat().st_size)
            writer.run(handle, job.progress)
    return result


@contextmanager
def _writes_for(connection: Connection) -> Iterator[WriteThread | None]:
    """PostgreSQL: a thread for the import's writes (see `appeals.write_thread`); the writes
    still pending when the import fails are dropped before the transaction rolls back."""
    if connection.dialect.name != "postgresql":
        yield None
        return
    with writes_on_thread(WRITES_PENDING) as writes:
        yield writes


@contextmanager
def _reader_for(engine: Engine, writes: WriteThread | None) -> Iterator[Connection | None]:
    """With a write thread: a second connection for the batches' lookups (see `_Writer`)."""
    if writes is None:
        yield None
        return
    with engine.connect() as reader:
        yield reader


def _import_staged(engine: Engine, job: _Job) -> FileResult:
    """SQLite: build the file's rows in a private staging database, then merge them.

    Parsing and row building (nearly all of an import's time) happen without the database's
    write lock; the lock is held only for the final merge, one short transaction. A file staged
    while another import (or a new practice or payer) was stored is staged again, since what it
    looked up may have changed; after `STAGE_ATTEMPTS` it is imported directly, holding the lock.
    """
    for _ in range(STAGE_ATTEMPTS):
        result = FileResult(name=job.name)
        with staging.Stage(engine) as stage, engine.connect() as live:
            mark = staging.generation(live)
            if _file_known(live, job.sha):
                raise _AlreadyStored
            with open(job.path, "rb") as handle, heap.frozen():
                writer = _Writer(stage.connection, result, job.user_id, job.today, live=live)
                writer.only_practice = job.practice_id
                writer.start_file(job.sha, job.path.stat().st_size)
                writer.run(handle, job.progress)
            live.rollback()  # end the read; the merge checks again under the write lock
            try:
                offsets = stage.merge(mark, writer.apply_deferred)
            except staging.Stale:
                continue
        result.file_id = writer.file_id - staging.BASE + offsets["remittancefile"]
        return result
    return _import_direct(engine, job)


def _database_error(name: str, error: sa.exc.SQLAlchemyError) -> str:
    """The database's own first line: no statement, no values (a key's DETAIL line and a bad
    value quoted after a colon are left out; they may come from a patient's claim)."""
    original = getattr(error, "orig", None) or error
    first = _first_line(original)
    if isinstance(error, sa.exc.DataError):
        first = first.split(": ")[0]
    return f"{name}: database error ({type(original).__name__}): {first}"[:500]


def _described(error: BaseException) -> str:
    """`OverflowError: Python int too large ...`: the type and the message before any value."""
    return f"{type(error).__name__}: {_first_line(error).split(': ')[0]}"[:300]


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def refresh_statistics(engine: Engine, *, force: bool = False) -> bool:
    """ANALYZE the imported tables when the claims have doubled since it last ran.

    The data then changed shape (the first big file, a practice's history loaded): the query
    planner's statistics are refreshed so that lookups keep to the indexes that match them.
    Cheap (sampled) and rare; the claim count at the time is kept in `AppState`.
    """
    state = AppState.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        claims = connection.execute(sa.select(sa.func.max(Claim.__table__.c.id))).scalar() or 0
        last = connection.execute(
            sa.select(state.c.value).where(state.c.key == ANALYZED_AT)
        ).scalar()
        before = int(last) if last and last.isdigit() else 0
        if not force and (claims < ANALYZE_FROM or claims < 2 * before):
            return False
        db.analyze(connection, STATISTICS_TABLES)
        marked = connection.execute(
            sa.update(state).where(state.c.key == ANALYZED_AT).values(value=str(claims))
        )
        if not marked.rowcount:
            connection.execute(sa.insert(state).values(key=ANALYZED_AT, value=str(claims)))
    return True


def import_paths(
    engine: Engine,
    paths: Iterable[str | os.PathLike[str]],
    *,
    user_id: int | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> list[FileResult]:
    """Import files and folders (835 files found recursively, in name order)."""
    return [
        import_file(engine, p, user_id=user_id, progress=progress, today=today)
        for p in expand_paths(paths)
    ]


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and _is_remittance(p)))
        else:
            found.append(path)
    return found


def _is_remittance(path: Path) -> bool:
    return path.suffix.lower() in {".835", ".edi", ".txt", ".x12", ".era", ".rmt"}


def _file_known(connection: Connection | Engine, sha: str) -> bool:
    query = sa.select(RemittanceFile.id).where(RemittanceFile.sha256 == sha)
    if isinstance(connection, Engine):
        with connection.connect() as fresh:
            return fresh.execute(query).first() is not None
    return connection.execute(query).first() is not None


def _insert(connection: Connection, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert, returning the new ids in the order of `rows`.

    The ids are allocated first and inserted explicitly, so the rows go in one plain
    executemany: RETURNING with a guaranteed order costs a round trip per row on SQLite.
    """
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    ids = _allocate_ids(connection, table, len(rows))
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    _executemany(connection, table, rows)
    return ids


def _allocate_ids(connection: Connection, table: sa.Table, count: int) -> list[int]:
    """`count` new primary keys for `table`, safe inside the importing transaction.

    PostgreSQL draws them from the table's sequence. SQLite allows one writer at a time and
    the import holds the write lock from its first insert, so the next ids follow max(id).
    """
    if connection.dialect.name == "postgresql":
        query = sa.text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
        )
        return list(connection.execute(query, {"table": table.name, "count": count}).scalars())
    start = connection.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    if staging.is_staging(connection):
        start = max(start, staging.BASE)  # staged ids stand apart from stored ones until merged
    return list(range(start + 1, start + count + 1))


def _insert_plain(connection: Connection, model: type, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if staging.is_staging(connection):
        _insert(connection, model, rows)  # every staged row has an id the merge can move
        return
    _executemany(connection, model.__table__, rows)  # type: ignore[attr-defined]


def _insert_denials(
    connection: Connection, rows: list[dict[str, Any]], scores: list[dict[str, Any]]
) -> None:
    """New denials and their scores (`scores[i]` is `rows[i]`'s, stored under its id)."""
    if not rows:
        return
    if "id" in rows[0]:  # drawn ahead (`Importer.remember`)
        _executemany(connection, Denial.__table__, rows)  # type: ignore[attr-defined]
    else:
        _insert(connection, Denial, rows)
    for row, score in zip(rows, scores, strict=True):
        score["id"] = row["id"]
    _executemany(connection, DenialScore.__table__, scores)  # type: ignore[attr-defined]


def _executemany(connection: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """INSERT rows (dicts with the same keys) in one driver-level executemany.

    Values go through each column type's own bind processor (Money, dates), exactly as
    SQLAlchemy would send them, without building a statement per row: that per-row work is
    most of an import's time otherwise. The work is done column by column: a column's values
    come out at C speed (itemgetter, zip) and only columns with a processor pay a Python call
    per value. A column that is NULL in every row is left out of the INSERT, which stores the
    same NULL (no column has a server default) without the driver adapting each None. On
    PostgreSQL the tables in `COPY_TABLES` take the same values through `COPY ... FROM STDIN`.
    """
    if not rows:
        return
    dialect = connection.dialect
    names = list(rows[0])
    if len(names) == 1:
        columns: list[Iterable[Any]] = [[row[names[0]] for row in rows]]
    else:
        columns = list(zip(*map(itemgetter(*names), rows), strict=True))
    kept = [i for i, column in enumerate(columns) if any(v is not None for v in column)]
    names = [names[i] for i in kept]
    columns = [columns[i] for i in kept]
    for index, name in enumerate(names):
        columns[index] = db.bound(dialect, table.c[name], columns[index])
    quote = dialect.identifier_preparer.quote
    if COPY and dialect.name == "postgresql" and table.name in COPY_TABLES:
        listed = ", ".join(quote(n) for n in names)
        db.copy_rows(
            connection,
            f"COPY {quote(table.name)} ({listed}) FROM STDIN",
            zip(*columns, strict=True),
        )
        return
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    # the plain SQL names its schema as compiled statements would (a staging merge's "live")
    schema = (connection.get_execution_options().get("schema_translate_map") or {}).get(None)
    target = f"{quote(schema)}.{quote(table.name)}" if schema else quote(table.name)
    sql = (
        f"INSERT INTO {target} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join([marker] * len(names))})"
    )
    connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))


def _issues_json(issues: Sequence[x12.Issue]) -> str:
    if not issues:
        return ""
    return json.dumps(
        [{"segment": i.segment, "code": i.code, "message": i.message} for i in issues]
    )


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _PaymentState:
    payment_id: int | None
    practice_id: int
    payer_id: int
    payer_type: str
    payment_date: date | None


class _Writer:
    """Writes the streamed pieces of one file through one connection (one transaction)."""

    def __init__(
        self,
        connection: Connection,
        result: FileResult,
        user_id: int | None,
        today: date,
        *,
        live: Connection | None = None,
        writes: WriteThread | None = None,
        reader: Connection | None = None,
    ):
        """`live`: when set, `connection` is a staging database (see `appeals.staging`) and
        what is already stored is read through `live`; changes to stored rows (recoveries,
        repeats, a payer's type) and the audit events wait in `deferred` for the merge.
        `writes`: a thread that runs the batches' writes (see `later`); `reader` then reads what
        was stored before the file, so that a batch's lookups need not wait for the previous
        batches' writes: the file's own payments, claims and denials are looked up in memory
        beside it (`file_payments`, `file_claims`, `file_denials`)."""
        self._connection = connection
        self._live = live
        self.staged = live is not None
        self.writes = writes
        self.reader = reader
        self.file_claims: dict[str, list[_StoredClaim]] = {}  # by payer claim control number
        self.file_denials: dict[str, list[SimpleNamespace]] = {}  # by patient control number
        self.file_payments: dict[str, int] = {}  # by dedupe key
        self.deferred_recoveries: list[dict[str, Any]] = []
        self.deferred_repeats: list[tuple[int, date | None, int]] = []
        self.deferred_payer_types: dict[int, str] = {}
        # denials this file changed → their status now: closed by payment (stored ones are
        # closed only at the merge when staging, but later payments of the file must see them
        # closed), or moved by a repeat (read through `reader`, they show the status before)
        self.closed: dict[int, str] = {}
        self.result = result
        self.user_id = user_id
        self.today = today
        self.file_id = 0
        self.interchange = ""
        self.payment: _PaymentState | None = None
        self.batch: list[x12.Claim] = []
        self.practices: dict[str, int] = {}
        self.payers: dict[str, tuple[int, str]] = {}
        self.payer_names: dict[int, str] = {}  # as stored (the scores' reasons name the payer)
        self.file_warnings: list[x12.Issue] = []
        self.only_practice: int | None = None
        self.overrides = deadlines.payer_overrides(self.live)
        self.payment_claims: set[int] = set()  # the ids of the current payment's claims

    @property
    def connection(self) -> Connection:
        """The importing connection, once the writes handed to the write thread are done."""
        if self.writes is not None:
            self.writes.drain()
        return self._connection

    @property
    def live(self) -> Connection:
        """Where stored rows are read: the live database when staging, else `connection`."""
        return self._live if self._live is not None else self.connection

    def later(self, write: Callable[[Connection], object]) -> None:
        """Run `write` on the importing connection after the writes before it: on the write
        thread when there is one (this goes on meanwhile), else now."""
        if self.writes is None:
            write(self._connection)
        else:
            self.writes.submit(partial(write, self._connection))

    def insert_later(self, model: type, row: dict[str, Any]) -> int:
        """Insert `row` after the writes before it (`later`) and return its new id at once."""
        row["id"] = self.new_ids(model, 1)[0]
        self.later(partial(_executemany, table=model.__table__, rows=[row]))  # type: ignore[attr-defined]
        return int(row["id"])

    def new_ids(self, model: type, count: int) -> list[int]:
        """`count` new primary keys for `model`, in ascending order. With the write thread they
        are drawn through `reader` (a sequence is outside transactions), so that a batch's rows
        are built while the previous batches are still being written."""
        table = model.__table__  # type: ignore[attr-defined]
        return _allocate_ids(self.reader or self.connection, table, count)

    def looked_up(self, query: sa.Select[Any], own: Iterable[Any]) -> list[Any]:
        """A batch's lookup: with `reader`, what it finds stored before the file, and `own`,
        the rows of the file kept in memory that match (`file_payments`, `file_claims`,
        `file_denials`); else `stored`, where the file's rows written so far are found by the
        query itself."""
        if self.reader is None:
            return self.stored(query)
        return [*self.reader.execute(query), *own]

    def stored(self, query: sa.Select[Any]) -> list[Any]:
        """The rows `query` finds among stored rows and, when staging, this file's staged ones
        (whose ids are all larger)."""
        rows = list(self.live.execute(query))
        if self.staged:
            rows += self.connection.execute(query)
        return rows

    # --- driving ---------------------------------------------------------------------------

    def start_file(self, sha: str, size: int) -> None:
        self.file_id = _insert(
            self.connection,
            RemittanceFile,
            [
                {
                    "name": self.result.name,
                    "sha256": sha,
                    "size_bytes": size,
                    "imported_at": _now(),
                    "imported_by_id": self.user_id,
                    "payment_count": 0,
                    "duplicate_payment_count": 0,
                    "claim_count": 0,
                    "line_count": 0,
                    "denial_count": 0,
                    "warning_count": 0,
                    "warnings": "",
                    "interchange_control_number": "",
                    "checks_pending": False,  # each batch's denials are checked as written
                }
            ],
        )[0]
        self.result.file_id = self.file_id

    def run(self, handle: BinaryIO, progress: Progress | None) -> None:
        for count, item in enumerate(iter_remittance(handle, name=self.result.name)):
            if isinstance(item, x12.Claim):
                if self.payment and self.payment.payment_id is not None:
                    self.batch.append(item)
                    if len(self.batch) >= BATCH:
                        self.flush()
            elif isinstance(item, x12.PaymentHeader):
                self.begin_payment(item)
            elif isinstance(item, x12.PaymentEnd):
                self.end_payment(item)
            if progress and count % 2000 == 0:
                progress(handle.tell())
        if progress:
            progress(handle.tell())
        self.finish()

    def finish(self) -> None:
        r = self.result
        if r.payments == 0 and r.duplicate_payments:
            raise _AlreadyStored(r.duplicate_payments)  # every payment is stored: nothing new
        if r.payments == 0:
            raise X12Error(r.name, 0, "", "no 835 payment found in the file")
        self.connection.execute(
            sa.update(RemittanceFile.__table__)
            .where(RemittanceFile.__table__.c.id == self.file_id)
            .values(
                interchange_control_number=self.interchange,
                payment_count=r.payments,
                duplicate_payment_count=r.duplicate_payments,
                claim_count=r.claims,
                line_count=r.lines,
                denial_count=r.denials,
                warning_count=r.warnings,
                warnings=_issues_json(self.file_warnings[:500]),
            )
        )
        if not self.staged:
            self.audit_import(self.connection, self.file_id)

    def audit_import(self, connection: Connection, file_id: int) -> None:
        r = self.result
        detail = {"file_id": file_id, "claims": r.claims, "denials": r.denials}
        _insert_plain(
            connection,
            AuditEvent,
            [
                {
                    "at": _now(),
                    "user_id": self.user_id,
                    "action": "import",
                    "entity": "file",
                    "entity_id": file_id,
                    "detail": json.dumps(detail),
                }
            ],
        )

    def apply_deferred(self, connection: Connection, moved: staging.Moved) -> None:
        """At the merge, under the write lock: the changes to stored rows that staging kept back.

        `connection` reads and writes the live database; `moved(table, id)` is the stored id of
        a staged row (stored ids pass unchanged).
        """
        for payer_id, payer_type in self.deferred_payer_types.items():
            table = Payer.__table__
            connection.execute(
                sa.update(table)
                .where(table.c.id == payer_id, table.c.payer_type == "other")
                .values(payer_type=payer_type)
            )
        if self.deferred_recoveries:
            closed = [
                {
                    **row,
                    "denial": moved("denial", row["denial"]),
                    "claim": moved("claim", row["claim"]),
                    "staged": row["denial"] > staging.BASE,
                }
                for row in self.deferred_recoveries
            ]
            stored = [row for row in closed if not row["staged"]]
            # a denial someone settled since it was staged stays as they left it
            guarded = self.close_denials(connection, stored, only_awaiting=True)
            kept = {row["denial"] for row in closed if row["staged"]} | guarded
            self.fill_appeals_and_audit(connection, [r for r in closed if r["denial"] in kept])
        if self.deferred_repeats:
            self.record_repeats(
                connection,
                [
                    (moved("denial", denial_id), denied_on, moved("claim", claim_id))
                    for denial_id, denied_on, claim_id in self.deferred_repeats
                ],
            )
        self.audit_import(connection, moved("remittancefile", self.file_id))

    # --- payments --------------------------------------------------------------------------

    def begin_payment(self, header: x12.PaymentHeader) -> None:
        self.interchange = self.interchange or header.interchange_control_number
        self.payment_claims = set()
        practice_id = self.practice_for(header.payee)
        if self.only_practice is not None and practice_id != self.only_practice:
            payee = header.payee.name or header.payee.identifier or "unnamed payee"
            raise ImportRefused(
                f"{self.result.name}: segment {header.segment}: the payee {payee} is not "
                "your practice; ask an administrator to import it"
            )
        payer_id, payer_type = self.payer_for(header)
        key = "|".join(
            [
                self.payer_key(header),
                header.trace_number,
                header.trace_originator,
                str(header.payment_amount),
                header.payment_date.isoformat() if header.payment_date else "",
            ]
        )
        query = sa.select(Payment.id).where(Payment.dedupe_key == key)
        seen = self.looked_up(
            query, [(self.file_payments[key],)] if key in self.file_payments else []
        )
        if seen and header.trace_number:
            self.result.duplicate_payments += 1
            self.payment = _PaymentState(None, practice_id, payer_id, payer_type, None)
            return
        if seen:  # no trace number to go by: keep both, the key only has to be unique
            key = f"{key}|{self.file_id}|{header.segment}"
        payee = header.payee
        payment_id = self.insert_later(
            Payment,
            {
                "file_id": self.file_id,
                "practice_id": practice_id,
                "payer_id": payer_id,
                "dedupe_key": key,
                "transaction_control_number": header.transaction_control_number,
                "handling_code": header.handling_code,
                "amount": header.payment_amount,
                "credit_debit": header.credit_debit,
                "method": header.payment_method,
                "payment_date": header.payment_date,
                "trace_number": header.trace_number,
                "trace_originator": header.trace_originator,
                "payee_name": payee.name,
                "payee_npi": payee.npi,
                "payee_tax_id": payee.tax_id,
                "warnings": "",
            },
        )
        self.file_payments[key] = payment_id
        self.payment = _PaymentState(
            payment_id, practice_id, payer_id, payer_type, header.payment_date
        )
        self.result.payments += 1

    def end_payment(self, end: x12.PaymentEnd) -> None:
        if self.payment is None or self.payment.payment_id is None:
            self.payment = None
            return
        self.flush()
        payment_id = self.payment.payment_id
        plbs = [
            {
                "payment_id": payment_id,
                "provider_id": plb.provider_id,
                "fiscal_period_date": plb.fiscal_period_date,
                "reason": plb.reason,
                "reference": plb.reference,
                "amount": plb.amount,
            }
            for plb in end.provider_adjustments
        ]
        self.later(partial(_insert_plain, model=ProviderAdjustment, rows=plbs))
        if end.warnings:
            self.result.warnings += len(end.warnings)
            self.file_warnings.extend(end.warnings)
            table = Payment.__table__
            self.later(
                lambda connection: connection.execute(
                    sa.update(table)
                    .where(table.c.id == payment_id)
                    .values(warnings=_issues_json(end.warnings))
                )
            )
        self.payment = None

    def practice_for(self, payee: x12.Party) -> int:
        npi, tax_id = payee.npi, payee.tax_id
        key = npi or tax_id or payee.name or "unknown payee"
        if key in self.practices:
            return self.practices[key]
        table = Practice.__table__
        condition = (
            table.c.npi == npi
            if npi
            else table.c.tax_id == tax_id
            if tax_id
            else table.c.name == key
        )
        found = self.stored(sa.select(table.c.id).where(condition))
        row = found[0] if found else None
        if row:
            practice_id = row[0]
        else:
            address = payee.address + ["", ""]
            practice_id = _insert(
                self.connection,
                Practice,
                [
                    {
                        "name": payee.name or key,
                        "npi": npi,
                        "tax_id": tax_id,
                        "address_line1": address[0],
                        "address_line2": address[1],
                        "city": payee.city,
                        "state": payee.state,
                        "postal_code": payee.postal_code,
                        "phone": "",
                        "fax": "",
                        "email": "",
                        "signer_name": "",
                        "signer_title": "",
                        "logo_mime": "",
                    }
                ],
            )[0]
        self.practices[key] = practice_id
        return practice_id

    @staticmethod
    def payer_key(header: x12.PaymentHeader) -> str:
        payer = header.payer
        return (
            payer.reference("2U", "HI", "NF", "EO")
            or (payer.identifier if payer.id_qualifier == "XV" else "")
            or header.trace_originator
            or payer.name
            or "unknown payer"
        )

    def payer_for(self, header: x12.PaymentHeader) -> tuple[int, str]:
        key = self.payer_key(header)
        if key in self.payers:
            return self.payers[key]
        table = Payer.__table__
        found = self.stored(
            sa.select(table.c.id, table.c.payer_type, table.c.name).where(table.c.identifier == key)
        )
        row = found[0] if found else None
        if row:
            found = (row[0], row[1])
            self.payer_names[row[0]] = row[2]
        else:
            website = next(
                (
                    number
                    for contact in header.payer.contacts
                    if contact.function == "IC"
                    for _, number in contact.numbers
                ),
                "",
            )
            name = header.payer.name or key
            new_id = _insert(
                self.connection,
                Payer,
                [
                    {
                        "identifier": key,
                        "name": name,
                        "payer_type": "other",
                        "website": website[:500],
                        "phone": "",
                    }
                ],
            )[0]
            found = (new_id, "other")
            self.payer_names[new_id] = name
        self.payers[key] = found
        return found

    def learn_payer_type(self, claim: x12.Claim) -> None:
        """A new payer's type comes from its first claim with a filing indicator (CLP06)."""
        state = self.payment
        if state is None or state.payer_type != "other" or not claim.filing_indicator:
            return
        payer_type = deadlines.payer_type_for(claim.filing_indicator)
        if self.staged and state.payer_id < staging.BASE:
            self.deferred_payer_types[state.payer_id] = payer_type
        self.connection.execute(
            sa.update(Payer.__table__)
            .where(Payer.__table__.c.id == state.payer_id)
            .values(payer_type=payer_type)
        )
        state.payer_type = payer_type
        for key, value in self.payers.items():
            if value[0] == state.payer_id:
                self.payers[key] = (state.payer_id, payer_type)

    # --- claims ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the batch of claims: their rows are built first, then what is stored is read
        (through `reader` beside the file's own rows in memory, else after the previous
        batch's writes), then the writes are handed on (see `later`)."""
        if not self.batch or self.payment is None or self.payment.payment_id is None:
            self.batch = []
            return
        claims, self.batch = self.batch, []
        state = self.payment
        self.learn_payer_type(next((c for c in claims if c.filing_indicator), claims[0]))
        claim_ids = self.new_ids(Claim, len(claims))
        line_ids = self.new_ids(ServiceLine, sum(len(claim.lines) for claim in claims))
        self.payment_claims.update(claim_ids)
        claim_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        adjustments: list[dict[str, Any]] = []
        remarks: list[dict[str, Any]] = []
        denials: list[dict[str, Any]] = []
        drafts = [find_denials(claim) for claim in claims]
        position = 0
        for claim, claim_id, claim_drafts in zip(claims, claim_ids, drafts, strict=True):
            claim_rows.append(self.claim_row(claim, claim_id))
            claim_line_ids = line_ids[position : position + len(claim.lines)]
            position += len(claim.lines)
            for number, (line, line_id) in enumerate(
                zip(claim.lines, claim_line_ids, strict=True), start=1
            ):
                line_rows.append(_line_row(line_id, claim_id, number, line, claim))
            _collect(claim, claim_id, claim_line_ids, adjustments, remarks)
            denials.extend(self.denial_rows(claim, claim_drafts, claim_id, claim_line_ids, state))
            if claim.warnings:
                self.result.warnings += len(claim.warnings)
                self.file_warnings.extend(claim.warnings)
        recovered = self.find_recoveries(claims, claim_ids, drafts)
        links = self.reversal_links(claims, claim_ids)
        fresh, repeats, deciding = self.split_repeats(denials)
        scores = self.check(fresh, claim_rows, line_rows, adjustments, remarks)
        if self.reader is not None:
            self.remember(claim_rows, fresh)
        self.later(partial(_executemany, table=Claim.__table__, rows=claim_rows))
        self.later(partial(_executemany, table=ServiceLine.__table__, rows=line_rows))
        self.later(partial(_insert_plain, model=Adjustment, rows=adjustments))
        self.later(partial(_insert_plain, model=Remark, rows=remarks))
        self.write_recoveries(recovered)
        if links:
            self.later(partial(_link_reversals, links=links))
        self.attach_repeats(repeats, deciding)
        self.later(partial(_insert_denials, rows=fresh, scores=scores))
        self.result.claims += len(claims)
        self.result.lines += len(line_rows)

    def claim_row(self, claim: x12.Claim, claim_id: int) -> dict[str, Any]:
        state = self.payment
        assert state is not None
        patient = claim.corrected_patient or claim.patient or x12.Person("QC")
        insured = claim.insured or x12.Person("IL")
        provider = claim.rendering_provider or x12.Person("82")
        member_id = (claim.patient.identifier if claim.patient else "") or insured.identifier
        return {
            "id": claim_id,
            "payment_id": state.payment_id,
            "practice_id": state.practice_id,
            "payer_id": state.payer_id,
            "patient_control_number": claim.patient_control_number,
            "payer_claim_control_number": claim.payer_claim_control_number,
            "status": claim.status,
            "charge": claim.charge,
            "paid": claim.paid,
            "patient_responsibility": claim.patient_responsibility,
            "filing_indicator": claim.filing_indicator,
            "facility_code": claim.facility_code,
            "frequency_code": claim.frequency_code,
            "patient_last_name": patient.last_name
            or (claim.patient.last_name if claim.patient else ""),
            "patient_first_name": patient.first_name
            or (claim.patient.first_name if claim.patient else ""),
            "member_id": member_id,
            "insured_last_name": insured.last_name,
            "insured_first_name": insured.first_name,
            "rendering_provider_name": " ".join(
                p for p in (provider.first_name, provider.last_name) if p
            ),
            "rendering_provider_npi": provider.identifier if provider.id_qualifier == "XX" else "",
            "statement_from": claim.statement_from,
            "statement_to": claim.statement_to,
            "received_date": claim.received_date,
            "service_date": _service_date(claim),
            "original_reference": claim.original_reference,
            "is_reversal": claim.is_reversal,
            "reverses_claim_id": None,
            "segment": claim.segment,
            "warnings": _issues_json(claim.warnings),
        }

    def denial_rows(
        self,
        claim: x12.Claim,
        drafts: list[DenialDraft],
        claim_id: int,
        line_ids: list[int],
        state: _PaymentState,
    ) -> list[dict[str, Any]]:
        rows = []
        payer_type = deadlines.payer_type_for(claim.filing_indicator, state.payer_type)
        overrides = self.overrides.get(state.payer_id)
        for draft in drafts:
            line = claim.lines[draft.line_index] if draft.line_index is not None else None
            service_date = (line.service_date if line else None) or _service_date(claim)
            due = deadlines.denial_deadline(
                route=draft.action,
                payer_type=payer_type,
                level=1,
                notice=state.payment_date,
                service_date=service_date,
                overrides=overrides,
            )
            rows.append(
                {
                    "practice_id": state.practice_id,
                    "payer_id": state.payer_id,
                    "claim_id": claim_id,
                    "line_id": line_ids[draft.line_index] if draft.line_index is not None else None,
                    "patient_control_number": claim.patient_control_number,
                    "procedure_code": line.procedure.code if line else "",
                    "service_date": service_date,
                    "denied_on": state.payment_date,
                    "group_code": draft.group_code,
                    "carc": draft.carc,
                    "carcs": " ".join(draft.carcs),
                    "rarc": draft.rarcs[0] if draft.rarcs else "",
                    "rarcs": " ".join(draft.rarcs),
                    "category": draft.category,
                    "action": draft.action,
                    "denied_amount": draft.denied_amount,
                    "status": "new",
                    "assignee_id": None,
                    "appeal_level": 1,
                    "payer_type": payer_type,
                    "level_notice_on": state.payment_date,
                    "deadline": due.due,
                    "deadline_basis": due.basis,
                    "repeat_count": 0,
                    "last_denied_on": None,
                    "worked_at": None,
                    "worked_probability": None,
                    "worked_rank": None,
                    "findings": "",
                    "recovered_amount": Decimal("0"),
                    "created_at": _now(),
                    "updated_at": _now(),
                }
            )
            self.result.denials += 1
            self.result.denied_amount += draft.denied_amount
            bucket = self.result.by_category.setdefault(draft.category, [0, Decimal("0.00")])
            bucket[0] += 1
            bucket[1] += draft.denied_amount
        return rows

    def remember(self, claim_rows: list[dict[str, Any]], denials: list[dict[str, Any]]) -> None:
        """Keep what later batches look up of this batch's claims and denials (see `reader`);
        the denials get their ids here, drawn ahead like the claims'."""
        for row, denial_id in zip(denials, self.new_ids(Denial, len(denials)), strict=True):
            row["id"] = denial_id
            self.file_denials.setdefault(row["patient_control_number"], []).append(
                SimpleNamespace(
                    id=denial_id,
                    patient_control_number=row["patient_control_number"],
                    procedure_code=row["procedure_code"],
                    service_date=row["service_date"],
                    line_id=row["line_id"],
                    denied_amount=row["denied_amount"],
                    practice_id=row["practice_id"],
                    payer_id=row["payer_id"],
                    status=row["status"],
                    owner_claim_id=row["claim_id"],
                )
            )
        for row in claim_rows:
            if row["payer_claim_control_number"]:
                self.file_claims.setdefault(row["payer_claim_control_number"], []).append(
                    _StoredClaim(
                        row["id"],
                        row["payer_claim_control_number"],
                        row["payer_id"],
                        row["is_reversal"],
                    )
                )

    def check(
        self,
        denials: list[dict[str, Any]],
        claim_rows: list[dict[str, Any]],
        line_rows: list[dict[str, Any]],
        adjustments: list[dict[str, Any]],
        remarks: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Check and rank the batch's new denials before they are written: the coding checks
        (`findings.check_new_denials`) from the rows about to be written and the documentation
        stored for them, then the score `ranking.rescore` would give them once stored
        (`ranking.score_new`, returned: one `DenialScore` row each, ids to come). Both read
        through `reader` (PostgreSQL) or the live database (SQLite staging), which see only
        committed rows: the day's scoring aggregates, built by the first batch with denials
        and then kept, never hold this file's."""
        if not denials:
            return []
        state = self.payment
        assert state is not None
        denied = {row["claim_id"] for row in denials}
        claim_of = {row["id"]: row for row in claim_rows if row["id"] in denied}
        line_of = {row["id"]: row for row in line_rows if row["claim_id"] in denied}
        claims = [SimpleNamespace(**row) for row in claim_of.values()]
        lines: dict[int, list[Any]] = {}
        for row in line_of.values():
            lines.setdefault(row["claim_id"], []).append(SimpleNamespace(**row))
        cas: dict[tuple[int, int | None], list[tuple[str, str, Decimal]]] = {}
        for row in adjustments:
            if row["claim_id"] in denied:
                key = (row["claim_id"], row["line_id"])
                cas.setdefault(key, []).append((row["group_code"], row["reason"], row["amount"]))
        codes: dict[tuple[int, int | None], list[str]] = {}
        for row in remarks:
            if row["claim_id"] in denied:
                codes.setdefault((row["claim_id"], row["line_id"]), []).append(row["code"])
        with Session(bind=self.reader or self.live) as session:
            facts = findings.build_claims_facts(
                session, claims, lines, cas, codes, {state.payer_id: state.payer_type}
            )
            findings.check_new_denials(facts, denials, self.overrides)
            payer_name = self.payer_names[state.payer_id]
            return ranking.score_new(session, denials, line_of, claim_of, payer_name, self.today)

    def find_recoveries(
        self, claims: list[x12.Claim], claim_ids: list[int], drafts: list[list[DenialDraft]]
    ) -> list[dict[str, Any]]:
        """The open denials of earlier remittances that these claims now pay, to be closed.

        `drafts` are the claims' own denials: a line still denied is only partly recovered.
        """
        paying = {
            c.patient_control_number: (c, cid, remaining)
            for c, cid, remaining in zip(claims, claim_ids, drafts, strict=True)
            if not c.is_reversal and c.paid > 0
        }
        if not paying:
            return []
        assert self.payment is not None
        table = Denial.__table__
        rows = self.earlier_denials(
            list(paying),
            table.c.id,
            table.c.patient_control_number,
            table.c.procedure_code,
            table.c.service_date,
            table.c.line_id,
            table.c.denied_amount,
            table.c.practice_id,
            table.c.payer_id,
            table.c.status,
        )
        state = self.payment
        candidates = [
            (
                row.id,
                row.patient_control_number,
                row.procedure_code,
                row.service_date,
                row.line_id,
                row.denied_amount,
            )
            for row in rows
            if row.practice_id == state.practice_id
            and row.payer_id == state.payer_id
            and self.closed.get(row.id, row.status) in AWAITING_PAYMENT
        ]
        used: set[tuple[int, int]] = set()  # (claim id, line index): one payment closes one denial
        closed: list[dict[str, Any]] = []
        for denial_id, pcn, code, service_date, line_id, denied_amount in candidates:
            claim, claim_id, remaining = paying[pcn]
            if line_id is None:
                key, paid = (claim_id, -1), claim.paid
                fully = not remaining
            else:
                index = _matching_line(claim, code, service_date, used, claim_id)
                if index is None:
                    continue
                key, paid = (claim_id, index), claim.lines[index].paid
                fully = not any(d.line_index == index for d in remaining)
            if key in used:
                continue
            used.add(key)
            recovered = min(paid, denied_amount)
            status = "won" if fully else "partial"
            closed.append(
                {
                    "denial": denial_id,
                    "new_status": status,
                    "amount": recovered,
                    "claim": claim_id,
                    "at": _now(),
                }
            )
            self.closed[denial_id] = status
            self.result.recovered += 1
            self.result.recovered_amount += recovered
        return closed

    def write_recoveries(self, closed: list[dict[str, Any]]) -> None:
        """Close these denials as paid, fill their open appeals and audit: three statements.

        Staging: the file's own staged denials are closed at once (a later payment of the file
        may look at them); stored ones, their appeals and the audit wait for the merge.
        """
        if not closed:
            return
        assert self.payment is not None
        for row in closed:
            row["closed_on"] = self.payment.payment_date
        if self.staged:
            staged = [r for r in closed if r["denial"] > staging.BASE]
            self.later(partial(self.close_denials, closed=staged))
            self.deferred_recoveries.extend(closed)
            return
        self.later(partial(self.close_denials, closed=closed))
        self.later(partial(self.fill_appeals_and_audit, closed=closed))

    def close_denials(
        self, connection: Connection, closed: list[dict[str, Any]], *, only_awaiting: bool = False
    ) -> set[int]:
        """UPDATE the denials closed by payment; with `only_awaiting`, only those still awaiting
        payment (read first, under the merge's write lock). Returns the denials closed."""
        if not closed:
            return set()
        table = Denial.__table__
        if only_awaiting:
            wanted = sorted({row["denial"] for row in closed})
            awaiting = set(
                connection.execute(
                    sa.select(table.c.id).where(
                        table.c.id.in_(wanted), table.c.status.in_(AWAITING_PAYMENT)
                    )
                ).scalars()
            )
            closed = [row for row in closed if row["denial"] in awaiting]
            if not closed:
                return set()
        connection.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("denial"))
            .values(
                status=sa.bindparam("new_status"),
                recovered_amount=sa.bindparam("amount", type_=table.c.recovered_amount.type),
                closed_at=sa.bindparam("at", type_=table.c.closed_at.type),
                closed_by_claim_id=sa.bindparam("claim"),
                updated_at=sa.bindparam("at", type_=table.c.updated_at.type),
            ),
            closed,
        )
        return {row["denial"] for row in closed}

    def fill_appeals_and_audit(self, connection: Connection, closed: list[dict[str, Any]]) -> None:
        """Fill the open appeals of these paid denials and audit each closing."""
        if not closed:
            return
        appeals_table = Appeal.__table__
        connection.execute(
            sa.update(appeals_table)
            .where(
                appeals_table.c.denial_id == sa.bindparam("denial"),
                appeals_table.c.outcome == "",
            )
            .values(
                outcome=sa.bindparam("new_status"),
                recovered_amount=sa.bindparam(
                    "amount", type_=appeals_table.c.recovered_amount.type
                ),
                closed_on=sa.bindparam("closed_on", type_=appeals_table.c.closed_on.type),
                source="remittance",
            ),
            closed,
        )
        _insert_plain(
            connection,
            AuditEvent,
            [
                {
                    "at": row["at"],
                    "user_id": self.user_id,
                    "action": "status",
                    "entity": "denial",
                    "entity_id": row["denial"],
                    "detail": json.dumps(
                        {"status": row["new_status"], "by": "remittance", "claim_id": row["claim"]}
                    ),
                }
                for row in closed
            ],
        )

    def earlier_denials(self, pcns: Iterable[str], *columns: sa.Column[Any]) -> list[Any]:
        """`columns` (the first is the id) of the stored denials with these patient control
        numbers, in id order, but those of the payment being imported.

        One single-table query on `ix_denial_patient_control_number`: with more conditions
        SQLite picks the practice index and scans every denial of the practice, and a join to
        the claims for their payment made PostgreSQL hash the whole claim table per batch. The
        current payment's claims are known here (`payment_claims`); the rest is filtered by
        the callers.
        """
        table = Denial.__table__
        wanted = sorted(set(pcns))
        query = sa.select(*columns, table.c.claim_id.label("owner_claim_id")).where(
            table.c.patient_control_number.in_(wanted)
        )
        own = (row for pcn in wanted for row in self.file_denials.get(pcn, ()))
        found = self.looked_up(query, own)
        mine = self.payment_claims
        return sorted(
            (row for row in found if row.owner_claim_id not in mine), key=attrgetter("id")
        )

    def split_repeats(
        self, rows: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[tuple[int, date | None, int]], bool]:
        """Rows that are new denials, the (earlier denial, denied on, claim) repeats: rows
        that deny again a line an earlier remittance denied, and whether a repeat decides a
        pending appeal (`lifecycle.REPEAT_DECIDES`), which moves its denial.

        Same payer, patient control number, procedure and date of service as a denial of an
        earlier payment that is not closed with money: the repeat is recorded on that denial
        (a pending appeal there was lost, see `attach_repeats`), not opened as a new queue row.
        """
        if not rows:
            return rows, [], False
        state = self.payment
        assert state is not None
        table = Denial.__table__
        found = self.earlier_denials(
            {r["patient_control_number"] for r in rows},
            table.c.id,
            table.c.patient_control_number,
            table.c.procedure_code,
            table.c.service_date,
            table.c.practice_id,
            table.c.payer_id,
            table.c.status,
        )
        earlier: dict[tuple[str, str, date | None], list[int]] = {}
        status: dict[int, str] = {}
        for row in found:
            status[row.id] = self.closed.get(row.id, row.status)
            if (
                row.practice_id == state.practice_id
                and row.payer_id == state.payer_id
                and status[row.id] not in _SETTLED
            ):
                key = (row.patient_control_number, row.procedure_code, row.service_date)
                earlier.setdefault(key, []).append(row.id)
        fresh: list[dict[str, Any]] = []
        repeats: list[tuple[int, date | None, int]] = []
        for row in rows:
            key = (row["patient_control_number"], row["procedure_code"], row["service_date"])
            if earlier.get(key):
                repeats.append((earlier[key].pop(0), row["denied_on"], row["claim_id"]))
            else:
                fresh.append(row)
        deciding = any(status[d] in lifecycle.REPEAT_DECIDES for d, _, _ in repeats)
        return fresh, repeats, deciding

    def attach_repeats(self, repeats: list[tuple[int, date | None, int]], deciding: bool) -> None:
        """Record the repeats on their earlier denials (at the merge when staging). Repeats
        that only count go to the write thread; one that decides an appeal is recorded at once,
        since the next batches' lookups must see where it moved its denial (`closed`)."""
        if not repeats:
            return
        if self.staged:
            self.deferred_repeats.extend(repeats)
        elif deciding:
            self.record_repeats(self.connection, repeats)
        else:
            self.later(partial(self.record_repeats, repeats=repeats))
        self.result.repeats += len(repeats)

    def record_repeats(
        self, connection: Connection, repeats: list[tuple[int, date | None, int]]
    ) -> None:
        """Record each (denial id, denied on, claim id) repeat on its earlier denial."""
        table = Denial.__table__
        with Session(bind=connection) as session:
            # One query loads them all; `session.get` below finds each in the identity map.
            loaded = (
                session.execute(sa.select(Denial).where(table.c.id.in_({d for d, _, _ in repeats})))
                .scalars()
                .all()
            )
            for denial_id, denied_on, claim_id in repeats:
                denial = session.get(Denial, denial_id)
                if denial is None:
                    continue  # removed since it was staged
                before = denial.status
                lifecycle.record_repeat(session, denial, denied_on, claim_id, self.user_id)
                if denial.status != before:
                    self.closed[denial_id] = denial.status
            session.flush()
            del loaded

    def reversal_links(self, claims: list[x12.Claim], claim_ids: list[int]) -> list[dict[str, int]]:
        """Each reversal (CLP02 22) with the claim it reverses: one query per batch.

        The original is the latest earlier claim of the same payer with the same payer claim
        control number that is not itself a reversal: a stored one or one of this batch (all
        of the payment's payer). Only the numbers go to the database (so the lookup runs on
        `ix_claim_payer_claim_control_number` whatever the statistics say); payer, kind and
        order are checked here.
        """
        assert self.payment is not None
        wanted = [
            (claim.payer_claim_control_number, claim_id)
            for claim, claim_id in zip(claims, claim_ids, strict=True)
            if claim.is_reversal and claim.payer_claim_control_number
        ]
        if not wanted:
            return []
        payer_id = self.payment.payer_id
        numbers = {number for number, _ in wanted}
        candidates: dict[str, list[int]] = {}
        own = (row for number in numbers for row in self.file_claims.get(number, ()))
        for row in self.looked_up(reversal_lookup(sorted(numbers)), own):
            if row.payer_id == payer_id and not row.is_reversal:
                candidates.setdefault(row.payer_claim_control_number, []).append(row.id)
        for claim, claim_id in zip(claims, claim_ids, strict=True):
            if not claim.is_reversal and claim.payer_claim_control_number in numbers:
                candidates.setdefault(claim.payer_claim_control_number, []).append(claim_id)
        links = []
        for number, claim_id in wanted:
            earlier = [i for i in candidates.get(number, ()) if i < claim_id]
            if earlier:
                links.append({"original": max(earlier), "reversal": claim_id})
        return links


def _link_reversals(connection: Connection, links: list[dict[str, int]]) -> None:
    table = Claim.__table__
    connection.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("reversal"))
        .values(reverses_claim_id=sa.bindparam("original")),
        links,
    )


class _StoredClaim(NamedTuple):
    """The columns of `reversal_lookup`, for a claim of the file being imported."""

    id: int
    payer_claim_control_number: str
    payer_id: int
    is_reversal: bool


def reversal_lookup(numbers: Sequence[str]) -> sa.Select[Any]:
    """The claims that reversals with these payer claim control numbers may reverse.

    Filtered on the number alone: with the payer as well, SQLite without table statistics
    plans on `ix_claim_payer_id` and scans every claim of the payer (a test checks the plan).
    """
    table = Claim.__table__
    return sa.select(
        table.c.id, table.c.payer_claim_control_number, table.c.payer_id, table.c.is_reversal
    ).where(table.c.payer_claim_control_number.in_(numbers))


def _service_date(claim: x12.Claim) -> date | None:
    for line in claim.lines:
        if line.service_date:
            return line.service_date
    return claim.statement_from


def _matching_line(
    claim: x12.Claim,
    code: str,
    service_date: date | None,
    used: set[tuple[int, int]],
    claim_id: int,
) -> int | None:
    """The index of the paid line of `claim` that pays a denied line billed as `code`."""
    for index, line in enumerate(claim.lines):
        billed = line.original_procedure.code if line.original_procedure else line.procedure.code
        if code not in (line.procedure.code, billed) or line.paid <= 0:
            continue
        if service_date and line.service_date and line.service_date != service_date:
            continue
        if (claim_id, index) not in used:
            return index
    return None


def _line_row(
    line_id: int, claim_id: int, number: int, line: x12.ServiceLine, claim: x12.Claim
) -> dict[str, Any]:
    original = line.original_procedure
    allowed = next((a.amount for a in line.amounts if a.qualifier == "B6"), None)
    return {
        "id": line_id,
        "claim_id": claim_id,
        "line_number": number,
        "procedure_qualifier": line.procedure.qualifier,
        "procedure_code": line.procedure.code,
        "modifiers": " ".join(line.procedure.modifiers),
        "description": line.procedure.description,
        "original_procedure_code": original.code if original else "",
        "original_modifiers": " ".join(original.modifiers) if original else "",
        "revenue_code": line.revenue_code,
        "units": line.units,
        "original_units": line.original_units,
        "charge": line.charge,
        "paid": line.paid,
        "allowed": allowed,
        "service_date": line.service_date or claim.statement_from,
        "service_date_end": line.service_date_end,
        "control_number": line.control_number,
        "policy_id": line.policy_id,
        "segment": line.segment,
    }


def _collect(
    claim: x12.Claim,
    claim_id: int,
    line_ids: list[int],
    adjustments: list[dict[str, Any]],
    remarks: list[dict[str, Any]],
) -> None:
    owners: list[tuple[int | None, Sequence[x12.Adjustment], Sequence[x12.Remark]]] = [
        (None, claim.adjustments, claim.remarks)
    ]
    owners += [
        (line_id, line.adjustments, line.remarks)
        for line, line_id in zip(claim.lines, line_ids, strict=True)
    ]
    for line_id, owner_adjustments, owner_remarks in owners:
        for position, adjustment in enumerate(owner_adjustments):
            adjustments.append(
                {
                    "claim_id": claim_id,
                    "line_id": line_id,
                    "group_code": adjustment.group,
                    "reason": adjustment.reason,
                    "amount": adjustment.amount,
                    "quantity": adjustment.quantity,
                    "position": position,
                }
            )
        for remark in owner_remarks:
            remarks.append(
                {
                    "claim_id": claim_id,
                    "line_id": line_id,
                    "code": remark.code,
                    "source": remark.source,
                    "qualifier": remark.qualifier,
                }
            )
