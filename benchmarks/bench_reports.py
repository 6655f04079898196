"""Report pages' server time with 1,000,000 service lines and 200,000 denials.

Loads a synthetic practice into a fresh database: about 400,000 remittance claims over fifteen
months (a few reversals and repayments, second remittances of the same account), their lines
with CO-45 write-downs and payments, 200,000 denials in every status, appeals at two levels sent
by five specialists, wins decided by people and by later 835s. Then times each report page and
the Reasons page through the Flask test client (routing, queries, templates) and prints the
median and 90th percentile of each.

    python benchmarks/bench_reports.py                       # SQLite in a temporary folder
    python benchmarks/bench_reports.py --database postgresql://user@host/dbname   # must be empty
    python benchmarks/bench_reports.py --cache --scratch     # reuse the SQLite file; compare

The first visit after loading computes every aggregate cell (printed apart); then each page's
median and 90th percentile, the first monthly visit after a write (two cells recomputed), and
with --scratch each report computed from the base tables, as before the aggregates.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from appeals import db, grouping, reports, users
from appeals.denials import CATEGORIES
from appeals.models import (
    Adjustment,
    Appeal,
    Claim,
    Denial,
    DenialScore,
    Payer,
    Payment,
    Practice,
    RemittanceFile,
    ServiceLine,
)
from appeals.reports import aggregates
from benchmarks.bench_queue import CARCS, FIRST_NAMES, PASSWORD, PROCEDURES, RARCS, SYLLABLES, timed

PROVIDERS = [(f"DOCTOR{n}", f"12345678{n:02d}") for n in range(6)]
STATUSES = (
    ["new"] * 30 + ["in_progress"] * 10 + ["appealed"] * 10 + ["won"] * 16 + ["partial"] * 6
    + ["lost"] * 10 + ["written_off"] * 12 + ["billed_patient"] * 6
)  # fmt: skip
CENTS = Decimal("0.01")


def _setup(
    engine: sa.Engine, weeks: int, today: date
) -> tuple[int, list[tuple[int, int, date]], list[int]]:
    """The practice, payers, weekly payments per payer, five specialists and a manager."""
    with Session(engine) as session:
        practice = Practice(name="Benchmark Dermatology")
        payers = [Payer(identifier=f"RP{n:02d}", name=f"Report Payer {n:02d}") for n in range(12)]
        session.add(practice)
        session.add_all(payers)
        session.flush()
        remittance = RemittanceFile(name="bench.835", sha256="bench-reports")
        session.add(remittance)
        session.flush()
        payments = []
        for week in range(weeks):
            for payer in payers:
                payments.append(
                    Payment(
                        file_id=remittance.id or 0,
                        practice_id=practice.id or 0,
                        payer_id=payer.id or 0,
                        dedupe_key=f"bench-{payer.id}-{week}",
                        payment_date=today - timedelta(days=7 * (weeks - week)),
                    )
                )
        session.add_all(payments)
        specialists = [
            users.create_user(
                session, f"spec{n}", PASSWORD, role="specialist", practice_id=practice.id
            )
            for n in range(5)
        ]
        users.create_user(session, "bench", PASSWORD, role="manager", practice_id=practice.id)
        session.commit()
        return (
            practice.id or 0,
            [(p.id or 0, p.payer_id, p.payment_date or today) for p in payments],
            [u.id or 0 for u in specialists],
        )


def load(engine: sa.Engine, lines_wanted: int, denials_wanted: int, seed: int = 11) -> None:
    """Insert the synthetic history in batches of driver-level executemany."""
    rng = random.Random(seed)
    today = date.today()
    weeks = 65
    practice_id, payments, specialists = _setup(engine, weeks, today)
    categories = list(CATEGORIES)
    deny_share = denials_wanted / lines_wanted
    claim_id = line_id = denial_id = 0
    counts = {"lines": 0, "denials": 0}
    accounts: list[
        tuple[str, int, int]
    ] = []  # (account, payer id, claim id) for second remittances
    with engine.begin() as connection:
        while counts["lines"] < lines_wanted:
            claims, lines, adjustments, denials, appeals = [], [], [], [], []
            for _ in range(4000):
                if counts["lines"] >= lines_wanted:
                    break
                claim_id += 1
                payment_id, payer_id, paid_on = rng.choice(payments)
                service = paid_on - timedelta(days=rng.randint(7, 75))
                provider, npi = rng.choice(PROVIDERS)
                reversal = rng.random() < 0.01 and accounts
                again = not reversal and rng.random() < 0.05 and accounts
                if reversal or again:
                    account, payer_id, _ = rng.choice(accounts)
                    payment_id, payer_id, paid_on = next(
                        (p for p in payments if p[1] == payer_id and p[2] >= paid_on),
                        (payment_id, payer_id, paid_on),
                    )
                else:
                    account = f"R{claim_id:08d}"
                    accounts.append((account, payer_id, claim_id))
                sign = Decimal(-1 if reversal else 1)
                n_lines = min(rng.choice((1, 2, 2, 3, 3, 4)), lines_wanted - counts["lines"])
                claim_charge = claim_paid = Decimal("0")
                for number in range(1, n_lines + 1):
                    line_id += 1
                    counts["lines"] += 1
                    charge = Decimal(rng.randint(4000, 90000)) / 100
                    code = rng.choice(PROCEDURES)
                    denied = (
                        not reversal
                        and rng.random() < deny_share * 1.02
                        and counts["denials"] < denials_wanted
                    )
                    paid = Decimal("0") if denied else (charge * Decimal("0.6")).quantize(CENTS)
                    lines.append({
                        "id": line_id, "claim_id": claim_id, "line_number": number,
                        "procedure_code": code, "charge": charge * sign, "paid": paid * sign,
                        "units": Decimal("1"), "service_date": service,
                    })  # fmt: skip
                    claim_charge += charge * sign
                    claim_paid += paid * sign
                    group, carc = rng.choice(CARCS)
                    adjustments.append({
                        "claim_id": claim_id, "line_id": line_id,
                        "group_code": group if denied else "CO", "reason": carc if denied else "45",
                        "amount": (charge if denied else charge - paid) * sign, "position": 0,
                    })  # fmt: skip
                    if denied:
                        counts["denials"] += 1
                        denial_id += 1
                        where = (practice_id, payer_id, claim_id, line_id, account, code)
                        denials.append(_denial(rng, denial_id, *where, service, paid_on, group,
                                               carc, charge, categories, today))  # fmt: skip
                        appeals.extend(_appeals(rng, denials[-1], specialists, today))
                claims.append({
                    "id": claim_id, "payment_id": payment_id, "practice_id": practice_id,
                    "payer_id": payer_id, "patient_control_number": account,
                    "payer_claim_control_number": f"ICN{claim_id:09d}",
                    "status": "22" if reversal else ("4" if claim_paid == 0 else "1"),
                    "charge": claim_charge, "paid": claim_paid, "service_date": service,
                    "is_reversal": bool(reversal), "rendering_provider_name": provider,
                    "rendering_provider_npi": npi,
                    "patient_last_name": "".join(rng.choices(SYLLABLES, k=3)).upper(),
                    "patient_first_name": rng.choice(FIRST_NAMES).upper(),
                })  # fmt: skip
            scores = [
                {"id": row["id"], "priority": row.pop("priority"),
                 "explanation": row.pop("explanation")} for row in denials
            ]  # fmt: skip
            for model, rows in (
                (Claim, claims), (ServiceLine, lines), (Adjustment, adjustments),
                (Denial, denials), (DenialScore, scores), (Appeal, appeals),
            ):  # fmt: skip
                if rows:
                    connection.execute(model.__table__.insert(), rows)  # type: ignore[attr-defined]
            print(f"  loaded {counts['lines']:,} lines, {counts['denials']:,} denials", flush=True)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            for table in ("claim", "serviceline", "denial"):
                connection.execute(
                    sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
            connection.execute(sa.text("ANALYZE"))
        else:
            connection.execute(sa.text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))


def _denial(
    rng: random.Random,
    ident: int,
    practice_id: int,
    payer_id: int,
    claim_id: int,
    line_id: int,
    account: str,
    code: str,
    service: date,
    denied_on: date,
    group: str,
    carc: str,
    amount: Decimal,
    categories: list[str],
    today: date,
) -> dict[str, Any]:
    status = rng.choice(STATUSES)
    closed_statuses = ("won", "partial", "lost", "written_off")
    recovered = {"won": amount, "partial": (amount / 2).quantize(CENTS)}.get(status, Decimal("0"))
    closed = denied_on + timedelta(days=rng.randint(10, 150))
    closed = min(closed, today)
    rarc = rng.choice(RARCS)
    return {
        "id": ident, "practice_id": practice_id, "payer_id": payer_id, "claim_id": claim_id,
        "line_id": line_id, "patient_control_number": account, "procedure_code": code,
        "service_date": service, "denied_on": denied_on, "group_code": group, "carc": carc,
        "carcs": carc, "rarc": rarc, "rarcs": rarc, "category": rng.choice(categories),
        "action": "appeal", "denied_amount": amount, "status": status,
        "appeal_level": 1, "deadline": denied_on + timedelta(days=rng.choice((60, 120, 180))),
        "priority": float(amount) * rng.random(), "explanation": '["benchmark"]',  # its score's
        "findings": '[{"rule_id": "em_25", "message": "Add modifier 25", '
        '"suggested_change": "append modifier 25 to the E/M", "action": "corrected_claim"}]'
        if code == "99213" else "",
        "recovered_amount": recovered,
        "closed_at": datetime(closed.year, closed.month, closed.day, 12, tzinfo=UTC)
        if status in closed_statuses else None,
        "assignee_id": None,
    }  # fmt: skip


def _appeals(
    rng: random.Random, denial: dict[str, Any], specialists: list[int], today: date
) -> list[dict[str, Any]]:
    """The appeals behind a denial's status: one level, or a lost first level then a second."""
    status = denial["status"]
    if status not in ("appealed", "won", "partial", "lost"):
        if status == "in_progress":
            denial["assignee_id"] = rng.choice(specialists)
        return []
    sender = rng.choice(specialists)
    denial["assignee_id"] = sender
    sent = denial["denied_on"] + timedelta(days=rng.randint(3, 30))
    decided = denial["closed_at"].date() if denial["closed_at"] else None
    levels = 2 if status in ("won", "partial") and rng.random() < 0.15 else 1
    rows = []
    for level in range(1, levels + 1):
        last = level == levels
        outcome = status if last and status != "appealed" else ("" if last else "lost")
        closed = decided if last else sent + timedelta(days=rng.randint(20, 60))
        rows.append({
            "denial_id": denial["id"], "level": level, "route": "appeal", "submitted_on": sent,
            "method": "portal", "outcome": outcome,
            "recovered_amount": denial["recovered_amount"] if last else Decimal("0"),
            "closed_on": closed if outcome else None,
            "source": "remittance" if outcome in ("won", "partial") and rng.random() < 0.5
            else "app",
            "sent_by_id": sender, "created_at": datetime.now(UTC),
        })  # fmt: skip
        denial["appeal_level"] = level
        if closed and not last:
            sent = min(closed + timedelta(days=5), today)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", help="an empty database URL (default: temporary SQLite)")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--denials", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--no-load", action="store_true", help="time a database this script loaded before"
    )
    parser.add_argument(
        "--cache",
        action="store_true",
        help="SQLite: keep the loaded database in the temporary folder and reuse it next time",
    )
    parser.add_argument(
        "--scratch", action="store_true", help="also time each report computed from scratch"
    )
    options = parser.parse_args()
    if options.cache and not options.database:
        path = Path(tempfile.gettempdir()) / f"bench-reports-{options.lines}-{options.denials}.db"
        loaded = path.with_suffix(".loaded")
        if not loaded.exists():
            path.unlink(missing_ok=True)
        options.no_load = loaded.exists()
    else:
        path = Path(tempfile.mkdtemp(prefix="bench-reports-")) / "bench.db"
        loaded = None
    url = options.database or f"sqlite:///{path}"
    engine = db.get_engine(url)
    if not options.no_load:
        print(f"database: {engine.dialect.name}; loading {options.lines:,} lines")
        started = time.perf_counter()
        load(engine, options.lines, options.denials)
        print(f"loaded in {time.perf_counter() - started:.1f} s")
        if loaded is not None:
            loaded.touch()
    with Session(engine) as session:
        for model in (Claim, ServiceLine, Adjustment, Denial, Appeal):
            total = session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
            print(f"  {model.__tablename__:<12} {total:>10,}")  # type: ignore[attr-defined]
        started = time.perf_counter()
        cells = aggregates.refresh(session, date.today())
        print(f"aggregates: {cells} stale cells computed in {time.perf_counter() - started:.1f} s")

    from appeals import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "bench", "password": PASSWORD})
    assert response.status_code == 303
    cases = {
        "monthly recovery": "/reports/",
        "monthly, by provider": "/reports/?by=provider",
        "monthly, one payer": "/reports/?payer=1&by=carc",
        "sources": "/reports/sources",
        "kpis": "/reports/kpis",
        "appeals": "/reports/appeals",
        "team": "/reports/team",
        "reasons page": "/reasons/",
    }
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n{'request':<24}{'median ms':>10}{'p90 ms':>10}")
    for name, path_ in cases.items():
        times = sorted(timed(client, path_, options.repeat))
        p90 = times[max(0, int(len(times) * 0.9) - 1)]
        print(f"{name:<24}{statistics.median(times):>10.1f}{p90:>10.1f}", flush=True)
    _after_a_write(engine, client)
    if options.scratch:
        _from_scratch(engine, options.repeat)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _after_a_write(engine: sa.Engine, client: Any) -> None:
    """The first visit after an outcome: the two cells it touched are recomputed first."""
    times = []
    for _ in range(3):
        with Session(engine) as session:
            denial = session.execute(
                sa.select(Denial).where(Denial.status == "new").order_by(Denial.id.desc()).limit(1)  # type: ignore[union-attr]
            ).scalar_one()
            denial.status = "written_off"
            session.commit()
        started = time.perf_counter()
        assert client.get("/reports/", headers={"HX-Request": "true"}).status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    print(f"{'monthly after a write':<24}{statistics.median(times):>10.1f}{max(times):>10.1f}")


def _from_scratch(engine: sa.Engine, repeat: int) -> None:
    """Each report computed from the base tables (the reference), without the page around it."""
    today = date.today()
    print(f"\n{'from scratch':<24}{'median ms':>10}")
    with Session(engine) as session:
        for name, args in (
            ("monthly", {}), ("monthly", {"by": "provider"}),
            ("monthly", {"payer": "1", "by": "carc"}), ("sources", {}), ("kpis", {}),
            ("appeals", {}), ("team", {}),
        ):  # fmt: skip
            f = reports.ReportFilters.parse(args, scope=None, today=today)
            times = []
            for _ in range(max(1, repeat // 2)):
                started = time.perf_counter()
                reports.build(session, name, f, today, from_scratch=True)
                times.append((time.perf_counter() - started) * 1000)
            label = f"{name} {' '.join(f'{k}={v}' for k, v in args.items())}"
            print(f"{label:<24}{statistics.median(times):>10.1f}", flush=True)
        times = []
        for _ in range(max(1, repeat // 2)):
            started = time.perf_counter()
            grouping.reason_groups_from_scratch(session)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{'reason groups':<24}{statistics.median(times):>10.1f}", flush=True)


if __name__ == "__main__":
    main()
