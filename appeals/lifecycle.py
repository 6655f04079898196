"""The appeal lifecycle: sending an appeal, recording its decision, going on to the next level.

Every appeal at one level is one `Appeal` row: opened when a letter is written or when the
appeal is sent, filled when it is sent (date, method, reference, follow-up date, letters) and
closed by a decision (won / partial / lost / withdrawn, decision date, amount). A decision comes
from a person (the web, the history import) or from a later 835 (the importer). A lost decision
opens the next level with its own deadline, counted from the decision date. Everything is
audited with ids, codes and amounts only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlmodel import Session, col, select

from appeals import audit, deadlines, ranking, workflow
from appeals.formatting import day, money
from appeals.models import Appeal, AppealLetter, Denial, Letter, utcnow

METHODS: dict[str, str] = {
    "portal": "Payer portal",
    "fax": "Fax",
    "mail": "Mail",
    "phone": "Phone",
    "electronic": "Electronic claim",
    "automatic": "Forwarded automatically",
}
# What a person picks when recording a sent appeal.
SEND_METHODS = ("portal", "fax", "mail", "phone", "electronic")
OUTCOMES: dict[str, str] = {
    "won": "Won",
    "partial": "Partially won",
    "lost": "Lost",
    "withdrawn": "Withdrawn",
}
ROUTES = ("appeal", "corrected_claim", "reopening")
# Statuses from which an appeal may be sent (a lost level goes on to the next one).
SENDABLE = ("new", "in_progress", "lost", "partial")
ZERO = Decimal("0.00")


class LifecycleError(ValueError):
    """A request the lifecycle refuses; `errors` maps form fields to messages safe to show."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


# --- reading -------------------------------------------------------------------------------


def appeals_of(session: Session, denial_id: int) -> list[Appeal]:
    """Every appeal of a denial, first level first."""
    query = select(Appeal).where(Appeal.denial_id == denial_id)
    return list(session.exec(query.order_by(col(Appeal.level), col(Appeal.id))).all())


def open_appeal(session: Session, denial: Denial) -> Appeal | None:
    """The undecided appeal at the denial's current level, if any."""
    query = select(Appeal).where(
        Appeal.denial_id == denial.id, Appeal.level == denial.appeal_level, Appeal.outcome == ""
    )
    return session.exec(query.order_by(col(Appeal.id).desc())).first()


def pending_appeal(session: Session, denial: Denial) -> Appeal | None:
    """The open appeal once it has been sent (what a decision closes)."""
    appeal = open_appeal(session, denial)
    return appeal if appeal is not None and appeal.submitted_on is not None else None


def route_of(denial: Denial) -> str:
    """How the denial's current level is pursued: an appeal or a resubmission."""
    if denial.appeal_level <= 1 and denial.action in deadlines.RESUBMISSION_ROUTES:
        return "reopening" if denial.action == "reopening" else "corrected_claim"
    return "appeal"


def level_name(denial: Denial, level: int | None = None) -> str:
    level = level or denial.appeal_level
    if level <= 1 and route_of(denial) != "appeal":
        return "Reopening" if route_of(denial) == "reopening" else "Corrected claim"
    return deadlines.window(denial.payer_type or "other", level).name


def default_follow_up(payer_type: str, level: int, sent_on: date) -> date:
    """When to chase the payer: the time it usually takes to decide at this level."""
    return sent_on + timedelta(days=deadlines.window(payer_type or "other", level).decision_days)


def appeal_for_letter(session: Session, denial: Denial, user_id: int | None) -> Appeal:
    """The open appeal at the denial's level, created when there is none (a letter opens it)."""
    appeal = open_appeal(session, denial)
    if appeal is None:
        appeal = Appeal(
            denial_id=denial.id or 0,
            level=denial.appeal_level,
            route=route_of(denial),
            deadline=denial.deadline,
            created_by_id=user_id,
        )
        session.add(appeal)
        session.flush()
    return appeal


def credit_letter(
    session: Session, letter: Letter, denials: Sequence[Denial], user_id: int | None
) -> None:
    """Link a letter to the open appeal of every denial it covers; new denials become worked."""
    for denial in denials:
        appeal = appeal_for_letter(session, denial, user_id)
        if session.get(AppealLetter, (appeal.id, letter.id)) is None:
            session.add(AppealLetter(appeal_id=appeal.id or 0, letter_id=letter.id or 0))
        if denial.status == "new":
            workflow.change_status(session, denial, "in_progress", user_id)
    session.flush()


def move(session: Session, denial: Denial, new_status: str, user_id: int | None) -> bool:
    """A status move a person chose; reopening a lost or partly won denial opens the next level.

    Raises workflow.TransitionError for moves the status control may not make.
    """
    reopening = denial.status in ("lost", "partial") and new_status == "in_progress"
    if reopening and start_next_level(session, denial, user_id):
        return True
    return workflow.change_status(session, denial, new_status, user_id)


def letters_for(session: Session, denial_ids: Sequence[int]) -> list[Letter]:
    """Letters that cover any of these denials (through their appeals), newest first."""
    if not denial_ids:
        return []
    linked = (
        select(AppealLetter.letter_id)
        .join(Appeal, col(Appeal.id) == col(AppealLetter.appeal_id))
        .where(col(Appeal.denial_id).in_(list(denial_ids)))
    )
    query = (
        select(Letter)
        .options(sa.orm.defer(Letter.docx))  # type: ignore[arg-type]
        .where(col(Letter.denial_id).in_(list(denial_ids)) | col(Letter.id).in_(linked))
        .order_by(col(Letter.created_at).desc(), col(Letter.id).desc())
    )
    return list(session.exec(query).all())


def letters_of_appeal(session: Session, appeal_id: int) -> list[Letter]:
    query = (
        select(Letter)
        .options(sa.orm.defer(Letter.docx))  # type: ignore[arg-type]
        .join(AppealLetter, col(AppealLetter.letter_id) == col(Letter.id))
        .where(AppealLetter.appeal_id == appeal_id)
        .order_by(col(Letter.id))
    )
    return list(session.exec(query).all())


# --- parsing form values -------------------------------------------------------------------


def parse_day(text: str | None, field: str, errors: dict[str, str]) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = "Enter a date as YYYY-MM-DD."
        return None


def parse_amount(text: str | None, field: str, errors: dict[str, str]) -> Decimal | None:
    text = (text or "").strip().replace("$", "").replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[field] = "Enter an amount such as 125.00."
        return None
    if not value.is_finite() or value < 0 or value >= Decimal("1e10"):
        errors[field] = "Enter an amount of 0 or more."
        return None
    if value != value.quantize(Decimal("0.01")):
        errors[field] = "Enter whole cents."
        return None
    return value


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sending:
    sent_on: date
    method: str
    reference: str
    follow_up_on: date | None


def parse_sending(form: Mapping[str, str], today: date) -> Sending:
    """The send form's values; raises LifecycleError with the fields in error."""
    errors: dict[str, str] = {}
    sent_on = parse_day(form.get("sent_on"), "sent_on", errors)
    if sent_on is None and "sent_on" not in errors:
        errors["sent_on"] = "Enter the date the appeal was sent."
    elif sent_on is not None and sent_on > today:
        errors["sent_on"] = "The date sent cannot be in the future."
    method = (form.get("method") or "").strip()
    if method not in SEND_METHODS:
        errors["method"] = "Choose how it was sent: portal, fax, mail, phone or electronic claim."
    reference = (form.get("reference") or "").strip()
    if len(reference) > 80:
        errors["reference"] = "Keep the reference under 80 characters."
    follow_up = parse_day(form.get("follow_up_on"), "follow_up_on", errors)
    if follow_up is not None and sent_on is not None and follow_up < sent_on:
        errors["follow_up_on"] = "The follow-up date is before the date sent."
    if errors:
        raise LifecycleError(errors)
    assert sent_on is not None
    return Sending(sent_on, method, reference, follow_up)


def send_appeal(
    session: Session,
    denials: Iterable[Denial],
    sending: Sending,
    user_id: int | None,
    *,
    source: str = "app",
    today: date | None = None,
) -> list[Appeal]:
    """Record that an appeal (or resubmission) went out for each denial, at its current level.

    Each denial's open appeal (opened by its letter, if any) is filled, or a new one is made;
    the denial becomes appealed (or corrected claim sent). Closed denials are refused.
    """
    sent: list[Appeal] = []
    for denial in denials:
        if denial.status not in SENDABLE and denial.status not in workflow.PENDING_STATUSES:
            raise LifecycleError(
                {"status": f"Denial {denial.id} is {workflow.label(denial.status).lower()}."}
            )
        if denial.status in ("lost", "partial") and not start_next_level(
            session, denial, user_id, today=today
        ):
            raise LifecycleError(
                {"status": f"Denial {denial.id}: no further appeal level for this payer."}
            )
        appeal = pending_appeal(session, denial) or appeal_for_letter(session, denial, user_id)
        before = (appeal.submitted_on, appeal.method, appeal.reference, appeal.follow_up_on)
        appeal.submitted_on = sending.sent_on
        appeal.method = sending.method
        appeal.reference = sending.reference
        appeal.follow_up_on = sending.follow_up_on or default_follow_up(
            denial.payer_type, appeal.level, sending.sent_on
        )
        appeal.deadline = appeal.deadline or denial.deadline
        appeal.sent_by_id = appeal.sent_by_id or user_id
        appeal.source = source if appeal.source == "app" else appeal.source
        session.add(appeal)
        session.flush()
        target = "appealed" if appeal.route == "appeal" else "corrected_claim_sent"
        if denial.status != target:
            workflow.change_status(session, denial, target, user_id, by_lifecycle=True)
        if before != (appeal.submitted_on, appeal.method, appeal.reference, appeal.follow_up_on):
            audit.record(
                session,
                user_id,
                "appeal_sent",
                "denial",
                denial.id,
                {
                    "appeal_id": appeal.id,
                    "level": appeal.level,
                    "route": appeal.route,
                    "sent_on": appeal.submitted_on,
                    "method": appeal.method,
                    "follow_up_on": appeal.follow_up_on,
                    "by": source,
                },
            )
        sent.append(appeal)
    return sent


# --- deciding ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str
    decided_on: date
    amount: Decimal
    go_on: bool  # after a loss: open the next level (else the denial closes as lost)


def parse_decision(
    form: Mapping[str, str], denial: Denial, appeal: Appeal | None, today: date
) -> Decision:
    """The decision form's values; raises LifecycleError with the fields in error."""
    errors: dict[str, str] = {}
    outcome = (form.get("outcome") or "").strip()
    if outcome not in OUTCOMES:
        errors["outcome"] = "Choose the decision: won, partially won, lost or withdrawn."
    decided_on = parse_day(form.get("decided_on"), "decided_on", errors)
    if decided_on is None and "decided_on" not in errors:
        errors["decided_on"] = "Enter the date of the decision."
    elif decided_on is not None and decided_on > today:
        errors["decided_on"] = "The decision date cannot be in the future."
    elif decided_on and appeal and appeal.submitted_on and decided_on < appeal.submitted_on:
        errors["decided_on"] = (
            f"The decision is dated before the appeal ({day(appeal.submitted_on)})."
        )
    amount = parse_amount(form.get("amount"), "amount", errors)
    if "amount" not in errors:
        if outcome == "won":
            amount = denial.denied_amount if amount is None else amount
            if amount <= 0:
                errors["amount"] = "A won appeal recovers more than $0.00: enter the amount paid."
        elif outcome == "partial":
            if amount is None or amount <= 0:
                errors["amount"] = "A partial win needs the amount recovered."
            elif amount >= denial.denied_amount:
                errors["amount"] = (
                    f"That is the whole {money(denial.denied_amount)} denied: "
                    "record it as won, or enter the part recovered."
                )
        elif amount:
            errors["amount"] = f"A {OUTCOMES.get(outcome, 'this').lower()} decision recovers $0.00."
        if amount is not None and amount > denial.denied_amount and "amount" not in errors:
            errors["amount"] = f"More than the {money(denial.denied_amount)} denied."
    if errors:
        raise LifecycleError(errors)
    assert decided_on is not None
    go_on = (form.get("next_step") or "next_level") == "next_level"
    return Decision(outcome, decided_on, amount or ZERO, go_on)


def record_decision(
    session: Session,
    denial: Denial,
    decision: Decision,
    user_id: int | None,
    *,
    source: str = "app",
    today: date | None = None,
) -> Appeal:
    """Close the denial's appeal at its level with the payer's decision, then move the denial.

    Won / partial close the denial with the amount; lost opens the next level (its deadline from
    the decision date) when `go_on` and there is one, else closes it as lost; withdrawn puts the
    denial back in progress. A decision without a recorded sending still gets its appeal row.
    """
    appeal = open_appeal(session, denial) or appeal_for_letter(session, denial, user_id)
    appeal.outcome = decision.outcome
    appeal.closed_on = decision.decided_on
    appeal.recovered_amount = decision.amount
    appeal.decided_by_id = user_id
    if source != "app":
        appeal.source = source
    session.add(appeal)
    level = appeal.level
    if decision.outcome in workflow.RECOVERED_STATUSES:
        _move(session, denial, decision.outcome, user_id)
        denial.recovered_amount = decision.amount
    elif decision.outcome == "lost":
        _move(session, denial, "lost", user_id)
        denial.recovered_amount = ZERO
    else:
        _move(session, denial, "in_progress", user_id)
    denial.updated_at = utcnow()
    session.add(denial)
    session.flush()
    audit.record(
        session,
        user_id,
        "appeal_decided",
        "denial",
        denial.id,
        {
            "appeal_id": appeal.id,
            "level": level,
            "outcome": decision.outcome,
            "decided_on": decision.decided_on,
            "amount": str(decision.amount),
            "by": source,
        },
    )
    if decision.outcome == "lost" and decision.go_on:
        start_next_level(session, denial, user_id, today=today)
    ranking.rescore(session, [denial.id or 0], today or date.today())
    return appeal


def _move(session: Session, denial: Denial, status: str, user_id: int | None) -> None:
    """Set the status the decision implies (the workflow's moves, audited), whatever it was."""
    if denial.status == status:
        return
    if status in workflow.allowed(denial.status):
        workflow.change_status(session, denial, status, user_id, by_lifecycle=True)
        return
    old = denial.status
    denial.status = status
    denial.closed_at = utcnow() if status in workflow.CLOSED_STATUSES else None
    audit.record(session, user_id, "status", "denial", denial.id, {"from": old, "to": status})


def start_next_level(
    session: Session, denial: Denial, user_id: int | None, *, today: date | None = None
) -> bool:
    """After a lost (or partly won) level: the next level opens, its clock from the decision.

    Medicare Advantage plans forward an upheld denial to the IRE themselves: that level is
    recorded as sent on the decision date. Returns False when there is no further level.
    """
    last = session.exec(
        select(Appeal)
        .where(Appeal.denial_id == denial.id, col(Appeal.outcome).in_(("lost", "partial")))
        .order_by(col(Appeal.level).desc(), col(Appeal.id).desc())
    ).first()
    decided_on = (last.closed_on if last else None) or denial.level_notice_on or denial.denied_on
    level = last.level if last else denial.appeal_level
    payer_type = denial.payer_type or "other"
    nxt = deadlines.next_level(payer_type, level)
    if nxt is None:
        return False
    level_to = nxt.level
    overrides = deadlines.payer_overrides(session).get(denial.payer_id, {})
    found = deadlines.appeal_deadline(
        decided_on, payer_type, level_to, overrides.get((payer_type, level_to))
    )
    basis = found.basis
    if payer_type == "medicare" and level_to == deadlines.ALJ_LEVEL and decided_on:
        threshold = deadlines.amount_in_controversy(decided_on)
        if denial.denied_amount < threshold:
            basis += (
                f"; an ALJ hearing needs {money(threshold)} in controversy "
                f"(this line: {money(denial.denied_amount)}; claims may be aggregated)"
            )
    old_level = denial.appeal_level
    denial.appeal_level = level_to
    denial.level_notice_on = decided_on
    denial.deadline, denial.deadline_basis = found.due, basis
    denial.updated_at = utcnow()
    if denial.status != "in_progress":
        _move(session, denial, "in_progress", user_id)
    session.add(denial)
    session.flush()
    audit.record(
        session,
        user_id,
        "next_level",
        "denial",
        denial.id,
        {"from": old_level, "to": level_to, "deadline": denial.deadline},
    )
    if payer_type == "medicare_advantage" and level_to == 2 and decided_on:
        forwarded = Sending(decided_on, "automatic", "", None)
        denial.deadline_basis = (
            f"{found.basis.split(':')[0]}: forwarded by the plan, 42 CFR 422.592"
        )
        denial.deadline = None
        send_appeal(session, [denial], forwarded, user_id, source="rule", today=today)
    return True


# The statuses a repeat moves (the pending appeal or resubmission was lost); any other status
# a repeat only counts.
REPEAT_DECIDES = ("appealed", "corrected_claim_sent")


def record_repeat(
    session: Session, denial: Denial, denied_on: date | None, claim_id: int, user_id: int | None
) -> None:
    """A later remittance denied the same line again: count it on the existing denial.

    A pending appeal (or resubmission) was lost at its level: that decision is recorded and the
    next level opens; otherwise the denial just carries the repeat.
    """
    denial.repeat_count += 1
    denial.last_denied_on = denied_on
    denial.updated_at = utcnow()
    session.add(denial)
    audit.record(
        session,
        user_id,
        "repeat",
        "denial",
        denial.id,
        {"claim_id": claim_id, "denied_on": denied_on, "status": denial.status},
    )
    if denial.status in REPEAT_DECIDES and denied_on is not None:
        pending = pending_appeal(session, denial)
        decided_on = (
            max(denied_on, pending.submitted_on) if pending and pending.submitted_on else denied_on
        )
        if pending is not None and pending.route != "appeal":
            # A corrected claim denied again: the resubmission failed; appeal it from this notice.
            pending.outcome, pending.closed_on, pending.source = "lost", decided_on, "remittance"
            session.add(pending)
            denial.action = "appeal"
            denial.level_notice_on = denied_on
            found = deadlines.deadline_for(denial)
            denial.deadline, denial.deadline_basis = found.due, found.basis
            _move(session, denial, "in_progress", user_id)
            session.flush()
            return
        record_decision(
            session,
            denial,
            Decision("lost", decided_on, ZERO, True),
            user_id,
            source="remittance",
        )
