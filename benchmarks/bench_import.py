"""Import speed and memory as a user waits for it: reversals, coding checks, a second file.

    python benchmarks/bench_import.py [--claims 100000] [--daily 1000] [--large 1000000]
                                      [--reversals 0.075] [--postgres URL | --no-postgres]
                                      [--dir DIR]

Files come from benchmarks/gen_835.py (cached in DIR): a remittance of `--claims` claims where
about 7.5% of them are also reversed (CLP02 = 22) and corrected, as after a fee-schedule change,
and a daily file of `--daily` claims that reverses and corrects as many claims of the first.
For each database (SQLite, and PostgreSQL unless `--no-postgres`; a scratch database is created
and dropped on the server) it reports, each step in a fresh subprocess:

  file          the big file into an empty database: the import (which runs the coding checks
                and ranks each batch's new denials before writing them), then what
                `appeals import` runs after it (`findings.refresh_findings_for_files`: nothing
                for a file imported now; the checks of files left pending by earlier versions);
  daily+file    the daily file into the database that holds the big file;
  daily         the same daily file into an empty database;
  daily+large   the same daily file into a database of `--large` claims (built first, untimed
                beyond its own line; `--large 0` skips it).

with seconds, claims/s, denials, reversals linked to their original, the subprocess's peak
resident memory, and the CPU seconds the subprocess spent on the steps (not the database
server's), then the targets: the big file with checks under 15 s (SQLite) / 20 s (PostgreSQL),
the daily file into the large database within 2x of the empty one, peak memory under 300 MB.
The speed index printed first (a fixed Python loop) says how fast and how busy the machine was:
the targets are meant for a speed index of about 0.4 s.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gen_835 import generate  # noqa: E402

# trained models and the kept scoring aggregates of the scratch databases: never the project's
INSTANCE = Path(tempfile.mkdtemp(prefix="appeals-bench-instance-"))
atexit.register(shutil.rmtree, INSTANCE, True)
DAILY_FIRST = 20_000_001  # the daily file's own claims are numbered after every other file's

CHILD = """
import json, resource, sys, time
from datetime import date
sys.path.insert(0, {root!r})
import sqlalchemy as sa
from appeals import db
from appeals.findings import refresh_findings_for_files
from appeals.importer import import_file
from appeals.models import Claim, Payment
from appeals import ranking
url, path, checks = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
daily = len(sys.argv) > 4 and sys.argv[4] == "1"
engine = db.get_engine(url)
before = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
result = import_file(engine, path)  # scored as of today, as the day's rescore scores
imported = time.perf_counter() - start
assert result.status == "imported", result.error
start = time.perf_counter()
checked = refresh_findings_for_files(engine, [result.file_id]) if checks else 0
checking = time.perf_counter() - start
claim, payment = Claim.__table__, Payment.__table__
with engine.connect() as connection:
    linked = connection.execute(
        sa.select(sa.func.count())
        .select_from(claim.join(payment, payment.c.id == claim.c.payment_id))
        .where(payment.c.file_id == result.file_id, claim.c.reverses_claim_id.is_not(None))
    ).scalar()
usage = resource.getrusage(resource.RUSAGE_SELF)
full = 0.0
if daily:  # the day's full rescore, as the web app's first request of a day or cron runs it
    from sqlmodel import Session
    start = time.perf_counter()
    with Session(engine) as session:
        ranking.rescore_daily(session, date.today(), force=True)
    full = time.perf_counter() - start
print(json.dumps({{"import": imported, "checks": checking,
                   "daily_rescore": full,
                   "daily_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   "claims": result.claims,
                   "denials": result.denials, "checked": checked, "linked": linked,
                   "maxrss_kb": usage.ru_maxrss,
                   "cpu": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime}}))
"""

COLUMNS = (
    "database",
    "step",
    "claims",
    "linked",
    "import s",
    "checks s",
    "total s",
    "claims/s",
    "denials",
    "peak MB",
    "cpu s",
)
HEAD = "{:<10} {:<12} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6}"


def speed_index() -> float:
    """Seconds this machine takes for a fixed pure-Python loop (about 0.4 s on an idle, recent
    x86 core): figures from a slower or busier machine scale with it."""
    import time

    start = time.process_time()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.process_time() - start


def run(url: str, path: Path, checks: bool = True, daily: bool = False) -> dict[str, float]:
    """Import `path` (and run the coding checks) in a fresh subprocess; its figures. `daily`
    then runs the day's full rescore (untimed in the import's figures), which keeps the scoring
    aggregates a later file's rescore reads instead of the whole database."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD.format(root=str(ROOT)),
            url,
            str(path),
            str(int(checks)),
            str(int(daily)),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "APPEALS_INSTANCE": str(INSTANCE), "OMP_NUM_THREADS": "1"},
    )
    if completed.returncode:
        sys.exit(f"import of {path.name} into {url.split('@')[-1]} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def postgres_database(server: str, template: str | None = None) -> tuple[str, Callable[[], None]]:
    """A scratch database on `server` (a copy of `template` if given): its URL and a dropper."""
    import sqlalchemy as sa

    from appeals.db import normalise_url

    name = f"appeals_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        copy = f' TEMPLATE "{template}"' if template else ""
        connection.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    url = sa.engine.make_url(normalise_url(server)).set(database=name)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def sqlite_database(folder: Path, copy_of: Path | None = None) -> tuple[str, Callable[[], None]]:
    """A scratch SQLite file in `folder` (a copy of `copy_of` if given): its URL and a remover."""
    path = folder / f"bench_{uuid.uuid4().hex[:8]}.db"
    if copy_of is not None:
        shutil.copyfile(copy_of, path)

    def drop() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    return f"sqlite:///{path}", drop


def files(args: argparse.Namespace) -> tuple[Path, Path, Path | None]:
    """The big file, the daily file and the large database's file (generated once, cached)."""
    tag = f"r{round(args.reversals * 1000)}"
    big = args.dir / f"reversals_{args.claims}_{tag}.835"
    daily = args.dir / f"daily_{args.daily}_{tag}_of_{args.claims}.835"
    large = args.dir / f"keyed_{args.large}.835" if args.large else None
    if not big.exists():
        generate(big, args.claims, reversals=args.reversals)
    if not daily.exists():
        generate(
            daily,
            args.daily,
            reversals=args.reversals,
            first=DAILY_FIRST,
            reverse_range=(1, args.claims),
        )
    if large is not None and not large.exists():
        generate(large, args.large, keyed=True)
    return big, daily, large


def show(database: str, step: str, figures: dict[str, float]) -> float:
    total = figures["import"] + figures["checks"]
    print(
        HEAD.format(
            database,
            step,
            int(figures["claims"]),
            int(figures["linked"]),
            f"{figures['import']:.2f}",
            f"{figures['checks']:.2f}",
            f"{total:.2f}",
            f"{figures['claims'] / total:.0f}",
            int(figures["denials"]),
            f"{figures['maxrss_kb'] / 1024:.0f}",
            f"{figures.get('cpu', 0):.1f}",
        ),
        flush=True,
    )
    return total


Figures = dict[str, float]


def bench(
    database: str, args: argparse.Namespace, big: Path, daily: Path, large: Path | None
) -> tuple[Figures, Figures, Figures, Figures | None]:
    """Every step on one database: the big file's figures, then the daily file's into the
    database holding it, into an empty one and into the large one (None without `--large`)."""

    def scratch(template: str | Path | None = None) -> tuple[str, Callable[[], None]]:
        if database == "sqlite":
            return sqlite_database(args.dir, template)  # type: ignore[arg-type]
        return postgres_database(args.postgres, template)  # type: ignore[arg-type]

    url, drop = scratch()
    try:
        first = run(url, big)
        show(database, "file", first)
        after = run(url, daily)
        show(database, "daily+file", after)
    finally:
        drop()
    url, drop = scratch()
    try:
        empty = run(url, daily)
        show(database, "daily", empty)
    finally:
        drop()
    stored = None
    if large is not None:
        url, drop = scratch()
        try:
            built = run(url, large, checks=True, daily=True)
            show(database, f"build {args.large // 1000}k", built)
            print(
                f"  (then the day's full rescore of its open denials: "
                f"{built['daily_rescore']:.1f} s, peak {built['maxrss_kb'] / 1024:.0f} MB)"
            )
            stored = run(url, daily)
            show(database, "daily+large", stored)
        finally:
            drop()
    return first, after, empty, stored


def ratios(into: Figures, empty: Figures) -> str:
    """How much longer the daily file took into a full database."""
    total = (into["import"] + into["checks"]) / (empty["import"] + empty["checks"])
    return f"{total:.2f}x of empty (import {into['import'] / empty['import']:.2f}x)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--daily", type=int, default=1000)
    parser.add_argument("--large", type=int, default=1_000_000, help="0: skip")
    parser.add_argument("--reversals", type=float, default=0.075)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "appeals-bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    big, daily, large = files(args)
    print(
        f"file: {big.name} ({big.stat().st_size / 1e6:.1f} MB); daily: {daily.name}"
        + (f"; large: {large.name} ({large.stat().st_size / 1e6:.0f} MB)" if large else "")
    )
    print(f"speed index: {speed_index():.2f} s (a 10M-step Python loop; see speed_index)")
    print(HEAD.format(*COLUMNS))
    databases = [] if args.no_sqlite else ["sqlite"]
    databases += [] if args.no_postgres else ["postgresql"]
    verdicts = []
    for database in databases:
        first, after, empty, stored = bench(database, args, big, daily, large)
        limit = 15 if database == "sqlite" else 20
        total = first["import"] + first["checks"]
        peak = first["maxrss_kb"] / 1024
        lines = [
            f"{database}: {args.claims // 1000}k file with checks {total:.1f} s "
            f"(target < {limit} s: {'met' if total < limit else 'MISSED'}); peak {peak:.0f} MB "
            f"(< 300: {'met' if peak < 300 else 'MISSED'})",
            f"  daily into {args.claims // 1000}k: {ratios(after, empty)}",
        ]
        if stored is not None:
            within = (stored["import"] + stored["checks"]) / (empty["import"] + empty["checks"])
            lines.append(
                f"  daily into {args.large // 1000}k: {ratios(stored, empty)}; "
                f"< 2x: {'met' if within < 2 else 'MISSED'}"
            )
        verdicts.extend(lines)
    print("\n".join(["", "targets:", *verdicts]))


if __name__ == "__main__":
    main()
