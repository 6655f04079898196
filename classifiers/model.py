"""The recovery model: a calibrated scikit-learn pipeline, trained on a time split, kept with skops.

Training holds out the most recent outcomes: the model is fitted on the older ones, calibrated
(isotonic, or sigmoid when few: `fit_calibrated`), and compared on the holdout with
the smoothed prior. It goes live only where it beats the prior in Brier score and in dollars
recovered working the top of the queue; otherwise the prior keeps ranking, and the card says
why. Threads are limited to one: two cores fighting over OpenMP made training 20× slower.

scikit-learn and skops are imported where a model is built, saved or loaded, not with this
module: they cost an importing process about 110 MB and a second, which an 835 import or a
web worker with no live model never needs.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from appeals.files import open_private, private_folder, write_private
from classifiers.features import CATEGORICAL, NUMERIC

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

SEED = 20261203
# The model's form: a card of an older one is retrained at the web app's next daily upkeep
# (`recovery.due_for_training`) rather than when enough new outcomes arrive. Form 1 was five
# 250-tree pipelines, each with its own encoder; its cards carry no form (0). Form 2 learned
# from decided denials only, leaving out the old ones still pending (`recovery.settled`);
# form 3 had leaves of 40 denials (`build_booster`).
FORM = 4
PARALLEL_FROM = 20_000  # rows from which `predict` uses every core
MIN_OUTCOMES = 200  # fewer outcomes than this (`recovery.outcome_count`): the prior ranks
MIN_PER_CLASS = 30


class NotEnoughData(ValueError):
    """Too few outcomes, or only one kind, to train on (the prior keeps ranking)."""


def build_encoder() -> ColumnTransformer:
    """Categorical codes ordinal-encoded for histogram gradient boosting; numbers as floats.

    The encoded matrix must come out as floats, not objects: the booster encodes its
    categorical columns once more, and on an object array that took as long as its trees.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    n_cat = len(CATEGORICAL)
    return ColumnTransformer(
        [
            (
                "codes",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                    max_categories=200,
                    dtype=np.float64,
                ),
                list(range(n_cat)),
            ),
            (
                "numbers",
                # cast to float64; a missing number stays NaN, which the booster handles
                FunctionTransformer(np.asarray, kw_args={"dtype": "float64"}),
                list(range(n_cat, n_cat + len(NUMERIC))),
            ),
        ]
    )


# Denials a leaf holds at least (fewer where a booster learns from few: `build_booster`)
LEAF = 120


def build_booster(rows: int) -> HistGradientBoostingClassifier:
    """Histogram gradient boosting over the encoded columns (categorical ones first), to be
    fitted on `rows` outcomes.

    50 trees at a rate of 0.25, not 250 at 0.06: as good on the time split of six synthetic
    practices (AUC, Brier, calibration, dollars; the demo's AUC 0.801 → 0.806) and five times
    cheaper to predict, which the rescore after training does for every open denial with each
    of the five cross-validated boosters.

    At least `LEAF` (120) denials per leaf, not 40: a recovery is a noisy label, and smaller
    leaves learnt the training months' chance. On the time split of seven synthetic practices (five
    tuned on, two held out), the calibration error fell from 0.042 to 0.035 on average (0.057 →
    0.040 on the worst), AUC rose from 0.748 to 0.761, and the dollars recovered working the top
    10 % of each day's arrivals rose on all seven (60 and 160 were close; 200 ranked as well
    and calibrated worse). A booster that learns from fewer than four times as many takes
    leaves of a quarter of its rows (at least 20), so a small practice's can still split: a
    210-outcome practice's folds of 168 could not, and ranked no better than chance.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=0.25,
        max_iter=50,
        max_leaf_nodes=15,
        min_samples_leaf=min(LEAF, max(20, rows // 4)),
        l2_regularization=1.0,
        categorical_features=list(range(len(CATEGORICAL))),
        early_stopping=False,
        random_state=SEED,
    )


ISOTONIC = 800  # from here on, cross-validated calibration is isotonic; below it, sigmoid
LARGE = 20_000  # from here on, a time slice is enough to calibrate on (isotonic)


def calibration_for(outcomes: int) -> str:
    """How a model fitted on this many outcomes is calibrated (see `fit_calibrated`)."""
    if outcomes >= LARGE:
        return "isotonic on the newest 20 %"
    return "5-fold isotonic" if outcomes >= ISOTONIC else "5-fold sigmoid"


def fit_calibrated(x: np.ndarray, y: np.ndarray, validated_on: int | None = None) -> Pipeline:
    """A calibrated model, `encode` then `calibrated`: rows come in time order. The calibration
    is chosen for `validated_on` outcomes (default `len(y)`): training refits the way the time
    split validated, whatever the count now calls for (`calibration_for` names it).

    With many outcomes, fit on the older 80 % and calibrate (isotonic) on the newer 20 %. With
    fewer, every outcome counts: 5-fold cross-validated calibration of the booster, isotonic
    from `ISOTONIC` outcomes on and sigmoid below. Measured on the time split's holdout: with
    about 900 training outcomes, sigmoid's single curve overrated the least likely denials (0.07
    predicted, 0.02 recovered) and isotonic lowered the calibration error on three practices
    (with drift, two seeds: 0.054 → 0.034 and 0.046 → 0.034; without: 0.033 → 0.025); on 3,000
    the two were even, on 450–520 mixed, and on 190 isotonic's folds overfit (0.058 → 0.114).

    The encoder learns only which codes exist (no outcome), so one is fitted on every row and
    shared by the folds' boosters: it runs once per prediction, not five times (each booster
    still re-encodes its categorical columns, cheaply on floats).
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline
    from threadpoolctl import threadpool_limits

    size = len(y) if validated_on is None else validated_on
    cut = int(len(y) * 0.8)
    if min(int(y[:cut].sum()), cut - int(y[:cut].sum())) < 5 or len(set(y[cut:].tolist())) < 2:
        raise NotEnoughData("both outcomes are needed in the fitting and calibration parts")
    with threadpool_limits(limits=1):
        encode = build_encoder().fit(x)
        z = encode.transform(x)
        if size < LARGE:
            method = "isotonic" if size >= ISOTONIC else "sigmoid"
            booster = build_booster(len(y) - len(y) // 5)  # each of the five folds' share
            calibrated = CalibratedClassifierCV(booster, method=method, cv=5).fit(z, y)
        else:
            booster = build_booster(cut).fit(z[:cut], y[:cut])
            calibrated = CalibratedClassifierCV(FrozenEstimator(booster), method="isotonic")
            calibrated.fit(z[cut:], y[cut:])
    return Pipeline([("encode", encode), ("calibrated", calibrated)])


def predict(model: Any, x: np.ndarray, factors: Factors | None = None) -> np.ndarray:
    """Probabilities of recovery (`factors`: `factorize(x)`, when the caller has them).

    Many rows (the rescore of every open denial after training) are predicted on every core:
    200,000 rows with the five cross-validated boosters took 3.5-3.7 s on one thread and
    2.4-2.5 s on two. Fewer (a file's batch, a saved decision) stay on one, as training does:
    threads that fight over 2 cores made a fit 20 times slower."""
    from joblib import cpu_count
    from threadpoolctl import threadpool_limits

    if len(x) == 0:
        return np.zeros(0)
    threads = cpu_count() if len(x) >= PARALLEL_FROM else 1  # the cores this process may use
    if "encode" in getattr(model, "named_steps", {}):  # saved before form 2: one whole pipeline
        model, x = model.named_steps["calibrated"], encoded(model, x, factors or factorize(x))
    with threadpool_limits(limits=threads):
        return model.predict_proba(x)[:, 1]


@dataclass(frozen=True)
class Factors:
    """Each categorical column of a feature matrix as positions in its distinct values.

    A column holds a handful of distinct codes: the encoder (and `scoring.fingerprints`) map
    each of them once and take every row's from its position. The model's own encoder mapped
    200,000 rows' strings one by one in 0.7 s.
    """

    positions: list[np.ndarray]  # per categorical column: each row's index into `distinct`
    distinct: list[list[Any]]

    def rows(self, chosen: np.ndarray) -> Factors:
        """The factors of the rows `chosen` (a boolean mask)."""
        return Factors([p[chosen] for p in self.positions], self.distinct)


def factorize(x: np.ndarray) -> Factors:
    positions, distinct = [], []
    for j in range(len(CATEGORICAL)):
        index: dict[Any, int] = {}
        first = index.setdefault  # a value's position: the number of values seen before it
        positions.append(np.array([first(v, len(index)) for v in x[:, j].tolist()], np.intp))
        distinct.append(list(index))
    return Factors(positions, distinct)


def encoded(model: Any, x: np.ndarray, factors: Factors) -> np.ndarray:
    """What the model's `encode` step makes of `x` (a test checks they are equal): its
    encoder maps each value on its own, so the distinct values are mapped and each row takes
    its own from them; the numbers are cast to floats."""
    n_cat = len(CATEGORICAL)
    # by columns: each booster's own encoder takes its categorical columns out of this matrix,
    # and whole columns copy faster (five boosters on 200,000 rows: 0.1-0.3 s less)
    out = np.empty((len(x), x.shape[1]), order="F")
    out[:, n_cat:] = np.asarray(x[:, n_cat:], dtype=np.float64)
    size = max(map(len, factors.distinct))
    table = np.empty((size, n_cat), dtype=object)
    for j, values in enumerate(factors.distinct):
        table[:, j] = values + values[:1] * (size - len(values))
    codes = model.named_steps["encode"].named_transformers_["codes"].transform(table)
    for j, positions in enumerate(factors.positions):
        out[:, j] = codes[positions, j]
    return out


@dataclass
class Card:
    """What a saved model is: when, on what, how well, and whether it ranks the queue."""

    trained_at: str
    outcomes: int
    recovered_share: float
    features: list[str]
    holdout_from: str
    holdout: dict[str, Any]  # ranker name → metrics on the holdout
    live: str  # "model" or "prior"
    reason: str
    versions: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    evaluation: dict[str, Any] = field(default_factory=dict)  # the full holdout report
    settle_days: int = 0  # how old a denial had to be to count (0: a card from before it was kept)
    calibration: str = ""  # `calibration_for` of the saved model ("": none saved, or older card)
    form: int = 0  # `FORM` when trained (0: a card from before forms were kept)


def versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": version("scikit-learn"),
        "numpy": np.__version__,
        "skops": version("skops"),
    }


def fingerprint(ids: list[int], labels: list[int]) -> str:
    digest = hashlib.sha256(json.dumps([ids, labels]).encode())
    return digest.hexdigest()[:16]


def folder_for(instance: Path, database_url: str) -> Path:
    """Models are practice data: kept in the instance folder, one subfolder per database."""
    key = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    return instance / "models" / key


def save(folder: Path, model: Any, card: Card) -> Path:
    """Write `recovery-<stamp>.skops` and its JSON card (files readable by the owner only)."""
    import skops.io as sio

    private_folder(folder)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"recovery-{stamp}.skops"
    with open_private(path, "wb") as handle:
        sio.dump(model, handle)
    write_private(path.with_suffix(".json"), json.dumps(asdict(card), indent=2))
    if card.live == "model":  # the rescore after training predicts with it, not a reload
        _remember(path, model)
    return path


def latest(folder: Path) -> tuple[Any, Card] | None:
    """The newest saved model and card, or None (also when its library versions differ)."""
    paths = sorted(folder.glob("recovery-*.skops")) if folder.is_dir() else []
    for path in reversed(paths):
        card_path = path.with_suffix(".json")
        if not card_path.exists():
            continue
        card = Card(**json.loads(card_path.read_text()))
        if card.versions.get("scikit-learn") != version("scikit-learn"):
            continue  # trained by another scikit-learn: retrain rather than trust it
        if card.live != "model":
            _LOADED.clear()
            return None, card
        return _load(path), card
    return None


_LOADED: dict[tuple[Path, int, int], Any] = {}


def _load(path: Path) -> Any:
    """The model saved at `path`, loaded once per process (0.7 s for five boosters, which a
    long-running web worker's daily rescore would pay every day); a file written again is
    loaded again. Only the newest is kept."""
    model = _LOADED.get(_file_key(path))
    if model is None:
        import skops.io as sio

        trusted = sio.get_untrusted_types(file=path)
        model = _remember(path, sio.load(path, trusted=[t for t in trusted if _ours(t)]))
    return model


def _file_key(path: Path) -> tuple[Path, int, int]:
    stat = path.stat()
    return path, stat.st_mtime_ns, stat.st_size


def _remember(path: Path, model: Any) -> Any:
    """Keep `model` as the one saved at `path` (only the newest is kept)."""
    _LOADED.clear()
    _LOADED[_file_key(path)] = model
    return model


def latest_card(folder: Path) -> Card | None:
    """The newest card (without loading its model)."""
    cards = sorted(folder.glob("recovery-*.json")) if folder.is_dir() else []
    return Card(**json.loads(cards[-1].read_text())) if cards else None


_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")
_TRUSTED_NAMES = frozenset({"functools.partial"})  # scikit-learn's own losses use it


def _ours(type_name: str) -> bool:
    """Types a scikit-learn pipeline of ours may hold (skops refuses anything else)."""
    return type_name.startswith(_TRUSTED_PREFIXES) or type_name in _TRUSTED_NAMES
