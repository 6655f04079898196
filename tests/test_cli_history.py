"""`appeals history import` and `appeals history export` through Flask's CLI runner."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from appeals.history import ALL_COLUMNS, COLUMNS
from tests.remits import Line, RemitClaim, write_remittance

HEADER = ",".join(COLUMNS)


def test_import_lists_problem_rows_then_export_writes_what_was_recorded(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    claims = [
        RemitClaim(pcn, [Line("11102", "200", adjustments=[("CO", "50", "200")])])
        for pcn in ("CLI1", "CLI2")
    ]
    remit = write_remittance(tmp_path, "n.835", "T-CLI", date(2026, 8, 4), claims)
    assert cli("import", remit).exit_code == 0
    rows = [
        "CLI1,2026-07-13,11102,SUNNY01,1,2026-08-10,portal,lost,2026-09-01,0.00",
        "CLI1,2026-07-13,11102,SUNNY01,2,2026-09-10,mail,won,2026-10-01,150.00",
        "CLI2,2026-07-13,11102,SUNNY01,1,2026-08-10,portal,partial,2026-09-01,",
        "CLI9,2026-07-13,11102,SUNNY01,1,2026-08-10,portal,,,",
    ]
    path = tmp_path / "history.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")

    result = cli("history", "import", path)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "history.csv: 4 rows; recorded 2, already recorded 0, unmatched 1, invalid 1",
        "  row 5: unmatched: no denial with patient control number CLI9",
        "  row 4: invalid amount_recovered: A partial win needs the amount recovered.",
    ]
    again = cli("history", "import", path)
    assert "recorded 0, already recorded 2, unmatched 1, invalid 1" in again.output

    out = tmp_path / "out.csv"
    exported = cli("history", "export", "--out", out)
    assert exported.exit_code == 0, exported.output
    assert exported.output.strip() == "out.csv: 2 appeal(s) written"
    assert out.read_text().splitlines() == [
        ",".join(ALL_COLUMNS),
        f"{rows[0]},,appeal",
        f"{rows[1]},,appeal",
    ]


def test_import_names_the_missing_columns(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "wrong.csv"
    path.write_text("patient_control_number,outcome\nX,won\n")
    result = cli("history", "import", path)
    assert result.exit_code == 1
    assert "wrong.csv: missing column(s): date_of_service, procedure" in result.output
