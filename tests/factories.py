"""Small factories for database rows in tests (synthetic patients only).

`make_claim(session, lines=[...])` builds the practice, payer, remittance file and payment it
needs unless given; each line is a dict such as
`{"procedure": "99213", "modifiers": "25", "adjustments": [("CO", "97", "120.00")],
"rarcs": ["M15"], "denied": True}`; lines marked `denied` (or with CO/PI/OA adjustments and
nothing paid) get a Denial row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from appeals.models import (
    Adjustment,
    Claim,
    Denial,
    DenialScore,
    Payer,
    Payment,
    Practice,
    Remark,
    RemittanceFile,
    ServiceLine,
)

DOS = date(2026, 3, 2)


def make_practice(session: Session, name: str = "Example Dermatology") -> Practice:
    practice = Practice(name=name, npi="1234567893", tax_id="123456789")
    session.add(practice)
    session.flush()
    return practice


def make_payer(session: Session, payer_type: str = "commercial", name: str | None = None) -> Payer:
    identifier = f"P{uuid.uuid4().hex[:8]}"
    payer = Payer(
        identifier=identifier, name=name or f"{payer_type.title()} Payer", payer_type=payer_type
    )
    session.add(payer)
    session.flush()
    return payer


def make_payment(session: Session, practice: Practice, payer: Payer) -> Payment:
    remittance = RemittanceFile(name="test.835", sha256=uuid.uuid4().hex)
    session.add(remittance)
    session.flush()
    payment = Payment(
        file_id=remittance.id or 0,
        practice_id=practice.id or 0,
        payer_id=payer.id or 0,
        dedupe_key=uuid.uuid4().hex,
        payment_date=date(2026, 4, 1),
        trace_number=uuid.uuid4().hex[:10],
    )
    session.add(payment)
    session.flush()
    return payment


@dataclass
class MadeClaim:
    claim: Claim
    lines: list[ServiceLine]
    denials: list[Denial] = field(default_factory=list)
    practice: Practice | None = None
    payer: Payer | None = None


def make_claim(
    session: Session,
    lines: Sequence[dict[str, Any]] = ({"procedure": "99213"},),
    *,
    practice: Practice | None = None,
    payer: Payer | None = None,
    payer_type: str = "commercial",
    patient_control_number: str | None = None,
    service_date: date = DOS,
    filing_indicator: str = "",
    claim_adjustments: Sequence[tuple[str, str, str]] = (),
    claim_rarcs: Sequence[str] = (),
    category: str = "other",
) -> MadeClaim:
    """A claim with its lines, CAS, remarks and a Denial per denied line."""
    practice = practice or make_practice(session)
    payer = payer or make_payer(session, payer_type)
    payment = make_payment(session, practice, payer)
    pcn = patient_control_number or f"PCN{uuid.uuid4().hex[:8].upper()}"
    claim = Claim(
        payment_id=payment.id or 0,
        practice_id=practice.id or 0,
        payer_id=payer.id or 0,
        patient_control_number=pcn,
        status="4",
        charge=sum((Decimal(str(spec.get("charge", "120.00"))) for spec in lines), Decimal("0")),
        filing_indicator=filing_indicator or ("MB" if payer.payer_type == "medicare" else "CI"),
        patient_last_name="Testpatient",
        patient_first_name="Synthetic",
        service_date=service_date,
    )
    session.add(claim)
    session.flush()
    for position, (group, reason, amount) in enumerate(claim_adjustments):
        session.add(
            Adjustment(
                claim_id=claim.id or 0,
                group_code=group,
                reason=reason,
                amount=Decimal(amount),
                position=position,
            )
        )
    for code in claim_rarcs:
        session.add(Remark(claim_id=claim.id or 0, code=code, source="MOA"))
    made = MadeClaim(claim=claim, lines=[], practice=practice, payer=payer)
    for number, spec in enumerate(lines, start=1):
        line = ServiceLine(
            claim_id=claim.id or 0,
            line_number=number,
            procedure_code=spec["procedure"],
            modifiers=spec.get("modifiers", ""),
            original_procedure_code=spec.get("original_procedure", ""),
            units=Decimal(str(spec.get("units", "1"))),
            charge=Decimal(str(spec.get("charge", "120.00"))),
            paid=Decimal(str(spec.get("paid", "0.00" if spec.get("adjustments") else "80.00"))),
            service_date=spec.get("service_date", service_date),
        )
        session.add(line)
        session.flush()
        made.lines.append(line)
        adjustments = spec.get("adjustments", ())
        for position, (group, reason, amount) in enumerate(adjustments):
            session.add(
                Adjustment(
                    claim_id=claim.id or 0,
                    line_id=line.id,
                    group_code=group,
                    reason=reason,
                    amount=Decimal(amount),
                    position=position,
                )
            )
        for code in spec.get("rarcs", ()):
            session.add(Remark(claim_id=claim.id or 0, line_id=line.id, code=code, source="LQ"))
        if spec.get("denied", bool(adjustments)):
            made.denials.append(make_denial(session, claim, line, category=category))
    session.flush()
    return made


def make_denial(
    session: Session, claim: Claim, line: ServiceLine | None, category: str = "other"
) -> Denial:
    """A Denial for a line (or the whole claim when `line` is None)."""
    denial = Denial(
        practice_id=claim.practice_id,
        payer_id=claim.payer_id,
        claim_id=claim.id or 0,
        line_id=line.id if line else None,
        patient_control_number=claim.patient_control_number,
        procedure_code=line.procedure_code if line else "",
        service_date=(line.service_date if line else None) or claim.service_date,
        category=category,
        action="appeal",
        denied_amount=line.charge if line else claim.charge,
    )
    session.add(denial)
    session.flush()
    session.add(DenialScore(id=denial.id or 0))  # as the importer stores every denial's
    session.flush()
    return denial
