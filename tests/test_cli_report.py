"""`appeals report`: the same numbers as the pages, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from sqlmodel import Session

from appeals import reports
from tests.core.test_reports import History, history  # noqa: F401  (the hand-built history)

PERIOD = ("--from", "2026-01-01", "--to", "2026-06-30")


def test_json_matches_the_core_report(cli, session: Session, history: History) -> None:  # noqa: F811
    result = cli("report", "monthly", *PERIOD, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    figures = {f["key"]: f["value"] for f in data["figures"]}
    assert figures["denied"] == "1879.00"  # both practices: 880 + 999
    assert figures["recovered"] == "220.00"
    args = {"from": "2026-01-01", "to": "2026-06-30"}
    f = reports.ReportFilters.parse(args, scope=None, today=date.today())
    assert data == reports.monthly(session, f, date.today()).as_json()


def test_csv_of_one_table_for_one_practice(cli, history: History) -> None:  # noqa: F811
    result = cli(
        "report", "sources", *PERIOD, "--practice", history.a, "--format", "csv", "--table",
        "by_payer",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(result.output))}
    assert (rows["Acme Health"]["denied"], rows["Acme Health"]["previous_denied"]) == (
        "700.00",
        "500.00",
    )
    assert rows["Medicare JK"]["denials"] == "2"


def test_table_output_and_team(cli, history: History) -> None:  # noqa: F811
    result = cli("report", "team", *PERIOD, "--payer", history.medicare)
    assert result.exit_code == 0, result.output
    assert "Per person" in result.output and "spec2" in result.output
    assert "= Σ recovered of won and partial appeals the team sent" in result.output
    kpis = cli("report", "kpis", *PERIOD, "--practice", history.a)
    assert "Net collection rate: 42.9%" in kpis.output  # 660 ÷ (1,680 − 140)


def test_bad_options_are_usage_errors(cli, history: History) -> None:  # noqa: F811
    result = cli("report", "monthly", "--from", "yesterday")
    assert result.exit_code == 2 and "--from" in result.output
    unknown = cli("report", "monthly", "--format", "csv", "--table", "nope")
    assert unknown.exit_code == 2 and "months" in unknown.output


def test_from_scratch_gives_the_same_numbers(cli, history: History) -> None:  # noqa: F811
    for name in reports.REPORTS:
        stored = cli("report", name, *PERIOD, "--format", "json")
        fresh = cli("report", name, *PERIOD, "--format", "json", "--from-scratch")
        assert stored.exit_code == fresh.exit_code == 0, fresh.output
        assert json.loads(stored.output) == json.loads(fresh.output), name
