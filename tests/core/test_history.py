"""Appeal history CSV: rows become the lifecycle's appeals, once, or are reported by row."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from appeals import lifecycle
from appeals.history import (
    ALL_COLUMNS,
    COLUMNS,
    HistoryFormatError,
    Invalid,
    export_appeal_history,
    import_appeal_history,
)
from appeals.importer import import_file
from appeals.models import Appeal, AuditEvent, Denial
from appeals.synth import generate
from tests.factories import make_claim, make_denial
from tests.remits import Line, RemitClaim, write_remittance

NOTICE = date(2026, 8, 4)
DOS = date(2026, 7, 13)
TODAY = date(2026, 11, 20)
HEADER = ",".join(COLUMNS)


def denied(pcn: str, amount: str = "200", procedure: str = "11102") -> RemitClaim:
    line = Line(procedure, amount, adjustments=[("CO", "50", amount)], rarcs=["N115"])
    return RemitClaim(pcn, [line])


def write_csv(folder: Path, *rows: str, header: str = HEADER) -> Path:
    path = folder / "history.csv"
    path.write_text("\n".join((header, *rows)) + "\n")
    return path


def history(engine: Engine, path: Path):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        report = import_appeal_history(session, path, today=TODAY)
        session.commit()
    return report


def denial_of(session: Session, pcn: str) -> Denial:
    return session.exec(select(Denial).where(Denial.patient_control_number == pcn)).one()


def counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        appeals = session.exec(select(func.count()).select_from(Appeal)).one()
        events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    return appeals, events


def test_the_synthetic_history_round_trips_and_imports_once(engine: Engine, tmp_path: Path) -> None:
    summary = generate(tmp_path, seed=17, months=4, claims_per_month=60)
    for path in sorted(tmp_path.glob("*.835")):
        import_file(engine, path)
    with open(tmp_path / "appeals.csv", newline="") as handle:
        given = [tuple(row[c] for c in ALL_COLUMNS) for row in csv.DictReader(handle)]
    assert any(row[4] == "2" for row in given), "the seed should reach a second level"

    with Session(engine) as session:
        report = import_appeal_history(session, tmp_path / "appeals.csv", today=summary.end)
        session.commit()
    assert (report.unmatched, report.invalid) == ([], [])
    assert (report.rows, report.recorded, report.already_recorded) == (len(given), len(given), 0)
    before = counts(engine)

    with Session(engine) as session:
        out = io.StringIO()
        assert export_appeal_history(session, out) == len(given)
        sources = set(session.exec(select(Appeal.source)).all())
    exported = [tuple(row.values()) for row in csv.DictReader(io.StringIO(out.getvalue()))]
    assert sorted(exported) == sorted(given)
    assert sources <= {"history", "rule"}

    with Session(engine) as session:
        again = import_appeal_history(session, tmp_path / "appeals.csv", today=summary.end)
        session.commit()
    assert (again.recorded, again.already_recorded) == (0, len(given))
    assert counts(engine) == before


def test_lost_at_level_one_then_won_at_level_two(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, write_remittance(tmp_path, "n.835", "T-1", NOTICE, [denied("LEVELS")]))
    path = write_csv(
        tmp_path,
        # Level 2 first: a denial's rows are applied in level order whatever the file order.
        "LEVELS,07/13/2026,11102,sunny01,2,2026-10-01,mail,won,2026-11-02,$150.00",
        "LEVELS,2026-07-13,11102,SUNNY HEALTH PLAN,1,2026-08-10,portal,lost,2026-09-01,",
    )
    report = history(engine, path)
    assert (report.recorded, report.invalid, report.unmatched) == (2, [], [])
    with Session(engine) as session:
        denial = denial_of(session, "LEVELS")
        assert (denial.status, denial.recovered_amount, denial.appeal_level) == (
            "won",
            Decimal("150.00"),
            2,
        )
        first, second = lifecycle.appeals_of(session, denial.id or 0)
        assert (first.level, first.outcome, first.closed_on, first.method) == (
            1,
            "lost",
            date(2026, 9, 1),
            "portal",
        )
        assert (second.level, second.outcome, second.recovered_amount, second.source) == (
            2,
            "won",
            Decimal("150.00"),
            "history",
        )
        assert second.submitted_on == date(2026, 10, 1)


def test_invalid_rows_are_reported_by_number_and_field_and_not_stored(
    engine: Engine, tmp_path: Path
) -> None:
    claims = [denied(f"BAD{n}") for n in range(1, 7)]
    import_file(engine, write_remittance(tmp_path, "n.835", "T-2", NOTICE, claims))
    path = write_csv(
        tmp_path,
        "BAD1,2026-07-13,11102,,1,2026-08-10,portal,partial,2026-09-01,",
        "BAD2,2026-07-13,11102,,1,2026-13-10,pigeon,,,",
        "BAD3,2026-07-13,11102,,0,2026-08-10,fax,won,2026-09-01,",
        "BAD4,2026-07-13,11102,,1,2026-08-10,fax,won,2026-08-01,",
        "BAD5,2026-07-13,11102,,1,2026-08-10,fax,won,2026-09-01,250.00",
        "BAD6,2026-07-13,11102,,1,2026-08-10,fax,maybe,2026-09-01,",
    )
    report = history(engine, path)
    assert report.recorded == 0
    assert report.invalid == [
        Invalid(2, "amount_recovered", "A partial win needs the amount recovered."),
        (3, "date_sent", "Enter a date as YYYY-MM-DD."),
        (
            3,
            "method",
            "Choose how it was sent: portal, fax, mail, phone or electronic claim.",
        ),
        (4, "level", "Enter the appeal level as a whole number: 1, 2, …"),
        (5, "decision_date", "The decision is dated before the appeal (08/10/2026)."),
        (6, "amount_recovered", "More than the $200.00 denied."),
        (
            7,
            "outcome",
            "Use won, partial, lost or withdrawn, or leave it empty while the appeal is pending.",
        ),
    ]
    assert counts(engine)[0] == 0
    with Session(engine) as session:
        assert {d.status for d in session.exec(select(Denial))} == {"new"}


def test_a_level_that_cannot_follow_is_refused_with_the_reason(
    engine: Engine, tmp_path: Path
) -> None:
    claims = [denied("CHAIN"), denied("AFTER")]
    import_file(engine, write_remittance(tmp_path, "n.835", "T-7", NOTICE, claims))
    path = write_csv(
        tmp_path,
        "CHAIN,2026-07-13,11102,,1,2026-08-10,portal,lost,2026-09-01,",
        "CHAIN,2026-07-13,11102,,2,2026-09-10,portal,lost,2026-10-01,",
        "CHAIN,2026-07-13,11102,,3,2026-10-10,portal,won,2026-11-01,",
        "AFTER,2026-07-13,11102,,1,2026-08-10,portal,partial,2026-09-01,",
        "AFTER,2026-07-13,11102,,2,2026-09-10,portal,won,2026-10-01,",
    )
    report = history(engine, path)
    assert report.recorded == 2
    assert report.invalid == [
        (4, "level", "This payer has no appeal level 3."),
        (5, "amount_recovered", "A partial win needs the amount recovered."),
        (6, "level", "Not recorded because row 5 (level 1 of the same denial) was not."),
    ]
    with Session(engine) as session:
        chain = denial_of(session, "CHAIN")
        assert (chain.status, chain.appeal_level) == ("lost", 2)
        assert denial_of(session, "AFTER").status == "new"


def test_rows_that_match_no_denial_are_listed_with_the_reason(
    engine: Engine, tmp_path: Path
) -> None:
    import_file(engine, write_remittance(tmp_path, "n.835", "T-3", NOTICE, [denied("HERE")]))
    path = write_csv(
        tmp_path,
        "NOWHERE,2026-07-13,11102,,1,2026-08-10,portal,,,",
        "HERE,2026-07-14,11102,,1,2026-08-10,portal,,,",
        "HERE,2026-07-13,17000,,1,2026-08-10,portal,,,",
        "HERE,2026-07-13,,,1,2026-08-10,portal,,,",
        "HERE,2026-07-13,11102,OTHER PLAN,1,2026-08-10,portal,,,",
        "HERE,2026-07-13,11102-59,,1,2026-08-10,portal,,,",
    )
    report = history(engine, path)
    assert report.unmatched == [
        (2, "no denial with patient control number NOWHERE"),
        (3, "no denial on 2026-07-14 for this patient control number"),
        (4, "no denied line with procedure 17000 on 2026-07-13"),
        (
            5,
            "no denial of the whole claim on 2026-07-13: give the procedure of the denied line",
        ),
        (6, "no denial from payer OTHER PLAN for this line"),
    ]
    assert (report.recorded, report.invalid) == (1, [])  # modifiers after the code are ignored
    with Session(engine) as session:
        assert denial_of(session, "HERE").status == "appealed"


def test_a_pending_appeal_is_decided_by_a_later_file_but_not_contradicted(
    engine: Engine, tmp_path: Path
) -> None:
    import_file(engine, write_remittance(tmp_path, "n.835", "T-4", NOTICE, [denied("LATER")]))
    sent = "LATER,2026-07-13,11102,,1,2026-08-10,fax"
    assert history(engine, write_csv(tmp_path, f"{sent},,,")).recorded == 1
    decided = history(engine, write_csv(tmp_path, f"{sent},lost,2026-09-15,0.00"))
    assert (decided.recorded, decided.already_recorded) == (1, 0)
    with Session(engine) as session:
        assert denial_of(session, "LATER").status == "lost"
    # The pending row again is what is stored already; a different decision is refused.
    assert history(engine, write_csv(tmp_path, f"{sent},,,")).already_recorded == 1
    contradicted = history(engine, write_csv(tmp_path, f"{sent},won,2026-09-15,"))
    assert contradicted.invalid == [
        (
            2,
            "outcome",
            "Level 1 is already recorded as appeal, sent 08/10/2026 by fax, lost 09/15/2026 "
            "($0.00); change it in the app if the file is right.",
        )
    ]
    with Session(engine) as session:
        assert denial_of(session, "LATER").status == "lost"


def test_a_denial_a_later_remittance_paid_keeps_its_status(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, write_remittance(tmp_path, "n.835", "T-5", NOTICE, [denied("PAID")]))
    repaid = RemitClaim("PAID", [Line("11102", "200", paid="120")], claim_number="ICN2")
    import_file(engine, write_remittance(tmp_path, "p.835", "T-6", date(2026, 9, 25), [repaid]))
    path = write_csv(tmp_path, "PAID,2026-07-13,11102,,1,2026-08-10,portal,,,")
    assert history(engine, path).recorded == 1
    with Session(engine) as session:
        denial = denial_of(session, "PAID")
        assert (denial.status, denial.recovered_amount) == ("won", Decimal("120.00"))
        [appeal] = lifecycle.appeals_of(session, denial.id or 0)
        # Still pending in the file: the payment decided it, as the importer would have.
        assert (appeal.outcome, appeal.closed_on, appeal.recovered_amount) == (
            "won",
            date(2026, 9, 25),
            Decimal("120.00"),
        )
        assert (appeal.submitted_on, appeal.method, appeal.source) == (
            date(2026, 8, 10),
            "portal",
            "history",
        )
        actions = set(session.exec(select(AuditEvent.action)).all())
        assert {"appeal_sent", "appeal_decided"} <= actions
    assert history(engine, path).already_recorded == 1


def test_a_whole_claim_denial_is_matched_by_an_empty_procedure(
    session: Session, tmp_path: Path
) -> None:
    made = make_claim(session, patient_control_number="WHOLE1", lines=[{"procedure": "99213"}])
    denial = make_denial(session, made.claim, None)
    denial.payer_type = "commercial"
    session.commit()
    path = write_csv(tmp_path, "WHOLE1,2026-03-02,,,1,2026-04-10,portal,won,2026-05-01,")
    report = import_appeal_history(session, path, today=TODAY)
    session.commit()
    assert report.recorded == 1
    session.refresh(denial)
    assert (denial.status, denial.recovered_amount) == ("won", denial.denied_amount)


def test_a_file_without_the_documented_columns_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "PCN1,won", header="patient_control_number,outcome")
    with Session(engine) as session, pytest.raises(HistoryFormatError) as error:
        import_appeal_history(session, path)
    assert str(error.value).startswith(
        "missing column(s): date_of_service, procedure, payer, level, date_sent, method, "
        "decision_date, amount_recovered"
    )
