"""Build small, balanced 835 files for tests (synthetic patients only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path


@dataclass
class Line:
    procedure: str
    charge: str
    paid: str = "0"
    adjustments: list[tuple[str, str, str]] = field(default_factory=list)  # (group, reason, amt)
    rarcs: list[str] = field(default_factory=list)
    service_date: date = date(2026, 7, 13)


@dataclass
class RemitClaim:
    patient_control_number: str
    lines: list[Line]
    filing_indicator: str = "12"
    status: str = "1"
    claim_number: str = ""


def remittance(
    trace: str,
    paid_on: date,
    claims: list[RemitClaim],
    *,
    payer_id: str = "SUNNY01",
    payer_name: str = "SUNNY HEALTH PLAN",
) -> str:
    """A one-payment 835 whose claims, lines and totals balance."""
    body: list[str] = []
    total = Decimal("0")
    for number, claim in enumerate(claims, start=1):
        charge = sum(Decimal(line.charge) for line in claim.lines)
        paid = sum(Decimal(line.paid) for line in claim.lines)
        total += paid
        status = claim.status if paid or claim.status != "1" else "4"
        number_at_payer = claim.claim_number or f"ICN{claim.patient_control_number}"
        body += [
            f"LX*{number}",
            f"CLP*{claim.patient_control_number}*{status}*{charge}*{paid}**"
            f"{claim.filing_indicator}*{number_at_payer}*11*1",
            f"NM1*QC*1*TESTPATIENT*{chr(64 + number % 26 or 1)}****MI*MEM{number:04d}",
        ]
        for line in claim.lines:
            body += [
                f"SVC*HC:{line.procedure}*{line.charge}*{line.paid}**1",
                f"DTM*472*{line.service_date:%Y%m%d}",
            ]
            body += [f"CAS*{g}*{r}*{a}" for g, r, a in line.adjustments]
            body += [f"LQ*HE*{code}" for code in line.rarcs]
    segments = [
        "ST*835*0001",
        f"BPR*I*{total}*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*888888888*DA*654321*"
        f"{paid_on:%Y%m%d}",
        f"TRN*1*{trace}*1512345678",
        f"DTM*405*{paid_on:%Y%m%d}",
        f"N1*PR*{payer_name}",
        "N3*100 EXAMPLE WAY",
        "N4*SPRINGFIELD*IL*62701",
        f"REF*2U*{payer_id}",
        "N1*PE*MAPLE DERMATOLOGY ASSOCIATES*XX*1234567893",
        "N3*1 MAPLE AVE",
        "N4*SPRINGFIELD*IL*62704",
        "REF*TJ*371234567",
        *body,
    ]
    segments.append(f"SE*{len(segments) + 1}*0001")
    isa = (
        "ISA*00*          *00*          *ZZ*PAYERSENDER    *ZZ*DERMPRACTICE   *"
        f"{paid_on:%y%m%d}*1200*^*00501*000000001*0*T*:"
    )
    envelope = [isa, f"GS*HP*PAYERSENDER*DERMPRACTICE*{paid_on:%Y%m%d}*1200*1*X*005010X221A1"]
    envelope += segments + ["GE*1*1", "IEA*1*000000001"]
    return "~\n".join(envelope) + "~\n"


def write_remittance(folder: Path, name: str, *args, **kwargs) -> Path:  # type: ignore[no-untyped-def]
    path = folder / name
    path.write_text(remittance(*args, **kwargs))
    return path
