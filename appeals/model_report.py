"""The recovery model's figures as tables and SVG charts, for `appeals model` and the web page.

Works from an evaluation report (`classifiers.recovery.Evaluation`, or the dict a saved card
keeps), so the page shows what the last training measured without recomputing it.
"""

from __future__ import annotations

from typing import Any

from appeals import charts
from appeals.deadlines import PAYER_TYPES

RANKER_NAMES = {"model": "Trained model", "prior": "Smoothed prior"}
ORDER = ("model", "prior", "largest first", "deadline first", "oldest first", "hindsight")


def label(name: str) -> str:
    return RANKER_NAMES.get(name, name.capitalize())


def metric_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per probability ranker: AUC, average precision, Brier, calibration error."""
    return [
        {"ranker": label(name), "key": name, **values}
        for name, values in report.get("scores", {}).items()
    ]


def payer_type_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for kind, by_ranker in sorted(report.get("by_payer_type", {}).items()):
        for name, values in by_ranker.items():
            rows.append(
                {"payer_type": PAYER_TYPES.get(kind, kind), "ranker": label(name), **values}
            )
    return rows


def dollar_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Dollars recovered working the top k a day, each ranker against oldest first."""
    dollars = report.get("dollars", {})
    oldest = dollars.get("oldest first", {})
    rows = []
    for name in (n for n in ORDER if n in dollars):
        row: dict[str, Any] = {"ranker": label(name), "key": name}
        for share, value in dollars[name].items():
            row[share] = value
            base = oldest.get(share) or 0.0
            row[f"{share} vs oldest"] = value / base if base else None
        rows.append(row)
    return rows


def calibration_svg(report: dict[str, Any]) -> str:
    series = [
        charts.Series(label(name), [(p, o) for p, o, _ in points])
        for name, points in report.get("calibration", {}).items()
    ]
    return charts.line_chart(
        "Calibration on the newest outcomes",
        series,
        x_label="predicted chance of recovery",
        y_label="share recovered",
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.0),
        diagonal=True,
    )


def gains_svg(report: dict[str, Any]) -> str:
    gains = report.get("gains", {})
    series = []
    for name in (n for n in ORDER if n in gains):
        curve = gains[name]
        steps = len(curve) - 1 or 1
        series.append(charts.Series(label(name), [(i / steps, v) for i, v in enumerate(curve)]))
    return charts.line_chart(
        "Lift: recovered dollars found working the queue in each order",
        series,
        x_label="share of denials worked",
        y_label="share of recovered dollars",
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.0),
    )
