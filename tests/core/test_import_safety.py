"""Imports that lose nothing and lock nobody out: errors named for what they are, competing
imports (two real processes), SQLite's write lock left free while a file is staged, kill -9 at
any moment, and coding checks that survive an interruption."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from appeals import db, importer, staging
from appeals.findings import (
    pending_files,
    refresh_findings_for_files,
    refresh_pending_findings,
    start_pending_checks,
)
from appeals.importer import import_file
from appeals.models import AuditEvent, Claim, Denial, DenialScore, Payment, RemittanceFile
from tests.conftest import FIXTURES
from tests.remits import Line, RemitClaim, remittance

TODAY = date(2026, 1, 20)
SPAWN = multiprocessing.get_context("spawn")


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def payment(trace: str, claims: int, prefix: str) -> str:
    """One payment of `claims` claims, one denied line each (a 97 with M15)."""
    return remittance(
        trace,
        date(2026, 7, 20),
        [
            RemitClaim(
                f"{prefix}{n:05d}",
                [
                    Line("99213", "110.00", "80.00", [("CO", "45", "30.00")]),
                    Line("11102", "150.00", "0", [("CO", "97", "150.00")], ["M15"]),
                ],
            )
            for n in range(claims)
        ],
    )


def uses_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# --- 1. errors named for what they are; competing imports ---------------------------------------


def test_a_database_error_is_reported_as_such_not_as_already_imported(
    engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any) -> None:
        raise sa.exc.IntegrityError("INSERT", {}, Exception("NOT NULL constraint failed: x.y"))

    monkeypatch.setattr(importer._Writer, "finish", broken)
    result = import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    assert result.status == "failed"
    assert result.error.startswith("derm_initial.835: database error (Exception): NOT NULL")
    assert count(engine, RemittanceFile) == 0


def test_a_file_whose_every_payment_is_stored_is_already_imported(engine) -> None:
    import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    again = import_file(engine, FIXTURES / "derm_initial_resent.835", today=TODAY)
    assert (again.status, again.duplicate_payments) == ("duplicate", 1)
    assert count(engine, RemittanceFile) == 1


def _import_in_process(url: str, path: str, start: Any, results: Any) -> None:
    """A child process: its own engine, waits for the other, imports, reports."""
    engine = db.create_engine(url)
    start.wait()
    result = import_file(engine, path, today=TODAY)
    results.put(
        (result.name, result.status, result.payments, result.duplicate_payments, result.error)
    )
    engine.dispose()


def test_competing_imports_of_overlapping_files_post_every_payment_once(
    engine, database_url: str, tmp_path: Path
) -> None:
    shared = payment("SHARED1", 3, "S")
    first, second = tmp_path / "first.835", tmp_path / "second.835"
    # the shared payment comes first in both files, so both look for it at once
    first.write_text(shared + payment("ONLYA1", 1500, "A"))
    second.write_text(shared + payment("ONLYB1", 1500, "B"))
    start, results = SPAWN.Barrier(2), SPAWN.Queue()
    children = [
        SPAWN.Process(target=_import_in_process, args=(database_url, str(p), start, results))
        for p in (first, second)
    ]
    for child in children:
        child.start()
    outcomes = sorted(results.get(timeout=300) for _ in children)
    for child in children:
        child.join(60)
    assert [o[1] for o in outcomes] == ["imported", "imported"], outcomes
    assert sorted((o[2], o[3]) for o in outcomes) == [(1, 1), (2, 0)]
    assert count(engine, Payment) == 3
    assert count(engine, Claim) == 3 + 1500 + 1500


# --- 2. SQLite: the write lock is free while a file is staged; kill -9 leaves nothing ----------


def test_others_can_write_while_a_file_is_staged(engine, tmp_path: Path) -> None:
    if not uses_sqlite(engine):
        pytest.skip("SQLite's single write lock")
    path = tmp_path / "day.835"
    path.write_text(payment("STAGE1", 2500, "P"))
    seen: list[tuple[int, int]] = []

    def progress(_position: int) -> None:
        if seen:
            return
        # another connection, as a login or a page view would: it must not wait for the import
        other = sqlite3.connect(engine.url.database, timeout=0.5)
        try:
            with other:
                other.execute(
                    "INSERT INTO auditevent (at, action, entity, detail) "
                    "VALUES ('2026-01-20 10:00:00', 'view', 'queue', '{}')"
                )
            claims = other.execute("SELECT count(*) FROM claim").fetchone()[0]
            events = other.execute("SELECT count(*) FROM auditevent").fetchone()[0]
        finally:
            other.close()
        seen.append((claims, events))

    result = import_file(engine, path, today=TODAY, progress=progress)
    assert result.status == "imported", result.error
    assert seen == [(0, 1)]  # the write went through; none of the file's rows were visible yet
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Claim)).one() == 2500
        file = session.get(RemittanceFile, result.file_id)
        assert file is not None and file.claim_count == 2500
        actions = sorted(e.action for e in session.exec(select(AuditEvent)).all())
        assert actions == ["import", "view"]


def _die_while_importing(url: str, path: str, when: str) -> None:
    """A child process that imports and is killed (SIGKILL) while staging or mid-merge."""
    engine = db.create_engine(url)

    def die(*_args: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if when == "merge":
        copy = staging.Stage._copy

        def copy_then_die(self: staging.Stage, *args: Any) -> Any:
            copy(self, *args)  # every staged row written into the live database, not committed
            die()

        staging.Stage._copy = copy_then_die  # type: ignore[method-assign]
        import_file(engine, path, today=TODAY)
    else:
        import_file(engine, path, today=TODAY, progress=die)


@pytest.mark.parametrize("when", ["staging", "merge"])
def test_an_import_killed_at_any_moment_leaves_nothing(
    engine, database_url: str, tmp_path: Path, when: str
) -> None:
    if when == "merge" and not uses_sqlite(engine):
        pytest.skip("the merge is SQLite's")
    path = tmp_path / "killed.835"
    path.write_text(payment("KILL1", 1200, "K"))
    child = SPAWN.Process(target=_die_while_importing, args=(database_url, str(path), when))
    child.start()
    child.join(300)
    assert child.exitcode == -signal.SIGKILL
    for model in (RemittanceFile, Payment, Claim, Denial, AuditEvent):
        assert count(engine, model) == 0, model
    # nothing to clean by hand: the same file imports at once
    again = import_file(engine, path, today=TODAY)
    assert (again.status, again.claims) == ("imported", 1200), again.error


def test_a_stale_staging_is_staged_again(engine, tmp_path: Path, monkeypatch) -> None:
    """A file stored by another import during staging: the merge refuses and the file is
    staged again, now seeing the other file's payments."""
    if not uses_sqlite(engine):
        pytest.skip("staging is SQLite's")
    shared = payment("SHARED2", 2, "S")
    first, second = tmp_path / "first.835", tmp_path / "second.835"
    first.write_text(shared)
    second.write_text(shared + payment("ONLYB2", 5, "B"))
    merge = staging.Stage.merge
    calls: list[int] = []

    def merge_after_another(self: staging.Stage, *args: Any) -> Any:
        if not calls:
            calls.append(1)
            monkeypatch.setattr(staging.Stage, "merge", merge)
            assert import_file(engine, first, today=TODAY).status == "imported"
        return merge(self, *args)

    monkeypatch.setattr(staging.Stage, "merge", merge_after_another)
    result = import_file(engine, second, today=TODAY)
    assert (result.status, result.payments, result.duplicate_payments) == ("imported", 1, 1)
    assert count(engine, Payment) == 2


def test_a_payment_carried_twice_in_one_file_is_stored_once(engine: Engine, tmp_path: Path) -> None:
    """The second copy of a payment (same trace) in the same file is a duplicate, though the
    first is not yet written when it is read (PostgreSQL writes on a thread of its own)."""
    path = tmp_path / "twice.835"
    path.write_text(
        payment("TWICE1", 3, "T") + payment("OTHER1", 2, "O") + payment("TWICE1", 3, "T")
    )
    result = import_file(engine, path, today=TODAY)
    assert (result.status, result.payments, result.duplicate_payments) == ("imported", 2, 1)
    assert (count(engine, Payment), count(engine, Claim)) == (2, 5)


# --- 3. coding checks survive an interruption ---------------------------------------------------
# The import checks and ranks each batch's denials as it writes them. Files imported before it
# did were left pending for a run after their commit; these tests make stored files look so.


def _import_then_die(url: str, path: str) -> None:
    """The import commits, then the process is killed."""
    engine = db.create_engine(url)
    import_file(engine, path, today=TODAY)
    os.kill(os.getpid(), signal.SIGKILL)


def unchecked(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count()).select_from(Denial).where(Denial.findings == "")
        ).one()


def as_imported_before_the_import_checked(engine: Engine) -> None:
    """Every stored file as an earlier version left it when its checks were interrupted: its
    denials without findings, the file pending."""
    with engine.begin() as connection:
        connection.execute(sa.update(Denial.__table__).values(findings=""))  # type: ignore[attr-defined]
        connection.execute(sa.update(RemittanceFile.__table__).values(checks_pending=True))  # type: ignore[attr-defined]


def test_an_import_killed_after_its_commit_leaves_its_denials_checked(
    engine, database_url: str
) -> None:
    child = SPAWN.Process(
        target=_import_then_die, args=(database_url, str(FIXTURES / "derm_initial.835"))
    )
    child.start()
    child.join(300)
    assert child.exitcode == -signal.SIGKILL
    assert count(engine, Denial) == 2 and unchecked(engine) == 0
    assert pending_files(engine) == []
    with Session(engine) as session:
        ranked = session.exec(select(DenialScore).where(DenialScore.explanation != "")).all()
        assert len(ranked) == 2


def test_a_file_left_pending_is_checked_by_the_next_run(engine) -> None:
    import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    as_imported_before_the_import_checked(engine)
    assert unchecked(engine) == 2 and len(pending_files(engine)) == 1
    # the next import (as the web upload runs it) checks the file left behind
    later = import_file(engine, FIXTURES / "derm_repayment.835", today=TODAY)
    assert later.status == "imported"
    refresh_findings_for_files(engine, [later.file_id])
    assert unchecked(engine) == 0 and pending_files(engine) == []


def test_checks_stopped_by_an_error_run_at_serve_start(engine, monkeypatch) -> None:
    from appeals import findings

    result = import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    as_imported_before_the_import_checked(engine)

    def broken(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("checks interrupted")

    monkeypatch.setattr(findings, "refresh_findings", broken)
    with pytest.raises(RuntimeError):
        refresh_findings_for_files(engine, [result.file_id])
    monkeypatch.undo()
    assert pending_files(engine) == [result.file_id] and unchecked(engine) == 2
    process = start_pending_checks(engine)  # what `appeals serve` starts in the background
    assert process is not None
    process.join(300)
    assert unchecked(engine) == 0 and pending_files(engine) == []
    assert start_pending_checks(engine) is None  # nothing pending: no process
    assert refresh_pending_findings(engine) == 0  # nothing left


def test_a_file_being_checked_is_not_checked_again_by_another_run(engine, monkeypatch) -> None:
    """An upload job, the CLI and serve start all sweep pending files: one run at a time gets a
    file, and a claim that lapsed (its run was killed) is taken over."""
    from appeals import findings

    result = import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    as_imported_before_the_import_checked(engine)
    real = findings.refresh_findings
    started, release = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> int:  # the first run stops mid-way until released
        if threading.current_thread().name == "first":
            started.set()
            release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(findings, "refresh_findings", held)
    done: list[int] = []
    first = threading.Thread(
        target=lambda: done.append(refresh_pending_findings(engine)), name="first"
    )
    first.start()
    assert started.wait(60)
    assert refresh_pending_findings(engine) == 0  # claimed by the first run
    release.set()
    first.join(60)
    assert done == [2] and unchecked(engine) == 0 and pending_files(engine) == []
    # A run killed mid-way leaves its claim; once it has lapsed, the next run takes the file.
    table = RemittanceFile.__table__  # type: ignore[attr-defined]
    lapsed = datetime.now(UTC) - findings.CLAIM_LEASE - timedelta(seconds=1)
    with engine.begin() as connection:
        connection.execute(
            sa.update(table)
            .where(table.c.id == result.file_id)
            .values(checks_pending=True, checks_claimed_at=datetime.now(UTC))
        )
    assert refresh_pending_findings(engine) == 0  # a live claim
    with engine.begin() as connection:
        connection.execute(sa.update(table).values(checks_claimed_at=lapsed))
    assert refresh_pending_findings(engine) == 2 and pending_files(engine) == []


def test_the_cli_leaves_stopped_checks_pending_and_findings_refresh_runs_them(
    cli, engine, monkeypatch
) -> None:
    from appeals import findings

    real = findings.refresh_findings

    def broken(*_args: Any, **_kwargs: Any) -> int:
        raise RuntimeError("checks interrupted")

    assert cli("import", str(FIXTURES / "derm_initial.835")).exit_code == 0
    as_imported_before_the_import_checked(engine)
    monkeypatch.setattr(findings, "refresh_findings", broken)
    result = cli("import", str(FIXTURES / "derm_repayment.835"))
    assert result.exit_code == 1
    assert "Coding checks stopped (RuntimeError)" in result.output
    assert "Traceback" not in result.output
    assert unchecked(engine) == 2 and len(pending_files(engine)) == 1
    monkeypatch.setattr(findings, "refresh_findings", real)
    listed = cli("findings", "--refresh", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert "Pending coding checks stored on 2 denial(s)." in listed.output
    assert pending_files(engine) == [] and unchecked(engine) == 0
    again = cli("import", str(FIXTURES / "derm_initial.835"))
    assert (again.exit_code, "already imported  derm_initial.835" in again.output) == (0, True)


# --- a folder import goes on past a bad file ------------------------------------------------------


def test_a_folder_import_goes_on_past_bad_files_and_sums_up(cli, engine, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a_good.835").write_text((FIXTURES / "derm_initial.835").read_text())
    (folder / "b_again.835").write_text((FIXTURES / "derm_initial.835").read_text() + "\n")
    (folder / "c_not_x12.835").write_text("hello, this is not an 835")
    huge = payment("HUGE1", 1, "H").replace("BPR*I*80.00*", "BPR*I*9999999999999999999*")
    (folder / "d_huge_amount.835").write_text(huge)
    (folder / "e_later.835").write_text((FIXTURES / "derm_repayment.835").read_text())
    result = cli("import", str(folder))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "imported   a_good.835" in result.output
    assert "already imported  b_again.835 (all 1 payment(s) already stored)" in result.output
    assert "FAILED     c_not_x12.835: segment 1" in result.output
    assert "FAILED     d_huge_amount.835" in result.output
    assert "imported   e_later.835" in result.output
    assert "Files: 2 imported, 1 already imported, 2 failed" in result.output
    assert count(engine, RemittanceFile) == 2
