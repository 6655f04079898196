"""The bulk scoring path stores what the reference path (every row in Python) would store.

`classifiers.scoring` builds the scoring context with SQL aggregates and scores open denials as
columns; `recovery.context` + `recovery.score` read every denial and every paid line into
Python. On a synthetic practice (outcomes from later remittances and the appeal history, lapsed
windows, paid lines for the allowed-amount medians, coding-check findings) both must give the
same probabilities, stakes and reasons, with the prior and with a trained model, and the kept
aggregates must score a new file's denials as a fresh full read would.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appeals import db, ranking
from appeals.documentation import import_documentation_csv
from appeals.findings import denial_ids_for_file, refresh_findings_for_files
from appeals.history import import_appeal_history
from appeals.importer import import_file
from appeals.models import Denial, DenialScore
from appeals.synth import generate
from classifiers import model as m
from classifiers import recovery, scoring
from classifiers.features import (
    FEATURES,
    SETTLE,
    History,
    expected_payments,
    labelled,
    load_records,
    matrix,
)
from tests.core.test_recovery_model import practice

pytestmark = pytest.mark.slow


@pytest.fixture
def built(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A small synthetic practice with its history; the day to score on."""
    summary = generate(tmp_path, seed=5, months=8, claims_per_month=120)
    files = sorted(tmp_path.glob("*.835"))
    ids = [import_file(engine, path).file_id for path in files[:-3]]
    refresh_findings_for_files(engine, [i for i in ids if i])
    with Session(engine) as session:
        import_documentation_csv(session, None, tmp_path / "documentation.csv")
        import_appeal_history(session, tmp_path / "appeals.csv", today=summary.end)
        session.commit()
    return summary.end + timedelta(days=30), files[-3:]


def _reference(session: Session, today, model):  # type: ignore[no-untyped-def]
    ctx = recovery.context(session, today, None)
    ctx.model = model
    return {
        s.id: (s.probability, s.stake, s.ranker, s.reasons)
        for s in recovery.score(session, None, ctx)
    }


def _bulk(session: Session, aggregates: scoring.Aggregates, model, ids=None):  # type: ignore[no-untyped-def]
    cols = scoring.load_open(session, ids)
    bulk = scoring.score(cols, aggregates, model)
    return {
        i: (p, stake, bulk.ranker, words)
        for i, p, stake, words in zip(
            cols.id, bulk.probability.tolist(), bulk.stake, bulk.reasons, strict=True
        )
    }


def _model():  # type: ignore[no-untyped-def]
    outcomes = practice(600)
    x, _ = matrix(outcomes, History(outcomes))
    return m.fit_calibrated(x, np.array([r.label for r in outcomes]))


def test_sql_aggregates_and_bulk_scores_equal_the_python_path(engine: Engine, built) -> None:  # type: ignore[no-untyped-def]
    today, _ = built
    with Session(engine) as session:
        history = History(labelled(load_records(session), today))
        aggregates = scoring.build(session, today, "")
        assert aggregates.payments == expected_payments(session, today)
        assert len(aggregates.payments) > 5
    assert sum(row[-1] for row in aggregates.outcomes) > 40  # outcomes of every kind
    for name in scoring.LEVELS:
        level = aggregates.level(name)
        keys = [k for k in history.days if k[0] == name]
        assert len(keys) == len(level.groups)
        for key in keys:
            changes = {*history.days[key], *history.wins.get(key, [])}
            days = sorted({*changes, *(d + 1 for d in changes), 1})
            gids = np.full(len(days), level.groups[key[1:]])
            n, s = level.before(gids, np.array(days))
            expected = [history.before(key, date.fromordinal(d)) for d in days]
            assert list(zip(n.tolist(), s.tolist(), strict=True)) == expected
    never = aggregates.level("carc_payer").before(np.array([-1]), np.array([today.toordinal()]))
    assert [v.tolist() for v in never] == [[0], [0]]

    # the bulk scores equal the reference path's, with the smoothed prior and with a model
    for model in (None, _model()):
        with Session(engine) as session:
            reference = _reference(session, today, model)
            bulk = _bulk(session, aggregates, model)
        assert len(reference) > 50
        assert bulk == reference
        assert any(len(words) == 3 for *_, words in reference.values())


def test_rescore_stores_what_the_reference_path_would(
    engine: Engine, built, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    today, _ = built
    monkeypatch.setattr(db, "BULK_UPDATE", 1)  # the daily rescore's bulk write, on few rows
    monkeypatch.setattr(ranking, "SLICE", 7)  # scored and written in many slices
    with Session(engine) as session:
        reference = _reference(session, today, None)
        expected = {}
        for i, (p, stake, ranker, words) in reference.items():
            denial = session.get(Denial, i)
            assert denial is not None
            s = ranking.combine(p, stake, denial.deadline, today, words)
            expected[i] = (
                s.probability,
                s.priority,
                s.explanation,
                ranker,
                stake,
                s.expected_recovery,
            )
        assert ranking.rescore_open(session, today) == len(reference)
        session.commit()
        ranking.forget_context()
        table = DenialScore.__table__  # type: ignore[attr-defined]
        stored = {
            row[0]: tuple(row[1:])
            for row in session.execute(
                sa.select(
                    table.c.id,
                    table.c.probability,
                    table.c.priority,
                    table.c.explanation,
                    table.c.ranker,
                    table.c.stake,
                    table.c.expected_recovery,
                ).where(table.c.id.in_(list(expected)))
            )  # fmt: skip
        }
        assert stored == expected
        # nothing changed: nothing written (a second rescore finds every row as it left it)
        cols = scoring.load_open(session)
        live = ranking._context(session, today, fresh=False)
        assert ranking._changed(cols, scoring.score(cols, live.aggregates, None), today) == []


def test_sqlites_full_rescore_writes_with_a_larger_cache_on_its_own_connection_only(
    engine: Engine, built, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Every batch's write goes through one connection holding the larger page cache, which
    has its own size again afterwards, also when the block inside fails."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writes in slices on a write thread")
    today, _ = built
    monkeypatch.setattr(ranking, "WRITE_BATCH", 7)  # many batches, each committed
    writes: list[tuple[int, int]] = []
    update_rows = db.update_rows

    def recording(connection, table, rows):  # type: ignore[no-untyped-def]
        size = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        writes.append((id(connection.connection.dbapi_connection), size))
        update_rows(connection, table, rows)

    monkeypatch.setattr(db, "update_rows", recording)
    with Session(engine) as session:
        assert ranking.rescore_open(session, today) > 14
        session.commit()
    assert len(writes) > 2  # batches of 7 of the rows that changed
    assert {size for _, size in writes} == {-16 * 1024}
    assert len({connection for connection, _ in writes}) == 1
    with engine.connect() as connection:
        default = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        with pytest.raises(RuntimeError), db.sqlite_page_cache(connection, 16):
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -16 * 1024
            raise RuntimeError
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == default != -16 * 1024


def test_a_failed_write_of_one_slice_fails_the_full_rescore(
    engine: Engine, built, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL writes a full rescore's slices on a thread: a failed write fails the rescore,
    and the slices after it are not written."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite scores every row, then writes them in this thread")
    today, _ = built
    monkeypatch.setattr(ranking, "SLICE", 5)
    calls: list[int] = []

    def failing_second(_session: Session, values: list[dict], **_: object) -> None:
        calls.append(len(values))
        if len(calls) == 2:
            raise RuntimeError("the database went away")

    monkeypatch.setattr(ranking, "_write", failing_second)
    with Session(engine) as session, pytest.raises(RuntimeError, match="went away"):
        ranking.rescore_open(session, today)
    assert len(calls) == 2


def test_a_full_rescore_that_fails_while_scoring_leaves_every_score_as_it_was(
    engine: Engine, built, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the failure comes after two slices were handed to the write thread: their
    writes are in the rescore's transaction, which the caller rolls back. SQLite scores every
    row before writing any."""
    import threading

    today, _ = built
    table = DenialScore.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        session.execute(sa.update(table).values(ranker=""))  # every score stale
        session.commit()
        before = session.execute(sa.select(table).order_by(table.c.id)).all()
    monkeypatch.setattr(ranking, "SLICE", 5)
    fail_at = 3 if engine.dialect.name == "postgresql" else 1
    calls: list[int] = []
    real_score = scoring.score

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == fail_at:
            raise RuntimeError("scoring failed")
        return real_score(*args, **kwargs)

    monkeypatch.setattr(scoring, "score", failing)
    writes: list[int] = []
    real_write = ranking._write

    def counted(session: Session, values: list[dict], **kwargs: bool) -> None:
        writes.append(len(values))
        real_write(session, values, **kwargs)

    monkeypatch.setattr(ranking, "_write", counted)
    with Session(engine) as session, pytest.raises(RuntimeError, match="scoring failed"):
        ranking.rescore_open(session, today)
    # PostgreSQL: the first slice's write had begun before the second was handed on
    assert len(writes) >= (1 if engine.dialect.name == "postgresql" else 0)
    assert not any(t.name == "appeals-writes" for t in threading.enumerate())
    with Session(engine) as session:
        assert session.execute(sa.select(table).order_by(table.c.id)).all() == before


def test_a_new_files_denials_are_scored_from_the_kept_aggregates(
    engine: Engine, built, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    today, last_files = built
    with Session(engine) as session:
        ranking.rescore_open(session, today)  # the daily rescore keeps the aggregates
        session.commit()
        folder = ranking.model_folder(session)
        before_file = recovery.context(session, today, None)  # the same data, read in Python
    assert scoring.load(folder, today, "") is not None
    ranking.forget_context()  # as in a new process
    results = [import_file(engine, path, today=today) for path in last_files]

    def no_rebuild(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the kept aggregates should have been used")

    monkeypatch.setattr(scoring, "build", no_rebuild)
    written: list[dict] = []
    monkeypatch.setattr(ranking, "_write", lambda _session, values, **_: written.extend(values))
    with Session(engine) as session:
        ids = [i for r in results for i in denial_ids_for_file(session, r.file_id or 0)]
        assert ranking.rescore(session, ids, today) >= 3
        assert written == []  # the import stored them scored: nothing left to change
        session.commit()
        reference = {s.id: s for s in recovery.score(session, ids, before_file)}
        d, table = (t.__table__ for t in (Denial, DenialScore))  # type: ignore[attr-defined]
        stored = session.execute(
            sa.select(table.c.id, table.c.probability, table.c.explanation, table.c.stake,
                      d.c.deadline).join(d, d.c.id == table.c.id)
            .where(table.c.id.in_(list(reference)))
        ).all()  # fmt: skip
    assert len(stored) == len(reference)
    for i, probability, explanation, stake, deadline in stored:
        r = reference[i]
        s = ranking.combine(r.probability, r.stake, deadline, today, r.reasons)
        assert (probability, explanation, stake) == (s.probability, s.explanation, r.stake)


def test_kept_aggregates_are_refused_on_another_day_for_another_model_or_in_another_form(
    tmp_path: Path,
) -> None:
    day = date(2026, 3, 2)
    rows = [
        ("50", "commercial", 1, "11102", 700_000, 700_001, 3),
        ("50", "medicare", 2, "", 700_001, None, 1),
    ]
    kept = scoring.Aggregates(day, "model A", rows, {(1, "11102"): Decimal("81.25")})
    scoring.save(tmp_path, kept)
    loaded = scoring.load(tmp_path, day, "model A")
    assert loaded is not None
    assert (loaded.outcomes, loaded.payments) == (kept.outcomes, kept.payments)
    for name in scoring.LEVELS:  # the kept columns answer as the rows they were made from
        gids = np.array(list(kept.level(name).groups.values()) * 2)
        days = np.array([700_000] * (len(gids) // 2) + [700_002] * (len(gids) // 2))
        found, expected = loaded.level(name).before(gids, days), kept.level(name).before(gids, days)
        assert [v.tolist() for v in found] == [v.tolist() for v in expected]
    assert scoring.load(tmp_path, day + timedelta(days=1), "model A") is None
    assert scoring.load(tmp_path, day, "model B") is None
    path = tmp_path / scoring.SNAPSHOT
    older = json.loads(path.read_text())
    as_before = {"as_of": day.isoformat(), "model": "model A", "settle_days": SETTLE.days}
    path.write_text(json.dumps({**as_before, "outcomes": [list(row) for row in rows]}))
    assert scoring.load(tmp_path, day, "model A") is None  # kept row by row: built again
    assert "as_of" not in older  # and a version that kept it so refuses this form
    scoring.save(tmp_path, kept)
    assert oct((tmp_path / scoring.SNAPSHOT).stat().st_mode)[-3:] == "600"
    scoring.forget(tmp_path)
    assert scoring.load(tmp_path, day, "model A") is None


def test_the_daily_rescore_predicts_again_only_what_changed_since_it_was_stored(
    engine: Engine, built, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    today, _ = built
    monkeypatch.setenv(
        "APPEALS_INSTANCE", str(tmp_path / "instance")
    )  # its live model: this test's
    model = _model()
    card = m.Card("now", 600, 0.4, list(FEATURES), "", {}, recovery.MODEL, "test",
                  versions=m.versions())  # fmt: skip
    with Session(engine) as session:
        m.save(ranking.model_folder(session), model, card)
    predicted: list[int] = []
    predict = m.predict

    def counted(fitted, x, factors=None):  # type: ignore[no-untyped-def]
        predicted.append(len(x))
        return predict(fitted, x, factors)

    monkeypatch.setattr(scoring.m, "predict", counted)
    table = DenialScore.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        count = ranking.rescore_open(session, today)
        session.commit()
        assert sum(predicted) == count > 50  # a new model: every row
        first = dict(session.execute(sa.select(table.c.id, table.c.probability)).all())
        reference = _reference(session, today, model)
        assert {i: first[i] for i in reference} == {i: p for i, (p, *_) in reference.items()}

        predicted.clear()
        ranking.rescore_open(session, today + timedelta(days=1))
        session.commit()
        assert predicted == []  # the next day: nothing to predict again

        # open denials stored without a basis (as before it was kept) or with another, and
        # one whose documentation changed what the coding checks found
        some = sorted(reference)[:4]
        session.execute(sa.update(table).where(table.c.id.in_(some[:2])).values(basis=None))
        session.execute(sa.update(table).where(table.c.id == some[2]).values(basis=1))
        denials = Denial.__table__  # type: ignore[attr-defined]
        findings = session.execute(sa.select(denials.c.findings).where(denials.c.id == some[3]))
        missing = json.dumps([{"rule_id": "lcd_lesion", "missing": ["site", "size_cm"]}])
        assert findings.scalar_one() != missing
        session.execute(sa.update(denials).where(denials.c.id == some[3]).values(findings=missing))
        session.commit()
        ranking.rescore_open(session, today + timedelta(days=2))
        session.commit()
        assert predicted == [4]
        again = dict(session.execute(sa.select(table.c.id, table.c.probability)).all())
        assert {i: p for i, p in again.items() if i != some[3]} == {
            i: p for i, p in first.items() if i != some[3]
        }
        changed = _reference(session, today + timedelta(days=2), model)[some[3]][0]
        assert again[some[3]] == changed


def test_the_rate_each_reason_quotes_is_chosen_alike_row_by_row_and_at_once() -> None:
    """`scoring._rate_bases` (NumPy, every row) equals `recovery.rate_basis` (one row): the
    most specific level with five settled outcomes, else none."""
    rng = np.random.default_rng(3)
    decided = rng.integers(0, 9, size=(500, len(recovery.RATE_LEVELS)))
    recovered = rng.integers(0, 9, size=decided.shape) % (decided + 1)
    counts = {name: (decided[:, j], recovered[:, j]) for j, name in enumerate(recovery.RATE_LEVELS)}
    expected = [
        recovery.rate_basis(list(zip(d.tolist(), r.tolist(), strict=True)))
        for d, r in zip(decided, recovered, strict=True)
    ]
    assert scoring._rate_bases(counts) == expected
    assert {level for level, _, _ in expected} == {-1, 0, 1, 2, 3}
