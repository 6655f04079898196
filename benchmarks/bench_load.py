"""Load on loopback against `appeals serve` (the production server): logged-in users clicking.

Starts `appeals serve` on a free loopback port against a seeded demo database (built with
`appeals demo --no-serve --claims-per-month 300` when the database holds no denials yet: the size
the target was set on, so figures stay comparable), logs in simulated users and
has each of them loop over the pages people use all day: the queue, a filtered queue, a search,
a denial page and a letter download. After `--warmup` seconds of unmeasured clicks (the first
request of the day starts the server's daily rescore and report refresh), two runs:

1. `--users` users (default 50) with 2–5 s think time between clicks: errors, p50 and p95
   overall and per page;
2. the same users clicking without pause: the most requests per second, with p50 and p95.

    python benchmarks/bench_load.py                                   # SQLite, fresh demo
    python benchmarks/bench_load.py --database sqlite:////path/demo.db
    python benchmarks/bench_load.py --database postgresql://user@host/dbname
    python benchmarks/bench_load.py --url http://127.0.0.1:5000 --database ...   # a running server

The server's own settings come from the environment as documented in docs/deployment.md
(`APPEALS_WORKERS`, `APPEALS_THREADS`, ...). The client runs on the same machine, so it takes
some of the CPU the server could have used: the machine's load average is printed with the
figures.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appeals import db, letters, users  # noqa: E402
from appeals.models import Claim, Denial, Letter, Payer  # noqa: E402

USERNAME = "loadbench"
ACTIONS = ("queue", "filtered", "search", "denial", "letter")
OPEN = ("new", "in_progress")
# the `appeals` command installed beside this Python
APPEALS = str(Path(sys.executable).with_name("appeals"))


@dataclass
class Targets:
    """What the simulated users ask for: real ids and names from the database."""

    denials: list[int]
    payers: list[int]
    names: list[str]
    letters: list[int]

    def path(self, action: str, rng: random.Random) -> str:
        if action == "queue":
            return "/queue"
        if action == "filtered":
            args = [("payer", rng.choice(self.payers)), ("status", "new"), ("sort", "deadline")]
            return "/queue?" + urlencode(args)
        if action == "search":
            return "/queue?" + urlencode({"q": rng.choice(self.names)})
        if action == "denial":
            return f"/denials/{rng.choice(self.denials)}"
        return f"/letters/{rng.choice(self.letters)}.docx"


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, action: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies[action].append(seconds)
            if not ok:
                self.errors[action] += 1


# --- the database ---------------------------------------------------------------------------


def seed(url: str, instance: Path, claims_per_month: int) -> None:
    """Build the demo practice into `url` with `appeals demo --no-serve` (a minute or two)."""
    env = {**os.environ, "DATABASE_URL": url, "APPEALS_INSTANCE": str(instance)}
    print(f"Seeding the demo practice, {claims_per_month} claims a month ...", flush=True)
    subprocess.run(
        [APPEALS, "demo", "--no-serve", "--yes", "--claims-per-month", str(claims_per_month)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def prepare(url: str, letter_count: int = 30) -> tuple[str, Targets]:
    """The bench user (its password reset, so it is known) and the pages' ids and names."""
    engine = db.get_engine(url)
    password = secrets.token_urlsafe(12)
    rng = random.Random(7)
    with Session(engine, expire_on_commit=False) as session:
        user = users.get_by_username(session, USERNAME)
        if user is None:
            user = users.create_user(session, USERNAME, password, role="admin")
        else:
            users.set_password(session, user, password)
        session.commit()
        denial_ids = list(
            session.exec(select(Denial.id).where(col(Denial.status).in_(OPEN)).limit(5000))
        )
        payers = list(session.exec(select(Payer.id)))
        names = sorted(
            {
                n[:4]
                for n in session.exec(
                    select(Claim.patient_last_name).where(Claim.patient_last_name != "").limit(500)
                )
                if n and len(n) >= 4
            }
        )
        stored = list(session.exec(select(Letter.id).limit(letter_count)))
        tried = 0
        candidates = rng.sample(denial_ids, min(len(denial_ids), 400))
        while len(stored) < letter_count and tried < len(candidates):
            try:
                letter = letters.generate_letter(session, [candidates[tried]], user_id=user.id)
                session.commit()
                stored.append(letter.id or 0)
            except letters.MissingFields:
                session.rollback()
            tried += 1
        denied_total = session.exec(select(func.count()).select_from(Denial)).one()
    if not denial_ids or not stored:
        raise SystemExit("The database has no open denials or letters: seed it first.")
    print(f"Database: {denied_total} denials, {len(stored)} letters to download")
    targets = Targets(
        [i for i in denial_ids if i is not None], [p for p in payers if p], names, stored
    )
    return password, targets


def has_denials(url: str) -> bool:
    engine = db.get_engine(url)
    with engine.connect() as connection:
        return bool(connection.execute(sa.text("SELECT count(*) FROM denial")).scalar())


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, instance: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "APPEALS_INSTANCE": str(instance)}
    server = subprocess.Popen(
        [APPEALS, "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("The server did not start.") from None
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("The server did not answer within 60 s.")


# --- the users ------------------------------------------------------------------------------


class Browser:
    """One logged-in person: a keep-alive connection and the session cookie."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection(host, port, timeout=60)

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=sent)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: open a new one once.
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return response.status, data

    def log_in(self, password: str) -> None:
        status, page = self.request("GET", "/auth/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or match is None:
            raise RuntimeError(f"login page: HTTP {status}")
        form = urlencode(
            {"csrf_token": match.group(1).decode(), "username": USERNAME, "password": password}
        )
        status, _ = self.request(
            "POST", "/auth/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 303:
            raise RuntimeError(f"login: HTTP {status}")


def run(
    address: tuple[str, int],
    password: str,
    targets: Targets,
    user_count: int,
    seconds: float,
    think: tuple[float, float] | None,
) -> tuple[Results, float]:
    """`user_count` users clicking for `seconds`; returns the results and the wall time."""
    results = Results()
    browsers = []
    for _ in range(user_count):
        browser = Browser(*address)
        browser.log_in(password)
        browsers.append(browser)
    stop = threading.Event()

    def user(number: int, browser: Browser) -> None:
        rng = random.Random(number)
        if think:
            stop.wait(rng.uniform(0, think[1]))  # spread the first clicks
        while not stop.is_set():
            action = rng.choice(ACTIONS)
            path = targets.path(action, rng)
            started = time.perf_counter()
            try:
                status, _ = browser.request("GET", path)
                ok = status == 200
            except (OSError, http.client.HTTPException):
                ok = False
            results.add(action, time.perf_counter() - started, ok)
            if think:
                stop.wait(rng.uniform(*think))

    threads = [
        threading.Thread(target=user, args=(n, b), daemon=True) for n, b in enumerate(browsers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    return results, time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def report(title: str, results: Results, wall: float) -> None:
    every = [s for values in results.latencies.values() for s in values]
    errors = sum(results.errors.values())
    print(f"\n{title}")
    print(f"  {'page':<10} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for action in ACTIONS:
        values = results.latencies.get(action, [])
        print(
            f"  {action:<10} {len(values):>9} {results.errors.get(action, 0):>7} "
            f"{1000 * percentile(values, 0.5):>8.0f} {1000 * percentile(values, 0.95):>8.0f}"
        )
    print(
        f"  {'all':<10} {len(every):>9} {errors:>7} {1000 * percentile(every, 0.5):>8.0f} "
        f"{1000 * percentile(every, 0.95):>8.0f}   {len(every) / wall:.1f} requests/s"
    )


def during_import(
    args: argparse.Namespace,
    url: str,
    instance: Path,
    scratch: Path,
    address: tuple[str, int],
    password: str,
    targets: Targets,
) -> None:
    """The think-time run again while `appeals import` loads a large generated file."""
    big = scratch / "big.835"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gen_835.py"), str(big), "--claims",
         str(args.during_import), "--seed", str(secrets.randbelow(10**6))],
        check=True,
    )  # fmt: skip
    env = {**os.environ, "DATABASE_URL": url, "APPEALS_INSTANCE": str(instance)}
    started = time.perf_counter()
    importing = subprocess.Popen(
        [APPEALS, "import", str(big)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    results, wall = run(address, password, targets, args.users, args.seconds, (2.0, 5.0))
    still = importing.poll() is None
    report(
        f"{args.users} users, 2-5 s think time, {wall:.0f} s, while importing "
        f"{args.during_import} claims ({'still running at the end' if still else 'finished'})",
        results,
        wall,
    )
    status = importing.wait()
    print(f"  the import took {time.perf_counter() - started:.0f} s, exit status {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="database URL (default: a fresh demo in a temp dir)")
    parser.add_argument("--url", help="a server already running on this database")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--claims-per-month",
        type=int,
        default=300,
        help="size of a freshly seeded demo (300: the size the target was set on; the demo's "
        "own default is 1,500)",
    )
    parser.add_argument("--seconds", type=float, default=60, help="length of the think-time run")
    parser.add_argument("--burst-seconds", type=float, default=30, help="no-think-time run")
    parser.add_argument("--skip-think", action="store_true", help="only the no-think-time run")
    parser.add_argument(
        "--warmup", type=float, default=15, help="seconds of unmeasured clicks first (0: none)"
    )
    parser.add_argument(
        "--during-import",
        type=int,
        default=0,
        metavar="CLAIMS",
        help="also a think-time run while `appeals import` loads a file of CLAIMS claims",
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-load-"))
    instance = scratch / "instance"
    instance.mkdir(mode=0o700)
    url = args.database or f"sqlite:///{instance / 'demo.db'}"
    server = None
    try:
        if not has_denials(url):
            db.dispose_engine(url)
            seed(url, instance, args.claims_per_month)
        password, targets = prepare(url)
        if args.url:
            parts = urlsplit(args.url)
            address = (parts.hostname or "127.0.0.1", parts.port or 80)
        else:
            address = ("127.0.0.1", free_port())
            server = start_server(url, instance, address[1])
        print(f"Server: {args.url or 'appeals serve'}; {os.cpu_count()} CPUs")
        if args.warmup:
            # Unmeasured: the first request of the day starts the server's daily rescore and
            # report refresh in the background, which would otherwise share the first run's CPU.
            run(address, password, targets, min(10, args.users), args.warmup, (0.5, 1.0))
        if not args.skip_think:
            results, wall = run(address, password, targets, args.users, args.seconds, (2.0, 5.0))
            report(f"{args.users} users, 2-5 s think time, {wall:.0f} s", results, wall)
        results, wall = run(address, password, targets, args.users, args.burst_seconds, None)
        report(f"{args.users} users, no think time, {wall:.0f} s", results, wall)
        if args.during_import:
            during_import(args, url, instance, scratch, address, password, targets)
        print(f"\nLoad average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        db.dispose_engine(url)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
