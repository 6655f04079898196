"""Train, evaluate and score: what `appeals.ranking`, the CLI and the model page call.

The smoothed prior (documented CARC priors shrunk toward the practice's own outcomes, CARC →
CARC × payer type → CARC × payer → CARC × payer × procedure) ranks until a trained model beats
it on the most recent outcomes; each scored denial says which ranker scored it and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from appeals import heap
from appeals.models import Denial
from classifiers import evaluate as ev
from classifiers import model as m
from classifiers.features import (
    FEATURES,
    LEVELS,
    SETTLE,
    History,
    OutcomeSql,
    Rates,
    Record,
    _findings,
    expected_payments,
    labelled,
    load_records,
    matrix,
)

PRIOR = "prior"
MODEL = "model"
TYPE_WORDS = {
    "medicare": "Medicare",
    "medicare_advantage": "Medicare Advantage plans",
    "medicaid": "Medicaid plans",
    "commercial": "commercial plans",
    "other": "this kind of payer",
}


@dataclass
class Evaluation:
    """A time-split comparison of the model with the prior and the baselines."""

    as_of: str
    holdout_from: str
    train_outcomes: int
    holdout_outcomes: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # ranker → metrics
    by_payer_type: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    dollars: dict[str, dict[str, float]] = field(default_factory=dict)  # ranker → share → $
    calibration: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)
    gains: dict[str, list[float]] = field(default_factory=dict)
    live: str = PRIOR
    reason: str = ""


def _stake(payments: dict[tuple[int, str], Decimal], r: Record) -> float:
    """Dollars at stake: this payer's median allowed for the procedure, at most the denied."""
    allowed = payments.get((r.payer_id, r.procedure))
    return min(float(allowed), r.denied_amount) if allowed else r.denied_amount


def stake_money(allowed: Decimal | None, denied_cents: int) -> Decimal:
    """`_stake` as the cents it is stored in: the usual allowed where it is less (a few
    distinct medians, each converted once), else the denied amount, exact from its cents."""
    if allowed and float(allowed) < denied_cents / 100:
        return _allowed_money(float(allowed))
    return Decimal(denied_cents).scaleb(-2)


@lru_cache(maxsize=1 << 12)
def _allowed_money(allowed: float) -> Decimal:
    return Decimal(str(round(allowed, 2)))


def settled(outcomes: list[Record], as_of: date) -> list[Record]:
    """Outcomes of denials old enough that their cohort's fate is mostly known by `as_of`, each
    as it stood then: recovered only if that was decided by `as_of`, else 0, decided or not.

    Wins arrive within weeks while losses and lapsed windows take months: learning from the
    newest denials' early outcomes alone overrated them (`SETTLE`; with 90 days instead, the
    model trained on 18 months × 5,000 claims predicted 0.41 for a holdout that recovered 0.37).
    Learning only from the decided ones overrated them too: on that practice, of 124 CO-16
    Medicare denials old enough at the time split, the 34 decided after it were all lost; the
    90 decided by then came back 81 %, all 124 only 59 %.
    """
    last = as_of - SETTLE
    return [r for r in labelled(outcomes, as_of) if r.arrived <= last]


def _split(outcomes: list[Record], as_of: date, share: float) -> date:
    days = sorted(r.arrived for r in outcomes)
    cut = days[min(len(days) - 1, int(len(days) * (1 - share)))]
    return min(cut, as_of)


def _outcomes(session: Session, as_of: date) -> list[Record]:
    """Every denial whose outcome counts as of `as_of` (`labelled`), in arrival order."""
    return sorted(labelled(load_records(session), as_of), key=lambda r: (r.arrived, r.id))


@heap.frozen()  # reads every outcome into objects, as the rescore does (see appeals.heap)
def evaluate(
    session: Session,
    as_of: date,
    holdout_share: float = 0.25,
    outcomes: list[Record] | None = None,
    holdout_from: date | None = None,
) -> tuple[Evaluation, Any]:
    """Fit on older outcomes, compare rankers on the newest `holdout_share` (or on the denials
    that arrived from `holdout_from` on); (report, model). Only what was known by `as_of`
    counts, so a past day replays the evaluation as it would have run then.

    `outcomes` are `_outcomes(session, as_of)` when the caller already has them.
    """
    outcomes = _outcomes(session, as_of) if outcomes is None else outcomes
    pool = settled(outcomes, as_of)
    if len(pool) < m.MIN_OUTCOMES:
        raise m.NotEnoughData(
            f"{len(pool)} settled outcomes by {as_of} (of denials that arrived by "
            f"{as_of - SETTLE}); {m.MIN_OUTCOMES} are needed"
        )
    cutoff = holdout_from or _split(pool, as_of, holdout_share)
    if not any(r.arrived >= cutoff for r in pool):
        raise m.NotEnoughData(
            f"no settled outcome of a denial that arrived from {cutoff} on (denials count once "
            f"they are {SETTLE.days} days old: by {as_of}, those that arrived by {as_of - SETTLE})"
        )
    # A backtest: learn only what was settled at the cutoff, then rank what arrived after it.
    train = settled(pool, cutoff)
    holdout = [r for r in pool if r.arrived >= cutoff]
    y_train = np.array([r.label for r in train], dtype=int)
    recovered = int(y_train.sum())
    if min(recovered, len(y_train) - recovered) < m.MIN_PER_CLASS:
        raise m.NotEnoughData(
            f"too few outcomes settled before {cutoff} to learn from ({recovered} recovered, "
            f"{len(y_train) - recovered} not; {m.MIN_PER_CLASS} of each are needed)"
        )
    history = History(outcomes)
    x_train, _ = matrix(train, history)
    x_hold, hold_rates = matrix(holdout, history)
    fitted = m.fit_calibrated(x_train, y_train)
    y = np.array([r.label for r in holdout], dtype=int)
    probabilities = {
        MODEL: m.predict(fitted, x_hold),
        PRIOR: np.array([t.carc_payer_proc for t in hold_rates]),
    }
    report = Evaluation(as_of.isoformat(), cutoff.isoformat(), len(train), len(holdout))
    payments = expected_payments(session, cutoff, until=cutoff)  # what was paid by then
    orders: dict[str, ev.Order] = {}
    for name, p in probabilities.items():
        chance = dict(zip((r.id for r in holdout), p.tolist(), strict=True))
        orders[name] = lambda r, chance=chance: chance[r.id] * _stake(payments, r)
        report.scores[name] = asdict(ev.scores(y, p))
        report.calibration[name] = ev.calibration_curve(y, p)
        for kind in sorted({r.payer_type for r in holdout}):
            mask = np.array([r.payer_type == kind for r in holdout])
            report.by_payer_type.setdefault(kind, {})[name] = asdict(ev.scores(y[mask], p[mask]))
    orders.update(ev.baselines())
    end = max(r.arrived for r in holdout)
    for name, order in orders.items():
        report.dollars[name] = {
            f"{share:.0%}": ev.dollars_recovered(holdout, order, share, cutoff, end)
            for share in ev.CAPACITIES
        }
        report.gains[name] = ev.gains(holdout, order)
    report.live, report.reason = _choose(report)
    return report, fitted


def _choose(report: Evaluation) -> tuple[str, str]:
    """The model goes live only if it beats the prior in Brier score and in dollars."""
    model, prior = report.scores[MODEL], report.scores[PRIOR]
    better_brier = model["brier"] < prior["brier"]
    model_dollars = sum(report.dollars[MODEL].values())
    prior_dollars = sum(report.dollars[PRIOR].values())
    if better_brier and model_dollars >= prior_dollars:
        return MODEL, (
            f"the model beat the smoothed prior on the newest {report.holdout_outcomes} outcomes: "
            f"Brier {model['brier']:.3f} vs {prior['brier']:.3f}, "
            f"${model_dollars:,.0f} vs ${prior_dollars:,.0f} recovered working the top of the queue"
        )
    return PRIOR, (
        f"the smoothed prior did as well or better on the newest {report.holdout_outcomes} "
        f"outcomes (Brier {prior['brier']:.3f} vs {model['brier']:.3f}; "
        f"${prior_dollars:,.0f} vs ${model_dollars:,.0f})"
    )


def outcome_count(session: Session, as_of: date) -> int:
    """How many outcomes training can learn from: every denial at least `SETTLE` old (`settled`;
    cheap: one count, compared with the card's `outcomes` to decide when to retrain)."""
    table = Denial.__table__  # type: ignore[attr-defined]
    arrived = OutcomeSql.on(table, as_of).arrived
    query = sa.select(sa.func.count()).select_from(table).where(arrived <= as_of - SETTLE)
    return int(session.execute(query).scalar_one())


def due_for_training(session: Session, folder: Path, as_of: date) -> bool:
    """Enough outcomes, and a tenth more (at least 50) than the last training saw, or that
    training counted them with another settling window (its count is not comparable) or
    built an older form of the model (`model.FORM`)."""
    count = outcome_count(session, as_of)
    if count < m.MIN_OUTCOMES:
        return False
    card = m.latest_card(folder)
    if card is None or card.settle_days != SETTLE.days or card.form != m.FORM:
        return True
    return count >= max(card.outcomes * 1.1, card.outcomes + 50)


@heap.frozen()
def train(session: Session, folder: Path, as_of: date) -> tuple[m.Card, Evaluation]:
    """Evaluate on a time split, then refit on every outcome and save (the card says what ranks)."""
    every = _outcomes(session, as_of)
    report, _ = evaluate(session, as_of, outcomes=every)
    outcomes = settled(every, as_of)
    y = np.array([r.label for r in outcomes], dtype=int)
    final = None
    if report.live == MODEL:
        x, _ = matrix(outcomes, History(every))
        final = m.fit_calibrated(x, y, validated_on=report.train_outcomes)
    card = m.Card(
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        outcomes=len(outcomes),
        recovered_share=float(y.mean()) if len(y) else 0.0,
        features=list(FEATURES),
        holdout_from=report.holdout_from,
        holdout={
            name: {**report.scores[name], "dollars": report.dollars[name]} for name in report.scores
        },
        live=report.live,
        reason=report.reason,
        versions=m.versions(),
        fingerprint=m.fingerprint([r.id for r in outcomes], y.tolist()),
        evaluation=asdict(report),
        settle_days=SETTLE.days,
        calibration=m.calibration_for(report.train_outcomes) if final is not None else "",
        form=m.FORM,
    )
    m.save(folder, final, card)
    return card, report


# --- scoring -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scored:
    id: int
    probability: float
    stake: Decimal
    ranker: str
    reasons: list[str]
    deadline: date | None
    stored: tuple[Any, ...]


@dataclass
class Context:
    """What scoring needs besides the denials: past outcomes, payments, the live model."""

    as_of: date
    history: History
    payments: dict[tuple[int, str], Decimal]
    model: Any
    card: m.Card | None


def context(
    session: Session, as_of: date, folder: Path | None, records: list[Record] | None = None
) -> Context:
    """Read the practice's outcomes, recent payments and the saved model (a few queries).

    `records` are every denial's records when the caller already has them.
    """
    saved = m.latest(folder) if folder is not None else None
    return Context(
        as_of=as_of,
        history=History(labelled(load_records(session) if records is None else records, as_of)),
        payments=expected_payments(session, as_of),
        model=saved[0] if saved else None,
        card=saved[1] if saved else None,
    )


def score(
    session: Session,
    ids: Sequence[int] | None,
    ctx: Context,
    records: list[Record] | None = None,
) -> list[Scored]:
    """Probability, dollars at stake and reasons for these denials (None: every open one)."""
    records = load_records(session, ids) if records is None else records
    records = [r for r in records if r.status in ("new", "in_progress")]
    if not records:
        return []
    x, found = matrix(records, ctx.history)
    if ctx.model is not None:
        p, ranker = m.predict(ctx.model, x), MODEL
    else:
        p, ranker = np.array([t.carc_payer_proc for t in found]), PRIOR
    scored = []
    for r, t, chance in zip(records, found, p.tolist(), strict=True):
        allowed = ctx.payments.get((r.payer_id, r.procedure))
        stake = stake_money(allowed, round(r.denied_amount * 100))
        scored.append(
            Scored(
                r.id,
                float(chance),
                stake,
                ranker,
                reasons(r, t, ctx.payments),
                r.deadline,
                r.stored,
            )
        )
    return scored


def _percent(value: float) -> str:
    return f"{value:.0%}"


RATE_LEVELS = LEVELS[::-1]  # the levels of past rates a reason may quote, most specific first
QUOTED_FROM = 5  # settled outcomes a level needs before a reason quotes its rate


def rate_basis(counts: Sequence[tuple[int, int]]) -> tuple[int, int, int]:
    """What the rate reason quotes, from each level's (decided, recovered) in `RATE_LEVELS`
    order: (the most specific level with `QUOTED_FROM` or more, its decided, its recovered),
    or (-1, 0, 0) when none has (the published rate is quoted)."""
    for level, (n, s) in enumerate(counts):
        if n >= QUOTED_FROM:
            return level, n, s
    return -1, 0, 0


@lru_cache(maxsize=1 << 16)
def _rate_reason(
    code: str,
    procedure: str,
    payer_name: str,
    payer_type: str,
    basis: tuple[int, int, int],
    prior: float,
) -> tuple[float, str]:
    """How often the level `basis` names came back (`rate_basis`), else the published rate."""
    level, n, s = basis
    if level < 0:
        return 0.2, f"{code}: {_percent(prior)} likely to be recovered (published rates)"
    if level == 0:
        # a whole-claim denial has no procedure: its group is the payer's whole-claim denials
        words = (
            f"{code} for {procedure} at {payer_name}"
            if procedure
            else f"{code} on whole claims at {payer_name}"
        )
    elif level == 1:
        words = f"{code} at {payer_name}"
    elif level == 2:
        words = f"{code} with {TYPE_WORDS.get(payer_type, payer_type)}"
    else:
        words = f"{code} at this practice"
    rate = s / n
    return abs(rate - 0.5) + 0.3, f"{words} came back {_percent(rate)} of the time (of {n})"


@lru_cache(maxsize=1 << 14)
def _documentation_reason(findings_text: str) -> tuple[tuple[float, str], ...]:
    findings = _findings(findings_text)
    missing = [name for f in findings for name in f.get("missing") or []]
    if missing:
        return ((0.35, f"documentation still missing: {', '.join(dict.fromkeys(missing))}"),)
    if findings:
        badge = next((f.get("badge") for f in findings if f.get("badge")), "")
        what = f"{badge} facts" if badge else "the facts the coding checks ask for"
        return ((0.3, f"{what} documented"),)
    return ()


def reasons(r: Record, t: Rates, payments: dict[tuple[int, str], Decimal]) -> list[str]:
    """Up to three plain-words reasons, the strongest first (how far each moves the odds)."""
    code = f"{r.group_code}-{r.carc}" if r.group_code and r.carc else r.carc or r.category
    basis = rate_basis([t.decided[key] for key in RATE_LEVELS])
    allowed = payments.get((r.payer_id, r.procedure))
    return reason_words(
        code, r.procedure, r.payer_name, r.payer_type, basis, t.prior, r.findings_text, allowed,
        r.denied_amount,
    )  # fmt: skip


def reason_words(
    code: str,
    procedure: str,
    payer_name: str,
    payer_type: str,
    basis: tuple[int, int, int],
    prior: float,
    findings_text: str,
    allowed: Decimal | None,
    denied_amount: float,
) -> list[str]:
    """The reasons from plain values (shared by `reasons` and the bulk path in `scoring`);
    `basis`: `rate_basis` of the past rates."""
    quoted = prior if basis[0] < 0 else 0.0  # only quoted when no level has enough outcomes
    found = _known_reasons(code, procedure, payer_name, payer_type, basis, quoted, findings_text)
    if allowed and float(allowed) < denied_amount * 0.8:
        return [*found, _allowed_words(allowed, procedure, denied_amount)]
    return list(found)


@lru_cache(maxsize=1 << 16)
def _known_reasons(
    code: str,
    procedure: str,
    payer_name: str,
    payer_type: str,
    basis: tuple[int, int, int],
    prior: float,
    findings_text: str,
) -> tuple[str, ...]:
    """The rate and documentation reasons, strongest first (how far each moves the odds).

    The usual-allowed reason, weaker than any of these (0.15 against 0.2 and up), comes last
    where it applies: `_allowed_words`.
    """
    found = [
        _rate_reason(code, procedure, payer_name, payer_type, basis, prior),
        *_documentation_reason(findings_text),
    ]
    found.sort(key=lambda item: -item[0])
    return tuple(words for _, words in found)


def _allowed_words(allowed: Decimal, procedure: str, denied_amount: float) -> str:
    """The reason a denial is worth less than its charge: what this payer usually allows."""
    return (
        f"this payer usually allows ${allowed:,.2f} for {procedure}, "
        f"not the ${denied_amount:,.2f} charged"
    )
