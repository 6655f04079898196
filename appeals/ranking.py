"""Queue priority: expected recovered dollars, raised as the appeal deadline nears.

Until a practice has enough recorded outcomes for the recovery model, the probability is the
category prior (`data/denial_rules/category_priors.csv`), and the explanation says so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import select, update
from sqlmodel import Session

from appeals.deadlines import days_left
from appeals.denials import category_label, category_priors
from appeals.models import AppState, Denial
from appeals.workflow import OPEN_STATUSES

PRIOR_SOURCE = "category prior (no trained model yet)"


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
        return 1.5, f"{days_left} days left to appeal"
    if days_left <= 30:
        return 1.25, f"{days_left} days left to appeal"
    return 1.0, f"{days_left} days left to appeal"


def score(category: str, denied_amount: Decimal, deadline: date | None, today: date) -> Score:
    prior = category_priors().get(category, category_priors()["other"])
    expected = (denied_amount * prior).quantize(Decimal("0.01"))
    multiplier, deadline_words = urgency(days_left(deadline, today))
    factors = [
        f"{category_label(category)}: {prior:.0%} recovered ({PRIOR_SOURCE})",
        f"${expected} expected of ${denied_amount} denied",
        deadline_words,
    ]
    return Score(float(prior), expected, float(expected) * multiplier, factors)


def rescore(session: Session, denial_ids: Sequence[int] | None, today: date) -> int:
    """Recompute priority for these open denials (None: every open denial); returns how many."""
    query = select(Denial.id, Denial.category, Denial.denied_amount, Denial.deadline).where(
        Denial.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
    )
    if denial_ids is None:
        rows = session.execute(query).all()
    else:
        ids = sorted(set(denial_ids))
        rows = [
            row
            for start in range(0, len(ids), 500)
            for row in session.execute(
                query.where(Denial.id.in_(ids[start : start + 500]))  # type: ignore[union-attr]
            ).all()
        ]
    values = []
    for denial_id, category, amount, deadline in rows:
        s = score(category, amount, deadline, today)
        values.append(
            {
                "id": denial_id,
                "probability": s.probability,
                "expected_recovery": s.expected_recovery,
                "priority": s.priority,
                "explanation": s.explanation,
            }
        )
    if values:
        session.execute(update(Denial), values)
    return len(values)


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


def rescore_daily(session: Session, today: date, *, force: bool = False) -> int | None:
    """Rescore every open denial once a day; None when it was already done today.

    `force` rescores even when it was done today (the `appeals rescore` command).
    """
    if not claim_daily_rescore(session, today) and not force:
        return None
    count = rescore_open(session, today)
    session.commit()
    return count
