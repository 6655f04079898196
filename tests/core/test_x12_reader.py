"""The 835 reader on hand-made dermatology files: fields, streaming order, warnings and errors."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from appeals.x12 import X12Error, iter_remittance, read_payments
from appeals.x12.jsonout import format_text, payment_to_dict, write_json
from appeals.x12.model import Claim, Payment, PaymentEnd, PaymentHeader

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "x12"
VALID = (FIXTURES / "valid_derm.835").read_text()


def read(text: str) -> list[Payment]:
    return read_payments(text.encode(), "test.835")


def codes(payment: Payment) -> list[str]:
    return [w.code for w in payment.all_warnings]


def edit(old: str, new: str, text: str = VALID) -> str:
    assert old in text
    return text.replace(old, new)


def recount(text: str) -> str:
    """Fix SE01 after segments were added or removed."""
    segs = [s.strip() for s in text.split("~")]
    st = next(i for i, s in enumerate(segs) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    old = segs[se]
    return text.replace(old, f"SE*{se - st + 1}*{old.split('*')[2]}")


def test_it_reads_the_header() -> None:
    [payment] = read(VALID)
    h = payment.header
    assert h.payment_amount == Decimal("181.25")
    assert (h.handling_code, h.credit_debit, h.payment_method) == ("I", "C", "ACH")
    assert h.payment_date == date(2025, 3, 5)
    assert (h.trace_number, h.trace_originator) == ("EFT0001", "1999999999")
    assert h.production_date == date(2025, 3, 1)
    assert h.payer.name == "SYNTHETIC HEALTH PLAN"
    assert h.payer.reference("2U") == "SYNPLAN"
    assert h.payer.address == ["1 PAYER WAY"] and h.payer.state == "IL"
    assert h.payer.contacts[0].numbers == [("TE", "5555550100")]
    assert (h.payee.id_qualifier, h.payee.identifier) == ("XX", "1234567893")
    assert h.payee.reference("TJ") == "123456789"
    assert (h.version, h.interchange_control_number, h.transaction_control_number) == (
        "005010X221A1",
        "000000101",
        "0001",
    )
    assert payment.warnings == []


def test_it_reads_claims_lines_adjustments_and_remarks() -> None:
    [payment] = read(VALID)
    first, second = payment.claims
    assert (first.patient_control_number, first.status, first.payer_claim_control_number) == (
        "DERM-1001",
        "1",
        "ICN0001",
    )
    assert (first.charge, first.paid, first.patient_responsibility) == (
        Decimal("250.00"),
        Decimal("180.00"),
        Decimal("20.00"),
    )
    assert (first.filing_indicator, first.facility_code, first.frequency_code) == ("12", "11", "1")
    assert first.patient is not None and first.patient.last_name == "TESTPATIENT"
    assert first.statement_from == date(2025, 2, 10)
    biopsy, visit = first.lines
    assert (biopsy.procedure.qualifier, biopsy.procedure.code) == ("HC", "11102")
    assert visit.procedure.modifiers == ["25"] and str(visit.procedure) == "99213-25"
    assert biopsy.units == 1 and biopsy.control_number == "L1"
    assert biopsy.service_date == date(2025, 2, 10)
    assert visit.service_date == date(2025, 2, 10)  # inherited from DTM*232
    assert [(a.group, a.reason, a.amount) for a in visit.adjustments] == [
        ("CO", "45", Decimal("20.00")),
        ("PR", "3", Decimal("20.00")),
    ]
    assert visit.amounts[0].amount == Decimal("80.00")
    [denied] = second.lines
    assert denied.paid == 0 and denied.policy_id == "L34938"
    assert [(r.code, r.source, r.qualifier) for r in denied.remarks] == [("N115", "LQ", "HE")]
    [plb] = payment.provider_adjustments
    assert (plb.reason, plb.reference, plb.amount) == ("L6", "ICN0001", Decimal("-1.25"))
    assert plb.fiscal_period_date == date(2025, 12, 31)
    assert plb.provider_id == "1234567893"


def test_it_streams_header_then_claims_then_end() -> None:
    items = list(iter_remittance(VALID.encode(), "t"))
    assert [type(i) for i in items] == [PaymentHeader, Claim, Claim, PaymentEnd]
    end = items[-1]
    assert isinstance(end, PaymentEnd)
    assert (end.claim_count, end.claims_paid) == (2, Decimal("180.00"))


def test_list_attributes_start_empty_and_are_never_shared() -> None:
    names = ("adjustments", "remarks", "references", "amounts", "quantities")
    claims = [i for i in iter_remittance((VALID + VALID).encode(), "t") if type(i) is Claim]
    owners = [*claims, *(line for c in claims for line in c.lines)]
    filled = [getattr(o, n) for o in owners for n in (*names, "lines", "warnings") if hasattr(o, n)]
    assert all(type(v) is list and v for v in filled if v)
    assert all(v == () for v in filled if not v)
    lists = [v for v in filled if v]
    assert len({id(v) for v in lists}) == len(lists) > 8
    fresh = Claim("P", "1", Decimal(1), Decimal(1), None, "12", "ICN", 1)
    assert all(getattr(fresh, n) == () for n in (*names, "lines", "warnings"))


def test_claim_without_lx_and_line_without_date() -> None:
    text = edit("LX*1~\n", "")
    text = edit("DTM*472*20250212~\n", "", text)
    [payment] = read(recount(text))
    assert payment.claims[1].lines[0].service_date is None
    assert codes(payment) == []


def test_reversal_and_correction_are_kept() -> None:
    reversal = (
        "CLP*DERM-1001*22*-250.00*-180.00*-20.00*12*ICN0001*11*1~\n"
        "NM1*QC*1*TESTPATIENT*ALEX****MI*W0001~\n"
        "CAS*CO*45*-50.00~\nCAS*PR*3*-20.00~\n"
    )
    text = edit("CLP*DERM-1002", reversal + "CLP*DERM-1002")
    text = edit("BPR*I*181.25", "BPR*I*1.25", text)
    [payment] = read(recount(text))
    assert [c.status for c in payment.claims] == ["1", "22", "1"]
    assert payment.claims[1].is_reversal and payment.claims[1].paid == Decimal("-180.00")
    assert codes(payment) == []


def test_six_cas_triplets_and_several_cas_segments() -> None:
    text = edit(
        "CAS*CO*50*95.00~",
        "CAS*CO*50*10*1*97*10*2*16*10**18*10**22*10**23*5~\nCAS*CO*24*40~",
    )
    [payment] = read(recount(text))
    adjustments = payment.claims[1].lines[0].adjustments
    assert [a.reason for a in adjustments] == ["50", "97", "16", "18", "22", "23", "24"]
    assert adjustments[1].quantity == Decimal("2") and adjustments[2].quantity is None
    assert codes(payment) == []


def test_svc_original_procedure_units_and_description() -> None:
    text = edit(
        "SVC*HC:17000*95.00*0**1~",
        "SVC*HC:17000:59::::DESTRUCT*95.00*0**2*HC:17003:XS*3~",
    )
    line = read(text)[0].claims[1].lines[0]
    assert line.procedure.modifiers == ["59"]
    assert line.procedure.description == "DESTRUCT"
    assert line.units == 2 and line.original_units == 3
    assert line.original_procedure is not None
    assert str(line.original_procedure) == "17003-XS"


def test_line_period_dates_and_claim_dates() -> None:
    text = edit("DTM*472*20250212~", "DTM*150*20250212~\nDTM*151*20250214~")
    text = edit("DTM*233*20250210~", "DTM*233*20250210~\nDTM*050*20250220~", text)
    [payment] = read(recount(text))
    line = payment.claims[1].lines[0]
    assert (line.service_date, line.service_date_end) == (date(2025, 2, 12), date(2025, 2, 14))
    assert payment.claims[0].received_date == date(2025, 2, 20)


def test_moa_mia_remarks_and_people() -> None:
    extra = (
        "NM1*IL*1*SUBSCRIBER*SAM****MI*W0009~\nNM1*74*1*TESTPATIENT*ALEXANDRA~\n"
        "NM1*82*1*DOCTOR*DANA****XX*1999999976~\nMOA***MA01*N1**N3*MA130~\n"
        "MIA*0***0*M1" + "*" * 14 + "*M2*M3*M4*M5~\nREF*F8*ICN0000~\n"
    )
    text = edit("NM1*QC*1*TESTPATIENT*ALEX****MI*W0001~\n", "NM1*QC*1*TESTPATIENT*ALEX~\n" + extra)
    [payment] = read(recount(text))
    claim = payment.claims[0]
    assert [(r.code, r.source) for r in claim.remarks] == [
        ("MA01", "MOA"),
        ("N1", "MOA"),
        ("N3", "MOA"),
        ("MA130", "MOA"),
        ("M1", "MIA"),
        ("M2", "MIA"),
        ("M3", "MIA"),
        ("M4", "MIA"),
        ("M5", "MIA"),
    ]
    assert claim.insured is not None and claim.insured.first_name == "SAM"
    assert claim.corrected_patient is not None
    assert claim.rendering_provider is not None
    assert claim.rendering_provider.identifier == "1999999976"
    assert claim.original_reference == "ICN0000"


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("CAS*CO*45*30.00~", "CAS*CO*45*31.00~", "line-imbalance"),
        ("CLP*DERM-1001*1*250.00", "CLP*DERM-1001*1*251.00", "claim-imbalance"),
        ("BPR*I*181.25", "BPR*I*180.00", "payment-imbalance"),
        ("SE*34*0001", "SE*33*0001", "segment-count"),
        ("SE*34*0001", "SE*34*0002", "control-number"),
        ("GE*1*101", "GE*2*101", "transaction-count"),
        ("IEA*1*000000101", "IEA*1*000000102", "control-number"),
        ("DTM*472*20250210", "DTM*472*20251332", "invalid-date"),
        (
            "BPR*I*181.25*C*ACH*CCP*01*999999999*DA*123456*1999999999**01*888888888*DA*654321*20250305",
            "BPR*I*181.25*C*ACH*CCP*01*999999999*DA*123456*1999999999**01*888888888*DA*654321*20002316",
            "invalid-date",
        ),
        ("005010X221A1", "5010", "version"),
        ("CAS*CO*50*95.00", "CAS*CR*50*95.00", "cas-group"),
        ("AMT*B6*80.00", "XYZ*B6*80.00", "unknown-segment"),
    ],
)
def test_warnings_are_reported_not_fatal(old: str, new: str, code: str) -> None:
    [payment] = read(edit(old, new))
    issues = payment.all_warnings
    assert code in [w.code for w in issues]
    assert all(w.segment > 0 and w.message for w in issues)


def test_invalid_date_becomes_none() -> None:
    [payment] = read(edit("DTM*232*20250210", "DTM*232*20002316"))
    assert payment.claims[0].statement_from is None
    [issue] = payment.claims[0].warnings
    assert (issue.code, issue.segment) == ("invalid-date", 17)


def test_interest_in_claim_payment_is_a_note() -> None:
    text = edit("CLP*DERM-1001*1*250.00*180.00", "CLP*DERM-1001*1*250.00*182.50")
    text = edit("DTM*233*20250210~", "DTM*233*20250210~\nAMT*I*2.50~", text)
    text = edit("BPR*I*181.25", "BPR*I*183.75", text)
    [payment] = read(recount(text))
    [issue] = payment.all_warnings
    assert (issue.code, issue.level) == ("interest-in-payment", "note")


def test_claim_level_cas_repeating_line_cas_is_flagged() -> None:
    text = edit("DTM*233*20250210~", "DTM*233*20250210~\nCAS*CO*45*50.00~")
    [payment] = read(recount(text))
    assert codes(payment) == ["claim-cas-duplicates-lines"]


def test_component_separator_in_data_differing_from_isa16() -> None:
    text = edit("SVC*HC:99213:25", "SVC*HC>99213>25")
    [payment] = read(text)
    assert str(payment.claims[0].lines[1].procedure) == "99213-25"
    assert [(w.code, w.level) for w in payment.warnings] == [("component-separator", "note")]


def test_several_transactions_and_interchanges() -> None:
    [payment] = read(VALID)
    text = VALID + VALID.replace("000000101", "000000102")
    payments = read(text)
    assert len(payments) == 2 and all(codes(p) == [] for p in payments)
    assert payments[1].header.interchange_control_number == "000000102"
    assert payments[1].claims[0].patient_control_number == payment.claims[0].patient_control_number


def test_non_835_transactions_are_skipped_when_the_file_has_an_835() -> None:
    other = "ST*277*9~BHT*0010~SE*3*9~\n"
    text = edit("GE*1*101", "GE*2*101", edit("ST*835*0001", other + "ST*835*0001"))
    [payment] = read(text)
    assert len(payment.claims) == 2 and codes(payment) == []


def test_plb_only_and_empty_transactions() -> None:
    start = VALID.index("LX*1~")
    end = VALID.index("PLB*")
    text = recount(VALID[:start] + VALID[end:]).replace("BPR*I*181.25", "BPR*I*1.25")
    [payment] = read(text)
    assert payment.claims == [] and len(payment.provider_adjustments) == 1
    assert codes(payment) == []
    empty = VALID[: VALID.index("BPR")] + "SE*2*0001~\nGE*1*101~\nIEA*1*000000101~\n"
    [payment] = read(empty)
    assert codes(payment) == ["empty-transaction"]


def test_file_starting_at_st_is_read_with_a_warning() -> None:
    text = VALID[VALID.index("ST*835") : VALID.index("GE*")]
    [payment] = read(text)
    assert len(payment.claims) == 2
    assert codes(payment) == ["no-envelope"]


MALFORMED = [
    ("empty.835", 0, "", "empty file"),
    ("whitespace_only.835", 0, "", "empty file"),
    ("not_x12.835", 1, "", "not an X12"),
    ("garbage.835", 1, "", "not an X12"),
    ("no_isa.835", 1, "GS", "must start with an ISA"),
    ("truncated_mid_segment.835", 24, "SVC", "no terminator"),
    ("truncated_no_se.835", 34, "LQ", "has no SE"),
    ("clp_before_bpr.835", 4, "CLP", "before BPR"),
    ("svc_before_clp.835", 15, "SVC", "before any CLP"),
    ("non_numeric_amount.835", 19, "SVC", "'12O.00' is not a number"),
    ("only_837.835", 3, "ST", "'837' is not an 835"),
    ("version_4010.835", 2, "GS", "4010 is not supported"),
]


@pytest.mark.parametrize(("name", "segment", "segment_id", "message"), MALFORMED)
def test_malformed_fixtures_raise_x12error(
    name: str, segment: int, segment_id: str, message: str
) -> None:
    with pytest.raises(X12Error) as info:
        read_payments(FIXTURES / name)
    err = info.value
    assert (err.segment, err.segment_id) == (segment, segment_id)
    assert message in err.message
    assert err.file.endswith(name) and name in str(err)


@pytest.mark.parametrize(
    ("old", "new", "segment", "message"),
    [
        ("LX*1~", "PLB*1*20251231*WO:X*1~\nLX*1~", 15, "after PLB"),
        ("REF*TJ*123456789~", "REF*TJ*123456789~\nLQ*HE*N1~", 14, "before any CLP"),
        ("N1*PE", "CAS*CO*45*1~\nN1*PE", 12, "before any CLP"),
        ("LQ*HE*N115~", "LQ*HE*N115~\nN1*PR*LATE PAYER~", 35, "out of order"),
        ("CAS*CO*45*30.00", "CAS*CO*45*", 21, "CAS03 adjustment amount is missing"),
        ("CAS*CO*45*30.00", "CAS*CO*45*30.00*x", 21, "CAS04 quantity 'x' is not a number"),
        ("AMT*B6*80.00", "AMT*B6*1e3", 27, "not a number"),
        ("CLP*DERM-1002*1*95.00", "CLP*DERM-1002*1*NaN", 28, "not a number"),
        ("SE*34*0001~\n", "", 36, "before the SE"),
        ("GE*1*101~\n", "", 37, "before the GE"),
        ("IEA*1*000000101~\n", "", 37, "has no IEA"),
        (
            "SVC*HC:17000*95.00*0**1~",
            "SVC*HC:17000*95.00*0**1~SVC*HC:17000~",
            31,
            "SVC02 line charge and SVC03 line payment are missing and cannot be derived",
        ),
        ("BPR*I*181.25", "BPR*I*9999999999999999999", 4, "BPR02 payment amount"),
        ("CAS*CO*45*30.00", "CAS*CO*45*30.00*1000000000", 21, "CAS04 quantity"),
        ("TRN*1*EFT0001", "TRN*1*EFT0001~\n\x01\x02*X", 6, "not a segment"),
    ],
)
def test_errors_name_the_segment(old: str, new: str, segment: int, message: str) -> None:
    with pytest.raises(X12Error) as info:
        read(edit(old, new))
    assert info.value.segment == segment
    assert message in info.value.message


def test_json_has_the_documented_shape() -> None:
    [payment] = read(VALID)
    data = payment_to_dict(payment)
    assert data["payer"] == {"name": "SYNTHETIC HEALTH PLAN", "id": "SYNPLAN"}
    assert data["payee"] == {
        "name": "EXAMPLE DERMATOLOGY",
        "npi": "1234567893",
        "tax_id": "123456789",
    }
    assert (data["payment_amount"], data["payment_method"]) == ("181.25", "ACH")
    assert (data["payment_date"], data["trace_number"]) == ("2025-03-05", "EFT0001")
    claim = data["claims"][0]
    for key in ("patient_control_number", "payer_claim_control_number", "status", "charge"):
        assert key in claim
    assert (claim["paid"], claim["patient_responsibility"]) == ("180.00", "20.00")
    line = claim["lines"][1]
    assert (line["procedure"], line["modifiers"], line["original_procedure"]) == (
        "99213",
        ["25"],
        None,
    )
    assert (line["units"], line["charge"], line["paid"]) == ("1", "100.00", "60.00")
    assert line["adjustments"][1] == {
        "group": "PR",
        "reason": "3",
        "amount": "20.00",
        "quantity": None,
    }
    assert data["claims"][1]["lines"][0]["remarks"] == [
        {"code": "N115", "source": "LQ", "qualifier": "HE"}
    ]
    assert data["provider_adjustments"][0]["reason"] == "L6"
    assert data["provider_adjustments"][0]["amount"] == "-1.25"
    json.dumps(data)


def test_streamed_json_equals_payment_to_dict() -> None:
    text = VALID + edit("DTM*232*20250210", "DTM*232*2025", VALID)
    out = io.StringIO()
    write_json(iter_remittance(text.encode(), "t"), out)
    streamed = json.loads(out.getvalue())
    assert streamed == {"payments": [payment_to_dict(p) for p in read(text)]}
    assert streamed["payments"][1]["claims"][0]["warnings"][0]["code"] == "invalid-date"


def test_text_summary() -> None:
    lines = list(format_text(iter_remittance(VALID.encode(), "t")))
    assert lines[0].startswith("Payment EFT0001 2025-03-05 ACH 181.25 from SYNTHETIC HEALTH PLAN")
    assert any("Claim DERM-1002 status 1 charge 95.00 paid 0" in line for line in lines)
    assert "Provider adjustment L6 ICN0001 -1.25" in lines[-2]


# --- numbers the database stores: ranges, places, dates ------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "segment", "element"),
    [
        ("BPR*I*181.25", "BPR*I*9999999999999999999", 4, "BPR02 payment amount"),
        ("BPR*I*181.25", "BPR*I*1000000000000", 4, "BPR02 payment amount"),
        ("CLP*DERM-1002*1*95.00", "CLP*DERM-1002*1*-1000000000000.00", 28, "CLP03 claim charge"),
        ("SVC*HC:17000*95.00*0", "SVC*HC:17000*95.00*1000000000000", 30, "SVC03 line payment"),
        ("CAS*CO*50*95.00", "CAS*CO*50*999999999999.995", 32, "CAS03 adjustment amount"),
        ("AMT*B6*80.00", "AMT*B6*1000000000000", 27, "AMT*B6 amount"),
        ("L6:ICN0001*-1.25", "L6:ICN0001*-1000000000000", 35, "PLB04 amount"),
        ("SVC*HC:17000*95.00*0**1", "SVC*HC:17000*95.00*0**1000000000", 30, "SVC05 units"),
        ("CAS*CO*50*95.00", "CAS*CO*50*95.00*1000000000.5", 32, "CAS04 quantity"),
    ],
)
def test_out_of_range_numbers_are_refused_naming_segment_and_element(
    old: str, new: str, segment: int, element: str
) -> None:
    with pytest.raises(X12Error) as info:
        read(edit(old, new))
    err = info.value
    assert err.segment == segment
    assert err.message.startswith(element)
    assert "out of range" in err.message
    assert err.file == "test.835"


def test_the_limits_are_the_database_columns() -> None:
    from appeals.models import Money, Units
    from appeals.x12 import reader

    money, units = Money(), Units()
    assert Decimal(10) ** (money.digits - money.places) == reader.MONEY_LIMIT
    assert money.places == reader.MONEY_PLACES
    assert Decimal(10) ** (units.digits - units.places) == reader.UNITS_LIMIT
    assert units.places == reader.UNITS_PLACES


def test_the_largest_amount_stored_is_read() -> None:
    text = edit("CAS*CO*50*95.00", "CAS*CO*50*999999999999.99")
    [payment] = read(text)
    assert payment.claims[1].lines[0].adjustments[0].amount == Decimal("999999999999.99")


def test_adjustments_adding_up_beyond_a_stored_amount_are_refused() -> None:
    text = edit("CAS*CO*50*95.00", "CAS*CO*50*600000000000*1*96*600000000000")
    with pytest.raises(X12Error) as info:
        read(text)
    assert (info.value.segment, info.value.segment_id) == (28, "CLP")
    assert "adjustments add up to 1,200,000,000,000" in info.value.message


@pytest.mark.parametrize(
    ("value", "rounded"),
    [("1.005", "1.01"), ("-1.005", "-1.01"), ("1.004", "1.00"), ("0.125", "0.13")],
)
def test_sub_cent_amounts_are_rounded_half_up_with_a_warning_on_the_segment(
    value: str, rounded: str
) -> None:
    [payment] = read(edit("AMT*B6*80.00", f"AMT*B6*{value}"))
    line = payment.claims[0].lines[1]
    assert line.amounts[0].amount == Decimal(rounded)
    [issue] = [w for w in payment.claims[0].warnings if w.code == "sub-cent-amount"]
    assert issue.segment == 27
    assert issue.message == (
        f"AMT*B6 amount {value} has more than 2 decimal places: read as {rounded} (rounded half up)"
    )


def test_sub_cent_amounts_warn_on_each_owner() -> None:
    text = edit("BPR*I*181.25", "BPR*I*181.245")
    text = edit("CLP*DERM-1002*1*95.00", "CLP*DERM-1002*1*95.001", text)
    text = edit("CAS*CO*50*95.00", "CAS*CO*50*95.004", text)
    text = edit("L6:ICN0001*-1.25", "L6:ICN0001*-1.251", text)
    [payment] = read(text)
    assert payment.header.payment_amount == Decimal("181.25")
    claim = payment.claims[1]
    assert (claim.charge, claim.lines[0].adjustments[0].amount) == (Decimal("95.00"),) * 2
    assert [(w.segment, w.code) for w in claim.warnings] == [
        (28, "sub-cent-amount"),
        (32, "sub-cent-amount"),
    ]
    assert [(w.segment, w.code) for w in payment.warnings] == [
        (4, "sub-cent-amount"),
        (35, "sub-cent-amount"),
    ]
    # The same text again (now a cache miss no more for clean values) warns again.
    [again] = read(text)
    assert codes(again) == codes(payment)


def test_units_keep_three_places_and_round_the_fourth() -> None:
    text = edit("SVC*HC:17000*95.00*0**1", "SVC*HC:17000*95.00*0**9.999")
    text = edit("CAS*CO*50*95.00", "CAS*CO*50*95.00*1.0005", text)
    [payment] = read(text)
    line = payment.claims[1].lines[0]
    assert line.units == Decimal("9.999")
    assert line.adjustments[0].quantity == Decimal("1.001")
    assert [(w.segment, w.code) for w in payment.claims[1].warnings] == [(32, "units-precision")]


@pytest.mark.parametrize("value", ["99991231", "18991231", "22000101"])
def test_dates_outside_the_years_counted_from_are_read_as_no_date(value: str) -> None:
    text = edit("DTM*472*20250212", f"DTM*472*{value}")
    text = edit("20250305~", f"{value}~", text)
    [payment] = read(text)
    assert payment.header.payment_date is None
    assert payment.claims[1].lines[0].service_date is None
    messages = [w.message for w in payment.all_warnings if w.code == "invalid-date"]
    assert len(messages) == 2
    assert all("outside the years 1900-2199" in m for m in messages)


def test_dates_at_the_edges_are_read() -> None:
    text = edit("DTM*472*20250212", "DTM*472*19000101")
    [payment] = read(edit("20250305~", "21991231~", text))
    assert payment.header.payment_date == date(2199, 12, 31)
    assert payment.claims[1].lines[0].service_date == date(1900, 1, 1)


# --- amounts left out that the balancing rules give exactly --------------------------------


def derived(payment: Payment) -> list[tuple[int, str]]:
    return [(w.segment, w.message) for w in payment.all_warnings if w.code == "derived-amount"]


def test_a_missing_line_charge_is_paid_plus_adjustments() -> None:
    [payment] = read(edit("SVC*HC:11102*150.00*120.00", "SVC*HC:11102**120.00"))
    assert payment.claims[0].lines[0].charge == Decimal("150.00")
    assert derived(payment) == [
        (
            19,
            "SVC02 line charge is missing: read as 150.00, the line payment 120.00 + line "
            "adjustments 30.00",
        )
    ]
    assert codes(payment) == ["derived-amount"]


def test_a_missing_line_payment_is_charge_minus_adjustments() -> None:
    [payment] = read(edit("SVC*HC:99213:25*100.00*60.00", "SVC*HC:99213:25*100.00*"))
    assert payment.claims[0].lines[1].paid == Decimal("60.00")
    assert [s for s, _ in derived(payment)] == [24]


def test_a_line_missing_both_amounts_takes_what_the_claim_leaves() -> None:
    [payment] = read(edit("SVC*HC:99213:25*100.00*60.00**1", "SVC*HC:99213:25******1"))
    line = payment.claims[0].lines[1]
    assert (line.charge, line.paid) == (Decimal("100.00"), Decimal("60.00"))
    [(segment, message)] = derived(payment)
    assert segment == 24 and "read as 100.00 and 60.00" in message
    assert codes(payment) == ["derived-amount"]


def test_a_line_missing_both_amounts_that_would_not_balance_is_refused() -> None:
    text = edit("SVC*HC:99213:25*100.00*60.00**1", "SVC*HC:99213:25******1")
    text = edit("CLP*DERM-1001*1*250.00", "CLP*DERM-1001*1*260.00", text)
    with pytest.raises(X12Error) as info:
        read(text)
    assert (info.value.segment, info.value.segment_id) == (24, "SVC")
    assert "do not balance" in info.value.message


def test_missing_claim_charge_and_payment_come_from_the_lines() -> None:
    [payment] = read(edit("CLP*DERM-1001*1*250.00*180.00*", "CLP*DERM-1001*1***"))
    claim = payment.claims[0]
    assert (claim.charge, claim.paid) == (Decimal("250.00"), Decimal("180.00"))
    assert [m.split(":")[0] for _, m in derived(payment)] == [
        "CLP03 claim charge is missing",
        "CLP04 claim payment is missing",
    ]
    assert codes(payment) == ["derived-amount"] * 2


def test_a_claim_with_neither_amount_nor_lines_is_left_out_with_a_warning() -> None:
    text = recount(edit("PLB*", "CLP*DERM-1003*22~\nPLB*"))
    [payment] = read(text)
    assert [c.patient_control_number for c in payment.claims] == ["DERM-1001", "DERM-1002"]
    [issue] = [w for w in payment.warnings if w.code == "claim-left-out"]
    assert issue.segment == 35
    assert "'DERM-1003' left out" in issue.message


def test_a_derived_amount_out_of_range_is_refused() -> None:
    text = edit("SVC*HC:11102*150.00*120.00", "SVC*HC:11102**999999999999.99")
    with pytest.raises(X12Error) as info:
        read(text)
    assert (info.value.segment, info.value.segment_id) == (19, "SVC")
    assert info.value.message.startswith("SVC02 line charge is missing and the amount derived")
    assert "out of range" in info.value.message
