"""Which adjustments are denials, their category and action."""

from __future__ import annotations

from decimal import Decimal

import pytest

from appeals.denials import classify, find_denials, is_denial_adjustment
from appeals.x12.model import Adjustment, Claim, Procedure, Remark, ServiceLine

D = Decimal


def line(
    code: str, charge: str, paid: str, *adjustments: tuple[str, str, str], rarcs=()
) -> ServiceLine:
    return ServiceLine(
        procedure=Procedure("HC", code),
        charge=D(charge),
        paid=D(paid),
        units=D(1),
        segment=1,
        adjustments=[Adjustment(g, r, D(a)) for g, r, a in adjustments],
        remarks=[Remark(c, "LQ") for c in rarcs],
    )


def claim(*lines: ServiceLine, status: str = "1", adjustments=(), rarcs=()) -> Claim:
    return Claim(
        patient_control_number="PCN1",
        status=status,
        charge=sum((x.charge for x in lines), D(0)),
        paid=sum((x.paid for x in lines), D(0)),
        patient_responsibility=None,
        filing_indicator="MB",
        payer_claim_control_number="ICN1",
        segment=1,
        lines=list(lines),
        adjustments=[Adjustment(g, r, D(a)) for g, r, a in adjustments],
        remarks=[Remark(c, "MOA") for c in rarcs],
    )


@pytest.mark.parametrize(
    ("group", "reason", "amount", "expected"),
    [
        ("CO", "45", "20.00", False),  # contractual write-down
        ("PR", "1", "50.00", False),  # deductible
        ("PR", "2", "10.00", False),  # coinsurance
        ("PR", "3", "25.00", False),  # copay
        ("CO", "253", "1.20", False),  # sequestration
        ("OA", "23", "40.00", False),  # prior payer impact
        ("CO", "97", "80.00", True),
        ("CO", "50", "80.00", True),
        ("PR", "96", "80.00", True),
        ("CO", "97", "-80.00", False),  # a reversal's negated amount is not a new denial
        ("CO", "ZZ9", "10.00", True),  # unknown codes are kept as denials to review
    ],
)
def test_it_tells_denials_from_write_downs(group, reason, amount, expected) -> None:
    assert is_denial_adjustment(Adjustment(group, reason, D(amount))) is expected


def test_it_finds_one_denial_per_denied_line() -> None:
    found = find_denials(
        claim(
            line("99213", "150.00", "0.00", ("CO", "97", "150.00"), rarcs=["M15"]),
            line("11102", "200.00", "120.00", ("CO", "45", "60.00"), ("PR", "2", "20.00")),
        )
    )
    assert len(found) == 1
    denial = found[0]
    assert denial.line_index == 0
    assert (denial.carc, denial.category, denial.action) == (
        "97",
        "bundling_ncci",
        "corrected_claim",
    )
    assert denial.denied_amount == D("150.00")
    assert denial.rarcs == ["M15"]


def test_the_denied_amount_leaves_out_write_downs_and_cost_sharing() -> None:
    (denial,) = find_denials(
        claim(line("17110", "300.00", "0.00", ("CO", "45", "100.00"), ("CO", "96", "200.00")))
    )
    assert denial.denied_amount == D("200.00")
    assert denial.carcs == ["96"]


def test_a_claim_without_lines_is_denied_at_claim_level() -> None:
    (denial,) = find_denials(claim(adjustments=[("CO", "29", "500.00")]))
    assert denial.line_index is None
    assert (denial.category, denial.action) == ("timely_filing", "appeal")


def test_reversals_and_predeterminations_create_no_denials() -> None:
    denied = line("99213", "-150.00", "0.00", ("CO", "97", "-150.00"))
    assert find_denials(claim(denied, status="22")) == []
    assert find_denials(claim(line("17311", "900", "0", ("CO", "50", "900")), status="25")) == []


@pytest.mark.parametrize(
    ("group", "carc", "rarcs", "category", "action"),
    [
        ("CO", "16", ["MA130"], "missing_invalid_info", "corrected_claim"),
        ("CO", "96", ["N115"], "medical_necessity", "appeal"),  # an LCD decides it
        ("CO", "96", ["N130"], "noncovered_cosmetic", "write_off_review"),
        ("CO", "4", ["M15"], "bundling_ncci", "corrected_claim"),  # M15 always means bundling
        ("CO", "29", ["N115"], "timely_filing", "appeal"),  # a specific CARC keeps its meaning
        ("PR", "96", [], "noncovered_cosmetic", "bill_patient"),  # waiver on file: patient pays
        ("CO", "A1", [], "other", "write_off_review"),
        ("CO", "197", [], "authorization_precert", "appeal"),
        ("CO", "109", [], "coordination_of_benefits", "verify_eligibility"),
        ("CO", "ZZ9", [], "other", "write_off_review"),
    ],
)
def test_remark_codes_refine_the_category(group, carc, rarcs, category, action) -> None:
    assert classify(group, carc, rarcs) == (category, action)
