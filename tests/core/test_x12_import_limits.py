"""Numbers out of the database's range are refused by the reader, the same on SQLite and
PostgreSQL (run the suite with APPEALS_TEST_DATABASE for the second), with nothing stored; the
real samples that lack a derivable amount import."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from appeals.importer import import_file
from appeals.models import Adjustment, Claim, Payment
from tests.conftest import FIXTURES, SAMPLES

TODAY = date(2026, 3, 20)


def counts(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows in every table: an import that failed must leave each as it was."""
    with engine.connect() as connection:
        return {
            table.name: connection.execute(
                sa.select(sa.func.count()).select_from(table)
            ).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def write(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (FIXTURES / "derm_initial.835").read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def first(text: str, prefix: str) -> str:
    """The first segment starting with prefix, without its terminator."""
    start = text.index(prefix)
    return text[start : text.index("~", start)]


@pytest.mark.parametrize(
    ("element", "value", "segment_id"),
    [
        ("BPR02", "9999999999999999999", "BPR"),  # OverflowError on SQLite before
        ("BPR02", "1000000000000", "BPR"),  # stored on SQLite, DataError on PostgreSQL before
        ("CLP03", "-1000000000000.00", "CLP"),
        ("SVC05", "1000000000", "SVC"),
    ],
)
def test_an_out_of_range_number_fails_the_file_with_the_segment_named(
    engine, tmp_path: Path, element: str, value: str, segment_id: str
) -> None:
    text = (FIXTURES / "derm_initial.835").read_text()
    segment = first(text, segment_id + "*")
    parts = segment.split("*")
    index = int(element[-2:])
    parts.extend([""] * (index + 1 - len(parts)))
    parts[index] = value
    path = write(tmp_path, "big.835", segment, "*".join(parts))
    before = counts(engine)
    result = import_file(engine, path, today=TODAY)
    assert result.status == "failed"
    assert result.error.startswith("big.835: segment ")
    assert f"({segment_id}): {element}" in result.error
    assert "out of range" in result.error
    assert counts(engine) == before
    # The next file imports as usual: the failure did not leave a transaction open.
    assert import_file(engine, FIXTURES / "derm_initial.835", today=TODAY).status == "imported"


def test_the_largest_amount_stored_reads_back_exactly(engine, tmp_path: Path) -> None:
    text = (FIXTURES / "derm_initial.835").read_text()
    bpr = first(text, "BPR*")
    parts = bpr.split("*")
    parts[2] = "-999999999999.99"
    result = import_file(engine, write(tmp_path, "edge.835", bpr, "*".join(parts)), today=TODAY)
    assert result.status == "imported", result.error
    with Session(engine) as session:
        assert session.exec(select(Payment.amount)).one() == Decimal("-999999999999.99")


def test_a_sub_cent_amount_is_stored_rounded_half_up_with_its_warning(
    engine, tmp_path: Path
) -> None:
    text = (FIXTURES / "derm_initial.835").read_text()
    cas = first(text, "CAS*CO*")
    group, reason = cas.split("*")[1:3]
    path = write(tmp_path, "cents.835", cas, f"CAS*{group}*{reason}*12.345")
    result = import_file(engine, path, today=TODAY)
    assert result.status == "imported", result.error
    with Session(engine) as session:
        amounts = session.exec(select(Adjustment.amount)).all()
        warnings = " ".join(session.exec(select(Claim.warnings)).all())
    assert Decimal("12.35") in amounts
    assert "sub-cent-amount" in warnings and "12.345" in warnings


@pytest.mark.parametrize(
    ("sample", "claims", "warning"),
    [
        ("edi835__blue_cross_nc_sample.835", 1, "derived-amount"),
        ("oopx12__Example1_5010.835", 9, "claim-left-out"),
    ],
)
def test_samples_missing_a_derivable_amount_import(
    engine, sample: str, claims: int, warning: str
) -> None:
    result = import_file(engine, SAMPLES / sample, today=TODAY)
    assert result.status == "imported", result.error
    assert result.claims == claims
    with Session(engine) as session:
        stored = (
            session.exec(select(Claim.warnings)).all()
            + session.exec(select(Payment.warnings)).all()
        )
    assert warning in " ".join(stored)
