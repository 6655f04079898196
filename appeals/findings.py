"""Stored denials → dermatology findings: builds the rules' plain facts from the database.

`compute_findings` reads; `refresh_findings` stores the JSON in `Denial.findings`, and is called
again whenever documentation changes (CSV import, an edit in the app).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from appeals import deadlines, ranking
from appeals.denials import classify
from appeals.documentation import facts_for_lines
from appeals.importer import denial_ids_for_file
from appeals.models import Adjustment, Claim, Denial, Payer, Remark, ServiceLine, utcnow
from appeals.rules import ClaimFacts, Finding, LineFacts, check_line
from appeals.workflow import OPEN_STATUSES


def claim_facts(session: Session, claim: Claim) -> tuple[ClaimFacts, list[int]]:
    """The claim as the rules see it, and the service line id of each `lines` position."""
    lines = session.exec(
        select(ServiceLine)
        .where(ServiceLine.claim_id == claim.id)
        .order_by(col(ServiceLine.line_number), col(ServiceLine.id))
    ).all()
    adjustments = session.exec(
        select(Adjustment)
        .where(Adjustment.claim_id == claim.id)
        .order_by(col(Adjustment.position), col(Adjustment.id))
    ).all()
    remarks = session.exec(select(Remark).where(Remark.claim_id == claim.id)).all()
    docs = facts_for_lines(session, claim, lines)
    payer = session.get(Payer, claim.payer_id)

    def cas(line_id: int | None) -> tuple[tuple[str, str, Decimal], ...]:
        return tuple(
            (a.group_code, a.reason, a.amount) for a in adjustments if a.line_id == line_id
        )

    def remark_codes(line_id: int | None) -> tuple[str, ...]:
        return tuple(r.code for r in remarks if r.line_id == line_id)

    facts = tuple(
        LineFacts(
            procedure=line.procedure_code,
            modifiers=tuple(line.modifiers.split()),
            units=line.units,
            charge=line.charge,
            paid=line.paid,
            original_procedure=line.original_procedure_code
            if line.original_procedure_code != line.procedure_code
            else "",
            service_date=line.service_date or claim.service_date,
            adjustments=cas(line.id),
            rarcs=remark_codes(line.id),
            number=line.line_number,
            docs=docs.get(line.id or 0, {}),
        )
        for line in lines
    )
    return (
        ClaimFacts(
            lines=facts,
            payer_type=payer.payer_type if payer else "commercial",
            filing_indicator=claim.filing_indicator,
            adjustments=cas(None),
            rarcs=remark_codes(None),
        ),
        [line.id or 0 for line in lines],
    )


def findings_for(facts: ClaimFacts, line_ids: list[int], denial: Denial) -> list[Finding]:
    """The findings for a denial on an already-built claim (see `claim_facts`)."""
    if denial.line_id is not None and denial.line_id in line_ids:
        return check_line(facts, line_ids.index(denial.line_id))
    # a claim-level denial: judge a stand-in line carrying the claim's codes
    stand_in = LineFacts(procedure=denial.procedure_code, service_date=denial.service_date)
    facts = ClaimFacts(
        lines=(*facts.lines, stand_in),
        payer_type=facts.payer_type,
        filing_indicator=facts.filing_indicator,
        adjustments=facts.adjustments,
        rarcs=facts.rarcs,
    )
    return check_line(facts, len(facts.lines) - 1)


def compute_findings(session: Session, denial: Denial) -> list[Finding]:
    """The findings for one stored denial, from its claim, lines, codes and documentation."""
    claim = session.get(Claim, denial.claim_id)
    if claim is None:
        return []
    facts, line_ids = claim_facts(session, claim)
    return findings_for(facts, line_ids, denial)


def findings_json(findings: Iterable[Finding]) -> str:
    return json.dumps([f.to_dict() for f in findings], sort_keys=True)


def stored_findings(denial: Denial) -> list[Finding]:
    """The findings saved on a denial (empty when none or unreadable)."""
    try:
        data = json.loads(denial.findings or "[]")
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    return [Finding.from_dict(item) for item in data if isinstance(item, dict)]


def recommended_action(denial: Denial, findings: list[Finding]) -> str:
    """The first coding finding's action where the checks found something, else the reason's."""
    if findings:
        return findings[0].action
    return classify(denial.group_code, denial.carc, denial.rarcs.split())[1]


def iter_findings(
    session: Session, denials: Iterable[Denial]
) -> Iterator[tuple[Denial, list[Finding]]]:
    """Each denial with its findings; denials whose claim is gone are skipped.

    Pass the denials ordered by claim: a claim's facts are read once for its run of denials.
    """
    cached: tuple[int, ClaimFacts, list[int]] | None = None
    for denial in denials:
        if cached is None or cached[0] != denial.claim_id:
            claim = session.get(Claim, denial.claim_id)
            if claim is None:
                continue
            cached = (denial.claim_id, *claim_facts(session, claim))
        yield denial, findings_for(cached[1], cached[2], denial)


def refresh_findings(
    session: Session, denial_ids: Iterable[int] | None = None, *, rescore: bool = True
) -> int:
    """Recompute and store the findings of these denials (default: every open denial).

    Returns how many denials changed. Each claim is read once however many denials it has.
    """
    query = select(Denial).order_by(col(Denial.claim_id), col(Denial.id))
    if denial_ids is None:
        query = query.where(col(Denial.closed_at).is_(None))
    else:
        ids = list(denial_ids)
        if not ids:
            return 0
        query = query.where(col(Denial.id).in_(ids))
    changed: list[int] = []
    overrides: dict[int, dict[tuple[str, int], deadlines.Override]] | None = None
    for denial, findings in iter_findings(session, session.exec(query).all()):
        text = findings_json(findings)
        action = recommended_action(denial, findings)
        if text != denial.findings or action != denial.action:
            if action != denial.action and denial.status in OPEN_STATUSES:
                # A new route (say, a corrected claim instead of an appeal) has its own clock.
                overrides = deadlines.payer_overrides(session) if overrides is None else overrides
                denial.action = action
                due = deadlines.deadline_for(denial, overrides.get(denial.payer_id))
                denial.deadline, denial.deadline_basis = due.due, due.basis
            denial.findings = text
            denial.action = action
            denial.updated_at = utcnow()
            session.add(denial)
            changed.append(denial.id or 0)
    session.flush()
    if rescore:
        ranking.rescore(session, changed, date.today())
    return len(changed)


def refresh_findings_for_claims(session: Session, claim_ids: Iterable[int]) -> int:
    """Recompute the findings of every denial on these claims (after documentation changed)."""
    ids = sorted(set(claim_ids))
    if not ids:
        return 0
    denial_ids = session.exec(select(Denial.id).where(col(Denial.claim_id).in_(ids))).all()
    return refresh_findings(session, [i for i in denial_ids if i is not None])


def refresh_for_documentation(
    session: Session, practice_id: int, patient_control_number: str, service_date: date
) -> int:
    """Recompute the findings of the denials a changed fact can affect (same claim and date)."""
    claim_ids = session.exec(
        select(Claim.id).where(
            Claim.practice_id == practice_id,
            Claim.patient_control_number == patient_control_number,
        )
    ).all()
    if not claim_ids:
        return 0
    line_claims = session.exec(
        select(ServiceLine.claim_id).where(
            col(ServiceLine.claim_id).in_(claim_ids), ServiceLine.service_date == service_date
        )
    ).all()
    dated_claims = session.exec(
        select(Claim.id).where(col(Claim.id).in_(claim_ids), Claim.service_date == service_date)
    ).all()
    return refresh_findings_for_claims(
        session, [i for i in (*line_claims, *dated_claims) if i is not None]
    )


def refresh_findings_for_files(
    engine: Engine,
    file_ids: Iterable[int],
    progress: Callable[[int], object] | None = None,
    chunk: int = 500,
) -> int:
    """Run the checks on the denials that imported files created, committing every `chunk`.

    `progress`, if given, is called with the number of denials checked since the last call.
    """
    with Session(engine) as session:
        ids = [i for file_id in file_ids for i in denial_ids_for_file(session, file_id)]
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            refresh_findings(session, part, rescore=False)
            session.commit()
            if progress:
                progress(len(part))
        # With their findings known, the new denials get the recovery model's score.
        ranking.rescore(session, ids, date.today())
        session.commit()
    return len(ids)
