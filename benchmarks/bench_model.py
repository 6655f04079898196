"""Recovery model figures and speed.

1. Quality, on the synthetic demo practice with a time split: builds the practice (835 files,
   coding checks, documentation, appeal history), evaluates the trained model against the
   smoothed prior and the baselines (AUC, AP, Brier, calibration error overall and per payer
   type; dollars recovered working the top 10 % and 25 % of daily arrivals), and writes the
   calibration and lift charts.
2. Speed: training on N synthetic outcomes (features, fit, calibration, as `appeals model
   train` does: a time-split fit and a final fit), and rescoring N open denials in a database
   whose live ranker is a model trained on `--model-outcomes` synthetic outcomes (the daily
   upkeep's cost: read, features, predict, write; the first rescore predicts and writes every
   row, as after training, with the model as training left it in memory; the next day's
   predicts only rows whose features changed and writes only what changed; below 20,000
   outcomes the model is five cross-validated boosters, its slowest case, though a practice
   with 200,000 open denials has settled many more outcomes than that and is ranked by one
   booster: `--model-outcomes 50000`), then 1,000 denials against the aggregates the daily
   rescore kept, as a file's import does in a new process.
   `--skip-quality --skip-training --database URL` times only the rescore on an empty
   PostgreSQL database.
3. A panel (`--panel 51-62`): instead of the demo's practice, one practice per seed (the even
   seeds with drift), each evaluated as in 1., one line each against the targets, then how
   many met each: a single practice's calibration error is read against a noise floor close
   to the target (0.027-0.029 on the demo's size), so one practice says little.

    python benchmarks/bench_model.py                                   # SQLite, demo size
    python benchmarks/bench_model.py --claims-per-month 5000           # a bigger practice
    python benchmarks/bench_model.py --drift     # win rates trend by payer type; a payer joins late
    python benchmarks/bench_model.py --database postgresql://user@host/db   # must be empty
    python benchmarks/bench_model.py --panel 51-62    # twelve practices never tuned on
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_queue import load as load_open_denials  # noqa: E402

from appeals import db, heap, model_report, ranking  # noqa: E402
from appeals.commands.model import print_report  # noqa: E402
from appeals.documentation import import_documentation_csv  # noqa: E402
from appeals.findings import refresh_findings_for_files  # noqa: E402
from appeals.history import import_appeal_history  # noqa: E402
from appeals.importer import import_file  # noqa: E402
from appeals.models import Denial  # noqa: E402
from appeals.synth import generate  # noqa: E402
from classifiers import model as m  # noqa: E402
from classifiers import recovery  # noqa: E402
from classifiers.features import (  # noqa: E402
    FEATURES,
    SETTLE,
    History,
    Record,
    load_records,
    matrix,
)


def fresh(url: str | None, folder: Path, name: str) -> sa.Engine:
    if url:
        return db.get_engine(url)
    return db.get_engine(f"sqlite:///{folder / name}")


def build_practice(
    engine: sa.Engine, folder: Path, months: int, per_month: int, seed: int, drift: bool
) -> None:
    """A synthetic practice in `engine`: its 835 files imported, the coding checks run, its
    documentation and appeal history imported."""
    data = folder / "practice"
    generate(data, seed=seed, months=months, claims_per_month=per_month, drift=drift)
    ids = [import_file(engine, path).file_id for path in sorted(data.glob("*.835"))]
    refresh_findings_for_files(engine, [i for i in ids if i])
    with Session(engine) as session:
        import_documentation_csv(session, None, data / "documentation.csv")
        import_appeal_history(session, data / "appeals.csv")
        session.commit()


def quality(
    engine: sa.Engine, folder: Path, months: int, per_month: int, seed: int, drift: bool
) -> None:
    started = time.perf_counter()
    build_practice(engine, folder, months, per_month, seed, drift)
    print(f"practice: {months} months × {per_month} claims{', with drift' if drift else ''}, "
          f"built in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    with Session(engine) as session:
        started = time.perf_counter()
        report, _ = recovery.evaluate(session, date.today())
        took = time.perf_counter() - started
    data_report = asdict(report)
    print_report(data_report)
    print(f"\nwould go live: {report.live} ({report.reason})")
    print(f"evaluation (features, fit, calibration, baselines) took {took:.1f} s")
    charts = folder / "charts"
    charts.mkdir(exist_ok=True)
    (charts / "calibration.svg").write_text(model_report.calibration_svg(data_report))
    (charts / "lift.svg").write_text(model_report.gains_svg(data_report))
    print(f"charts: {charts}")


BASELINES = (recovery.PRIOR, "oldest first", "largest first", "deadline first")


def panel_member(seed: int, drift: bool, months: int, per_month: int) -> dict[str, Any]:
    """Build one practice in a folder of its own and evaluate as `quality` does: its figures
    against the issue's targets."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        engine = fresh(None, folder, "practice.db")
        build_practice(engine, folder, months, per_month, seed, drift)
        with Session(engine) as session:
            report, _ = recovery.evaluate(session, date.today())
        engine.dispose()
    model, prior = report.scores[recovery.MODEL], report.scores[recovery.PRIOR]
    worst = max(report.by_payer_type.items(), key=lambda item: item[1][recovery.MODEL]["ece"])
    shares = {}
    for share in ("10%", "25%"):
        best = max(report.dollars[name][share] for name in BASELINES)
        oldest = report.dollars["oldest first"][share]
        shares[share] = {
            "model": report.dollars[recovery.MODEL][share] / best,
            "live": report.dollars[report.live][share] / best,
            "vs oldest": report.dollars[report.live][share] / oldest,
        }
    points = report.calibration[recovery.MODEL]
    count = sum(n for _, _, n in points)
    return {
        "seed": seed, "drift": drift, "n": report.holdout_outcomes, "auc": model["auc"],
        "prior_auc": prior["auc"], "ece": model["ece"], "floor": model["ece_floor"],
        "worst_type": worst[0], "worst_ece": worst[1][recovery.MODEL]["ece"],
        "worst_floor": worst[1][recovery.MODEL]["ece_floor"],
        "predicted": sum(p * n for p, _, n in points) / count,
        "observed": sum(o * n for _, o, n in points) / count,
        "live": report.live, "dollars": shares,
    }  # fmt: skip


def panel(seeds: list[int], months: int, per_month: int) -> None:
    """`panel_member` for each seed (the even ones with drift: payers change, one joins
    late), two at a time, then how many met each target."""
    print(f"{len(seeds)} practices of {months} months × {per_month} claims, the even seeds "
          f"with drift (built and evaluated two at a time):")  # fmt: skip
    print(f"{'seed':>8} {'tested':>6} {'AUC':>5} {'prior':>5} {'ECE':>5} {'floor':>5} "
          f"{'worst payer type (floor)':>32} {'pred/obs':>11} {'live':>5} {'model $ 10/25%':>13} "
          f"{'live $ 10/25%':>13} {'× oldest':>9}")  # fmt: skip
    with ProcessPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(panel_member, s, s % 2 == 0, months, per_month) for s in seeds]
        rows = [job.result() for job in jobs]
    for r in rows:
        d = r["dollars"]
        print(f"{r['seed']:>5}{' d' if r['drift'] else '  '} {r['n']:>6} {r['auc']:>5.3f} "
              f"{r['prior_auc']:>5.3f} {r['ece']:>5.3f} {r['floor']:>5.3f} "
              f"{r['worst_type']:>18} {r['worst_ece']:.3f} ({r['worst_floor']:.3f}) "
              f"{r['predicted']:.3f}/{r['observed']:.3f} {r['live']:>5} "
              f"{d['10%']['model']:>6.1%} {d['25%']['model']:>6.1%} "
              f"{d['10%']['live']:>6.1%} {d['25%']['live']:>6.1%} "
              f"{d['10%']['vs oldest']:>4.1f} {d['25%']['vs oldest']:>4.1f}")  # fmt: skip
    met = {
        "AUC at least the prior's": sum(r["auc"] >= r["prior_auc"] for r in rows),
        "ECE ≤ 0.03": sum(r["ece"] <= 0.03 for r in rows),
        "ECE within 0.01 of its floor": sum(r["ece"] <= r["floor"] + 0.01 for r in rows),
        "every payer type's ECE ≤ 0.05": sum(r["worst_ece"] <= 0.05 for r in rows),
        "the model's dollars ≥ 98 % of the best baseline at 10 % and 25 %": sum(
            min(r["dollars"][k]["model"] for k in ("10%", "25%")) >= 0.98 for r in rows
        ),
        "the live ranker's dollars ≥ 98 % of the best baseline at 10 % and 25 %": sum(
            min(r["dollars"][k]["live"] for k in ("10%", "25%")) >= 0.98 for r in rows
        ),
        "≥ 1.5× oldest-first at 10 % and 25 %": sum(
            min(r["dollars"][k]["vs oldest"] for k in ("10%", "25%")) >= 1.5 for r in rows
        ),
    }
    means = {
        key: sum(r[key] for r in rows) / len(rows) for key in ("auc", "prior_auc", "ece", "floor")
    }
    shift = sum(abs(r["predicted"] - r["observed"]) for r in rows) / len(rows)
    print(f"\nmeans: AUC {means['auc']:.3f} (prior {means['prior_auc']:.3f}), ECE "
          f"{means['ece']:.3f} (floor {means['floor']:.3f}), "
          f"|predicted − observed| {shift:.3f}")  # fmt: skip
    for target, count in met.items():
        print(f"  {target}: {count} of {len(rows)}")


def synthetic_outcomes(n: int, seed: int = 11) -> list[Record]:
    """Outcomes with a realistic spread of codes, payers and procedures (for timing)."""
    rng = random.Random(seed)
    start = date(2024, 1, 1)
    carcs = ["50", "97", "197", "16", "96", "18", "29", "4", "B7", "22"]
    procedures = ["11102", "11104", "11305", "11602", "17000", "17003", "17110", "17311", "99213"]
    out = []
    for i in range(n):
        carc, payer = rng.choice(carcs), rng.randrange(40)
        arrived = start + timedelta(days=i * 730 // n)
        documented = rng.random() < 0.6
        label = int(rng.random() < (0.6 if documented else 0.25) * (0.6 + payer / 100))
        out.append(
            Record(
                id=i,
                practice_id=1,
                payer_id=payer,
                payer_name=f"P{payer}",
                payer_type=rng.choice(["medicare", "medicare_advantage", "medicaid", "commercial"]),
                carc=carc,
                group_code="CO",
                rarc="N115",
                carcs=(carc,),
                rarcs=("N115",),
                category="medical_necessity",
                action="appeal",
                procedure=rng.choice(procedures),
                modifiers=(),
                units=1.0,
                denied_amount=rng.uniform(40, 900),
                whole_claim=False,
                claim_status="4",
                service_date=arrived - timedelta(days=25),
                denied_on=arrived,
                deadline=arrived + timedelta(days=120),
                findings_text=json.dumps(
                    [{"rule_id": "lcd", "missing": [] if documented else ["site"]}]
                ),
                status="won" if label else "lost",
                recovered=100.0 if label else 0.0,
                label=label,
                decided_on=arrived + timedelta(days=40),
            )  # fmt: skip
        )
    return out


@heap.frozen()  # as `recovery.train` runs
def training_speed(n: int) -> None:
    outcomes = synthetic_outcomes(n)
    started = time.perf_counter()
    history = History(outcomes)
    x, _ = matrix(outcomes, history)
    y = np.array([r.label for r in outcomes])
    features = time.perf_counter() - started
    cut = int(n * 0.75)
    m.fit_calibrated(x[:cut], y[:cut])
    split_fit = time.perf_counter() - started - features
    m.fit_calibrated(x, y, validated_on=cut)  # as `recovery.train`: the validated way
    total = time.perf_counter() - started
    final = total - features - split_fit
    print(f"training on {n:,} outcomes: {total:.1f} s (features {features:.1f} s, "
          f"time-split fit {split_fit:.1f} s, final fit {final:.1f} s)")  # fmt: skip


def speed_index() -> float:
    """Seconds of CPU for a fixed pure-Python loop (about 0.4 s on an idle, recent x86 core,
    as in bench_import.py): figures from a slower or busier machine scale with it."""
    start = time.process_time()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.process_time() - start


def _timed(step: str, work) -> None:  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    count = work()
    print(f"  {step}: {time.perf_counter() - wall:.1f} s ({time.process_time() - cpu:.1f} s CPU "
          f"in this process), {count:,} denials")  # fmt: skip


def live_model(engine: sa.Engine, outcomes: int) -> str:
    """Save a trained model as this database's live ranker, so the rescore predicts with it:
    `fit_calibrated` on the first `outcomes` of the database's own denials given synthetic
    outcomes (the codes a practice's model knows are those its open denials carry; unknown
    ones take the encoder's slower path)."""
    rng = random.Random(5)
    with Session(engine) as session:
        first = sa.select(Denial.id).order_by(Denial.id).limit(outcomes)  # type: ignore[arg-type]
        records = load_records(session, list(session.execute(first).scalars()))
    for r in records:
        chance = 0.2 + 0.1 * (zlib.crc32(r.carc.encode()) % 4) + (0.15 if r.rarc else 0.0)
        r.label = int(rng.random() < chance)
        r.decided_on = r.arrived + timedelta(days=40)
    x, _ = matrix(records, History(records))
    y = np.array([r.label for r in records])
    model = m.fit_calibrated(x, y)
    calibration = m.calibration_for(len(y))
    card = m.Card(
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"), outcomes=len(y),
        recovered_share=float(y.mean()), features=list(FEATURES), holdout_from="", holdout={},
        live=recovery.MODEL, reason="benchmark", versions=m.versions(),
        settle_days=SETTLE.days, calibration=calibration, form=m.FORM,
    )  # fmt: skip
    with Session(engine) as session:
        m.save(ranking.model_folder(session), model, card)
    return f"a live model trained on {len(y):,} outcomes ({calibration})"


def scoring_speed(engine: sa.Engine, n: int, outcomes: int) -> None:
    """The daily full rescore of `n` open denials with a live model (read, aggregates,
    features, predict, reasons, priority, write what changed): the first one predicts and
    writes every row (as after training, with the model training left in memory), the next
    day's predicts only rows whose features changed and writes only those whose deadline
    urgency changed; then a file's 1,000 new denials scored against the aggregates the daily
    rescore kept (a new process: nothing cached in memory)."""
    load_open_denials(engine, n)
    print(f"ranker: {live_model(engine, outcomes)}")
    print(f"rescoring {n:,} open denials (load average {os.getloadavg()[0]:.1f}, "
          f"speed index {speed_index():.2f} s):")  # fmt: skip
    today = date.today()
    steps = (
        ("first full rescore, every row predicted and written", today),
        ("the next day's full rescore, changed rows predicted and written", today + timedelta(1)),
    )
    for step, day in steps:
        with Session(engine) as session:

            def full(session: Session = session, day: date = day) -> int:
                count = ranking.rescore_open(session, day)
                session.commit()
                return count

            _timed(step, full)
    ranking.forget_context()  # as a new process: only the kept aggregates
    with Session(engine) as session:
        ids = list(session.execute(sa.select(Denial.id).limit(1000)).scalars())  # type: ignore[call-overload]

        def few(session: Session = session) -> int:
            count = ranking.rescore(session, ids, today + timedelta(1))
            session.commit()
            return count

        _timed("1,000 denials against the kept aggregates", few)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="an empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--claims-per-month", type=int, default=1500, help="the demo's size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--drift", action="store_true", help="payers change over the period; a payer joins late"
    )
    parser.add_argument("--scale", type=int, default=200_000, help="outcomes / open denials")
    parser.add_argument(
        "--model-outcomes", type=int, default=5000,
        help="the live model's training size for the rescore (below 20,000: 5-fold calibrated)",
    )  # fmt: skip
    parser.add_argument(
        "--panel", metavar="FIRST-LAST",
        help="instead: the quality figures of the practices of these seeds (e.g. 31-38), "
        "the even ones with drift, against the targets",
    )  # fmt: skip
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    if args.panel:
        first, _, last = args.panel.partition("-")
        panel(list(range(int(first), int(last or first) + 1)), args.months, args.claims_per_month)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["APPEALS_INSTANCE"] = str(folder / "instance")
        if not args.skip_quality:
            engine = fresh(args.database, folder, "practice.db")
            quality(engine, folder, args.months, args.claims_per_month, args.seed, args.drift)
            if args.database:
                print("(speed part skipped: it needs a second empty database)")
                return
        if not args.skip_training:
            training_speed(args.scale)
        scoring_speed(fresh(None if not args.skip_quality else args.database, folder, "open.db"),
                      args.scale, args.model_outcomes)  # fmt: skip


if __name__ == "__main__":
    main()
