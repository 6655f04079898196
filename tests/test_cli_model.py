"""`appeals model evaluate` prints the evaluation as tables (figures from a saved report)."""

from __future__ import annotations

import pytest

from appeals.commands.model import print_report

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
    from sqlmodel import Session

    from appeals import ranking
    from classifiers import model as recovery_model

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
