"""Code lookups, appeal deadlines and the category-prior score."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from appeals import codes, deadlines, ranking


def test_known_codes_have_descriptions_and_dates() -> None:
    assert codes.carc("97").description.startswith("The benefit for this service is included")
    assert codes.carc("1").start_date == date(1995, 1, 1)
    assert codes.rarc("N115").known
    assert codes.group("CO").description == "Contractual Obligations"
    assert codes.claim_status("22").description == "Reversal of Previous Payment"


def test_unknown_codes_are_kept_and_shown_as_unknown() -> None:
    info = codes.carc(" zz9 ")
    assert (info.code, info.status, info.known) == ("ZZ9", "unknown", False)
    assert "Unknown" in codes.describe_rarc("X999")


def test_deactivated_codes_know_when_they_were_valid() -> None:
    info = codes.carc("15")
    assert info.status == "deactivated"


def test_medicare_deadline_counts_five_days_of_receipt() -> None:
    assert deadlines.payer_type_for("MB") == "medicare"
    assert deadlines.deadline(date(2026, 1, 1), "medicare") == date(2026, 5, 6)  # 5 + 120 days
    assert deadlines.deadline(date(2026, 1, 1), "medicare", 2) == date(2026, 7, 5)
    assert deadlines.deadline(date(2026, 1, 1), "medicare_advantage") == date(2026, 3, 2)
    assert deadlines.deadline(None, "medicare") is None
    assert deadlines.window("nobody", 4).payer_type == "other"


def test_priority_is_expected_dollars_raised_near_the_deadline() -> None:
    today = date(2026, 3, 1)
    far = ranking.score("medical_necessity", Decimal("200.00"), date(2026, 6, 1), today)
    near = ranking.score("medical_necessity", Decimal("200.00"), date(2026, 3, 10), today)
    gone = ranking.score("medical_necessity", Decimal("200.00"), date(2026, 2, 1), today)
    assert far.expected_recovery == Decimal("100.00")
    assert near.priority > far.priority > gone.priority == 0
    assert "category prior" in far.factors[0]
    assert "deadline passed" in gone.factors[-1]
