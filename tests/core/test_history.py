"""Appeal history rows become Appeal records and move their denials' status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select

from appeals.history import import_appeal_history
from appeals.importer import import_file
from appeals.models import Appeal, Denial
from tests.conftest import FIXTURES

HEADER = (
    "patient_control_number,date_of_service,procedure,route,level,"
    "date_appealed,outcome,decision_date,recovered_amount\n"
)


def test_it_records_pending_and_lost_appeals(engine, tmp_path: Path) -> None:
    import_file(engine, FIXTURES / "derm_initial.835", today=date(2026, 1, 20))
    csv_path = tmp_path / "appeals.csv"
    csv_path.write_text(
        HEADER
        + "PCN1002,2025-12-03,99213,corrected_claim,1,2026-01-10,pending,,0.00\n"
        + "PCN1003,2024-01-15,,appeal,1,2026-01-12,lost,2026-02-20,0.00\n"
        + "PCN9999,2025-12-03,99213,appeal,1,2026-01-10,pending,,0.00\n"
    )
    with Session(engine) as session:
        report = import_appeal_history(session, csv_path)
        session.commit()
    assert report.appeals == 2
    assert report.unmatched == [(4, "no denial for this claim, date and procedure")]
    with Session(engine) as session:
        em = session.exec(select(Denial).where(Denial.procedure_code == "99213")).one()
        assert em.status == "corrected_claim_sent"
        late = session.exec(select(Denial).where(Denial.carc == "29")).one()
        assert late.status == "lost" and late.recovered_amount == Decimal("0.00")
        outcomes = sorted(a.outcome for a in session.exec(select(Appeal)))
        assert outcomes == ["", "lost"]


def test_it_refuses_a_file_without_the_needed_columns(engine, tmp_path: Path) -> None:
    csv_path = tmp_path / "appeals.csv"
    csv_path.write_text("patient_control_number,outcome\nPCN1,won\n")
    with Session(engine) as session:
        try:
            import_appeal_history(session, csv_path)
        except ValueError as error:
            assert "missing columns" in str(error)
        else:
            raise AssertionError("expected a ValueError")
