"""The recovery model: no leakage, deterministic, skops round trip, cold start, degenerate data."""

from __future__ import annotations

import json
import os
import random
from dataclasses import asdict, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from appeals import lifecycle, ranking
from appeals.importer import import_file
from appeals.models import Denial
from classifiers import evaluate as ev
from classifiers import model as m
from classifiers import recovery, scoring
from classifiers.features import (
    FEATURES,
    OUTCOME_COLUMNS,
    SETTLE,
    History,
    Record,
    counted_from,
    labelled,
    load_records,
    matrix,
    rates,
    recovered_from,
    row,
)
from tests.remits import Line, RemitClaim, write_remittance

START = date(2025, 1, 6)


def record(
    i: int,
    *,
    carc: str = "50",
    payer: int = 1,
    arrived: date = START,
    label: int | None = None,
    documented: bool = True,
    decided: date | None = None,
) -> Record:
    missing = [] if documented else ["lesion_size_cm"]
    return Record(
        id=i, practice_id=1, payer_id=payer, payer_name=f"Payer {payer}",
        payer_type="commercial" if payer != 2 else "medicare_advantage", carc=carc,
        group_code="CO", rarc="N115", carcs=(carc,), rarcs=("N115",), category="medical_necessity",
        action="appeal", procedure="11102", modifiers=(), units=1.0, denied_amount=200.0,
        whole_claim=False, claim_status="4", service_date=arrived - timedelta(days=20),
        denied_on=arrived, deadline=arrived + timedelta(days=180),
        findings_text=json.dumps([{"rule_id": "lcd", "missing": missing, "badge": ""}]),
        status="won" if label == 1 else "lost" if label == 0 else "new",
        recovered=200.0 if label == 1 else 0.0, label=label,
        decided_on=decided or (arrived + timedelta(days=45) if label is not None else None),
    )  # fmt: skip


def practice(n: int = 1600, seed: int = 3) -> list[Record]:
    """Outcomes with a pattern: documented CO-50 comes back, CO-18 rarely, payer 3 is strict."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        carc = rng.choice(["50", "50", "18", "197"])
        payer = rng.choice([1, 2, 3])
        documented = rng.random() < 0.6
        chance = {"50": 0.65, "18": 0.1, "197": 0.5}[carc] * (1.0 if documented else 0.4)
        chance *= 0.5 if payer == 3 else 1.0
        arrived = START + timedelta(days=i * 400 // n)
        out.append(
            record(
                i,
                carc=carc,
                payer=payer,
                arrived=arrived,
                documented=documented,
                label=int(rng.random() < chance),
            )  # fmt: skip
        )
    return out


def test_no_outcome_column_is_a_feature() -> None:
    assert not set(FEATURES) & OUTCOME_COLUMNS
    assert len(row(record(1), rates(record(1), History([])))) == len(FEATURES)


def test_a_denials_features_never_see_its_own_or_later_outcomes() -> None:
    past = record(1, arrived=START, label=1, decided=START + timedelta(days=10))
    denial = record(2, arrived=START + SETTLE + timedelta(days=20), label=0)
    later = record(3, arrived=denial.arrived + timedelta(days=1), label=1)
    undecided = replace(denial, label=None, status="new", recovered=0.0, decided_on=None)
    with_outcomes = row(denial, rates(denial, History([past, denial, later])))
    before_any = row(undecided, rates(undecided, History([past])))
    assert with_outcomes == before_any  # its own outcome and a later one change nothing
    assert rates(denial, History([past])).decided["carc_payer"] == (1, 1)  # the earlier one counts


def test_an_outcome_counts_in_the_rates_once_its_cohort_has_settled() -> None:
    """Every denial counts from `SETTLE` after arriving, so recent cohorts' fast wins do not
    outweigh their slower losses; it counts as recovered from then, or from a later win's day
    (until then, as not recovered), however late its loss was decided."""
    quick = record(1, arrived=START, label=1, decided=START + timedelta(days=10))
    slow = record(2, arrived=START, label=1, decided=START + SETTLE + timedelta(days=30))
    lost = record(3, arrived=START, label=0, decided=START + SETTLE + timedelta(days=60))
    history = History([quick, slow, lost])
    key = ("carc_payer", quick.carc, quick.payer_id)
    assert history.before(key, START + timedelta(days=11)) == (0, 0)
    assert history.before(key, START + SETTLE + timedelta(days=1)) == (3, 1)
    assert history.before(key, START + SETTLE + timedelta(days=31)) == (3, 2)


def test_training_is_deterministic_and_survives_a_skops_round_trip(tmp_path: Path) -> None:
    outcomes = practice()
    x, _ = matrix(outcomes, History(outcomes))
    y = np.array([r.label for r in outcomes])
    first, second = m.fit_calibrated(x, y), m.fit_calibrated(x, y)
    assert np.array_equal(m.predict(first, x), m.predict(second, x))
    card = m.Card("now", len(y), float(y.mean()), list(FEATURES), "", {}, "model", "test",
                  versions=m.versions())  # fmt: skip
    m.save(tmp_path, first, card)
    assert m.latest(tmp_path)[0] is first  # type: ignore[index]  # the rescore after training
    m._LOADED.clear()  # as another process: read from the file
    loaded, loaded_card = m.latest(tmp_path)  # type: ignore[misc]
    assert loaded_card.live == "model"
    assert np.array_equal(m.predict(loaded, x), m.predict(first, x))
    assert oct((tmp_path / next(tmp_path.glob("*.skops")).name).stat().st_mode)[-3:] == "600"
    # loaded once per process; a file written again is read again
    assert m.latest(tmp_path)[0] is loaded  # type: ignore[index]
    path = next(tmp_path.glob("*.skops"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1))
    assert m.latest(tmp_path)[0] is not loaded  # type: ignore[index]


def test_many_rows_are_predicted_on_every_core_and_give_the_same_probabilities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import joblib
    import threadpoolctl

    outcomes = practice()
    x, _ = matrix(outcomes, History(outcomes))
    fitted = m.fit_calibrated(x, np.array([r.label for r in outcomes]))
    alone = m.predict(fitted, x)
    seen: list[int] = []
    real = threadpoolctl.threadpool_limits

    def recorded(limits: int):  # type: ignore[no-untyped-def]
        seen.append(limits)
        return real(limits=limits)

    monkeypatch.setattr(threadpoolctl, "threadpool_limits", recorded)
    monkeypatch.setattr(joblib, "cpu_count", lambda: 2)
    monkeypatch.setattr(m, "PARALLEL_FROM", len(x))
    assert np.array_equal(m.predict(fitted, x), alone)  # as many rows as PARALLEL_FROM
    assert np.array_equal(m.predict(fitted, x[:-1]), alone[:-1])  # one fewer
    assert seen == [2, 1]


def test_prediction_maps_each_distinct_code_once_and_equals_the_pipelines_own() -> None:
    outcomes = practice(400)
    x, _ = matrix(outcomes, History(outcomes))
    fitted = m.fit_calibrated(x, np.array([r.label for r in outcomes]))
    unseen = x[:40].copy()
    unseen[::2, 0] = "CARC NEVER SEEN"  # encoded as missing, as the pipeline's encoder does
    unseen[1::4, 5] = "payer never seen"
    for rows in (x, unseen, x[:1]):
        factors = m.factorize(rows)
        assert all(len(values) < len(rows) or len(rows) == 1 for values in factors.distinct)
        expected = fitted.named_steps["encode"].transform(rows)
        assert np.array_equal(m.encoded(fitted, rows, factors), expected, equal_nan=True)
        assert np.array_equal(m.predict(fitted, rows), fitted.predict_proba(rows)[:, 1])
    part = np.arange(len(x)) % 3 == 0
    assert np.array_equal(
        m.predict(fitted, x[part], m.factorize(x).rows(part)), m.predict(fitted, x[part])
    )


def test_a_model_saved_before_the_shared_encoder_still_predicts() -> None:
    """Form 0 and 1: the calibrated boosters over pipelines of their own (retrained at the next
    upkeep, and predicting until then)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline

    outcomes = practice(400)
    x, _ = matrix(outcomes, History(outcomes))
    y = np.array([r.label for r in outcomes])
    older = make_pipeline(m.build_encoder(), m.build_booster(320))
    fitted = CalibratedClassifierCV(older, method="sigmoid", cv=5).fit(x, y)
    assert np.array_equal(m.predict(fitted, x), fitted.predict_proba(x)[:, 1])


def test_leaves_hold_120_denials_or_a_quarter_of_what_a_booster_learns_from() -> None:
    sizes = {rows: m.build_booster(rows).min_samples_leaf for rows in (40, 168, 480, 20_000)}
    assert sizes == {40: 20, 168: 42, 480: 120, 20_000: 120}
    outcomes = practice(260)  # five folds of 208: leaves of 120 could not split
    x, _ = matrix(outcomes, History(outcomes))
    fitted = m.fit_calibrated(x, np.array([r.label for r in outcomes]))
    assert len(set(m.predict(fitted, x).round(6).tolist())) > 5


def test_calibration_is_sigmoid_on_few_outcomes_and_isotonic_on_more() -> None:
    outcomes = practice()
    x, _ = matrix(outcomes, History(outcomes))
    y = np.array([r.label for r in outcomes])
    few, enough = m.ISOTONIC - 1, m.ISOTONIC
    assert m.fit_calibrated(x[:few], y[:few])["calibrated"].method == "sigmoid"
    assert m.fit_calibrated(x[:enough], y[:enough])["calibrated"].method == "isotonic"
    # a refit on more outcomes keeps the way the time split validated
    assert m.fit_calibrated(x, y, validated_on=few)["calibrated"].method == "sigmoid"


def test_many_outcomes_calibrate_one_booster_on_the_newest_fifth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcomes = practice()
    x, _ = matrix(outcomes, History(outcomes))
    y = np.array([r.label for r in outcomes])
    monkeypatch.setattr(m, "LARGE", len(y))
    fitted = m.fit_calibrated(x, y)
    assert fitted["calibrated"].method == "isotonic"
    [calibrated] = fitted["calibrated"].calibrated_classifiers_
    assert isinstance(calibrated.estimator, FrozenEstimator)
    # the booster learned from the older 80 % only (the newest fifth calibrates it)
    cut = int(len(y) * 0.8)
    z = fitted["encode"].transform(x)
    older = m.build_booster(cut).fit(z[:cut], y[:cut])
    booster = calibrated.estimator.estimator
    assert np.array_equal(booster.predict_proba(z), older.predict_proba(z))
    # and it is calibrated on the newest fifth only
    newest = CalibratedClassifierCV(FrozenEstimator(older), method="isotonic")
    newest.fit(z[cut:], y[cut:])
    p = m.predict(fitted, x)
    assert np.allclose(p, newest.predict_proba(z)[:, 1])
    assert p.min() >= 0 and p.max() <= 1 and 0.05 < p.mean() < 0.95


def test_one_encoder_feeds_the_boosters_floats() -> None:
    """The folds' boosters share one encoder, whose output is float (an object array made
    the boosters' own re-encoding of their categorical columns as slow as their trees)."""
    outcomes = practice()
    x, _ = matrix(outcomes, History(outcomes))
    fitted = m.fit_calibrated(x, np.array([r.label for r in outcomes]))
    assert [name for name, _ in fitted.steps] == ["encode", "calibrated"]
    assert fitted["encode"].transform(x[:10]).dtype == np.float64
    assert len(fitted["calibrated"].calibrated_classifiers_) == 5


def test_training_refits_calibrated_the_way_the_time_split_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = practice()  # 1,600 outcomes: a fresh fit would be isotonic
    as_of = outcomes[-1].arrived + SETTLE + timedelta(days=1)
    report = recovery.Evaluation(as_of.isoformat(), "", m.ISOTONIC - 100, 400, live="model")
    monkeypatch.setattr(recovery, "_outcomes", lambda session, day: outcomes)
    monkeypatch.setattr(recovery, "evaluate", lambda *args, **kwargs: (report, None))
    card, _ = recovery.train(None, tmp_path, as_of)  # type: ignore[arg-type]
    assert card.outcomes == len(outcomes)
    assert card.calibration == "5-fold sigmoid"
    saved, _ = m.latest(tmp_path)  # type: ignore[misc]
    assert saved["calibrated"].method == "sigmoid"


def test_a_model_from_another_scikit_learn_is_not_trusted(tmp_path: Path) -> None:
    outcomes = practice(400)
    x, _ = matrix(outcomes, History(outcomes))
    fitted = m.fit_calibrated(x, np.array([r.label for r in outcomes]))
    card = m.Card("now", 400, 0.4, list(FEATURES), "", {}, "model", "test",
                  versions={**m.versions(), "scikit-learn": "0.0.1"})  # fmt: skip
    m.save(tmp_path, fitted, card)
    assert m.latest(tmp_path) is None  # retrain rather than load it


def test_the_model_learns_documentation_and_a_strict_payer() -> None:
    outcomes = practice(2400)
    history = History(outcomes)
    train, test = outcomes[:1800], outcomes[1800:]
    x, _ = matrix(train, history)
    fitted = m.fit_calibrated(x, np.array([r.label for r in train]))
    x_test, _ = matrix(test, history)
    p = m.predict(fitted, x_test)
    y = np.array([r.label for r in test])
    assert ev.scores(y, p).auc > 0.7
    documented = record(9001, arrived=START + timedelta(days=420), documented=True)
    missing = replace(
        documented, id=9002, findings_text=json.dumps([{"rule_id": "lcd", "missing": ["site"]}])
    )
    strict = replace(documented, id=9003, payer_id=3)
    x_new, _ = matrix([documented, missing, strict], history)
    p_doc, p_missing, p_strict = m.predict(fitted, x_new)
    assert p_doc > p_missing and p_doc > p_strict


def test_a_new_payer_is_scored_near_its_codes_rate() -> None:
    outcomes = practice(2000)
    history = History(outcomes)
    x, _ = matrix(outcomes, history)
    fitted = m.fit_calibrated(x, np.array([r.label for r in outcomes]))
    newcomer = record(9100, payer=77, arrived=START + timedelta(days=420))
    x_new, found = matrix([newcomer], history)
    [p] = m.predict(fitted, x_new)
    assert found[0].decided["carc_payer"] == (0, 0)  # never seen
    assert 0.2 < p < 0.8


def test_degenerate_outcomes_refuse_to_train() -> None:
    one_class = [replace(r, label=1) for r in practice(600)]
    x, _ = matrix(one_class, History(one_class))
    with pytest.raises(m.NotEnoughData):
        m.fit_calibrated(x, np.array([1] * len(one_class)))


def _denied(pcn: str, filing_indicator: str = "16") -> RemitClaim:
    line = Line("11102", "200", adjustments=[("CO", "197", "200")])
    return RemitClaim(pcn, [line], filing_indicator=filing_indicator)


def test_outcomes_count_toward_training_once_their_cohort_has_settled(
    engine: Engine, tmp_path: Path
) -> None:
    """The count that decides when to retrain (and that the model page shows) is of the outcomes
    training can use: denials at least `SETTLE` old, like the card's own count."""
    claims = [_denied(f"ST{i}") for i in range(3)]
    path = write_remittance(tmp_path, "settle.835", "T-SETTLE", date(2026, 8, 4), claims)
    import_file(engine, path, today=date(2026, 8, 20))
    with Session(engine) as session:
        for denial in session.exec(select(Denial)).all():
            decision = lifecycle.Decision("lost", date(2026, 8, 15), Decimal("0"), False)
            lifecycle.record_decision(session, denial, decision, None, today=date(2026, 8, 20))
        session.commit()
        arrived = session.exec(select(Denial.denied_on)).first()
        assert arrived is not None
        assert recovery.outcome_count(session, arrived + SETTLE - timedelta(days=1)) == 0
        assert recovery.outcome_count(session, arrived + SETTLE) == 3


def test_an_old_denial_still_pending_counts_as_not_recovered_until_it_is(
    engine: Engine, tmp_path: Path
) -> None:
    """Once `SETTLE` old, a denial whose appeal is still pending counts 0 (as it stands), for
    training and in the past rates alike: left out, the decided ones alone overrated their
    kind (mostly quick wins). A win decided later counts 1 from its day, and a replay as of an
    earlier day still sees the 0."""
    claims = [_denied(f"PN{i}") for i in range(3)]
    path = write_remittance(tmp_path, "pending.835", "T-PEND", date(2026, 1, 5), claims)
    import_file(engine, path, today=date(2026, 1, 10))
    sending = lifecycle.Sending(date(2026, 1, 20), "fax", "", None)
    with Session(engine) as session:
        pending, later, billed = session.exec(select(Denial).order_by(col(Denial.id))).all()
        lifecycle.send_appeal(session, [pending, later], sending, None, today=date(2026, 1, 20))
        billed.status, billed.deadline = "billed_patient", None  # no window to close
        decision = lifecycle.Decision("won", date(2026, 9, 1), Decimal("150"), False)
        lifecycle.record_decision(session, later, decision, None, today=date(2026, 9, 1))
        session.commit()
        arrived = pending.denied_on
        assert arrived is not None
        settles = arrived + SETTLE
        assert settles < date(2026, 9, 1)

        def counted(as_of: date) -> list[tuple[int, int, date, date | None]]:
            found = labelled(load_records(session), as_of)
            return sorted((r.id, r.label or 0, counted_from(r), recovered_from(r)) for r in found)

        def sql(as_of: date) -> list[tuple[int, int | None, int]]:
            rows = scoring.outcome_counts(session, as_of)
            return sorted(((day, won, n) for *_, day, won, n in rows), key=lambda r: r[1] or 0)

        assert counted(settles - timedelta(days=1)) == []
        assert sql(settles - timedelta(days=1)) == []
        assert recovery.outcome_count(session, settles) == 3
        unrecovered = [(i, 0, settles, None) for i in (pending.id, later.id, billed.id)]
        assert counted(settles) == unrecovered
        assert sql(settles) == [(settles.toordinal(), None, 3)]
        after = date(2026, 9, 2)
        won = (later.id, 1, settles, date(2026, 9, 1))
        assert counted(after) == [unrecovered[0], won, unrecovered[2]]
        recovered_on = date(2026, 9, 1).toordinal()
        assert sql(after) == [
            (settles.toordinal(), None, 2),
            (settles.toordinal(), recovered_on, 1),
        ]
        history = History(labelled(load_records(session), after))
        key = ("carc_payer", pending.carc, pending.payer_id)
        # the later win counts from its settling day like the others, as not recovered until
        # its decision: its presence says nothing of its future
        assert history.before(key, settles + timedelta(days=1)) == (3, 0)
        assert history.before(key, date(2026, 9, 1)) == (3, 0)
        assert history.before(key, date(2026, 9, 2)) == (3, 1)  # as the SQL counts them
        every = sorted(labelled(load_records(session), after), key=lambda r: r.id)
        assert [r.label for r in recovery.settled(every, settles)] == [0, 0, 0]  # as it stood
        assert [r.label for r in recovery.settled(every, after)] == [0, 1, 0]


def test_a_denial_a_later_remittance_paid_is_decided_on_that_remittances_day(
    engine: Engine, tmp_path: Path
) -> None:
    """Not on the day the file was imported (the denial's closing time): a practice loading a
    year of files at once would otherwise date every such win on its import day."""
    first = write_remittance(tmp_path, "a.835", "T-A", date(2026, 8, 4), [_denied("PD1")])
    paid = RemitClaim("PD1", [Line("11102", "200", paid="150", adjustments=[("CO", "45", "50")])])
    later = write_remittance(tmp_path, "b.835", "T-B", date(2026, 9, 10), [paid])
    import_file(engine, first, today=date(2026, 8, 20))
    import_file(engine, later, today=date(2026, 9, 20))
    as_of = date(2026, 10, 1)  # after the payment, before the import's clock time
    with Session(engine) as session:
        [won] = labelled(load_records(session), as_of)
        assert (won.status, won.label, won.decided_on) == ("won", 1, date(2026, 9, 10))
        counts = scoring.outcome_counts(session, as_of)
    settles = (won.arrived + SETTLE).toordinal()  # counted, and recovered, from its settling
    assert [(day, recovered, n) for *_, day, recovered, n in counts] == [(settles, settles, 1)]


def test_a_card_counted_with_another_settling_window_or_an_older_form_is_due_for_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A card's outcome count is comparable only under the same window: one saved under
    another (or before the window was kept) is retrained, not left live until the count
    catches up with a number counted differently. So is a model of an older form (slower to
    predict), or from before forms were kept."""
    monkeypatch.setattr(recovery, "outcome_count", lambda session, as_of: 500)
    card = m.Card("2026-08-01T00:00:00+00:00", 480, 0.3, [], "2026-03-01", {}, "model", "")

    def due(settle_days: int | None, form: int | None = m.FORM) -> bool:
        saved = {k: v for k, v in asdict(card).items() if k not in ("settle_days", "form")}
        if settle_days is not None:
            saved["settle_days"] = settle_days
        if form is not None:
            saved["form"] = form
        (tmp_path / "recovery-20260801T000000.json").write_text(json.dumps(saved))
        return recovery.due_for_training(None, tmp_path, date(2026, 8, 20))  # type: ignore[arg-type]

    assert not due(SETTLE.days)  # 500 is not a tenth more than 480
    assert due(90)
    assert due(None)
    assert due(SETTLE.days, form=m.FORM - 1)
    assert due(SETTLE.days, form=None)


def test_cold_start_ranks_by_the_documented_prior_and_ten_outcomes_do_not_train(
    engine: Engine, tmp_path: Path
) -> None:
    claims = [_denied(f"CS{i}") for i in range(10)]
    path = write_remittance(tmp_path, "cold.835", "T-COLD", date(2026, 8, 4), claims)
    import_file(engine, path, today=date(2026, 8, 20))
    with Session(engine) as session:
        ranking.rescore_open(session, date(2026, 8, 20))
        score = ranking.score_of(session, 1)
        assert score.ranker == "prior" and score.probability == pytest.approx(0.75)  # CO-197 MA
        assert "CO-197" in score.explanation
        for other in session.exec(select(Denial)).all():  # ten outcomes: not enough to learn
            decision = lifecycle.Decision("lost", date(2026, 8, 15), Decimal("0"), False)
            lifecycle.record_decision(session, other, decision, None, today=date(2026, 8, 20))
        session.commit()
        assert not recovery.due_for_training(session, tmp_path, date(2026, 8, 20))
        with pytest.raises(m.NotEnoughData):
            recovery.train(session, tmp_path, date(2026, 8, 20))
        assert m.latest_card(tmp_path) is None


def test_a_practice_with_one_payer_still_trains_and_scores() -> None:
    outcomes = [replace(r, payer_id=1) for r in practice(800)]
    x, _ = matrix(outcomes, History(outcomes))
    fitted = m.fit_calibrated(x, np.array([r.label for r in outcomes]))
    p = m.predict(fitted, x)
    assert 0.0 < p.min() <= p.max() < 1.0


def test_the_calibration_noise_floor_shrinks_with_the_outcomes_and_sits_below_a_real_error() -> (
    None
):
    rng = np.random.default_rng(1)
    few, many = rng.uniform(0.05, 0.95, 200), rng.uniform(0.05, 0.95, 20_000)
    assert ev.calibration_noise(few) == ev.calibration_noise(few)  # seeded
    assert 0.03 < ev.calibration_noise(few) < 0.1  # 200 outcomes: noise alone is several points
    assert ev.calibration_noise(many) < 0.01
    y = (rng.random(20_000) < many).astype(int)
    off = np.clip(many + 0.1, 0, 1)  # over-predicts by 0.1 everywhere
    assert ev.scores(y, off).ece > 0.08 > ev.scores(y, many).ece_floor
