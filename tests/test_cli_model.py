"""`appeals model evaluate` and `status`; a practice evaluated and trained end to end."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session

from appeals.commands.model import print_report
from appeals.documentation import import_documentation_csv
from appeals.findings import refresh_findings_for_files
from appeals.history import import_appeal_history
from appeals.importer import import_file
from appeals.synth import generate
from classifiers import model as recovery_model
from classifiers import recovery

REPORT = {
    "train_outcomes": 900,
    "holdout_from": "2026-04-17",
    "holdout_outcomes": 300,
    "scores": {
        "model": {"auc": 0.84, "average_precision": 0.7, "brier": 0.157, "ece": 0.043,
                  "ece_floor": 0.031, "n": 300, "positives": 110},
        "prior": {"auc": 0.77, "average_precision": 0.6, "brier": 0.184, "ece": 0.043, "n": 300,
                  "positives": 110},  # a report saved before the floor was measured
    },
    "by_payer_type": {"medicare": {"model": {"auc": 0.9, "ece": 0.09, "ece_floor": 0.07,
                                             "n": 80}}},
    "dollars": {"model": {"10%": 9000.0, "25%": 15000.0},
                "oldest first": {"10%": 4000.0, "25%": 9000.0}},
}  # fmt: skip


def test_the_tables_show_each_calibration_error_beside_its_noise_floor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_report(REPORT)
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("ranker"))
    assert header.split() == ["ranker", "AUC", "AP", "Brier", "ECE", "floor", "n"]
    model = next(line for line in lines if line.startswith("Trained model"))
    assert model.split()[-3:] == ["0.043", "0.031", "300"]
    prior = next(line for line in lines if line.startswith("Smoothed prior"))
    assert prior.split()[-3:] == ["0.043", "–", "300"]
    medicare = next(line for line in lines if line.startswith("Medicare"))
    assert medicare.split()[-3:] == ["0.090", "0.070", "80"]
    assert any("2.25" in line for line in lines if line.startswith("Trained model"))


def test_status_names_the_live_ranker_and_each_error_beside_its_floor(
    cli, engine, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from appeals import ranking

    monkeypatch.setenv("APPEALS_INSTANCE", str(tmp_path))
    assert "No model trained yet" in cli("model", "status").output
    card = recovery_model.Card(
        "2026-12-04T08:00:00+00:00", 872, 0.37, [], "2026-04-16",
        {name: REPORT["scores"][name] for name in ("model", "prior")}, "model",
        "the model beat the smoothed prior", calibration="5-fold sigmoid",
    )  # fmt: skip
    with Session(engine) as session:
        recovery_model.save(ranking.model_folder(session), None, card)
    result = cli("model", "status")
    assert result.exit_code == 0, result.output
    assert "Live ranker: Trained model" in result.output
    assert "Calibrated by 5-fold sigmoid" in result.output
    assert "ECE 0.043 (noise floor 0.031)" in result.output
    assert "ECE 0.043 (noise floor –)" in result.output  # a card from before the floor


@pytest.mark.slow
def test_a_practice_is_evaluated_on_the_split_asked_for_and_trains_from_its_own_history(
    cli, engine, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "practice"
    summary = generate(data, seed=9, months=18, claims_per_month=160, end_date=date(2026, 4, 30))
    ids = [import_file(engine, path).file_id for path in sorted(data.glob("*.835"))]
    refresh_findings_for_files(engine, [i for i in ids if i])
    with Session(engine) as session:
        import_documentation_csv(session, None, data / "documentation.csv")
        import_appeal_history(session, data / "appeals.csv", today=summary.end)
        session.commit()
    as_of = date(2026, 11, 30)  # every cohort has settled by then
    holdout_from = date(2025, 12, 1)
    stakes_until = []
    real = recovery.expected_payments

    def spy(session, day, months=12, until=None):  # type: ignore[no-untyped-def]
        stakes_until.append(until)
        return real(session, day, months, until)

    monkeypatch.setattr(recovery, "expected_payments", spy)
    charts = tmp_path / "charts"
    result = cli("model", "evaluate", "--as-of", as_of, "--holdout-from", holdout_from,
                 "--charts", charts)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"before {holdout_from}, tested on the" in result.output
    assert "outcomes to test on: the figures move by chance" not in result.output
    assert stakes_until == [holdout_from]  # a backtest's stakes see only earlier payments
    assert (charts / "calibration.svg").read_text().startswith("<svg")

    def evaluate(*options: object) -> str:
        return cli("model", "evaluate", "--as-of", as_of, *options).output

    assert "is after today" in evaluate("--as-of", date.today() + timedelta(days=1))
    assert "outcomes to test on: the figures move by chance" in evaluate(
        "--holdout-from", date(2026, 4, 20)
    )
    assert "no settled outcome of a denial that arrived from" in evaluate("--holdout-from", as_of)
    assert "too few outcomes settled before 2025-02-01 to learn from" in evaluate(
        "--holdout-from", date(2025, 2, 1)
    )

    with Session(engine) as session:
        # a replay as on an earlier day counts only the recoveries decided by then (a denial
        # recovered later counts 0 then, once it is old enough to count)
        earlier = recovery._outcomes(session, date(2026, 1, 31))
        assert earlier and all(r.decided_on <= date(2026, 1, 31) for r in earlier if r.label)
        assert len(earlier) < len(recovery._outcomes(session, as_of))
        default, _ = recovery.evaluate(session, as_of)
        assert default.holdout_from != holdout_from.isoformat()  # the newest quarter
        card, _ = recovery.train(session, tmp_path / "models", as_of)
        assert card.outcomes == recovery.outcome_count(session, as_of)  # what retraining counts
        saved = recovery_model.calibration_for(default.train_outcomes)
        assert card.calibration == (saved if card.live == "model" else "")
