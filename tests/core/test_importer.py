"""835 files into the database: all-or-nothing, idempotent, denials found, recoveries closed."""

from __future__ import annotations

import gc
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from appeals.importer import import_file, import_paths
from appeals.models import (
    Adjustment,
    AuditEvent,
    Claim,
    Denial,
    DenialScore,
    Payer,
    Payment,
    Practice,
    Remark,
    RemittanceFile,
    ServiceLine,
)
from tests.conftest import FIXTURES

TODAY = date(2026, 1, 20)


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_it_stores_every_claim_line_adjustment_and_remark(engine) -> None:
    result = import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    assert (result.status, result.payments, result.claims, result.lines) == ("imported", 1, 3, 3)
    with Session(engine) as session:
        assert count(session, Claim) == 3
        assert count(session, ServiceLine) == 3
        assert count(session, Adjustment) == 6
        assert count(session, Remark) == 1
        practice = session.exec(select(Practice)).one()
        assert (practice.npi, practice.tax_id) == ("1234567893", "371234567")
        payer = session.exec(select(Payer)).one()
        assert (payer.identifier, payer.payer_type) == ("SUNNY01", "commercial")
        payment = session.exec(select(Payment)).one()
        assert (payment.amount, payment.trace_number, payment.method) == (
            Decimal("270.00"),
            "EFT0001",
            "ACH",
        )
        claim = session.exec(select(Claim).where(Claim.patient_control_number == "PCN1001")).one()
        assert (claim.charge, claim.paid, claim.member_id) == (
            Decimal("250.00"),
            Decimal("150.00"),
            "MEM0001",
        )
        assert claim.rendering_provider_npi == "1093817465"


def test_it_finds_denials_with_category_deadline_and_priority(engine) -> None:
    result = import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    assert result.denials == 2
    assert result.denied_amount == Decimal("650.00")
    assert result.by_category == {
        "bundling_ncci": [1, Decimal("150.00")],
        "timely_filing": [1, Decimal("500.00")],
    }
    with Session(engine) as session:
        em = session.exec(select(Denial).where(Denial.procedure_code == "99213")).one()
        assert (em.carc, em.rarc, em.category, em.action) == (
            "97",
            "M15",
            "bundling_ncci",
            "corrected_claim",
        )
        assert em.line_id is not None and em.service_date == date(2025, 12, 3)
        # A corrected claim runs on commercial timely filing: 90 days from the service date.
        assert em.deadline == date(2026, 3, 3)
        assert em.deadline_basis.startswith("Timely filing: 90 days from the 12/03/2025")
        assert em.payer_type == "commercial" and em.level_notice_on == em.denied_on
        score = session.get(DenialScore, em.id)
        assert score is not None and score.expected_recovery == Decimal("82.50")
        assert score.priority > 0
        whole = session.exec(select(Denial).where(Denial.line_id.is_(None))).one()
        assert (whole.carc, whole.denied_amount) == ("29", Decimal("500.00"))


def test_the_same_file_twice_is_stored_once(engine, tmp_path: Path) -> None:
    copy = tmp_path / "renamed.835"
    shutil.copy(FIXTURES / "derm_initial.835", copy)
    first, second = import_paths(engine, [FIXTURES / "derm_initial.835", copy], today=TODAY)
    assert (first.status, second.status) == ("imported", "duplicate")
    with Session(engine) as session:
        assert count(session, RemittanceFile) == 1
        assert count(session, Claim) == 3


def test_a_payment_resent_in_another_file_is_not_posted_twice(engine) -> None:
    import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    again = import_file(engine, FIXTURES / "derm_initial_resent.835", today=TODAY)
    # every payment of the file is stored already: the file is "already imported"
    assert (again.status, again.payments, again.duplicate_payments, again.claims) == (
        "duplicate",
        0,
        1,
        0,
    )
    with Session(engine) as session:
        assert count(session, Payment) == 1
        assert count(session, Denial) == 2


def test_a_later_payment_closes_the_denial(engine) -> None:
    import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    result = import_file(engine, FIXTURES / "derm_repayment.835", today=TODAY)
    assert (result.recovered, result.recovered_amount) == (1, Decimal("90.00"))
    with Session(engine) as session:
        em = session.exec(select(Denial).where(Denial.procedure_code == "99213")).one()
        assert (em.status, em.recovered_amount) == ("won", Decimal("90.00"))
        assert em.closed_by_claim_id is not None
        still_open = session.exec(select(Denial).where(Denial.carc == "29")).one()
        assert still_open.status == "new"
        assert session.exec(select(AuditEvent).where(AuditEvent.entity == "denial")).one()


def test_a_broken_file_imports_nothing_and_names_the_problem(engine, tmp_path: Path) -> None:
    text = (FIXTURES / "derm_initial.835").read_text()
    broken = tmp_path / "broken.835"
    broken.write_text(text.replace("SVC*HC:17000*250*120", "SVC*HC:17000*250*ABC"))
    result = import_file(engine, broken, today=TODAY)
    assert result.status == "failed"
    assert "broken.835" in result.error and "segment" in result.error
    with Session(engine) as session:
        assert count(session, RemittanceFile) == 0
        assert count(session, Claim) == 0


def test_other_files_still_import_when_one_fails(engine, tmp_path: Path) -> None:
    bad = tmp_path / "a_not_x12.835"
    bad.write_text("hello, this is not an 835")
    results = import_paths(engine, [bad, FIXTURES / "derm_initial.835"], today=TODAY)
    assert [r.status for r in results] == ["failed", "imported"]


@pytest.mark.parametrize(
    "sample", ["lfh-x12__managed-care.835", "oopx12__835_WithMultipleInterchanges.835"]
)
def test_real_world_samples_import(engine, sample: str) -> None:
    from tests.conftest import SAMPLES

    result = import_file(engine, SAMPLES / sample, today=TODAY)
    assert result.status == "imported", result.error
    assert result.claims > 0


def test_a_user_of_one_practice_cannot_import_another_practices_file(engine) -> None:
    with Session(engine) as session:
        other = Practice(name="Someone Else Dermatology", npi="1999999992")
        session.add(other)
        session.commit()
        other_id = other.id
    result = import_file(engine, FIXTURES / "derm_initial.835", practice_id=other_id, today=TODAY)
    assert result.status == "failed"
    assert "MAPLE DERMATOLOGY ASSOCIATES is not your practice" in result.error
    with Session(engine) as session:
        assert count(session, Claim) == 0
        assert count(session, Practice) == 1


def test_the_import_checks_and_ranks_the_denials_it_creates(engine) -> None:
    """Each new denial is stored once, as the coding checks and `ranking.rescore` leave it."""
    from appeals import ranking
    from appeals.findings import refresh_findings, refresh_findings_for_files

    result = import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    assert refresh_findings_for_files(engine, [result.file_id]) == 0  # nothing left pending
    columns = (
        Denial.id,
        Denial.findings,
        Denial.action,
        Denial.deadline,
        DenialScore.probability,
        DenialScore.priority,
        DenialScore.explanation,
        DenialScore.ranker,
        DenialScore.stake,
        DenialScore.expected_recovery,
    )
    query = select(*columns).join(DenialScore, DenialScore.id == Denial.id).order_by(Denial.id)
    with Session(engine) as session:
        stored = session.exec(query).all()
        ids = [row.id for row in stored]
        assert len(ids) == 2 and all(row.findings and row.explanation for row in stored)
        assert refresh_findings(session, ids, rescore=False) == 0
        ranking.rescore(session, ids, TODAY)
        session.commit()
        assert session.exec(query).all() == stored


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_garbage_collector_is_as_it_was_after_an_import(engine, enabled_before: bool) -> None:
    seen_during: list[bool] = []
    (gc.enable if enabled_before else gc.disable)()
    try:
        import_paths(
            engine,
            [FIXTURES / "derm_initial.835"],
            today=TODAY,
            progress=lambda *_: seen_during.append(gc.isenabled()),
        )
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()
    assert seen_during and not any(seen_during)


# --- reversals, statistics, COPY ----------------------------------------------------------

REVERSALS = """\
CLP*PCN1001*22*-250*-150**12*ICN0001*11*1~
NM1*QC*1*TESTPATIENT*ALPHA****MI*MEM0001~
DTM*232*20251201~
SVC*HC:11102*-250*-150**1~
DTM*472*20251201~
CAS*CO*45*-70~
CAS*PR*2*-30~
CLP*PCN1001*1*250*160**12*ICN0001C*11*1~
NM1*QC*1*TESTPATIENT*ALPHA****MI*MEM0001~
REF*F8*ICN0001~
DTM*232*20251201~
SVC*HC:11102*250*160**1~
DTM*472*20251201~
CAS*CO*45*60~
CAS*PR*2*30~
CLP*PCN1002*22*-400*-120**12*ICN0002*11*1~
NM1*QC*1*TESTPATIENT*BRAVO****MI*MEM0002~
DTM*232*20251203~
SVC*HC:99213*-150*0**1~
DTM*472*20251203~
CAS*CO*97*-150~
LQ*HE*M15~
SVC*HC:17000*-250*-120**1~
DTM*472*20251203~
CAS*CO*45*-100~
CAS*PR*2*-30~
CLP*PCN1002*1*400*125**12*ICN0002C*11*1~
NM1*QC*1*TESTPATIENT*BRAVO****MI*MEM0002~
REF*F8*ICN0002~
DTM*232*20251203~
SVC*HC:99213*150*0**1~
DTM*472*20251203~
CAS*CO*97*150~
LQ*HE*M15~
SVC*HC:17000*250*125**1~
DTM*472*20251203~
CAS*CO*45*95~
CAS*PR*2*30~
PLB*1234567893*20261231*WO:ICN0003*5~
"""


def reversal_file(tmp_path: Path) -> Path:
    """A later remittance of the same payer: a fee-schedule change reverses and corrects
    PCN1001 and PCN1002 (whose 99213 is denied again), with a PLB recoupment."""
    text = (FIXTURES / "derm_initial.835").read_text()
    head, _, rest = text.partition("CLP*PCN1001")
    tail = rest[rest.index("SE*") :]
    head = head.replace("BPR*I*270*", "BPR*I*10*")
    head = head.replace("20260105~\nTRN", "20260205~\nTRN")
    head = head.replace("EFT0001", "EFT0009")
    body = head + REVERSALS
    count = body.count("~\n") - body[: body.index("ST*835")].count("~\n") + 1
    tail = f"SE*{count}*0001~" + tail[tail.index("~") + 1 :]
    path = tmp_path / "reversals.835"
    path.write_text(body + tail)
    return path


def test_a_reversal_points_at_the_claim_it_reverses(engine, tmp_path: Path) -> None:
    import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    result = import_file(engine, reversal_file(tmp_path), today=TODAY)
    assert result.status == "imported", result.error
    assert (result.claims, result.warnings, result.repeats) == (4, 0, 1)
    with Session(engine) as session:
        claims = session.exec(select(Claim).order_by(Claim.id)).all()
        by_number = {(c.payer_claim_control_number, c.is_reversal): c for c in claims}
        for number in ("ICN0001", "ICN0002"):
            reversal, original = by_number[number, True], by_number[number, False]
            assert reversal.reverses_claim_id == original.id
        assert all(c.reverses_claim_id is None for c in claims if not c.is_reversal)
        em = session.exec(select(Denial).where(Denial.procedure_code == "99213")).one()
        assert (em.repeat_count, em.last_denied_on) == (1, date(2026, 2, 5))


def plan(connection, statement) -> str:  # type: ignore[no-untyped-def]
    """SQLite's EXPLAIN QUERY PLAN of a Core statement, as one line of text."""
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    params = [compiled.params[name] for name in compiled.positiontup]
    rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(params)).all()
    return " | ".join(row[-1] for row in rows)


def test_the_reversal_lookup_uses_the_claim_number_index(engine, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from appeals import db
    from appeals.importer import reversal_lookup

    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    # 5,000 more claims of the same payer, so that a scan of the payer's claims is costly.
    names = [c.name for c in Claim.__table__.c if c.name != "id"]
    copied = ", ".join("'GEN' || i" if n == "payer_claim_control_number" else n for n in names)
    lookup = reversal_lookup(["ICN0001", "ICN0002"])
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
            f"INSERT INTO claim ({', '.join(names)}) SELECT {copied} FROM claim, n "
            "WHERE claim.id = (SELECT min(id) FROM claim)"
        )
        before = plan(connection, lookup)
        db.analyze(connection)  # with statistics as well as without
        after = plan(connection, lookup)
        connection.execute(sa.text("DROP TABLE IF EXISTS sqlite_stat1"))
    for found in (before, after):
        assert "ix_claim_payer_claim_control_number" in found, found
        assert "ix_claim_payer_id" not in found and "SCAN" not in found, found


def test_the_planner_statistics_are_refreshed_when_the_claims_double(
    engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from appeals import importer
    from appeals.models import AppState

    monkeypatch.setattr(importer, "ANALYZE_FROM", 3)
    import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)  # 3 claims: analysed
    with Session(engine) as session:
        assert session.get(AppState, importer.ANALYZED_AT).value == "3"
    assert not importer.refresh_statistics(engine)  # not doubled since
    import_file(engine, FIXTURES / "derm_repayment.835", today=TODAY)
    with Session(engine) as session:
        assert session.get(AppState, importer.ANALYZED_AT).value == "3"
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            stats = connection.execute(sa.text("SELECT count(*) FROM sqlite_stat1")).scalar()
            connection.execute(sa.text("DROP TABLE IF EXISTS sqlite_stat1"))
        assert stats


def stored_rows(engine) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Every table's rows in id order, without the columns that hold the time of writing."""
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    written = {"imported_at", "created_at", "updated_at", "at", "closed_at"}
    rows: dict[str, list[tuple]] = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.c if c.name not in written]
            order = list(table.primary_key.columns)
            rows[table.name] = [
                tuple(r) for r in connection.execute(sa.select(*columns).order_by(*order))
            ]
    return rows


def test_copy_and_inserts_store_the_same_rows(
    engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The COPY path (PostgreSQL) and the executemany path store identical rows: a file with
    reversals and PLB after an earlier one, documentation, coding checks, a recovery."""
    from appeals import importer
    from appeals.documentation import import_documentation_csv
    from appeals.findings import refresh_findings_for_files
    from tests.conftest import empty_database

    reversals = reversal_file(tmp_path)
    documentation = tmp_path / "documentation.csv"
    documentation.write_text(
        "patient_control_number,date_of_service,procedure,field,value\n"
        "PCN1002,2025-12-03,,separate_em,yes\n"
        "PCN1002,2025-12-03,99213,em_reason,new rash evaluated\n"
        "PCN1003,2024-01-15,,symptoms,bleeding\n"
    )
    snapshots = []
    for copy in (True, False):
        monkeypatch.setattr(importer, "COPY", copy)
        for path in (FIXTURES / "derm_initial.835", reversals, FIXTURES / "derm_repayment.835"):
            result = import_file(engine, path, today=TODAY)
            assert result.status == "imported", result.error
            refresh_findings_for_files(engine, [result.file_id])
            if path == reversals:
                with Session(engine) as session:
                    import_documentation_csv(session, None, documentation)
                    session.commit()
        with Session(engine) as session:
            assert session.exec(select(Denial).where(Denial.findings != "[]")).first()
            assert session.exec(select(Claim).where(Claim.reverses_claim_id.is_not(None))).first()
        snapshots.append(stored_rows(engine))
        empty_database(engine)
    with_copy, with_inserts = snapshots
    assert with_copy["provideradjustment"] and with_copy["documentationfact"]
    assert with_copy == with_inserts


def test_the_import_stores_the_findings_the_checks_would(engine, tmp_path: Path) -> None:
    """Each batch's new denials are checked by the import itself, with the documentation
    already stored for them: checking the stored rows again changes nothing."""
    from appeals.documentation import import_documentation_csv
    from appeals.findings import refresh_findings
    from tests.remits import Line, RemitClaim, write_remittance

    paid = Line("17000", "250.00", "120.00", [("CO", "45", "130.00")])
    claims = [RemitClaim("PCN2001", [paid]), RemitClaim("PCN2002", [paid])]
    earlier = write_remittance(tmp_path, "earlier.835", "TRC-EARLIER", date(2026, 8, 3), claims)
    assert import_file(engine, earlier, today=TODAY).status == "imported"
    documentation = tmp_path / "documentation.csv"  # documented on the claim already stored
    documentation.write_text(
        "patient_control_number,date_of_service,procedure,field,value\n"
        "PCN2001,2026-07-13,,separate_em,yes\n"
        "PCN2001,2026-07-13,,em_reason,new rash evaluated\n"
    )
    with Session(engine) as session:
        report = import_documentation_csv(session, None, documentation)
        session.commit()
    assert not report.unmatched
    # the payer's second look at both claims denies the E/M billed with them
    em_denied = [Line("99213", "150.00", "0", [("CO", "97", "150.00")], ["M15"]), paid]
    claims = [RemitClaim("PCN2001", em_denied, "12", "2"), RemitClaim("PCN2002", em_denied)]
    later = write_remittance(tmp_path, "later.835", "TRC-LATER", date(2026, 9, 1), claims)
    for path in (FIXTURES / "derm_initial.835", reversal_file(tmp_path), later):
        result = import_file(engine, path, today=TODAY)
        assert result.status == "imported", result.error
    with Session(engine) as session:
        denials = session.exec(select(Denial)).all()
        assert denials and all(d.findings for d in denials)
        missing = {
            d.patient_control_number: [f.get("missing") for f in json.loads(d.findings)]
            for d in denials
            if d.patient_control_number in ("PCN2001", "PCN2002")
        }
        assert missing["PCN2002"] == [["separate_em", "em_reason"]]
        assert ["separate_em", "em_reason"] not in missing["PCN2001"]
        assert refresh_findings(session, [d.id for d in denials], rescore=False) == 0


def test_a_later_payment_of_the_same_file_pays_or_denies_again_what_an_earlier_one_denied(
    engine, tmp_path: Path
) -> None:
    """Within one file (on PostgreSQL looked up in memory beside the stored rows, while the
    earlier payment's rows are still being written): a payment closes the denial an earlier
    payment of the file opened, and a denial repeated by a later payment attaches to it."""
    from tests.remits import Line, RemitClaim, remittance

    denied = Line("11102", "150.00", "0", [("CO", "97", "150.00")], ["M15"])
    paid = Line("11102", "150.00", "110.00", [("CO", "45", "40.00")])
    first = remittance(
        "TRC-SAME-1",
        date(2026, 8, 3),
        [RemitClaim("PCN3001", [denied]), RemitClaim("PCN3002", [denied])],
    )
    second = remittance(
        "TRC-SAME-2",
        date(2026, 9, 1),
        [RemitClaim("PCN3001", [paid]), RemitClaim("PCN3002", [denied])],
    )
    path = tmp_path / "both.835"
    path.write_text(first + second)
    result = import_file(engine, path, today=TODAY)
    assert (result.status, result.payments, result.repeats) == ("imported", 2, 1), result.error
    with Session(engine) as session:
        rows = session.exec(select(Denial).order_by(Denial.patient_control_number)).all()
    assert [(d.patient_control_number, d.status, d.repeat_count) for d in rows] == [
        ("PCN3001", "won", 0),
        ("PCN3002", "new", 1),
    ]
    assert rows[0].recovered_amount == Decimal("110.00")


def test_a_new_payers_type_comes_from_the_first_claim_that_names_one(
    engine, tmp_path: Path
) -> None:
    """A claim without CLP06 first: the batch is still checked and stored as Medicare's."""
    from appeals.models import Payer
    from tests.remits import Line, RemitClaim, write_remittance

    line = Line("11102", "150.00", "0", [("CO", "16", "150.00")], ["MA130"])
    claims = [RemitClaim("PCN4001", [line], ""), RemitClaim("PCN4002", [line], "MB")]
    path = write_remittance(
        tmp_path, "mb.835", "TRC-MB", date(2026, 8, 3), claims, payer_id="MEDICARE9"
    )
    assert import_file(engine, path, today=TODAY).status == "imported"
    with Session(engine) as session:
        payer = session.exec(select(Payer).where(Payer.identifier == "MEDICARE9")).one()
        assert payer.payer_type == "medicare"
        types = session.exec(select(Denial.payer_type).order_by(Denial.patient_control_number))
        assert list(types) == ["medicare", "medicare"]
