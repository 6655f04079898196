"""The status workflow of a denial: statuses, allowed moves, and audited changes.

new → in progress → appealed / corrected claim sent / billed patient / written off
    → won / partial / lost.
A closed denial can be reopened (back to in progress); every change is recorded in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session, col

from appeals import audit
from appeals.models import Denial, DenialScore, User, utcnow

STATUSES: dict[str, str] = {
    "new": "New",
    "in_progress": "In progress",
    "appealed": "Appealed",
    "corrected_claim_sent": "Corrected claim sent",
    "billed_patient": "Billed patient",
    "written_off": "Written off",
    "won": "Won",
    "partial": "Partially won",
    "lost": "Lost",
}

# "Open" means still to be worked (the queue's default view, ranking and the reason groups).
OPEN_STATUSES: tuple[str, ...] = ("new", "in_progress")
# Worked and waiting for the payer or patient; a later remittance may close them.
PENDING_STATUSES: tuple[str, ...] = ("appealed", "corrected_claim_sent", "billed_patient")
CLOSED_STATUSES: tuple[str, ...] = ("written_off", "won", "partial", "lost")
RECOVERED_STATUSES: tuple[str, ...] = ("won", "partial")
# A payment of the claim closes these (the importer writes won/partial directly, in bulk, as the
# remittance proves the outcome: the one move outside TRANSITIONS). Billed-patient lines are
# left to the patient's payment.
AWAITING_PAYMENT: tuple[str, ...] = (*OPEN_STATUSES, "appealed", "corrected_claim_sent")

_WORKING = ("appealed", "corrected_claim_sent", "billed_patient", "written_off")
_OUTCOMES = ("won", "partial", "lost")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("in_progress", *_WORKING),
    "in_progress": ("new", *_WORKING),
    "appealed": ("in_progress", *_OUTCOMES),
    "corrected_claim_sent": ("in_progress", *_OUTCOMES),
    "billed_patient": ("in_progress", *_OUTCOMES),
    "written_off": ("in_progress",),
    "won": ("in_progress",),
    "partial": ("in_progress", "appealed"),
    "lost": ("in_progress", "appealed"),
}


# Set only through the appeal lifecycle, which records what the status stands for: the sending
# (date, method, reference) or the payer's decision (date, amount).
SENT_STATUSES: tuple[str, ...] = ("appealed", "corrected_claim_sent")
DECISION_STATUSES: tuple[str, ...] = ("won", "partial", "lost")
LIFECYCLE_HINTS = {
    **dict.fromkeys(SENT_STATUSES, "record the sending (date and method) in the Appeal panel"),
    **dict.fromkeys(DECISION_STATUSES, "record the decision (date and amount) in the Appeal panel"),
}


class TransitionError(ValueError):
    """A status change the workflow does not allow (message is safe to show)."""


class AssignError(ValueError):
    """An assignee the denial cannot be given to (message is safe to show)."""


def label(status: str) -> str:
    return STATUSES.get(status, status.replace("_", " ").capitalize())


def allowed(current: str) -> tuple[str, ...]:
    """Statuses a denial in `current` may move to (unknown statuses may be reopened)."""
    return TRANSITIONS.get(current, ("in_progress",))


def manual_moves(current: str) -> tuple[str, ...]:
    """The moves a person makes with the status control (the lifecycle makes the others)."""
    return tuple(s for s in allowed(current) if s not in LIFECYCLE_HINTS)


def change_status(
    session: Session,
    denial: Denial,
    new_status: str,
    user_id: int | None,
    *,
    by_lifecycle: bool = False,
) -> bool:
    """Move the denial to `new_status` and audit it. Returns False when already there.

    Sent and decided statuses come only `by_lifecycle` (appeals.lifecycle), which records the
    sending or the decision they stand for.
    """
    if new_status not in STATUSES:
        raise TransitionError(f"Unknown status {new_status!r}.")
    old = denial.status
    if new_status == old:
        return False
    if new_status in LIFECYCLE_HINTS and not by_lifecycle:
        raise TransitionError(
            f"To mark it {label(new_status).lower()}, {LIFECYCLE_HINTS[new_status]}."
        )
    if new_status not in allowed(old):
        raise TransitionError(
            f"A denial that is {label(old).lower()} cannot become {label(new_status).lower()}."
        )
    if old == "new" and denial.worked_at is None:
        _mark_worked(session, denial)
    denial.status = new_status
    denial.updated_at = utcnow()
    if new_status not in CLOSED_STATUSES:
        denial.closed_at = None
    elif denial.closed_at is None:
        denial.closed_at = utcnow()
    session.add(denial)
    audit.record(session, user_id, "status", "denial", denial.id, {"from": old, "to": new_status})
    return True


def _mark_worked(session: Session, denial: Denial) -> None:
    """Keep the score and queue rank a denial had when someone first took it up."""
    # its own select, not `ranking.score_of`: importing ranking here would load the classifiers
    # and NumPy into everything that imports the statuses (the reports: 0.48 s -> 0.74 s)
    probability, priority = session.execute(
        sa.select(DenialScore.probability, DenialScore.priority).where(DenialScore.id == denial.id)
    ).one()
    denial.worked_at = utcnow()
    denial.worked_probability = probability
    ahead = session.execute(
        sa.select(sa.func.count())
        .select_from(Denial)
        .join(DenialScore, DenialScore.id == Denial.id)
        .where(
            Denial.practice_id == denial.practice_id,
            col(Denial.status).in_(OPEN_STATUSES),
            DenialScore.priority > priority,
        )
    ).scalar_one()
    denial.worked_rank = int(ahead) + 1


def assign(session: Session, denial: Denial, assignee: User | None, user_id: int | None) -> bool:
    """Give the denial to `assignee` (None = unassign) and audit it. Returns False if unchanged.

    The assignee must be active and belong to the denial's practice or to none (AssignError).
    """
    if assignee is not None:
        if not assignee.active:
            raise AssignError(f"{assignee.username} is disabled.")
        if assignee.practice_id not in (None, denial.practice_id):
            raise AssignError(f"{assignee.username} works for another practice.")
    new_id = assignee.id if assignee else None
    if denial.assignee_id == new_id:
        return False
    old_id = denial.assignee_id
    denial.assignee_id = new_id
    denial.updated_at = utcnow()
    session.add(denial)
    audit.record(session, user_id, "assign", "denial", denial.id, {"from": old_id, "to": new_id})
    return True


def bulk_change_status(
    session: Session, denials: Iterable[Denial], new_status: str, user_id: int | None
) -> tuple[int, list[str]]:
    """Change each denial that allows it; returns (changed count, messages for the refused)."""
    changed = 0
    refused: list[str] = []
    for denial in denials:
        try:
            changed += change_status(session, denial, new_status, user_id)
        except TransitionError as error:
            refused.append(f"Denial {denial.id}: {error}")
    return changed, refused
