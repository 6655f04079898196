"""Documentation facts: validation, CSV import, facts per line, findings stored and refreshed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from appeals import create_app
from appeals.commands.documentation import documentation_group, findings_command
from appeals.documentation import (
    DocumentationImportError,
    facts_for_line,
    import_documentation_csv,
    normalise_value,
    save_fact,
    split_site,
    validate_field,
)
from appeals.findings import (
    compute_findings,
    refresh_findings,
    refresh_for_documentation,
    stored_findings,
)
from appeals.models import Denial, DocumentationFact
from tests.factories import DOS, make_claim, make_denial

HEADER = "patient_control_number,date_of_service,procedure,field,value\n"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("lesion_size_cm", "2.4", None),
        ("lesion_size_cm", "0", "must be greater than 0"),
        ("lesion_size_cm", "30", "must be less than 30"),
        ("lesion_size_cm", "two", "must be a number"),
        ("lesion_size_cm", "NaN", "must be a number"),
        ("margin_cm", "0", None),
        ("margin_cm", "-0.2", "must not be negative"),
        ("lesion_count", "3.5", "must be a whole number"),
        ("lesion_count", "12", None),
        ("diagnosis", "L82.0, D48.5", None),
        ("diagnosis", "L820", None),
        ("diagnosis", "82.0", "not an ICD-10-CM code: 82.0"),
        ("abn_on_file", "Yes", None),
        ("abn_on_file", "maybe", "must be yes or no"),
        ("site", "Upper arm", None),
        ("site", "elsewhere", "unknown site 'elsewhere'"),
        ("site", "upper back", None),
        ("site", "Dorsal hand", None),
        ("site", "lower leg", "unknown site 'lower leg'"),
        ("site", "left cheek", "give 'left' as the laterality and 'cheek' as the site"),
        ("laterality", "LEFT", None),
        ("laterality", "up", "must be one of"),
        ("prior_procedure_date", "2026-02-20", None),
        ("prior_procedure_date", "yesterday", "must be a date"),
        ("prior_procedure_code", "11602", None),
        ("prior_procedure_code", "116", "5-character"),
        ("symptoms", "itching and bleeding", None),
        ("symptoms", "", None),
        ("clinical_summary", "letters' free-text field", None),
        ("favourite_colour", "blue", "unknown field 'favourite_colour'"),
    ],
)
def test_validate_field(field: str, value: str, error: str | None) -> None:
    result = validate_field(field, value)
    if error is None:
        assert result is None
    else:
        assert result is not None and error in result


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("abn_on_file", "Y", "yes"),
        ("site", "Upper Arm", "upper_arm"),
        ("site", "upper back", "back"),
        ("site", "posterior neck", "neck"),
        ("diagnosis", "l82.0,  d48.5", "L82.0 D48.5"),
        ("lesion_size_cm", "2.40", "2.4"),
        ("prior_procedure_date", "02/20/2026", "2026-02-20"),
        ("symptoms", "  Itching ", "Itching"),
    ],
)
def test_normalise_value(field: str, value: str, stored: str) -> None:
    assert normalise_value(field, value) == stored


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("left cheek", ("cheek", "left")),
        ("Right upper back", ("back", "right")),
        ("R upper arm", ("upper_arm", "right")),
        ("Cheek, L", ("cheek", "left")),
        ("left-sided nose", ("nose", "left")),
        ("bilateral ear", ("ear", "bilateral")),
        ("midline chest", ("chest", "midline")),
        ("upper arm", ("upper_arm", "")),
        ("mucous membrane", ("mucous_membrane", "")),
        ("left and right cheek", None),
        ("left", None),
        ("left lower leg", None),
        ("", None),
    ],
)
def test_split_site_reads_laterality_and_site_from_one_value(
    value: str, parsed: tuple[str, str] | None
) -> None:
    assert split_site(value) == parsed


def test_import_reads_laterality_and_site_from_one_value(session: Session, tmp_path: Path) -> None:
    made = em_with_biopsy(session)
    path = write_csv(
        tmp_path,
        [
            "PCN100,2026-03-02,11102,site,left cheek",  # row 2: site and laterality
            "PCN100,2026-03-02,,site,right upper back",  # row 3: date-wide, with a qualifier
            "PCN100,2026-03-02,99213,site,left lower leg",  # row 4: no listed site
        ],
    )
    report = import_documentation_csv(session, None, path)
    assert (report.rows, report.created) == (3, 4)
    assert [(p.row, p.field, p.reason.split(";")[0]) for p in report.invalid] == [
        (4, "site", "unknown site 'left lower leg'")
    ]
    facts = session.exec(select(DocumentationFact)).all()
    assert sorted((f.procedure_code, f.field, f.value) for f in facts) == [
        ("", "laterality", "right"),
        ("", "site", "back"),
        ("11102", "laterality", "left"),
        ("11102", "site", "cheek"),
    ]
    biopsy = next(line for line in made.lines if line.procedure_code == "11102")
    assert facts_for_line(session, made.claim, biopsy) == {"site": "cheek", "laterality": "left"}


def write_csv(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "facts.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def em_with_biopsy(session: Session, pcn: str = "PCN100", payer_type: str = "commercial"):  # type: ignore[no-untyped-def]
    return make_claim(
        session,
        [
            {"procedure": "99213", "adjustments": [("CO", "4", "110.00")]},
            {"procedure": "11102"},
        ],
        patient_control_number=pcn,
        payer_type=payer_type,
        category="coding_modifier",
    )


def test_import_upserts_facts_and_reports_every_problem(session: Session, tmp_path: Path) -> None:
    made = em_with_biopsy(session)
    path = write_csv(
        tmp_path,
        [
            "PCN100,2026-03-02,,separate_em,yes",  # row 2: date-wide
            "PCN100,2026-03-02,11102,site,back",  # row 3: one procedure
            "PCN100,03/02/2026,11102,lesion_size_cm,0.6",  # row 4: US date format
            "PCN999,2026-03-02,,symptoms,itching",  # row 5: no such claim
            "PCN100,2026-03-09,,symptoms,itching",  # row 6: no line that day
            "PCN100,2026-03-02,17000,site,back",  # row 7: no such procedure that day
            "PCN100,2026-03-02,11102,lesion_size_cm,31",  # row 8: out of range
            "PCN100,2026-03-02,,favourite_colour,blue",  # row 9: unknown field
            "PCN100,not a date,,symptoms,itching",  # row 10: bad date
            "PCN100,2026-03-02,,abn_on_file,perhaps",  # row 11: bad yes/no
        ],
    )
    report = import_documentation_csv(session, None, path)
    assert (report.rows, report.created, report.updated) == (10, 3, 0)
    assert [(p.row, p.reason) for p in report.unmatched] == [
        (5, "no claim with patient control number PCN999"),
        (6, "no service line on 2026-03-09 for this patient control number"),
        (7, "no line with procedure 17000 on 2026-03-02"),
    ]
    assert [(p.row, p.field) for p in report.invalid] == [
        (8, "lesion_size_cm"),
        (9, "field"),
        (10, "date_of_service"),
        (11, "abn_on_file"),
    ]
    facts = session.exec(select(DocumentationFact)).all()
    assert sorted((f.procedure_code, f.field, f.value, f.source) for f in facts) == [
        ("", "separate_em", "yes", "csv"),
        ("11102", "lesion_size_cm", "0.6", "csv"),
        ("11102", "site", "back", "csv"),
    ]
    assert report.claim_ids == {made.claim.id}

    again = import_documentation_csv(
        session,
        made.practice.id,
        write_csv(
            tmp_path,
            [
                "PCN100,2026-03-02,,separate_em,no",
                "PCN100,2026-03-02,11102,site,back",
            ],
        ),
    )
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)


def test_import_refreshes_the_findings_of_the_claims_denials(
    session: Session, tmp_path: Path
) -> None:
    made = em_with_biopsy(session)
    refresh_findings(session)
    before = stored_findings(made.denials[0])
    assert [f.rule_id for f in before] == ["em-modifier-25"]
    assert before[0].missing == ["separate_em", "em_reason"]

    path = write_csv(tmp_path, ["PCN100,2026-03-02,,em_reason,new rash on the trunk evaluated"])
    report = import_documentation_csv(session, made.practice.id, path)
    assert report.denials_refreshed == 1
    after = stored_findings(session.get(Denial, made.denials[0].id))
    assert after[0].missing == []
    assert after[0].cite["em_reason"] == "new rash on the trunk evaluated"
    assert after[0].suggested_change == "add modifier 25 to line 1 (99213)"


def test_import_for_one_practice_ignores_another_practices_claims(
    session: Session, tmp_path: Path
) -> None:
    mine = em_with_biopsy(session, pcn="SHARED1")
    em_with_biopsy(session, pcn="SHARED1")  # same number at another practice
    report = import_documentation_csv(
        session, mine.practice.id, write_csv(tmp_path, ["SHARED1,2026-03-02,,separate_em,yes"])
    )
    assert report.created == 1
    assert report.claim_ids == {mine.claim.id}
    everyone = import_documentation_csv(
        session, None, write_csv(tmp_path, ["SHARED1,2026-03-02,,separate_em,yes"])
    )
    assert (everyone.created, everyone.unchanged) == (1, 1)


def test_import_rejects_a_file_without_the_columns(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("pcn,date,value\nA,2026-03-02,x\n", encoding="utf-8")
    with pytest.raises(DocumentationImportError, match="missing column"):
        import_documentation_csv(session, None, path)


def test_facts_for_line_merge_date_and_procedure_facts(session: Session) -> None:
    made = make_claim(session, [{"procedure": "11402"}, {"procedure": "17000"}])
    for procedure, name, value in [
        ("", "site", "back"),
        ("", "diagnosis", "D48.5"),
        ("11402", "site", "nose"),
        ("17000", "lesion_count", "3"),
    ]:
        assert (
            save_fact(
                session,
                made.practice.id,
                made.claim.patient_control_number,
                DOS,
                procedure,
                name,
                value,
            )
            is None
        )
    excision, destruction = made.lines
    assert facts_for_line(session, made.claim, excision) == {"site": "nose", "diagnosis": "D48.5"}
    assert facts_for_line(session, made.claim, destruction) == {
        "site": "back",
        "diagnosis": "D48.5",
        "lesion_count": "3",
    }


def test_save_fact_validates_refreshes_and_deletes(session: Session) -> None:
    made = make_claim(
        session,
        [{"procedure": "11402", "adjustments": [("CO", "4", "150.00")]}],
        category="coding_modifier",
    )
    pcn, practice_id = made.claim.patient_control_number, made.practice.id
    assert save_fact(session, practice_id, pcn, DOS, "11402", "lesion_size_cm", "-1") is not None
    assert session.exec(select(DocumentationFact)).all() == []
    save_fact(session, practice_id, pcn, DOS, "11402", "excised_diameter_cm", "2.4")
    save_fact(session, practice_id, pcn, DOS, "11402", "site", "chest")
    denial = session.get(Denial, made.denials[0].id)
    assert [f.suggested_change for f in stored_findings(denial)] == [
        "change line 1 (11402) to 11403"
    ]
    save_fact(session, practice_id, pcn, DOS, "11402", "site", "")
    assert stored_findings(session.get(Denial, made.denials[0].id)) == []
    assert [f.field for f in session.exec(select(DocumentationFact)).all()] == [
        "excised_diameter_cm"
    ]


def test_compute_findings_reads_payer_codes_and_remarks(session: Session) -> None:
    made = make_claim(
        session,
        [
            {"procedure": "99213", "adjustments": [("CO", "97", "110.00")], "rarcs": ["M15"]},
            {"procedure": "17000"},
        ],
        payer_type="medicare",
    )
    findings = compute_findings(session, made.denials[0])
    assert [(f.rule_id, f.action) for f in findings] == [("em-modifier-25", "reopening")]


def test_compute_findings_for_an_unprocessable_medicare_claim(session: Session) -> None:
    made = make_claim(
        session,
        [{"procedure": "11102"}],
        payer_type="medicare",
        claim_adjustments=[("CO", "16", "120.00")],
        claim_rarcs=["MA130", "M51"],
    )
    denial = make_denial(session, made.claim, None, category="missing_invalid_info")
    findings = compute_findings(session, denial)
    assert [(f.rule_id, f.action) for f in findings] == [("medicare-unprocessable", "resubmit")]
    assert "procedure code" in findings[0].message


def test_refresh_findings_skips_closed_denials_unless_named(session: Session) -> None:
    made = em_with_biopsy(session)
    denial = made.denials[0]
    denial.closed_at = denial.created_at
    session.add(denial)
    assert refresh_findings(session) == 0
    assert denial.findings == ""
    assert refresh_findings(session, [denial.id]) == 1
    assert json.loads(denial.findings)[0]["rule_id"] == "em-modifier-25"
    assert refresh_findings(session, [denial.id]) == 0  # unchanged


# --- command line --------------------------------------------------------------------------


@pytest.fixture
def runner(database_url: str, engine: Engine):  # type: ignore[no-untyped-def]
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    return app.test_cli_runner()


def test_cli_imports_and_reports_rows(runner, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        em_with_biopsy(session, pcn="CLI1")
        session.commit()
    path = write_csv(
        tmp_path,
        [
            "CLI1,2026-03-02,,separate_em,yes",
            "CLI1,2026-03-02,,lesion_size_cm,abc",
            "NOPE,2026-03-02,,symptoms,itching",
        ],
    )
    result = runner.invoke(documentation_group, ["import", str(path)])
    assert result.exit_code == 1
    assert "imported 1, updated 0" in result.output
    assert "unmatched 1, invalid 1" in result.output
    assert "row 3: invalid lesion_size_cm: must be a number" in result.output
    assert "row 4: unmatched: no claim with patient control number NOPE" in result.output
    with Session(engine) as session:
        assert len(session.exec(select(DocumentationFact)).all()) == 1

    clean = write_csv(tmp_path, ["CLI1,2026-03-02,,separate_em,yes"])
    result = runner.invoke(documentation_group, ["import", str(clean)])
    assert result.exit_code == 0, result.output
    assert "unchanged 1" in result.output


def test_cli_rejects_a_bad_file(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(documentation_group, ["import", str(path)])
    assert result.exit_code != 0
    assert "missing column(s)" in result.output


def test_cli_lists_findings_as_table_and_json(runner, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        made = em_with_biopsy(session, pcn="CLI2")
        closed = em_with_biopsy(session, pcn="CLOSED")
        closed.denials[0].closed_at = closed.denials[0].created_at
        session.add(closed.denials[0])
        session.commit()
        denial_id = made.denials[0].id
    table = runner.invoke(findings_command, [])
    assert table.exit_code == 0, table.output
    assert "CLI2" in table.output and "em-modifier-25" in table.output
    assert "add modifier 25 to line 1 (99213)" in table.output
    assert "CLOSED" not in table.output
    listed = json.loads(runner.invoke(findings_command, ["--format", "json"]).output)
    assert [(r["denial_id"], r["procedure"], r["rule_id"], r["action"]) for r in listed] == [
        (denial_id, "99213", "em-modifier-25", "corrected_claim")
    ]


def test_cli_findings_without_denials(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(findings_command, [])
    assert result.exit_code == 0
    assert "No findings" in result.output


def test_dates_are_matched_on_the_line_date(session: Session, tmp_path: Path) -> None:
    made = make_claim(
        session,
        [
            {"procedure": "11102", "service_date": date(2026, 3, 2)},
            {"procedure": "17000", "service_date": date(2026, 3, 4)},
        ],
        patient_control_number="TWODAYS",
    )
    report = import_documentation_csv(
        session, made.practice.id, write_csv(tmp_path, ["TWODAYS,2026-03-04,17000,lesion_count,4"])
    )
    assert report.created == 1 and not report.unmatched
    assert facts_for_line(session, made.claim, made.lines[1]) == {"lesion_count": "4"}
    assert facts_for_line(session, made.claim, made.lines[0]) == {}


def test_the_commands_are_registered() -> None:
    from appeals.cli import main

    assert main.get_command(None, "findings") is findings_command  # type: ignore[arg-type]
    assert main.get_command(None, "documentation") is documentation_group  # type: ignore[arg-type]


DOC = Path(__file__).resolve().parents[2] / "docs" / "documentation-csv.md"


def test_the_csv_format_page_lists_every_field_and_site() -> None:
    from appeals.documentation import FIELDS
    from appeals.rules import tables

    text = DOC.read_text(encoding="utf-8")
    assert [f.name for f in FIELDS if f"| `{f.name}` |" not in text] == []
    assert [s for s in tables.sites() if f"`{s}`" not in text] == []


def test_the_csv_format_page_example_is_valid() -> None:
    import csv
    import io

    block = DOC.read_text(encoding="utf-8").split("```")[1]
    rows = list(csv.DictReader(io.StringIO(block.strip())))
    assert len(rows) == 7
    assert [validate_field(r["field"], r["value"]) for r in rows] == [None] * 7


def test_a_coding_finding_decides_the_recommended_action() -> None:
    """CO-97 alone says corrected claim; a check that finds the repair was separate says appeal."""
    from appeals.findings import recommended_action
    from appeals.models import Denial
    from appeals.rules import Finding

    denial = Denial(
        practice_id=1,
        payer_id=1,
        claim_id=1,
        patient_control_number="P",
        category="bundling_ncci",
        action="corrected_claim",
        group_code="CO",
        carc="97",
        rarcs="M15",
    )
    assert recommended_action(denial, []) == "corrected_claim"
    finding = Finding(rule_id="x", message="m", action="appeal", badge="b")
    assert recommended_action(denial, [finding]) == "appeal"


def test_save_fact_can_leave_the_refresh_to_the_caller(session: Session) -> None:
    made = make_claim(
        session,
        [{"procedure": "11402", "adjustments": [("CO", "4", "150.00")]}],
        category="coding_modifier",
    )
    pcn, practice_id = made.claim.patient_control_number, made.practice.id
    for name, value in (("excised_diameter_cm", "2.4"), ("site", "chest")):
        assert (
            save_fact(session, practice_id, pcn, DOS, "11402", name, value, refresh=False) is None
        )
    assert stored_findings(session.get(Denial, made.denials[0].id)) == []
    refresh_for_documentation(session, practice_id, pcn, DOS)
    assert [
        f.suggested_change for f in stored_findings(session.get(Denial, made.denials[0].id))
    ] == ["change line 1 (11402) to 11403"]


def test_import_applies_rows_in_order_as_one_upsert_each_would(
    session: Session, tmp_path: Path
) -> None:
    """The set-wise CSV import answers, row by row, what `_upsert` one row at a time answers,
    and stores the same facts (a field set, changed, cleared and set again in one file)."""
    from appeals.documentation import _upsert

    made = em_with_biopsy(session)
    save_fact(session, made.practice.id, "PCN100", DOS, "", "symptoms", "itching")
    save_fact(session, made.practice.id, "PCN100", DOS, "", "diagnosis", "L82.0")
    rows = [
        ("", "separate_em", "yes"),  # created
        ("", "separate_em", "yes"),  # unchanged
        ("", "separate_em", "no"),  # updated
        ("", "symptoms", ""),  # deleted (stored before)
        ("", "symptoms", ""),  # unchanged: already gone
        ("11102", "site", "back"),  # created
        ("11102", "site", ""),  # deleted in the same file
        ("11102", "site", "chest"),  # created again
        ("", "diagnosis", "L82.0"),  # unchanged (stored before)
        ("", "diagnosis", "L82.1"),  # updated
    ]
    path = write_csv(tmp_path, [f"PCN100,2026-03-02,{p},{f},{v}" for p, f, v in rows])
    report = import_documentation_csv(session, None, path)
    assert (report.created, report.updated, report.unchanged, report.deleted) == (3, 2, 3, 2)
    setwise = sorted(
        (f.procedure_code, f.field, f.value, f.source)
        for f in session.exec(select(DocumentationFact)).all()
    )
    # The same rows through `_upsert`, one query each, from the same starting facts.
    for fact in session.exec(select(DocumentationFact)).all():
        session.delete(fact)
    session.flush()
    save_fact(session, made.practice.id, "PCN100", DOS, "", "symptoms", "itching")
    save_fact(session, made.practice.id, "PCN100", DOS, "", "diagnosis", "L82.0")
    outcomes = [
        _upsert(session, made.practice.id, "PCN100", DOS, p, f, v, "csv", None) for p, f, v in rows
    ]
    counted = {k: outcomes.count(k) for k in ("created", "updated", "unchanged", "deleted")}
    assert counted == {"created": 3, "updated": 2, "unchanged": 3, "deleted": 2}
    one_by_one = sorted(
        (f.procedure_code, f.field, f.value, f.source)
        for f in session.exec(select(DocumentationFact)).all()
    )
    assert (
        setwise
        == one_by_one
        == [
            ("", "diagnosis", "L82.1", "csv"),
            ("", "separate_em", "no", "csv"),
            ("11102", "site", "chest", "csv"),
        ]
    )
