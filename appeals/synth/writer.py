"""835 (005010X221A1) writer for simulated remittances: one interchange and payment per file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from appeals.synth.engine import ClaimResult, LineResult, ProviderAdjustment
from appeals.synth.params import PayerParams

TERMINATOR = "~\n"
ZERO = Decimal("0")


def amount(value: Decimal) -> str:
    """An X12 R-type amount: no trailing zeros after the point, no '-0'."""
    text = f"{value:.2f}"
    if text.endswith(".00"):
        text = text[:-3]
    elif text.endswith("0"):
        text = text[:-1]
    return "0" if text == "-0" else text


def segment(*elements: str) -> str:
    """Join elements with '*', dropping trailing empty ones, and terminate."""
    items = list(elements)
    while items and items[-1] == "":
        items.pop()
    return "*".join(items) + TERMINATOR


@dataclass(frozen=True, slots=True)
class Envelope:
    """Control numbers and dates for one file."""

    control_number: int
    payment_date: date
    production_date: date
    time: str
    trace_number: str


def _cas(adjustments: Iterable[tuple[str, str, Decimal]]) -> list[str]:
    """CAS segments: one per group (in first-seen order), at most six triplets each."""
    groups: dict[str, list[tuple[str, Decimal]]] = {}
    for group, reason, value in adjustments:
        groups.setdefault(group, []).append((reason, value))
    out = []
    for group, items in groups.items():
        for start in range(0, len(items), 6):
            elements = [group]
            for reason, value in items[start : start + 6]:
                elements += [reason, amount(value), ""]
            out.append(segment("CAS", *elements))
    return out


def _name(qualifier: str, last: str, first: str, id_qualifier: str, identifier: str) -> str:
    return segment("NM1", qualifier, "1", last, first, "", "", "", id_qualifier, identifier)


def _line(line: LineResult) -> list[str]:
    composite = ":".join(["HC", line.code, *line.modifiers])
    units = str(line.units) if line.units != 1 else ""
    out = [segment("SVC", composite, amount(line.charge), amount(line.paid), "", units)]
    out.append(segment("DTM", "472", f"{line.service_date:%Y%m%d}"))
    out += _cas(line.adjustments)
    out.append(segment("REF", "6R", line.control))
    if line.policy:
        out.append(segment("REF", "0K", line.policy))
    if line.allowed:
        out.append(segment("AMT", "B6", amount(line.allowed)))
    out += [segment("LQ", "HE", code) for code in line.remarks]
    return out


def _claim(result: ClaimResult) -> list[str]:
    claim = result.claim
    patient = claim.patient
    provider = claim.provider
    pr = result.patient_responsibility
    out = [
        segment(
            "CLP",
            claim.pcn,
            result.status,
            amount(result.charge),
            amount(result.paid),
            amount(pr),
            claim.payer.filing,
            result.icn,
            "11",
            result.frequency,
        )
    ]
    out += _cas(result.claim_adjustments)
    out.append(_name("QC", patient.last_name, patient.first_name, "MI", patient.member_id))
    if patient.subscriber:
        last, first = patient.subscriber
        out.append(_name("IL", last, first, "MI", patient.member_id))
    out.append(_name("82", provider.last_name, provider.first_name, "XX", provider.npi))
    if result.crossover:
        out.append(segment("NM1", "TT", "2", "EXAMPLE MEDIGAP PLAN", "", "", "", "", "PI", "MG001"))
    if result.moa:
        out.append(segment("MOA", "", "", *result.moa))
    if result.original_icn:
        out.append(segment("REF", "F8", result.original_icn))
    out.append(segment("DTM", "232", f"{claim.service_date:%Y%m%d}"))
    out.append(segment("DTM", "233", f"{claim.service_date:%Y%m%d}"))
    out.append(segment("DTM", "050", f"{result.received:%Y%m%d}"))
    if not result.omit_lines:
        for line in result.lines:
            out += _line(line)
    return out


def render(
    payer: PayerParams,
    practice: dict[str, str],
    envelope: Envelope,
    claims: list[ClaimResult],
    adjustments: list[ProviderAdjustment],
) -> bytes:
    """The bytes of one 835 file (ISA..IEA) for one payer and one payment date."""
    total = sum((r.paid for r in claims), ZERO) - sum((a.amount for a in adjustments), ZERO)
    if total < 0:
        raise ValueError("a remittance cannot pay a negative total")
    ctl = f"{envelope.control_number:09d}"
    pay_date = f"{envelope.payment_date:%Y%m%d}"
    prod = envelope.production_date
    sender = payer.payer_id
    receiver = practice["receiver_id"]
    head = [
        segment(
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            sender.ljust(15),
            "ZZ",
            receiver.ljust(15),
            f"{prod:%y%m%d}",
            envelope.time,
            "^",
            "00501",
            ctl,
            "0",
            "P",
            ":",
        ),
        segment(
            "GS",
            "HP",
            sender,
            receiver,
            f"{prod:%Y%m%d}",
            envelope.time,
            str(envelope.control_number),
            "X",
            "005010X221A1",
        ),
    ]
    body = [segment("ST", "835", "0001")]
    payer_ein = "1" + payer.ein
    if total == 0:
        body.append(segment("BPR", "H", "0", "C", "NON", *([""] * 11), pay_date))
    elif payer.payment_method == "CHK":
        body.append(segment("BPR", "I", amount(total), "C", "CHK", *([""] * 11), pay_date))
    else:
        body.append(
            segment(
                "BPR",
                "I",
                amount(total),
                "C",
                "ACH",
                "CCP",
                "01",
                "999999989",
                "DA",
                f"{payer.ein}01",
                payer_ein,
                "",
                "01",
                practice["bank_routing"],
                "DA",
                practice["bank_account"],
                pay_date,
            )
        )
    body.append(segment("TRN", "1", envelope.trace_number, payer_ein))
    body.append(segment("REF", "EV", receiver))
    body.append(segment("DTM", "405", f"{prod:%Y%m%d}"))
    body.append(segment("N1", "PR", payer.name))
    body.append(segment("N3", payer.address))
    body.append(segment("N4", payer.city, payer.state, payer.zip))
    body.append(segment("REF", "2U", payer.payer_id))
    body.append(segment("PER", "BL", "PROVIDER EDI SUPPORT", "TE", payer.phone, "UR", payer.url))
    body.append(segment("N1", "PE", practice["name"], "XX", practice["npi"]))
    body.append(segment("N3", practice["address"]))
    body.append(segment("N4", practice["city"], practice["state"], practice["zip"]))
    body.append(segment("REF", "TJ", practice["tin"]))
    if claims:
        body.append(segment("LX", "1"))
        for result in claims:
            body += _claim(result)
    for start in range(0, len(adjustments), 6):
        elements = [practice["npi"], f"{envelope.payment_date.year}1231"]
        for item in adjustments[start : start + 6]:
            elements += [f"{item.reason}:{item.reference}", amount(item.amount)]
        body.append(segment("PLB", *elements))
    body.append(segment("SE", str(len(body) + 1), "0001"))
    tail = [segment("GE", "1", str(envelope.control_number)), segment("IEA", "1", ctl)]
    return "".join(head + body + tail).encode("ascii")
