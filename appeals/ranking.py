"""Queue priority: expected recovered dollars, raised as the appeal deadline nears.

The probability of recovery and the dollars at stake (the payer's usual allowed amount) come
from `classifiers.recovery`: the trained model where it beat the smoothed prior on the newest
outcomes, else the prior. Each denial keeps which one scored it and why, in plain words.
At import, before the coding checks, a denial gets its documented CARC prior; the checks that
follow rescore it with everything known.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from appeals import db
from appeals.deadlines import days_left
from appeals.models import AppState, Denial
from classifiers import model as recovery_model
from classifiers import recovery
from classifiers.priors import prior_for


@dataclass(frozen=True, slots=True)
class Score:
    probability: float
    expected_recovery: Decimal
    priority: float
    factors: list[str]

    @property
    def explanation(self) -> str:
        return json.dumps(self.factors)


def urgency(days_left: int | None) -> tuple[float, str]:
    """A multiplier for deadline urgency, with the words that explain it."""
    if days_left is None:
        return 1.0, "no deadline known"
    if days_left < 0:
        return 0.0, f"deadline passed {-days_left} days ago"
    if days_left <= 14:
        return 1.5, f"deadline in {days_left} days"
    if days_left <= 30:
        return 1.25, f"deadline in {days_left} days"
    return 1.0, f"{days_left} days left to appeal"


def combine(
    probability: float, stake: Decimal, deadline: date | None, today: date, reasons: list[str]
) -> Score:
    """Expected dollars = probability × stake, raised near the deadline; reasons kept to three."""
    expected = (stake * Decimal(str(round(probability, 4)))).quantize(Decimal("0.01"))
    multiplier, deadline_words = urgency(days_left(deadline, today))
    # Only an urgent or passed deadline is a reason (and "N days left" would change every day).
    factors = [*reasons[:2], deadline_words] if multiplier != 1.0 else reasons[:3]
    return Score(probability, expected, float(expected) * multiplier, factors)


def initial(
    carc: str,
    rarcs: Sequence[str],
    payer_type: str,
    category: str,
    denied_amount: Decimal,
    deadline: date | None,
    today: date,
) -> Score:
    """The first score at import: the documented CARC prior on the denied amount."""
    prior = prior_for(carc, tuple(rarcs), payer_type, category)
    words = f"CO-{carc}" if carc else category
    reason = f"{words}: {prior.probability:.0%} expected from published rates"
    return combine(prior.probability, denied_amount, deadline, today, [reason])


def model_folder(session: Session) -> Path:
    """Where this database's trained models live (the instance folder, never git)."""
    instance = Path(os.environ.get("APPEALS_INSTANCE") or db.DEFAULT_INSTANCE)
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return recovery_model.folder_for(instance, url)


_CONTEXTS: dict[tuple[str, date], recovery.Context] = {}


def _context(
    session: Session, today: date, records: list[recovery.Record] | None
) -> recovery.Context:
    """The scoring context: read afresh for a full rescore (`records`), reused for a few denials."""
    key = (str(session.get_bind().engine.url), today)
    if records is not None or key not in _CONTEXTS:
        _CONTEXTS.clear()
        _CONTEXTS[key] = recovery.context(session, today, model_folder(session), records)
    return _CONTEXTS[key]


def forget_context() -> None:
    """Drop the cached scoring context (after training, so the new model ranks at once)."""
    _CONTEXTS.clear()


def rescore(session: Session, denial_ids: Sequence[int] | None, today: date) -> int:
    """Recompute priority for these open denials (None: every open denial); returns how many.

    Only rows whose score, reasons or priority changed are written.
    """
    if denial_ids is not None and not denial_ids:
        return 0
    session.flush()
    everything = recovery.load_records(session) if denial_ids is None else None
    ctx = _context(session, today, everything)
    ids = None if denial_ids is None else list(denial_ids)
    scored = recovery.score(session, ids, ctx, everything)
    values = []
    for item in scored:
        s = combine(item.probability, item.stake, item.deadline, today, item.reasons)
        explanation = s.explanation
        new = (
            round(s.probability, 6),
            round(s.priority, 4),
            explanation,
            item.ranker,
            item.stake,
            s.expected_recovery,
        )
        old = item.stored
        if old and (round(old[0] or 0.0, 6), round(old[1] or 0.0, 4), *old[2:]) == new:
            continue
        values.append(
            {
                "b_id": item.id,
                "probability": s.probability,
                "ranker": item.ranker,
                "stake": item.stake,
                "expected_recovery": s.expected_recovery,
                "priority": s.priority,
                "explanation": explanation,
            }
        )
    table = Denial.__table__  # type: ignore[attr-defined]
    statement = sa.update(table).where(table.c.id == sa.bindparam("b_id"))
    for start in range(0, len(values), 5000):
        session.connection().execute(statement, values[start : start + 5000])
    return len(scored)


def rescore_open(session: Session, today: date) -> int:
    """Recompute priority for every open denial (deadline urgency changes daily)."""
    return rescore(session, None, today)


RESCORED_ON = "priority_rescored_on"


def claim_daily_rescore(session: Session, today: date) -> bool:
    """Whether this caller is the first today to rescore (and so must); committed at once.

    Several web workers or a cron job may ask at the same moment: only one UPDATE or INSERT
    of the day's mark succeeds.
    """
    table = AppState.__table__  # type: ignore[attr-defined]
    mark = today.isoformat()
    claimed = session.execute(
        sa.update(table).where(table.c.key == RESCORED_ON, table.c.value < mark).values(value=mark)
    ).rowcount
    if not claimed:
        if session.get(AppState, RESCORED_ON) is not None:
            session.rollback()
            return False
        try:
            session.execute(sa.insert(table).values(key=RESCORED_ON, value=mark))
        except sa.exc.IntegrityError:
            session.rollback()
            return False
    session.commit()
    return True


def rescore_daily(
    session: Session, today: date, *, force: bool = False, retrain: bool = False
) -> int | None:
    """Rescore every open denial once a day; None when it was already done today.

    `force` rescores even when it was done today (the `appeals rescore` command); `retrain`
    first trains the recovery model again when enough new outcomes have arrived.
    """
    if not claim_daily_rescore(session, today) and not force:
        return None
    folder = model_folder(session)
    if retrain and recovery.due_for_training(session, folder, today):
        try:
            recovery.train(session, folder, today)
            forget_context()
        except recovery_model.NotEnoughData:
            pass  # the smoothed prior keeps ranking
    count = rescore_open(session, today)
    session.commit()
    return count
