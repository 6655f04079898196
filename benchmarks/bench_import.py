"""Import speed and memory: synthetic 835s into fresh SQLite and PostgreSQL databases.

    python benchmarks/bench_import.py [--sizes 1000 10000 100000] [--postgres URL] [--dir DIR]

For each size it generates a file (benchmarks/gen_835.py, cached in DIR) and, in a fresh
subprocess per database, imports it into an empty database, printing seconds, claims/s, denials
found and the subprocess's peak resident memory. PostgreSQL figures need a server URL (default
postgresql://postgres@127.0.0.1:5432/test; a scratch database is created and dropped there).
Target: 100,000 claims into SQLite in under 20 s; peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gen_835 import generate  # noqa: E402

CHILD = """
import json, resource, sys, time
from datetime import date
sys.path.insert(0, {root!r})
from appeals import db
from appeals.importer import import_file
url, path = sys.argv[1], sys.argv[2]
engine = db.get_engine(url)
start = time.perf_counter()
result = import_file(engine, path, today=date(2025, 3, 15))
elapsed = time.perf_counter() - start
assert result.status == "imported", result.error
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": elapsed, "claims": result.claims, "denials": result.denials,
                   "maxrss_kb": rss}}))
"""


def run(url: str, path: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), url, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def postgres_database(server: str) -> tuple[str, object]:
    import sqlalchemy as sa

    from appeals.db import normalise_url

    name = f"appeals_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(normalise_url(server)).set(database=name)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return url.render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "appeals-bench")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    columns = ("claims", "MB", "database", "seconds", "claims/s", "denials", "peak MB")
    print("{:>8} {:>6} {:<10} {:>8} {:>9} {:>8} {:>8}".format(*columns))
    for size in args.sizes:
        path = args.dir / f"synthetic_{size}.835"
        if not path.exists():
            generate(path, size)
        mb = path.stat().st_size / 1e6
        targets = [("sqlite", f"sqlite:///{args.dir / f'bench_{uuid.uuid4().hex[:8]}.db'}", None)]
        if not args.no_postgres:
            url, drop = postgres_database(args.postgres)
            targets.append(("postgresql", url, drop))
        for label, url, drop in targets:
            try:
                figures = run(url, path)
            finally:
                if drop:
                    drop()  # type: ignore[operator]
                elif url.startswith("sqlite:///"):
                    for suffix in ("", "-wal", "-shm"):
                        Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            seconds = figures["seconds"]
            rate = figures["claims"] / seconds
            peak = figures["maxrss_kb"] / 1024
            print(
                f"{size:>8} {mb:>6.1f} {label:<10} {seconds:>8.2f} {rate:>9.0f} "
                f"{figures['denials']:>8} {peak:>8.0f}"
            )


if __name__ == "__main__":
    main()
