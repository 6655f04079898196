"""835 files into the database: all-or-nothing, idempotent, denials found, recoveries closed."""

from __future__ import annotations

import gc
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
        assert em.expected_recovery == Decimal("82.50") and em.priority > 0
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
    assert (again.status, again.payments, again.duplicate_payments, again.claims) == (
        "imported",
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


def test_the_coding_checks_run_on_the_denials_a_file_created(engine) -> None:
    from appeals.findings import refresh_findings_for_files

    result = import_file(engine, FIXTURES / "derm_initial.835", today=TODAY)
    assert refresh_findings_for_files(engine, [result.file_id]) == 2


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
