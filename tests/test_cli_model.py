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
