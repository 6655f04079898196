"""How well a ranker does on a time-split holdout: discrimination, calibration, and dollars.

Dollars are what matters to a billing team: each business day of the holdout, the team works
the top k of the open denials (k = a share of the average daily arrivals) by each ranker's
order, and recovers what those denials in fact brought back. Baselines: oldest first, largest
first, nearest deadline first, the smoothed prior, and hindsight (the ceiling).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from classifiers.features import Record

CAPACITIES = (0.10, 0.25)


@dataclass(frozen=True, slots=True)
class Scores:
    auc: float
    average_precision: float
    brier: float
    ece: float
    ece_floor: float  # what a perfectly calibrated ranker would show on this many outcomes
    n: int
    positives: int


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed − predicted| over equal-width probability bins, weighted by their size."""
    if len(y) == 0:
        return 0.0
    return float(_calibration_errors(np.asarray(y)[np.newaxis, :], p, bins)[0])


def _calibration_errors(outcomes: np.ndarray, p: np.ndarray, bins: int) -> np.ndarray:
    """The expected calibration error of each row of `outcomes` (one set of outcomes per row)
    against the same probabilities `p`, over the same bins."""
    edges = np.minimum((p * bins).astype(int), bins - 1)
    total = np.zeros(len(outcomes))
    for b in range(bins):
        mask = edges == b
        if mask.any():
            total += mask.sum() * np.abs(outcomes[:, mask].mean(axis=1) - p[mask].mean())
    return total / len(p)


def calibration_noise(p: np.ndarray, draws: int = 100, seed: int = 7, bins: int = 10) -> float:
    """The calibration error a perfectly calibrated ranker would still show on `len(p)`
    outcomes: the mean ECE of outcomes drawn from `p` itself (seeded).

    On a few hundred outcomes sampling noise alone is several points (219 outcomes: about
    0.07), so a measured error is read against this floor.
    """
    if len(p) == 0:
        return 0.0
    drawn = np.random.default_rng(seed).random((draws, len(p))) < p
    return float(np.mean(_calibration_errors(drawn, p, bins)))


def scores(y: np.ndarray, p: np.ndarray) -> Scores:
    # imported here, not with the module: see classifiers/model.py
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    both = len(set(y.tolist())) == 2
    return Scores(
        auc=float(roc_auc_score(y, p)) if both else math.nan,
        average_precision=float(average_precision_score(y, p)) if both else math.nan,
        brier=float(brier_score_loss(y, p)) if len(y) else math.nan,
        ece=expected_calibration_error(y, p),
        ece_floor=calibration_noise(p),
        n=len(y),
        positives=int(y.sum()),
    )


def calibration_curve(
    y: np.ndarray, p: np.ndarray, bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean predicted, observed rate, count) per non-empty probability bin."""
    edges = np.minimum((p * bins).astype(int), bins - 1)
    points = []
    for b in range(bins):
        mask = edges == b
        if mask.any():
            points.append((float(p[mask].mean()), float(y[mask].mean()), int(mask.sum())))
    return points


def business_days(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


Order = Callable[[Record], float]  # larger = worked first


def dollars_recovered(
    records: Sequence[Record], order: Order, share: float, start: date, end: date
) -> float:
    """Dollars recovered working the top `share` of daily arrivals each business day."""
    days = business_days(start, end)
    if not days or not records:
        return 0.0
    arrivals: dict[date, list[Record]] = {}
    for r in records:
        day = r.arrived
        while day.weekday() >= 5:  # weekend arrivals wait for Monday
            day += timedelta(days=1)
        arrivals.setdefault(day, []).append(r)
    per_day = share * len(records) / len(days)  # a fractional capacity carries over
    pool: list[Record] = []
    total, capacity = 0.0, 0.0
    for day in days:
        pool.extend(arrivals.get(day, ()))
        pool = [r for r in pool if r.deadline is None or r.deadline >= day]
        capacity += per_day
        take = int(capacity)
        if not pool or take == 0:
            continue
        capacity -= take
        pool.sort(key=order, reverse=True)
        worked, pool = pool[:take], pool[take:]
        total += sum(r.recovered for r in worked if r.label == 1)
    return total


def baselines() -> dict[str, Order]:
    """The orders a team could use without a model, and hindsight."""
    return {
        "oldest first": lambda r: -r.arrived.toordinal(),
        "largest first": lambda r: r.denied_amount,
        "deadline first": lambda r: -(r.deadline or date.max).toordinal(),
        "hindsight": lambda r: r.recovered if r.label == 1 else 0.0,
    }


def gains(records: Sequence[Record], order: Order, points: int = 20) -> list[float]:
    """Share of all recovered dollars found in the first 5 %, 10 %, ... of denials by `order`."""
    ranked = sorted(records, key=order, reverse=True)
    total = sum(r.recovered for r in ranked if r.label == 1) or 1.0
    curve, running, step = [0.0], 0.0, len(ranked) / points
    for i, r in enumerate(ranked, start=1):
        running += r.recovered if r.label == 1 else 0.0
        if len(curve) <= points and i >= round(step * len(curve)):
            curve.append(running / total)
    while len(curve) <= points:
        curve.append(running / total)
    return curve
