"""Code lookups, appeal deadlines and the category-prior score."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from appeals import codes, deadlines, ranking
from classifiers import recovery


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
    first = deadlines.appeal_deadline(date(2026, 1, 1), "medicare")
    assert first.due == date(2026, 5, 6)  # 5 + 120 days
    assert first.basis == (
        "Redetermination: 120 days from the 01/01/2026 notice + 5 days' presumed receipt, "
        "42 CFR 405.942"
    )
    second = deadlines.appeal_deadline(date(2026, 1, 1), "medicare", 2)
    assert second.due == date(2026, 7, 5)
    assert "from the 01/01/2026 decision" in second.basis
    assert deadlines.appeal_deadline(date(2026, 1, 1), "medicare_advantage").due == date(2026, 3, 2)
    assert deadlines.appeal_deadline(None, "medicare").due is None
    assert deadlines.window("nobody", 4).payer_type == "other"


def test_the_payer_type_comes_from_each_claims_filing_indicator() -> None:
    assert deadlines.payer_type_for("16", "commercial") == "medicare_advantage"
    assert deadlines.payer_type_for("12", "medicare_advantage") == "commercial"
    assert deadlines.payer_type_for("", "medicaid") == "medicaid"  # CLP06 missing: payer default
    assert deadlines.payer_type_for("", "") == "other"


def test_corrected_claims_run_on_timely_filing_from_the_date_of_service() -> None:
    medicare = deadlines.denial_deadline(
        route="corrected_claim",
        payer_type="medicare",
        level=1,
        notice=date(2026, 8, 4),
        service_date=date(2026, 7, 13),
    )
    assert medicare.due == date(2027, 7, 13)
    assert medicare.basis == (
        "Timely filing: 12 months from the 07/13/2026 date of service, 42 CFR 424.44"
    )
    leap = deadlines.timely_filing_deadline(date(2028, 2, 29), "medicare")
    assert leap.due == date(2029, 2, 28)
    commercial = deadlines.denial_deadline(
        route="reopening",
        payer_type="commercial",
        level=1,
        notice=date(2026, 8, 4),
        service_date=date(2026, 7, 13),
    )
    assert commercial.due == date(2026, 10, 11)  # 90 days
    # After a corrected claim failed and went to appeal at level 2, the window governs again.
    later = deadlines.denial_deadline(
        route="corrected_claim",
        payer_type="commercial",
        level=2,
        notice=date(2026, 9, 1),
        service_date=date(2026, 7, 13),
    )
    assert later.due == date(2026, 10, 31)


def test_a_payers_own_window_replaces_the_default_and_says_so() -> None:
    override = deadlines.Override(days=65, receipt_days=0, source="Acme provider manual 2026")
    found = deadlines.denial_deadline(
        route="appeal",
        payer_type="commercial",
        level=1,
        notice=date(2026, 1, 1),
        service_date=None,
        overrides={("commercial", 1): override},
    )
    assert found.due == date(2026, 3, 7)
    assert found.basis.endswith("65 days from the 01/01/2026 notice, Acme provider manual 2026")


def test_levels_end_where_the_payer_types_appeals_end() -> None:
    assert deadlines.next_level("medicare", 1).name == "Reconsideration (QIC)"  # type: ignore[union-attr]
    assert deadlines.next_level("medicare", 4) is None
    assert deadlines.next_level("medicare_advantage", 1).level == 2  # type: ignore[union-attr]
    assert deadlines.next_level("medicaid", 1).name == "State fair hearing"  # type: ignore[union-attr]
    assert deadlines.next_level("other", 1) is None
    assert deadlines.amount_in_controversy(date(2026, 3, 1)) == Decimal("200")


def test_priority_is_expected_dollars_raised_near_the_deadline() -> None:
    today = date(2026, 3, 1)

    def at(deadline: date) -> ranking.Score:
        reasons = ["CO-50: 50% likely to be recovered (published rates)"]
        return ranking.combine(0.5, Decimal("200.00"), deadline, today, reasons)

    far, near, gone = at(date(2026, 6, 1)), at(date(2026, 3, 10)), at(date(2026, 2, 1))
    assert far.expected_recovery == Decimal("100.00")
    assert near.priority > far.priority > gone.priority == 0
    assert (
        far.factors
        == near.factors
        == gone.factors
        == ["CO-50: 50% likely to be recovered (published rates)"]
    )


def test_an_open_denials_deadline_is_a_reason_as_of_the_day_it_is_shown() -> None:
    """Stored reasons hold no deadline words (they would change daily); shown, an open denial
    near or past its deadline gets them as of that day, after its two strongest reasons."""
    stored = ranking.combine(0.5, Decimal("200.00"), date(2026, 3, 10), date(2026, 3, 1),
                             ["rate", "documentation", "allowed"]).explanation  # fmt: skip
    deadline = date(2026, 3, 10)

    def shown(status: str, today: date) -> list[str]:
        return ranking.shown_reasons(stored, deadline, status, today)

    assert shown("new", date(2026, 3, 1)) == ["rate", "documentation", "deadline in 9 days"]
    assert shown("in_progress", date(2026, 3, 2)) == ["rate", "documentation", "deadline in 8 days"]
    assert shown("new", date(2026, 3, 12))[-1] == "deadline passed 2 days ago"
    assert shown("new", date(2026, 1, 1)) == ["rate", "documentation", "allowed"]  # 68 days left
    assert shown("appealed", date(2026, 3, 1)) == ["rate", "documentation", "allowed"]
    # stored before the deadline's words were left out: the old words give way to today's
    old = '["rate", "documentation", "deadline in 12 days"]'
    assert ranking.shown_reasons(old, deadline, "new", date(2026, 3, 1))[-1] == "deadline in 9 days"
    assert ranking.shown_reasons(old, deadline, "new", date(2026, 1, 1)) == [
        "rate",
        "documentation",
    ]
    assert ranking.shown_reasons(old, deadline, "appealed", date(2026, 3, 1)) == [
        "rate",
        "documentation",
    ]
    for unreadable in ("not json", "null"):
        assert ranking.shown_reasons(unreadable, deadline, "new", date(2026, 3, 1)) == [
            "deadline in 9 days"
        ]


def test_a_rate_reason_quotes_the_most_specific_level_with_five_settled_outcomes() -> None:
    assert recovery.rate_basis(((4, 4), (7, 2), (30, 9), (90, 20))) == (1, 7, 2)
    by_type = recovery.rate_basis(((0, 0), (4, 1), (30, 9), (90, 20)))
    words = recovery.reason_words("CO-16", "11102", "Cobalt", "medicare", by_type, 0.4, "",
                                  None, 100.0)  # fmt: skip
    assert words == ["CO-16 with Medicare came back 30% of the time (of 30)"]
    practice = recovery.rate_basis(((0, 0), (0, 0), (4, 4), (5, 1)))
    words = recovery.reason_words("CO-16", "11102", "Cobalt", "medicare", practice, 0.4, "",
                                  None, 100.0)  # fmt: skip
    assert words == ["CO-16 at this practice came back 20% of the time (of 5)"]
    none = recovery.rate_basis(((4, 1), (4, 1), (4, 1), (4, 1)))
    assert none == (-1, 0, 0)
    words = recovery.reason_words("CO-16", "11102", "Cobalt", "medicare", none, 0.4, "", None,
                                  100.0)  # fmt: skip
    assert words == ["CO-16: 40% likely to be recovered (published rates)"]


def test_a_reason_names_the_procedure_or_says_the_whole_claim_was_denied() -> None:
    basis = recovery.rate_basis(((6, 3), (0, 0), (0, 0), (0, 0)))
    words = recovery.reason_words("CO-197", "17311", "Cobalt", "commercial", basis, 0.3, "",
                                  None, 100.0)  # fmt: skip
    assert words == ["CO-197 for 17311 at Cobalt came back 50% of the time (of 6)"]
    whole = recovery.reason_words("CO-197", "", "Cobalt", "commercial", basis, 0.3, "", None,
                                  100.0)  # fmt: skip
    assert whole == ["CO-197 on whole claims at Cobalt came back 50% of the time (of 6)"]
