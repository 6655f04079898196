"""Every public sample 835 in data/samples: an explicit expectation per file, and pyx12 as oracle.

pyx12 validates each file; the ones it accepts (and that are 5010) must read with no issue at all,
and their totals must equal what pyx12's own segment reader (pyx12.x12file.X12Reader) sees.
"""

from __future__ import annotations

import io
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from appeals.x12 import X12Error, read_payments

SAMPLES = Path(__file__).resolve().parent.parent.parent / "data" / "samples"

# file: (payments, claims, lines, warning codes). Why each file warns is in the comment.
PARSES: dict[str, tuple[int, int, int, set[str]]] = {
    "badx12__X221-dollars-and-data-sent-together.835": (1, 2, 0, set()),
    "badx12__X221-era-sample.835": (1, 1, 5, set()),
    "badx12__X221-multiple-claims-single-check.835": (1, 9, 33, set()),
    "badx12__X221-secondary-payment-with-higher-fee-schedule.835": (1, 1, 1, set()),
    # Broken envelope on purpose: GS01 HPO, SE/GE/IEA counts and control numbers.
    "badx12__error_validation.835": (
        1,
        2,
        2,
        {"control-number", "group-count", "segment-count", "transaction-count", "version"},
    ),
    # Starts at ST (no ISA); `>` components. Masked amounts are all zeros, so they are numbers.
    "edi835-affect__exhaustive_sample.835": (1, 1, 1, {"component-separator", "no-envelope"}),
    # Unpadded ISA; IEA02 differs from ISA13.
    "edi835-affect__nevada_medicaid.835": (3, 3, 0, {"control-number", "isa-not-fixed-width"}),
    # Claim CAS PR-2 repeats the line CAS; SE01 is off by one.
    "edi835-chs__test.835": (1, 1, 2, {"claim-cas-duplicates-lines", "segment-count"}),
    # Starts at ST; `SVC*HC:59426******742*742**1`: SVC02/SVC03 empty (742 sits in SVC07/08),
    # derived from the claim's totals (0.00 and 0.00, which balance); SE01 off by one.
    "edi835__blue_cross_nc_sample.835": (
        1,
        1,
        3,
        {"derived-amount", "no-envelope", "segment-count"},
    ),
    "edi835__emedny_sample.835": (1, 3, 10, set()),
    "edi835__united_healthcare_legacy_sample.835": (1, 2, 5, set()),
    # `>` in the data while ISA16 is `:`.
    "lfh-x12__cob-contractural-adjustment.835": (1, 1, 1, {"component-separator"}),
    # BPR16 20002316.
    "lfh-x12__managed-care.835": (1, 2, 2, {"invalid-date"}),
    "lfh-x12__medicare-part-a.835": (1, 2, 0, set()),
    "lfh-x12__secondary-payment.835": (1, 2, 2, {"component-separator"}),
    # `SVC*HC*24599.00*...`: the code sits in SVC02, so the amounts shift and do not balance.
    "lfh-x12__tertiary-payment.835": (1, 1, 1, {"line-imbalance"}),
    # Masked production files (X/9): GS08 999999X999X9, 4010 CR groups, amounts that do not add up.
    "oopx12__835_DeIdent_01.835": (
        1,
        96,
        365,
        {"cas-group", "claim-imbalance", "line-imbalance", "payment-imbalance", "version"},
    ),
    "oopx12__835_DeIdent_02.835": (
        6,
        375,
        1552,
        {
            "cas-group",
            "claim-imbalance",
            "control-number",
            "line-imbalance",
            "payment-imbalance",
            "version",
        },
    ),
    # GS08 bare `5010`, 4010 CR groups; ends with a cut-off `CLP*090909*22` (no amounts, no
    # lines): that claim is left out with a warning, the other nine are read.
    "oopx12__Example1_5010.835": (
        1,
        9,
        9,
        {"cas-group", "claim-left-out", "payment-imbalance", "version"},
    ),
    "oopx12__835_WithMultipleInterchanges.835": (
        3,
        56,
        91,
        {"claim-imbalance", "line-imbalance", "payment-imbalance"},
    ),
    "pyx12__835_mult_loops.835": (1, 1, 3, set()),
    # 278/837 transactions skipped; the four 835s are ST/SE only.
    "pyx12__mult_isa.835": (4, 0, 0, {"empty-transaction"}),
    "tastyx12__multi-line-not-delimited.835": (1, 3, 10, set()),
    # SE01 says 31 for about 29,000 segments.
    "tastyx12__multiLineNotDelimited.835": (1, 3617, 0, {"segment-count"}),
    "tastyx12__oneLine-2-ISA.835": (2, 4, 0, set()),
    "tastyx12__profeeMultiple.835": (12, 36, 120, set()),
    "tigershark__5010-835-example-1.835": (1, 3, 9, set()),
    "tigershark__5010-835-example-2.835": (1, 2, 6, set()),
    "tigershark__5010-835-example-3.835": (1, 2, 2, set()),
}

_4010 = "4010 is not supported"
# file: (segment, segment id, message part, why)
FAILS: dict[str, tuple[int, str, str]] = {
    # 4010 (GS08 004010X091A1): refused, never read as 5010.
    "oopx12__Example1_GripElements_4010.835": (2, "GS", _4010),
    "pyx12__835_simple.835": (2, "GS", _4010),
    "pyx12__bad_header_looping.835": (2, "GS", _4010),
    "tigershark__835-example-2.835": (2, "GS", _4010),
    "tigershark__835-example.835": (2, "GS", _4010),
}


def test_every_sample_has_an_expectation() -> None:
    files = {p.name for p in SAMPLES.glob("*.835")}
    assert len(files) == 34
    assert files == set(PARSES) | set(FAILS)
    assert not set(PARSES) & set(FAILS)


@pytest.mark.parametrize("name", sorted(PARSES))
def test_sample_parses(name: str) -> None:
    payments, claims, lines, warnings = PARSES[name]
    result = read_payments(SAMPLES / name)
    assert len(result) == payments
    assert sum(len(p.claims) for p in result) == claims
    assert sum(len(c.lines) for p in result for c in p.claims) == lines
    assert {w.code for p in result for w in p.all_warnings} == warnings


@pytest.mark.parametrize("name", sorted(FAILS))
def test_sample_is_refused(name: str) -> None:
    segment, segment_id, message = FAILS[name]
    with pytest.raises(X12Error) as info:
        read_payments(SAMPLES / name)
    assert (info.value.segment, info.value.segment_id) == (segment, segment_id)
    assert message in info.value.message


def _pyx12_valid(path: Path) -> bool:
    import pyx12.params
    import pyx12.x12n_document

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    # Opened here (ASCII, as pyx12 itself opens files) so the handle is closed whatever happens.
    with open(path, encoding="ascii") as src:
        try:
            return bool(
                pyx12.x12n_document.x12n_document(pyx12.params.params(), src, io.StringIO(), None)
            )
        except Exception:  # pyx12's own errors, and UnicodeDecodeError on a BOM: not valid
            return False


def _pyx12_totals(path: Path) -> dict[str, Decimal | int]:
    import pyx12.x12file

    totals: dict[str, Decimal | int] = {
        "claims": 0,
        "clp03": Decimal(0),
        "clp04": Decimal(0),
        "svc02": Decimal(0),
        "svc03": Decimal(0),
        "cas": 0,
        "bpr02": Decimal(0),
    }
    with open(path, encoding="ascii") as src, pyx12.x12file.X12Reader(src) as reader:
        for seg in reader:
            sid = seg.get_seg_id()
            if sid == "CLP":
                totals["claims"] += 1
                totals["clp03"] += Decimal(seg.get_value("03"))
                totals["clp04"] += Decimal(seg.get_value("04"))
            elif sid == "SVC":
                totals["svc02"] += Decimal(seg.get_value("02"))
                totals["svc03"] += Decimal(seg.get_value("03"))
            elif sid == "CAS":
                totals["cas"] += sum(1 for i in range(2, 19, 3) if seg.get_value(f"{i:02d}"))
            elif sid == "BPR":
                totals["bpr02"] += Decimal(seg.get_value("02"))
    return totals


def _our_totals(path: Path) -> dict[str, Decimal | int]:
    payments = read_payments(path)
    claims = [c for p in payments for c in p.claims]
    lines = [line for c in claims for line in c.lines]
    return {
        "claims": len(claims),
        "clp03": sum((c.charge for c in claims), Decimal(0)),
        "clp04": sum((c.paid for c in claims), Decimal(0)),
        "svc02": sum((line.charge for line in lines), Decimal(0)),
        "svc03": sum((line.paid for line in lines), Decimal(0)),
        "cas": sum(len(c.adjustments) for c in claims) + sum(len(x.adjustments) for x in lines),
        "bpr02": sum((p.header.payment_amount for p in payments), Decimal(0)),
    }


PYX12_VALID_5010 = [
    "badx12__X221-dollars-and-data-sent-together.835",
    "badx12__X221-era-sample.835",
    "badx12__X221-multiple-claims-single-check.835",
    "badx12__X221-secondary-payment-with-higher-fee-schedule.835",
    "edi835__emedny_sample.835",
    "pyx12__835_mult_loops.835",
    "tastyx12__multi-line-not-delimited.835",
    "tigershark__5010-835-example-1.835",
    "tigershark__5010-835-example-2.835",
    "tigershark__5010-835-example-3.835",
]


@pytest.mark.slow
def test_pyx12_validity_matches_the_list() -> None:
    """pyx12 accepts exactly these 5010 files (plus the 4010 pyx12__835_simple, refused by us)."""
    valid = {p.name for p in sorted(SAMPLES.glob("*.835")) if _pyx12_valid(p)}
    assert valid == set(PYX12_VALID_5010) | {"pyx12__835_simple.835"}


@pytest.mark.parametrize("name", PYX12_VALID_5010)
def test_pyx12_valid_files_read_cleanly_with_pyx12_totals(name: str) -> None:
    path = SAMPLES / name
    assert _pyx12_valid(path)
    payments = read_payments(path)
    assert [w for p in payments for w in p.all_warnings] == []
    assert _our_totals(path) == _pyx12_totals(path)


def test_the_blue_cross_line_without_amounts_is_derived_from_the_claim() -> None:
    [payment] = read_payments(SAMPLES / "edi835__blue_cross_nc_sample.835")
    [claim] = payment.claims
    line = claim.lines[2]
    assert (line.procedure.code, line.charge, line.paid) == ("59426", Decimal(0), Decimal(0))
    [issue] = [w for w in claim.warnings if w.code == "derived-amount"]
    assert issue.segment == line.segment == 28
    assert "read as 0.00 and 0.00" in issue.message


def test_the_cut_off_claim_of_example1_is_left_out_and_named() -> None:
    [payment] = read_payments(SAMPLES / "oopx12__Example1_5010.835")
    assert payment.claims[-1].patient_control_number == "090909"
    assert payment.claims[-1].charge == Decimal("-86.76")
    [issue] = [w for w in payment.warnings if w.code == "claim-left-out"]
    assert issue.segment == 98
    assert "'090909' left out" in issue.message
