"""Dermatology coding checks on hand-made claims: each rule fires, and must not fire."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from appeals.rules import ACTIONS, LETTERS, ClaimFacts, Finding, LineFacts, check_line, tables
from appeals.rules.checks import distinct, expected_code

DOS = date(2026, 3, 2)


def ln(
    code: str,
    *modifiers: str,
    denied: str = "",
    rarcs: str = "",
    units: str = "1",
    docs: dict[str, str] | None = None,
    original: str = "",
    day: date = DOS,
) -> LineFacts:
    """A line; `denied` lists CAS codes such as "CO-97 CO-4" (empty: paid)."""
    adjustments = tuple(
        (code_.split("-")[0], code_.split("-")[1], Decimal("120.00")) for code_ in denied.split()
    )
    return LineFacts(
        procedure=code,
        modifiers=modifiers,
        units=Decimal(units),
        charge=Decimal("120.00"),
        paid=Decimal("0.00") if denied else Decimal("80.00"),
        original_procedure=original,
        service_date=day,
        adjustments=adjustments,
        rarcs=tuple(rarcs.split()),
        docs=docs or {},
    )


def claim(*lines: LineFacts, payer: str = "commercial", rarcs: str = "") -> ClaimFacts:
    return ClaimFacts(
        lines=lines,
        payer_type=payer,
        filing_indicator="MB" if payer == "medicare" else "CI",
        rarcs=tuple(rarcs.split()),
    )


def only(findings: list[Finding], rule_id: str) -> Finding:
    matching = [f for f in findings if f.rule_id == rule_id]
    assert len(matching) == 1, [f.rule_id for f in findings]
    return matching[0]


SEPARATE_EM = {"separate_em": "yes", "em_reason": "evaluated new rash on trunk, started topical"}
BACK_A = {"site": "back", "lesion_id": "A"}
ARM_B = {"site": "forearm", "lesion_id": "B", "laterality": "left"}

# (case id, claim, denied line index, rule id, action, text expected in suggested_change)
FIRES = [
    (
        "em-25-missing-documented",
        claim(ln("99213", denied="CO-4", docs=SEPARATE_EM), ln("11102")),
        0,
        "em-modifier-25",
        "corrected_claim",
        "add modifier 25 to line 1 (99213)",
    ),
    (
        "em-25-missing-undocumented",
        claim(ln("99214", rarcs="M15", denied="CO-97"), ln("17000")),
        0,
        "em-modifier-25",
        "corrected_claim",
        "add modifier 25",
    ),
    (
        "em-25-on-procedure",
        claim(ln("99213", denied="CO-97", docs=SEPARATE_EM), ln("11104", "25")),
        0,
        "em-modifier-25",
        "corrected_claim",
        "move modifier 25 from line 2 (11104) to line 1 (99213)",
    ),
    (
        "em-25-present-appeal",
        claim(ln("99213", "25", denied="CO-B15", docs=SEPARATE_EM), ln("11900")),
        0,
        "em-modifier-25",
        "appeal",
        "appeal line 1",
    ),
    (
        "em-25-not-separate",
        claim(ln("99212", "25", denied="CO-97", docs={"separate_em": "no"}), ln("17110")),
        0,
        "em-modifier-25",
        "write_off",
        "",
    ),
    (
        "ncci-distinct-sites",
        claim(ln("11102", docs=BACK_A), ln("17000", denied="CO-97", docs=ARM_B)),
        1,
        "ncci-pair",
        "corrected_claim",
        "add modifier XS",
    ),
    (
        "ncci-sites-undocumented",
        claim(ln("17311"), ln("11102", denied="CO-236")),
        1,
        "ncci-pair",
        "corrected_claim",
        "add modifier XS",
    ),
    (
        "ncci-xs-billed-appeal",
        claim(ln("11403", docs=BACK_A), ln("11104", "XS", denied="CO-97", docs=ARM_B)),
        1,
        "ncci-pair",
        "appeal",
        "appeal line 2",
    ),
    (
        "ncci-same-site-write-off",
        claim(ln("11403", docs=BACK_A), ln("11102", denied="CO-97", docs=BACK_A)),
        1,
        "ncci-pair",
        "write_off",
        "",
    ),
    (
        "repair-after-excision",
        claim(ln("11602"), ln("12032", denied="CO-97", docs={"repair_length_cm": "3.5"})),
        1,
        "repair-after-excision",
        "appeal",
        "CPT repair",
    ),
    (
        "addon-without-primary",
        claim(ln("11103", denied="CO-B15"), ln("99213", "25")),
        0,
        "addon-without-primary",
        "corrected_claim",
        "add primary 11102",
    ),
    (
        "mohs-addon-without-primary",
        claim(ln("17312", denied="CO-B15")),
        0,
        "addon-without-primary",
        "corrected_claim",
        "add primary 17311",
    ),
    (
        "17004-with-17000",
        claim(ln("17000"), ln("17004", denied="CO-97", docs={"lesion_count": "18"})),
        1,
        "destruction-17004-alone",
        "corrected_claim",
        "17004 alone",
    ),
    (
        "17003-units-vs-count",
        claim(ln("17000"), ln("17003", units="3", denied="CO-151", docs={"lesion_count": "8"})),
        1,
        "destruction-count",
        "corrected_claim",
        "17003 x7",
    ),
    (
        "17003-units-too-high",
        claim(ln("17000"), ln("17003", units="20", denied="CO-151")),
        1,
        "units-above-maximum",
        "corrected_claim",
        "17003 x13",
    ),
    (
        "excision-size-mismatch",
        claim(
            ln(
                "11402",
                denied="CO-16",
                docs={"lesion_size_cm": "1.2", "margin_cm": "0.6", "site": "back"},
            )
        ),
        0,
        "excision-code",
        "corrected_claim",
        "line 1 (11402) to 11403",
    ),
    (
        "excision-documented-diameter",
        claim(ln("11402", denied="CO-4", docs={"excised_diameter_cm": "2.4", "site": "chest"})),
        0,
        "excision-code",
        "corrected_claim",
        "to 11403",
    ),
    (
        "excision-site-group",
        claim(ln("11402", denied="CO-4", docs={"excised_diameter_cm": "1.5", "site": "nose"})),
        0,
        "excision-code",
        "corrected_claim",
        "to 11442",
    ),
    (
        "excision-malignant-pathology",
        claim(
            ln(
                "11403",
                denied="CO-11",
                docs={"excised_diameter_cm": "2.4", "site": "back", "pathology": "malignant"},
            )
        ),
        0,
        "excision-code",
        "corrected_claim",
        "to 11603",
    ),
    (
        "shave-size",
        claim(ln("11300", denied="CO-4", docs={"lesion_size_cm": "0.8", "site": "forearm"})),
        0,
        "excision-code",
        "corrected_claim",
        "to 11301",
    ),
    (
        "downcode-contradicted",
        claim(
            ln(
                "11402",
                original="11403",
                denied="CO-150",
                docs={"lesion_size_cm": "1.4", "margin_cm": "0.5", "site": "thigh"},
            )
        ),
        0,
        "excision-downcode",
        "appeal",
        "appeal for 11403",
    ),
    (
        "downcode-supported",
        claim(
            ln(
                "11402",
                original="11403",
                denied="CO-150",
                docs={"excised_diameter_cm": "1.8", "site": "thigh"},
            )
        ),
        0,
        "excision-downcode",
        "write_off",
        "",
    ),
    (
        "cosmetic-symptoms-documented",
        claim(
            ln(
                "17110",
                denied="CO-96",
                rarcs="N130",
                docs={"symptoms": "itching and bleeding when clothing rubs", "diagnosis": "L82.1"},
            )
        ),
        0,
        "cosmetic-vs-medical",
        "appeal",
        "appeal with the documented symptoms",
    ),
    (
        "cosmetic-inflamed-sk-diagnosis",
        claim(ln("11400", denied="CO-50", rarcs="N115", docs={"diagnosis": "L82.0"})),
        0,
        "cosmetic-vs-medical",
        "appeal",
        "",
    ),
    (
        "cosmetic-abn-bill-patient",
        claim(
            ln("11300", "GA", denied="PR-204", docs={"diagnosis": "L82.1", "symptoms": "none"}),
            payer="medicare",
        ),
        0,
        "cosmetic-vs-medical",
        "bill_patient",
        "bill the patient",
    ),
    (
        "cosmetic-gz-write-off",
        claim(ln("17110", "GZ", denied="CO-50", docs={"diagnosis": "L82.1"}), payer="medicare"),
        0,
        "cosmetic-vs-medical",
        "write_off",
        "",
    ),
    (
        "mohs-facts-present",
        claim(
            ln(
                "17311",
                denied="CO-50",
                docs={
                    "tumor_type": "basal cell carcinoma, nodular",
                    "site": "nose",
                    "lesion_size_cm": "0.8",
                    "recurrent": "no",
                    "immunosuppressed": "no",
                },
            ),
            ln("17312"),
        ),
        0,
        "mohs-appropriate-use",
        "appeal",
        "appeal with tumour type",
    ),
    (
        "mohs-facts-missing",
        claim(ln("17313", denied="CO-50", docs={"site": "back"})),
        0,
        "mohs-appropriate-use",
        "appeal",
        "",
    ),
    (
        "mohs-wrong-site-code",
        claim(ln("17313", denied="CO-4", docs={"site": "cheek"})),
        0,
        "mohs-site-code",
        "corrected_claim",
        "change 17313 to 17311",
    ),
    (
        "mohs-not-one-physician",
        claim(ln("17311", denied="CO-50", docs={"mohs_surgeon_is_pathologist": "no"})),
        0,
        "mohs-surgeon-pathologist",
        "write_off",
        "",
    ),
    (
        "laterality-both-on-one-line",
        claim(ln("11104", "RT", "LT", denied="CO-4")),
        0,
        "laterality",
        "corrected_claim",
        "split line 1",
    ),
    (
        "laterality-missing-documented-left",
        claim(ln("11104", denied="CO-4", docs={"laterality": "left", "site": "forearm"})),
        0,
        "laterality",
        "corrected_claim",
        "add modifier LT",
    ),
    (
        "same-code-twice-opposite-sides",
        claim(
            ln("11104", docs={"site": "forearm", "laterality": "right"}),
            ln("11104", denied="CO-18", docs={"site": "forearm", "laterality": "left"}),
        ),
        1,
        "repeat-line",
        "corrected_claim",
        "add LT to line 2 (11104) and RT",
    ),
    (
        "global-staged-needs-58",
        claim(
            ln(
                "11602",
                denied="CO-97",
                day=date(2026, 3, 9),
                docs={
                    "prior_procedure_date": "2026-03-02",
                    "prior_procedure_code": "11602",
                    "relationship_to_prior": "staged",
                },
            )
        ),
        0,
        "global-period",
        "corrected_claim",
        "add modifier 58",
    ),
    (
        "global-unrelated-79-billed",
        claim(
            ln(
                "11402",
                "79",
                denied="CO-97",
                day=date(2026, 3, 9),
                docs={
                    "prior_procedure_date": "2026-03-02",
                    "prior_procedure_code": "17000",
                    "relationship_to_prior": "unrelated",
                },
            )
        ),
        0,
        "global-period",
        "appeal",
        "",
    ),
    (
        "authorization-missing",
        claim(ln("17311", denied="CO-197")),
        0,
        "authorization",
        "retro_authorization",
        "retro-authorization",
    ),
    (
        "authorization-on-file",
        claim(ln("17311", denied="CO-197", docs={"authorization_number": "PA-123"})),
        0,
        "authorization",
        "appeal",
        "PA-123",
    ),
    (
        "eligibility",
        claim(ln("99213", denied="CO-27")),
        0,
        "eligibility",
        "verify_eligibility",
        "re-verify",
    ),
    (
        "medicare-unprocessable",
        claim(ln("11102", denied="CO-16", rarcs="M51"), payer="medicare", rarcs="MA130"),
        0,
        "medicare-unprocessable",
        "resubmit",
        "new claim",
    ),
    (
        "missing-info-commercial",
        claim(ln("11102", denied="CO-16", rarcs="M76")),
        0,
        "missing-info",
        "resubmit",
        "diagnosis code",
    ),
    (
        "pr-noncovered-with-abn",
        claim(ln("96372", "GA", denied="PR-50"), payer="medicare"),
        0,
        "patient-responsibility",
        "bill_patient",
        "bill the patient",
    ),
]

# (case id, claim, denied line index, rule id that must not appear)
QUIET = [
    (
        "em-alone-same-day",
        claim(ln("99213", denied="CO-97")),
        0,
        "em-modifier-25",
    ),
    (
        "em-with-another-em",
        claim(ln("99213", denied="CO-97"), ln("99212")),
        0,
        "em-modifier-25",
    ),
    (
        "em-denied-for-eligibility",
        claim(ln("99213", denied="CO-31"), ln("11102")),
        0,
        "em-modifier-25",
    ),
    (
        "em-procedure-other-day",
        claim(ln("99213", denied="CO-97"), ln("11102", day=date(2026, 3, 3))),
        0,
        "em-modifier-25",
    ),
    (
        "ncci-unpaired-codes",
        claim(ln("11102"), ln("11900", denied="CO-97")),
        1,
        "ncci-pair",
    ),
    (
        "ncci-not-a-bundling-denial",
        claim(ln("11102"), ln("17000", denied="CO-50")),
        1,
        "ncci-pair",
    ),
    (
        "repair-simple-not-appealed",
        claim(ln("11602"), ln("12002", denied="CO-97")),
        1,
        "repair-after-excision",
    ),
    (
        "addon-with-primary",
        claim(ln("11102"), ln("11103", denied="CO-97")),
        1,
        "addon-without-primary",
    ),
    (
        "17003-matches-count",
        claim(ln("17000"), ln("17003", units="7", denied="CO-151", docs={"lesion_count": "8"})),
        1,
        "destruction-count",
    ),
    (
        "17004-alone",
        claim(ln("17004", denied="CO-50", docs={"lesion_count": "20"})),
        0,
        "destruction-17004-alone",
    ),
    (
        "units-within-maximum",
        claim(ln("17000"), ln("17003", units="13", denied="CO-151")),
        1,
        "units-above-maximum",
    ),
    (
        "excision-consistent",
        claim(
            ln(
                "11403",
                denied="CO-97",
                docs={"lesion_size_cm": "1.4", "margin_cm": "0.5", "site": "back"},
            )
        ),
        0,
        "excision-code",
    ),
    (
        "excision-undocumented",
        claim(ln("11403", denied="CO-4")),
        0,
        "excision-code",
    ),
    (
        "no-downcode-without-svc06",
        claim(ln("11403", denied="CO-150")),
        0,
        "excision-downcode",
    ),
    (
        "cosmetic-not-a-benign-removal",
        claim(ln("11602", denied="CO-96", docs={"symptoms": "bleeding"})),
        0,
        "cosmetic-vs-medical",
    ),
    (
        "cosmetic-denied-for-bundling",
        claim(ln("11102"), ln("17110", denied="CO-97")),
        1,
        "cosmetic-vs-medical",
    ),
    (
        "mohs-denied-for-bundling",
        claim(ln("17311", denied="CO-97", docs={"site": "nose"})),
        0,
        "mohs-appropriate-use",
    ),
    (
        "mohs-site-code-matches",
        claim(ln("17313", denied="CO-50", docs={"site": "back"})),
        0,
        "mohs-site-code",
    ),
    (
        "mohs-one-physician",
        claim(ln("17311", denied="CO-50", docs={"mohs_surgeon_is_pathologist": "yes"})),
        0,
        "mohs-surgeon-pathologist",
    ),
    (
        "laterality-midline",
        claim(ln("11104", denied="CO-4", docs={"laterality": "midline"})),
        0,
        "laterality",
    ),
    (
        "laterality-present",
        claim(ln("11104", "LT", denied="CO-4", docs={"laterality": "left"})),
        0,
        "laterality",
    ),
    (
        "same-code-twice-with-modifier",
        claim(ln("11104", "RT"), ln("11104", "LT", denied="CO-18")),
        1,
        "repeat-line",
    ),
    (
        "global-outside-period",
        claim(
            ln(
                "11602",
                denied="CO-97",
                day=date(2026, 3, 20),
                docs={
                    "prior_procedure_date": "2026-03-02",
                    "prior_procedure_code": "11602",
                    "relationship_to_prior": "staged",
                },
            )
        ),
        0,
        "global-period",
    ),
    (
        "authorization-on-other-codes",
        claim(ln("17311", denied="CO-50")),
        0,
        "authorization",
    ),
    (
        "eligibility-on-other-codes",
        claim(ln("99213", denied="CO-97")),
        0,
        "eligibility",
    ),
    (
        "unprocessable-commercial",
        claim(ln("11102", denied="CO-16"), rarcs="MA130"),
        0,
        "medicare-unprocessable",
    ),
    (
        "missing-info-on-medicare-ma130",
        claim(ln("11102", denied="CO-16"), payer="medicare", rarcs="MA130"),
        0,
        "missing-info",
    ),
    (
        "pr-noncovered-contractual-group",
        claim(ln("96372", denied="CO-50")),
        0,
        "patient-responsibility",
    ),
]


@pytest.mark.parametrize(
    ("facts", "index", "rule_id", "action", "change"),
    [pytest.param(*case[1:], id=case[0]) for case in FIRES],
)
def test_rule_fires(facts: ClaimFacts, index: int, rule_id: str, action: str, change: str) -> None:
    finding = only(check_line(facts, index), rule_id)
    assert finding.action == action
    assert not finding.message[0].islower()
    assert change in finding.suggested_change
    assert finding.message and finding.badge
    assert finding.cite["procedure"] == facts.lines[index].billed_procedure


@pytest.mark.parametrize(
    ("facts", "index", "rule_id"), [pytest.param(*case[1:], id=case[0]) for case in QUIET]
)
def test_rule_stays_quiet(facts: ClaimFacts, index: int, rule_id: str) -> None:
    assert rule_id not in [f.rule_id for f in check_line(facts, index)]


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    assert {case[3] for case in FIRES} == {case[3] for case in QUIET}


def test_em_finding_lists_missing_documentation_and_cites_procedure() -> None:
    finding = only(check_line(claim(ln("99214", denied="CO-97"), ln("17000")), 0), "em-modifier-25")
    assert finding.missing == ["separate_em", "em_reason"]
    assert finding.cite["same_day_procedure"] == "17000"
    documented = only(
        check_line(claim(ln("99214", denied="CO-97", docs=SEPARATE_EM), ln("17000")), 0),
        "em-modifier-25",
    )
    assert documented.missing == []
    assert documented.cite["em_reason"] == SEPARATE_EM["em_reason"]


def test_ncci_cites_both_sites() -> None:
    finding = only(
        check_line(claim(ln("11102", docs=BACK_A), ln("17000", denied="CO-97", docs=ARM_B)), 1),
        "ncci-pair",
    )
    assert finding.cite["site_of_denied_line"] == "left forearm (lesion b)"
    assert finding.cite["site_of_other_line"] == "back (lesion a)"
    assert finding.missing == []


def test_ncci_without_sites_asks_for_them() -> None:
    finding = only(check_line(claim(ln("11102"), ln("17000", denied="CO-97")), 1), "ncci-pair")
    assert finding.missing == ["site", "lesion_id"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"site": "back"}, {"site": "chest"}, True),
        ({"site": "back", "lesion_id": "1"}, {"site": "back", "lesion_id": "2"}, True),
        (
            {"site": "forearm", "laterality": "left"},
            {"site": "forearm", "laterality": "right"},
            True,
        ),
        ({"site": "Back"}, {"site": "back "}, False),
        ({"site": "back"}, {}, None),
        ({}, {}, None),
    ],
)
def test_distinct_sites(a: dict[str, str], b: dict[str, str], expected: bool | None) -> None:
    assert distinct(a, b) is expected


@pytest.mark.parametrize(
    ("family", "group", "size", "code"),
    [
        ("excision_benign", "trunk_arms_legs", "0.5", "11400"),
        ("excision_benign", "trunk_arms_legs", "0.6", "11401"),
        ("excision_benign", "trunk_arms_legs", "2.0", "11402"),
        ("excision_benign", "trunk_arms_legs", "2.4", "11403"),
        ("excision_benign", "trunk_arms_legs", "4.1", "11406"),
        ("excision_malignant", "trunk_arms_legs", "1.9", "11602"),  # AAPC worked example
        ("excision_malignant", "scalp_neck_hands_feet_genitalia", "3.5", "11624"),
        ("excision_malignant", "face_ears_eyelids_nose_lips_mucous_membrane", "5", "11646"),
        ("shave", "trunk_arms_legs", "2.5", "11303"),
        ("shave", "scalp_neck_hands_feet_genitalia", "0.3", "11305"),
    ],
)
def test_size_bands(family: str, group: str, size: str, code: str) -> None:
    assert expected_code(family, group, Decimal(size)) == code


def test_medicare_corrected_claim_becomes_reopening() -> None:
    commercial = only(
        check_line(claim(ln("99213", denied="CO-4", docs=SEPARATE_EM), ln("11102")), 0),
        "em-modifier-25",
    )
    medicare = only(
        check_line(
            claim(ln("99213", denied="CO-4", docs=SEPARATE_EM), ln("11102"), payer="medicare"),
            0,
        ),
        "em-modifier-25",
    )
    assert commercial.action == "corrected_claim"
    assert medicare.action == "reopening"
    assert "reopening" in medicare.message


def test_medicare_advantage_is_not_reopened() -> None:
    finding = only(
        check_line(
            claim(
                ln("99213", denied="CO-4", docs=SEPARATE_EM),
                ln("11102"),
                payer="medicare_advantage",
            ),
            0,
        ),
        "em-modifier-25",
    )
    assert finding.action == "corrected_claim"


def test_unprocessable_medicare_turns_fixes_into_a_new_claim() -> None:
    findings = check_line(
        claim(
            ln("99213", denied="CO-16 CO-4", docs=SEPARATE_EM),
            ln("11102"),
            payer="medicare",
            rarcs="MA130",
        ),
        0,
    )
    assert [f.rule_id for f in findings] == ["medicare-unprocessable", "em-modifier-25"]
    assert {f.action for f in findings} == {"resubmit"}
    assert all(f.letter is None for f in findings)


def test_authorization_and_eligibility_route_before_coding() -> None:
    findings = check_line(
        claim(ln("17110", denied="CO-197 CO-96", docs={"symptoms": "bleeding"})), 0
    )
    assert [f.rule_id for f in findings] == ["authorization"]
    assert findings[0].letter is None
    findings = check_line(claim(ln("17311", denied="CO-109 CO-50")), 0)
    assert [f.action for f in findings] == ["verify_eligibility"]


def test_authorization_number_invalid_with_number_on_file() -> None:
    finding = only(
        check_line(claim(ln("17311", denied="CO-15", docs={"authorization_number": "A9"})), 0),
        "authorization",
    )
    assert finding.action == "corrected_claim"


def test_mohs_missing_facts_are_listed() -> None:
    finding = only(
        check_line(claim(ln("17313", denied="CO-50", docs={"site": "back"})), 0),
        "mohs-appropriate-use",
    )
    assert finding.missing == ["tumor_type", "lesion_size_cm", "recurrent", "immunosuppressed"]
    assert finding.letter == "medical_necessity"
    assert finding.cite["auc_area"] == "L"


def test_mohs_needs_one_physician() -> None:
    findings = check_line(
        claim(ln("17311", denied="CO-50", docs={"mohs_surgeon_is_pathologist": "no"})), 0
    )
    assert [f.rule_id for f in findings] == ["mohs-surgeon-pathologist"]
    assert findings[0].action == "write_off"


def test_cosmetic_negated_symptoms_do_not_count() -> None:
    finding = only(
        check_line(
            claim(ln("17110", denied="CO-96", docs={"symptoms": "no bleeding, denies itching"})),
            0,
        ),
        "cosmetic-vs-medical",
    )
    assert finding.action == "write_off"
    assert finding.missing == ["symptoms", "abn_on_file"]


def test_cosmetic_l82_1_with_inflammation_suggests_l82_0() -> None:
    finding = only(
        check_line(
            claim(
                ln(
                    "17110",
                    denied="CO-96",
                    docs={"symptoms": "inflamed, red", "diagnosis": "L82.1"},
                )
            ),
            0,
        ),
        "cosmetic-vs-medical",
    )
    assert "L82.0" in finding.suggested_change
    assert finding.cite["medical_reasons"] == "inflammation"


def test_ncci_pair_tables_are_symmetric() -> None:
    assert tables.pair_for("17000", "11102") is tables.pair_for("11102", "17000")
    assert tables.pair_for("11102", "11900") is None


def test_findings_round_trip_and_validate() -> None:
    finding = Finding("x", "message", "appeal", letter="bundling", cite={"a": "b"}, missing=["c"])
    assert Finding.from_dict(finding.to_dict()) == finding
    with pytest.raises(ValueError):
        Finding("x", "m", "sue")
    with pytest.raises(ValueError):
        Finding("x", "m", "appeal", letter="poem")


def test_every_finding_uses_known_actions_and_letters() -> None:
    for case in FIRES:
        for finding in check_line(case[1], case[2]):
            assert finding.action in ACTIONS
            assert finding.letter is None or finding.letter in LETTERS


def test_docs_argument_overrides_line_docs() -> None:
    facts = claim(ln("99213", denied="CO-4"), ln("11102"))
    finding = only(check_line(facts, 0, {"separate_em": "no"}), "em-modifier-25")
    assert finding.action == "write_off"
