"""Queue page server time with 200,000 open denials.

Loads synthetic denials (one claim, one line, one denial each) into a fresh database, then times
full queue requests through the Flask test client (routing, queries, template rendering):
the first page, a page deep in the list (keyset cursor at row 150,000), a filtered page, a
search, and the lazily loaded count. Prints the median and 90th percentile of each, then the
time to stream the CSV export of every open denial (three runs). The day's upkeep, which the
first request of a day starts in the background, runs before the timings.

    python benchmarks/bench_queue.py                       # SQLite in a temporary folder
    python benchmarks/bench_queue.py --database postgresql://user@host/dbname   # must be empty
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from appeals import db, users
from appeals.denials import CATEGORIES
from appeals.models import (
    Claim,
    Denial,
    DenialScore,
    Payer,
    Payment,
    Practice,
    RemittanceFile,
    ServiceLine,
)
from appeals.queue import SORTS, Cursor

# Surnames from three syllables: about 8,000 distinct names, so a five-letter prefix matches a
# few dozen patients, as in a real practice (not a twenty-sixth of the table).
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vel", "wi", "zan", "bor",
             "den", "fi", "gur", "ho", "jas", "ne", "pa", "ri", "su", "tek"]  # fmt: skip
FIRST_NAMES = ["Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun"]
PROCEDURES = ["11102", "11305", "11602", "11642", "17000", "17110", "17311", "17312", "99213"]
CARCS = [("CO", "50"), ("CO", "97"), ("CO", "197"), ("CO", "16"), ("PR", "96"), ("CO", "29")]
RARCS = ["", "N115", "M15", "N130", "M76", "N20"]
PASSWORD = "benchmark-password"


def load(engine: sa.Engine, count: int, seed: int = 7) -> None:
    """Insert `count` open denials with their claims and lines, in batches."""
    rng = random.Random(seed)
    today = date.today()
    with Session(engine) as session:
        practice = Practice(name="Benchmark Dermatology")
        payers = [
            Payer(identifier=f"BP{n:02d}", name=f"Benchmark Payer {n:02d}") for n in range(12)
        ]
        session.add(practice)
        session.add_all(payers)
        session.flush()
        remittance = RemittanceFile(name="bench.835", sha256="bench" + str(seed))
        session.add(remittance)
        session.flush()
        payments = [
            Payment(
                file_id=remittance.id or 0,
                practice_id=practice.id or 0,
                payer_id=payer.id or 0,
                dedupe_key=f"bench-{payer.id}",
                payment_date=today - timedelta(days=20),
            )
            for payer in payers
        ]
        session.add_all(payments)
        users.create_user(session, "bench", PASSWORD, role="specialist", practice_id=practice.id)
        session.commit()
        practice_id = practice.id or 0
        payer_payment = [(p.payer_id, p.id) for p in payments]
    categories = list(CATEGORIES)
    batch = 10_000
    with engine.begin() as connection:
        claim_id = line_id = 0
        for start in range(0, count, batch):
            claims, lines, denials, scores = [], [], [], []
            for number in range(start, min(start + batch, count)):
                claim_id += 1
                line_id += 1
                payer_id, payment_id = payer_payment[number % len(payer_payment)]
                account = f"A{number:07d}"
                service = today - timedelta(days=rng.randint(20, 400))
                amount = Decimal(rng.randint(4000, 250000)) / 100
                group, carc = rng.choice(CARCS)
                rarc = rng.choice(RARCS)
                category = rng.choice(categories)
                probability = rng.choice([0.1, 0.25, 0.4, 0.55, 0.7])
                deadline = (
                    None if number % 17 == 0 else today + timedelta(days=rng.randint(-30, 300))
                )
                claims.append({
                    "id": claim_id, "payment_id": payment_id, "practice_id": practice_id,
                    "payer_id": payer_id, "patient_control_number": account,
                    "payer_claim_control_number": f"ICN{number:09d}", "status": "1",
                    "charge": amount, "paid": Decimal("0"), "service_date": service,
                    "patient_last_name": "".join(rng.choices(SYLLABLES, k=3)).upper(),
                    "patient_first_name": rng.choice(FIRST_NAMES).upper(),
                })  # fmt: skip
                lines.append({
                    "id": line_id, "claim_id": claim_id, "line_number": 1,
                    "procedure_code": rng.choice(PROCEDURES),
                    "modifiers": rng.choice(["", "25", "59", "RT"]), "charge": amount,
                    "paid": Decimal("0"), "units": Decimal("1"), "service_date": service,
                })  # fmt: skip
                expected = (amount * Decimal(str(probability))).quantize(Decimal("0.01"))
                denials.append({
                    "id": claim_id, "practice_id": practice_id, "payer_id": payer_id,
                    "claim_id": claim_id, "line_id": line_id, "patient_control_number": account,
                    "procedure_code": lines[-1]["procedure_code"], "service_date": service,
                    "denied_on": service + timedelta(days=25), "group_code": group, "carc": carc,
                    "carcs": carc, "rarc": rarc, "rarcs": rarc, "category": category,
                    "action": "appeal", "denied_amount": amount,
                    "status": "new" if number % 3 else "in_progress",
                    "deadline": deadline,
                })  # fmt: skip
                scores.append({
                    "id": claim_id, "probability": probability, "expected_recovery": expected,
                    "priority": float(expected) * rng.choice([1.0, 1.0, 1.25, 1.5]),
                    "explanation": '["benchmark"]',
                })  # fmt: skip
            connection.execute(Claim.__table__.insert(), claims)  # type: ignore[attr-defined]
            connection.execute(ServiceLine.__table__.insert(), lines)  # type: ignore[attr-defined]
            connection.execute(Denial.__table__.insert(), denials)  # type: ignore[attr-defined]
            connection.execute(DenialScore.__table__.insert(), scores)  # type: ignore[attr-defined]
            print(f"  loaded {min(start + batch, count):,} denials", flush=True)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                sa.text("SELECT setval('claim_id_seq', (SELECT max(id) FROM claim))")
            )
            connection.execute(
                sa.text("SELECT setval('serviceline_id_seq', (SELECT max(id) FROM serviceline))")
            )
            connection.execute(
                sa.text("SELECT setval('denial_id_seq', (SELECT max(id) FROM denial))")
            )
            connection.execute(sa.text("ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))


def deep_cursor(engine: sa.Engine, position: int) -> str:
    """The keyset cursor of the row at `position` in priority order (as "Next" links carry)."""
    with Session(engine) as session:
        value, ident = session.exec(
            select(DenialScore.priority, DenialScore.id)
            .join(Denial, Denial.id == DenialScore.id)
            .where(Denial.status.in_(("new", "in_progress")))  # type: ignore[attr-defined]
            .order_by(DenialScore.priority.desc(), DenialScore.id.desc())  # type: ignore[attr-defined]
            .offset(position)
            .limit(1)
        ).one()
    return Cursor(value, ident).encode()


def timed(client: Any, url: str, repeat: int) -> list[float]:
    client.get(url)  # warm caches and templates
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, headers={"HX-Request": "true"})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="an empty database URL (default: temporary SQLite)")
    parser.add_argument("--denials", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=25)
    options = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-queue-")
    url = options.database or f"sqlite:///{Path(folder) / 'bench.db'}"
    engine = db.get_engine(url)
    print(f"database: {engine.dialect.name}; loading {options.denials:,} open denials")
    started = time.perf_counter()
    load(engine, options.denials)
    print(f"loaded in {time.perf_counter() - started:.1f} s")

    from appeals import create_app
    from appeals.web import maintenance

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    # The day's upkeep (full rescore, report refresh), which the first request of a day would
    # start in a background thread of this process, runs first: the figures are the pages'.
    started = time.perf_counter()
    maintenance.rescore(engine, maintenance.today())
    app.extensions["appeals.rescored_on"] = {"day": maintenance.today()}
    print(
        f"the day's upkeep (rescore, report refresh) first: {time.perf_counter() - started:.1f} s"
    )
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "bench", "password": PASSWORD})
    assert response.status_code == 303
    assert "priority" in SORTS
    with Session(engine) as session:
        payer = session.exec(select(Payer.id).order_by(Payer.id)).first()
    deep = deep_cursor(engine, int(options.denials * 0.75))
    cases = {
        "first page": "/queue",
        "deep page (row 150,000)": f"/queue?after={deep}",
        "filtered page": f"/queue?payer={payer}&category=medical_necessity&due_within=90",
        "filtered, by deadline": "/queue?category=bundling_ncci&sort=deadline",
        "search (name prefix)": "/queue?q=karen",
        "search (account)": "/queue?q=A01234",
        "count (lazy)": "/queue/count",
    }
    print(f"\n{'request':<28}{'median ms':>10}{'p90 ms':>10}")
    for name, path in cases.items():
        times = sorted(timed(client, path, options.repeat))
        p90 = times[int(len(times) * 0.9) - 1]
        print(f"{name:<28}{statistics.median(times):>10.1f}{p90:>10.1f}")
    # The CSV export of every open denial, streamed: the time to the last byte (target < 3 s).
    for attempt in range(3):
        started = time.perf_counter()
        response = client.get("/queue/export.csv?view=all", buffered=False)
        size = rows = 0
        for chunk in response.response:
            size += len(chunk)
            rows += chunk.count(b"\n")
        response.close()
        seconds = time.perf_counter() - started
        shown = f"{rows - 1:,} rows, {size / 1e6:.1f} MB"
        print(f"CSV export, run {attempt + 1}: {shown} in {seconds:.2f} s")


if __name__ == "__main__":
    main()
