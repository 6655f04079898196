"""The app while a big 835 imports: logins, page views and saves keep answering.

Imports a generated file (`gen_835.py`, 100,000 claims by default) in a separate process, as
`appeals import` or an upload would, while threads work through the app (Flask's test client,
the full request path: login gate, audit writes, commits): each loop logs in (writes a login
attempt), opens the queue and a denial page (each writes an audit event) and saves a note on
the denial. Prints p50 / p95 / max latency and the errors per action, first with no import
running (the baseline), then while the import runs; on SQLite and, for comparison, PostgreSQL.

    python benchmarks/bench_import_concurrency.py                 # SQLite and PostgreSQL
    python benchmarks/bench_import_concurrency.py --no-postgres --claims 20000
    python benchmarks/bench_import_concurrency.py --direct        # SQLite without staging

`--direct` imports straight into the SQLite database (holding its write lock for the whole
run, as before staging), to show what staging changes. An error is a response of 500 or more,
a login that does not redirect, or an exception ("database is locked").
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appeals import db  # noqa: E402

USERNAME, PASSWORD = "benchuser", "bench-password-2026"
ACTIONS = ("login", "queue", "denial", "save")


def generate(path: Path, claims: int, seed: int, first: int = 1) -> Path:
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "gen_835.py"),
                str(path),
                "--claims",
                str(claims),
                "--seed",
                str(seed),
                "--keyed",
                "--first",
                str(first),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def _import(url: str, path: str, direct: bool, done: Any) -> None:
    """The import process: its own engine, as the CLI or an upload worker has."""
    from appeals import staging
    from appeals.importer import import_file

    staging.ENABLED = not direct
    merge, held = staging.Stage.merge, [0.0]

    def timed_merge(*args: Any) -> Any:  # the write lock is held for the merge only
        started = time.perf_counter()
        try:
            return merge(*args)
        finally:
            held[0] += time.perf_counter() - started

    staging.Stage.merge = timed_merge  # type: ignore[method-assign]
    engine = db.create_engine(url)
    started = time.perf_counter()
    result = import_file(engine, path)
    took = time.perf_counter() - started
    done.put((result.status, result.claims, took, held[0], result.error))


def prepare(url: str, seed_file: Path, people: int) -> list[int]:
    """Schema, a small first file (denials to open and note) and a user per person."""
    from sqlmodel import Session, select

    from appeals import users
    from appeals.importer import import_file
    from appeals.models import Denial

    engine = db.get_engine(url)
    result = import_file(engine, seed_file)
    assert result.status == "imported", result.error
    with Session(engine) as session:
        for number in range(people):
            users.create_user(session, f"{USERNAME}{number}", PASSWORD, role="admin")
        session.commit()
        return list(session.exec(select(Denial.id).limit(500)).all())  # type: ignore[arg-type]


class Worker(threading.Thread):
    """One person: log in, open the queue, open a denial, save a note; again until told."""

    def __init__(
        self, app: Any, denials: list[int], stop: threading.Event, number: int, think: float
    ) -> None:
        super().__init__(daemon=True)
        self.app, self.denials, self.stop, self.random = app, denials, stop, random.Random(number)
        self.username, self.think = f"{USERNAME}{number}", think
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.kinds: dict[str, int] = defaultdict(int)

    def timed(self, action: str, call: Callable[[], Any], ok: tuple[int, ...]) -> None:
        if self.think:
            self.stop.wait(self.think * self.random.uniform(0.5, 1.5))
        started = time.perf_counter()
        try:
            response = call()
            good = response.status_code in ok
            if not good:
                self.kinds[f"HTTP {response.status_code}"] += 1
        except Exception as error:  # counted: "database is locked" and the like
            good = False
            self.kinds[type(error).__name__] += 1
        self.times[action].append(time.perf_counter() - started)
        if not good:
            self.errors[action] += 1

    def run(self) -> None:
        while not self.stop.is_set():
            self.round(self.app.test_client(), self.random.choice(self.denials))

    def round(self, client: Any, denial: int) -> None:
        login = {"username": self.username, "password": PASSWORD}
        note = {"kind": "note", "body": "Called the payer."}
        redirected = (303,)
        self.timed("login", lambda: client.post("/auth/login", data=login), ok=(303,))
        self.timed("queue", lambda: client.get("/queue"), ok=(200,))
        self.timed("denial", lambda: client.get(f"/denials/{denial}"), ok=(200,))
        self.timed(
            "save", lambda: client.post(f"/denials/{denial}/notes", data=note), ok=redirected
        )


def measure(
    app: Any, denials: list[int], args: argparse.Namespace, until: Callable[[], bool]
) -> list[Worker]:
    stop = threading.Event()
    crew = [Worker(app, denials, stop, n, args.think) for n in range(args.workers)]
    for worker in crew:
        worker.start()
    while not until():
        time.sleep(0.1)
    stop.set()
    for worker in crew:
        worker.join(60)
    return crew


def report(database: str, phase: str, crew: list[Worker], seconds: float) -> None:
    every: list[float] = []
    errors = 0
    kinds: dict[str, int] = defaultdict(int)
    for action in ACTIONS:
        times = sorted(t for w in crew for t in w.times[action])
        failed = sum(w.errors[action] for w in crew)
        every += times
        errors += failed
        print(row(database, phase, action, times, failed))
    for worker in crew:
        for kind, n in worker.kinds.items():
            kinds[kind] += n
    print(row(database, phase, "all", sorted(every), errors))
    rate = len(every) / seconds if seconds else 0.0
    detail = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())) or "none"
    print(
        f"{'':<10} {phase:<14} {len(every)} requests in {seconds:.1f} s ({rate:.0f}/s); "
        f"errors: {detail}"
    )


def row(database: str, phase: str, action: str, times: list[float], errors: int) -> str:
    head = f"{database:<10} {phase:<14} {action:<7} {len(times):>6}"
    if not times:
        return f"{head} {'-':>8} {'-':>8} {'-':>8} {errors:>6}"
    p50, p95 = statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"{head} {p50 * 1000:>8.0f} {p95 * 1000:>8.0f} {times[-1] * 1000:>8.0f} {errors:>6}"


def bench(database: str, url: str, args: argparse.Namespace, big: Path, seed_file: Path) -> None:
    from appeals import create_app

    denials = prepare(url, seed_file, args.workers)
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret",
            "WTF_CSRF_ENABLED": False,
            "TESTING": True,  # the day's rescore runs at the first request, before measuring
        }
    )
    client = app.test_client()
    client.post("/auth/login", data={"username": f"{USERNAME}0", "password": PASSWORD})
    client.get("/queue")
    started = time.perf_counter()
    crew = measure(app, denials, args, lambda: time.perf_counter() - started > args.baseline)
    report(database, "no import", crew, time.perf_counter() - started)
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    phase = "direct import" if args.direct and database == "sqlite" else "import"
    process = context.Process(target=_import, args=(url, str(big), args.direct, done))
    started = time.perf_counter()
    process.start()
    crew = measure(app, denials, args, lambda: not process.is_alive())
    seconds = time.perf_counter() - started
    process.join()
    status, claims, took, held, error = done.get(timeout=10)
    report(database, phase, crew, seconds)
    merged = f"; SQLite write lock held {held:.1f} s (the merge)" if held else ""
    print(f"{'':<10} {phase:<14} {status} {claims} claims in {took:.1f} s{merged} {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=6, help="people working at once")
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds with no import")
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds between clicks")
    parser.add_argument("--direct", action="store_true", help="SQLite: import without staging")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "appeals-bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    big = generate(args.dir / f"concurrency_{args.claims}.835", args.claims, seed=11, first=1)
    seed_file = generate(args.dir / "concurrency_seed.835", 2000, seed=12, first=10_000_001)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.workers} people")
    print(
        f"{'database':<10} {'phase':<14} {'action':<7} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'max ms':>8} {'errors':>6}"
    )
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(dir=args.dir) as folder:
            bench("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args, big, seed_file)
    if not args.no_postgres:
        name = f"appeals_concurrency_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(db.normalise_url(args.postgres), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(db.normalise_url(args.postgres)).set(database=name)
        try:
            bench("postgresql", url.render_as_string(False), args, big, seed_file)
        finally:
            db.dispose_engine(url.render_as_string(False))
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
