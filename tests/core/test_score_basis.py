"""A stored score's basis: the digest of the features and model its probability came from."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import model as m
from classifiers import recovery, scoring
from classifiers.features import CATEGORICAL, FEATURES


def _rows(n: int) -> np.ndarray:
    """`n` feature rows of codes and numbers, each row different."""
    x = np.empty((n, len(FEATURES)), dtype=object)
    for i in range(n):
        x[i, : len(CATEGORICAL)] = [f"code{(i + j) % 3}" for j in range(len(CATEGORICAL))]
        x[i, len(CATEGORICAL) :] = [
            float(i * 7 + j) / 3 for j in range(x.shape[1] - len(CATEGORICAL))
        ]
    return x


def _digest(x: np.ndarray, model_key: str = "model A") -> np.ndarray:
    return scoring.fingerprints(x, m.factorize(x), model_key)


def test_the_digest_is_the_same_in_every_process() -> None:
    """Stored and compared across processes: Python's own string hash would change each run."""
    row = [f"code{j}" for j in range(len(CATEGORICAL))]
    row += [float(j) / 3 for j in range(len(FEATURES) - len(CATEGORICAL))]
    assert _digest(np.array([row], dtype=object)).tolist() == [7474271739860211506]


def test_every_feature_and_the_model_change_the_digest() -> None:
    x = _rows(1)
    first = _digest(x)[0]
    assert 0 <= first < 2**63
    assert _digest(x, "model B")[0] != first
    for j in range(x.shape[1]):
        changed = x.copy()
        changed[0, j] = "other" if j < len(CATEGORICAL) else changed[0, j] + 1.0
        assert _digest(changed)[0] != first, FEATURES[j]
    none = x.copy()
    none[0, 2] = None  # a missing code is not the text "None"
    text = x.copy()
    text[0, 2] = "None"
    assert _digest(none)[0] != _digest(text)[0]
    swapped = x.copy()  # the same values in other columns are other features
    swapped[0, 0], swapped[0, 1] = x[0, 1], x[0, 0]
    assert x[0, 0] == x[0, 1] or _digest(swapped)[0] != first


class _Counting:
    """A model that predicts each row's first number and records how many rows it was asked."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        self.asked.append(len(x))
        p = np.asarray(x[:, len(CATEGORICAL)], dtype=float) / 100
        return np.column_stack([1 - p, p])


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> _Counting:
    model = _Counting()
    monkeypatch.setattr(
        scoring.m, "predict", lambda fitted, x, factors: fitted.predict_proba(x)[:, 1]
    )
    return model


def test_only_rows_whose_basis_or_ranker_changed_are_predicted_again(counting: _Counting) -> None:
    x = _rows(5)
    basis = _digest(x)
    stored = [0.11, 0.22, 0.33, None, 0.55]
    cols = _columns(
        stored,
        [basis[0], basis[1] + 1, basis[2], basis[3], basis[4]],
        [recovery.MODEL, recovery.MODEL, recovery.MODEL, recovery.MODEL, recovery.PRIOR],
    )
    probability = scoring._predicted(counting, x, m.factorize(x), basis, cols)
    fresh = np.asarray(x[:, len(CATEGORICAL)], dtype=float) / 100
    # row 0 kept; 1 (other features), 3 (none stored) and 4 (scored by the prior) predicted
    assert counting.asked == [3]
    assert probability.tolist() == [0.11, fresh[1], 0.33, fresh[3], fresh[4]]
    counting.asked.clear()
    unchanged = _columns(probability.tolist(), basis.tolist(), [recovery.MODEL] * 5)
    assert (
        scoring._predicted(counting, x, m.factorize(x), basis, unchanged).tolist()
        == probability.tolist()
    )
    assert counting.asked == []


def _columns(
    probability: list[float | None], basis: list[int | None], ranker: list[str]
) -> scoring.Columns:
    """Columns carrying only what `_predicted` reads: the stored score."""
    values: dict = {
        name: [None] * len(probability) for name in scoring.Columns.__dataclass_fields__
    }
    values.update(
        stored_probability=probability,
        stored_basis=[None if b is None else int(b) for b in basis],
        stored_ranker=ranker,
    )
    return scoring.Columns(**values)
