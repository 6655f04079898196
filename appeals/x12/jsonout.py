"""835 objects as JSON (documented in docs/835-json.md) and as a short human summary.

Money is a decimal string exactly as the 835 carried it (`"100.50"`), dates are ISO strings, absent
values are null. `write_json` streams: it writes each claim as `iter_remittance` yields it, so a
large file never sits in memory as one dict.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any, TextIO

from appeals.x12.model import (
    Adjustment,
    Claim,
    Issue,
    Party,
    Payment,
    PaymentEnd,
    PaymentHeader,
    Person,
    ProviderAdjustment,
    Remark,
    ServiceLine,
)

Item = PaymentHeader | Claim | PaymentEnd


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _issue(issue: Issue) -> dict[str, Any]:
    return {
        "segment": issue.segment,
        "code": issue.code,
        "level": issue.level,
        "message": issue.message,
    }


def _adjustment(adj: Adjustment) -> dict[str, Any]:
    return {
        "group": adj.group,
        "reason": adj.reason,
        "amount": str(adj.amount),
        "quantity": _money(adj.quantity),
    }


def _remark(remark: Remark) -> dict[str, Any]:
    return {"code": remark.code, "source": remark.source, "qualifier": remark.qualifier}


def _person(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {
        "last_name": person.last_name,
        "first_name": person.first_name,
        "middle_name": person.middle_name,
        "id_qualifier": person.id_qualifier,
        "id": person.identifier,
    }


def _payer(party: Party, fallback_id: str) -> dict[str, Any]:
    return {
        "name": party.name,
        "id": party.reference("2U") or party.identifier or fallback_id,
    }


def _payee(party: Party) -> dict[str, Any]:
    return {"name": party.name, "npi": party.npi or None, "tax_id": party.tax_id or None}


def header_to_dict(header: PaymentHeader) -> dict[str, Any]:
    """The payment-level keys of one ST/SE transaction (no claims, adjustments or warnings)."""
    return {
        "payer": _payer(header.payer, header.trace_originator),
        "payee": _payee(header.payee),
        "payment_amount": str(header.payment_amount),
        "payment_method": header.payment_method,
        "payment_date": _day(header.payment_date),
        "trace_number": header.trace_number,
        "trace_originator": header.trace_originator,
        "handling_code": header.handling_code,
        "credit_debit": header.credit_debit,
        "production_date": _day(header.production_date),
        "transaction_control_number": header.transaction_control_number,
        "interchange_control_number": header.interchange_control_number,
        "version": header.version,
        "segment": header.segment,
    }


def line_to_dict(line: ServiceLine) -> dict[str, Any]:
    original = line.original_procedure
    return {
        "procedure": line.procedure.code,
        "qualifier": line.procedure.qualifier,
        "modifiers": list(line.procedure.modifiers),
        "description": line.procedure.description,
        "original_procedure": original.code if original else None,
        "original_modifiers": list(original.modifiers) if original else [],
        "units": str(line.units),
        "original_units": _money(line.original_units),
        "charge": str(line.charge),
        "paid": str(line.paid),
        "revenue_code": line.revenue_code,
        "service_date": _day(line.service_date),
        "service_date_end": _day(line.service_date_end),
        "control_number": line.control_number,
        "policy_id": line.policy_id,
        "adjustments": [_adjustment(a) for a in line.adjustments],
        "remarks": [_remark(r) for r in line.remarks],
        "references": [{"qualifier": r.qualifier, "value": r.value} for r in line.references],
        "amounts": [{"qualifier": a.qualifier, "amount": str(a.amount)} for a in line.amounts],
        "segment": line.segment,
    }


def claim_to_dict(claim: Claim) -> dict[str, Any]:
    return {
        "patient_control_number": claim.patient_control_number,
        "payer_claim_control_number": claim.payer_claim_control_number,
        "status": claim.status,
        "charge": str(claim.charge),
        "paid": str(claim.paid),
        "patient_responsibility": _money(claim.patient_responsibility),
        "filing_indicator": claim.filing_indicator,
        "facility_code": claim.facility_code,
        "frequency_code": claim.frequency_code,
        "original_reference": claim.original_reference,
        "statement_from": _day(claim.statement_from),
        "statement_to": _day(claim.statement_to),
        "received_date": _day(claim.received_date),
        "patient": _person(claim.patient),
        "insured": _person(claim.insured),
        "corrected_patient": _person(claim.corrected_patient),
        "rendering_provider": _person(claim.rendering_provider),
        "adjustments": [_adjustment(a) for a in claim.adjustments],
        "remarks": [_remark(r) for r in claim.remarks],
        "references": [{"qualifier": r.qualifier, "value": r.value} for r in claim.references],
        "amounts": [{"qualifier": a.qualifier, "amount": str(a.amount)} for a in claim.amounts],
        "lines": [line_to_dict(line) for line in claim.lines],
        "warnings": [_issue(w) for w in claim.warnings],
        "segment": claim.segment,
    }


def _provider_adjustment(adj: ProviderAdjustment) -> dict[str, Any]:
    return {
        "reason": adj.reason,
        "reference": adj.reference,
        "amount": str(adj.amount),
        "provider_id": adj.provider_id,
        "fiscal_period_date": _day(adj.fiscal_period_date),
        "segment": adj.segment,
    }


def payment_to_dict(payment: Payment) -> dict[str, Any]:
    """One ST/SE transaction with its claims, provider adjustments and warnings."""
    result = header_to_dict(payment.header)
    result["claims"] = [claim_to_dict(c) for c in payment.claims]
    result["provider_adjustments"] = [_provider_adjustment(a) for a in payment.provider_adjustments]
    result["claim_count"] = len(payment.claims)
    result["warnings"] = [_issue(w) for w in payment.warnings]
    return result


def write_json(items: Iterable[Item], out: TextIO) -> None:
    """Stream `{"payments": [...]}` from `iter_remittance` output, one claim at a time."""
    out.write('{"payments": [')
    header: PaymentHeader | None = None
    first_payment = True
    first_claim = True
    for item in items:
        if isinstance(item, PaymentHeader):
            header = item
            head = json.dumps(header_to_dict(item))
            out.write(("\n" if first_payment else ",\n") + head[:-1] + ', "claims": [')
            first_payment = False
            first_claim = True
        elif isinstance(item, Claim):
            out.write(("\n" if first_claim else ",\n") + json.dumps(claim_to_dict(item)))
            first_claim = False
        else:
            warnings = (header.warnings if header else []) + item.warnings
            out.write(
                '], "provider_adjustments": '
                + json.dumps([_provider_adjustment(a) for a in item.provider_adjustments])
                + f', "claim_count": {item.claim_count}'
                + ', "warnings": '
                + json.dumps([_issue(w) for w in warnings])
                + "}"
            )
            header = None
    out.write("\n]}\n")


def format_text(items: Iterable[Item]) -> Iterator[str]:
    """A human summary, line by line: one line per payment and claim, warnings indented."""
    for item in items:
        if isinstance(item, PaymentHeader):
            yield (
                f"Payment {item.trace_number or '-'} {_day(item.payment_date) or '-'} "
                f"{item.payment_method or '-'} {item.payment_amount} "
                f"from {item.payer.name or '?'} to {item.payee.name or '?'}"
            )
            for w in item.warnings:
                yield f"  ! segment {w.segment}: {w.message}"
        elif isinstance(item, Claim):
            denied = sum(1 for line in item.lines if line.paid == 0 and line.charge)
            extra = f", {denied} unpaid line(s)" if denied else ""
            patient = _money(item.patient_responsibility) or "-"
            yield (
                f"  Claim {item.patient_control_number} status {item.status} "
                f"charge {item.charge} paid {item.paid} patient {patient}"
                f" ({len(item.lines)} line(s){extra}) ICN {item.payer_claim_control_number or '-'}"
            )
            for adj in item.adjustments:
                yield f"    {adj.group}-{adj.reason} {adj.amount}"
            for line in item.lines:
                adjs = " ".join(f"{a.group}-{a.reason} {a.amount}" for a in line.adjustments)
                text = f"    {line.procedure} x{line.units} {line.charge} -> {line.paid} {adjs}"
                yield text.rstrip()
            for w in item.warnings:
                yield f"    ! segment {w.segment}: {w.message}"
        else:
            for adj in item.provider_adjustments:
                yield f"  Provider adjustment {adj.reason} {adj.reference} {adj.amount}"
            yield f"  {item.claim_count} claim(s), paid {item.claims_paid}"
            for w in item.warnings:
                yield f"  ! segment {w.segment}: {w.message}"
