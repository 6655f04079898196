"""Everything the denial detail page shows about one denial, gathered in a few queries.

The claim with all its lines (paid and denied), every adjustment and remark, the payment, other
denials of the same claim, earlier (and later) remittances of the same claim, notes and call logs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from appeals.models import (
    Adjustment,
    Claim,
    Denial,
    Note,
    Payer,
    Payment,
    Practice,
    Remark,
    ServiceLine,
    User,
)


@dataclass
class LineView:
    line: ServiceLine
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[Remark] = field(default_factory=list)
    denial_ids: list[int] = field(default_factory=list)

    @property
    def procedure(self) -> str:
        return " ".join(p for p in (self.line.procedure_code, self.line.modifiers) if p)


@dataclass
class OtherRemittance:
    claim: Claim
    payer_name: str
    payment_date: date | None
    denial_ids: list[int]


@dataclass
class NoteView:
    note: Note
    author: str


@dataclass
class CaseFile:
    denial: Denial
    claim: Claim
    payment: Payment
    payer: Payer
    practice: Practice
    lines: list[LineView]
    claim_adjustments: list[Adjustment]
    claim_remarks: list[Remark]
    other_denials: list[Denial]
    other_remittances: list[OtherRemittance]
    notes: list[NoteView]
    assignee: User | None

    @property
    def denied_line(self) -> LineView | None:
        return next((v for v in self.lines if v.line.id == self.denial.line_id), None)


def load(session: Session, denial: Denial) -> CaseFile:
    """The case file of a denial the caller has already checked access to."""
    claim = session.get(Claim, denial.claim_id)
    assert claim is not None and claim.id is not None
    payment = session.get(Payment, claim.payment_id)
    payer = session.get(Payer, denial.payer_id)
    practice = session.get(Practice, denial.practice_id)
    assert payment is not None and payer is not None and practice is not None

    lines = session.exec(
        select(ServiceLine)
        .where(ServiceLine.claim_id == claim.id)
        .order_by(ServiceLine.line_number)
    ).all()
    views = {line.id: LineView(line) for line in lines}
    claim_adjustments: list[Adjustment] = []
    for adjustment in session.exec(
        select(Adjustment).where(Adjustment.claim_id == claim.id).order_by(Adjustment.position)
    ).all():
        target = views.get(adjustment.line_id)
        (target.adjustments if target else claim_adjustments).append(adjustment)
    claim_remarks: list[Remark] = []
    for remark in session.exec(
        select(Remark).where(Remark.claim_id == claim.id).order_by(Remark.id)
    ).all():
        target = views.get(remark.line_id)
        (target.remarks if target else claim_remarks).append(remark)

    same_claim = session.exec(
        select(Denial).where(Denial.claim_id == claim.id).order_by(Denial.id)
    ).all()
    for other in same_claim:
        if other.line_id in views:
            views[other.line_id].denial_ids.append(other.id)  # type: ignore[arg-type]

    return CaseFile(
        denial=denial,
        claim=claim,
        payment=payment,
        payer=payer,
        practice=practice,
        lines=list(views.values()),
        claim_adjustments=claim_adjustments,
        claim_remarks=claim_remarks,
        other_denials=[d for d in same_claim if d.id != denial.id],
        other_remittances=other_remittances(session, claim),
        notes=notes(session, denial),
        assignee=session.get(User, denial.assignee_id) if denial.assignee_id else None,
    )


def notes(session: Session, denial: Denial) -> list[NoteView]:
    """The denial's notes and call logs, newest first."""
    rows = session.exec(
        select(Note, User.username)
        .join(User, User.id == Note.author_id, isouter=True)
        .where(Note.denial_id == denial.id)
        .order_by(sa.desc(Note.created_at), sa.desc(Note.id))
    ).all()
    return [NoteView(note, author or "system") for note, author in rows]


def other_remittances(session: Session, claim: Claim) -> list[OtherRemittance]:
    """Other remittances of the same claim (same practice and account number), oldest first."""
    # The account number alone goes to the database: without planner statistics SQLite would
    # read every claim of the practice through its index instead.
    found = session.exec(
        select(Claim, Payer.name, Payment.payment_date)
        .join(Payment, Payment.id == Claim.payment_id)
        .join(Payer, Payer.id == Claim.payer_id)
        .where(Claim.patient_control_number == claim.patient_control_number, Claim.id != claim.id)
        .order_by(Payment.payment_date, Claim.id)
    ).all()
    rows = [row for row in found if row[0].practice_id == claim.practice_id][:50]
    ids = [c.id for c, _, _ in rows]
    denials: dict[int, list[int]] = defaultdict(list)
    if ids:
        for denial_id, claim_id in session.exec(
            select(Denial.id, Denial.claim_id).where(Denial.claim_id.in_(ids))  # type: ignore[attr-defined]
        ).all():
            denials[claim_id].append(denial_id)  # type: ignore[arg-type]
    return [
        OtherRemittance(c, payer_name, paid_on, denials.get(c.id, []))  # type: ignore[arg-type]
        for c, payer_name, paid_on in rows
    ]


NOTE_KINDS = {"note": "Note", "call": "Payer call"}
MAX_NOTE = 5000


def add_note(
    session: Session, denial: Denial, author_id: int | None, form: dict[str, str]
) -> tuple[Note | None, dict[str, str]]:
    """Validate and add a note or a payer call log; returns (note, {field: error}).

    A call may carry the date the payer promised an answer by (`follow_up_on`): on or after the
    call, it puts the denial on the follow-ups list once it comes (appeals.followups).
    """
    errors: dict[str, str] = {}
    kind = form.get("kind", "note")
    if kind not in NOTE_KINDS:
        errors["kind"] = "Choose note or payer call."
    body = form.get("body", "").strip()
    if not body:
        errors["body"] = "Write what was done or said."
    elif len(body) > MAX_NOTE:
        errors["body"] = f"Keep it under {MAX_NOTE} characters."
    call_date: date | None = None
    person = form.get("call_person", "").strip()[:200]
    reference = form.get("call_reference", "").strip()[:100]
    promised: date | None = None
    if kind == "call":
        try:
            call_date = date.fromisoformat(form.get("call_date", "").strip())
        except ValueError:
            errors["call_date"] = "Enter the date of the call."
        else:
            if call_date > date.today():
                errors["call_date"] = "The call date is in the future."
        if not person:
            errors["call_person"] = "Who did you speak to?"
        promised = _promise_date(form.get("follow_up_on", ""), call_date, errors)
    if errors:
        return None, errors
    note = Note(
        denial_id=denial.id,  # type: ignore[arg-type]
        author_id=author_id,
        kind=kind,
        body=body,
        call_date=call_date,
        call_person=person if kind == "call" else "",
        call_reference=reference if kind == "call" else "",
        follow_up_on=promised,
    )
    session.add(note)
    session.flush()
    return note, {}


def _promise_date(text: str, call_date: date | None, errors: dict[str, str]) -> date | None:
    """The optional "payer promised by" date of a call: a date, not before the call."""
    text = text.strip()
    if not text:
        return None
    try:
        promised = date.fromisoformat(text)
    except ValueError:
        errors["follow_up_on"] = "Enter a date as YYYY-MM-DD."
        return None
    if call_date is not None and promised < call_date:
        errors["follow_up_on"] = "The promised date is before the call."
        return None
    return promised
