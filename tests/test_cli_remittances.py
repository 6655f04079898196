"""`appeals parse`, `appeals import` and `appeals denials` through Flask's CLI runner."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from appeals.models import ReportStale
from tests.conftest import FIXTURES, SAMPLES


def test_parse_prints_json_with_decimal_strings(cli) -> None:
    result = cli("parse", "--format", "json", str(FIXTURES / "derm_initial.835"))
    assert result.exit_code == 0, result.output
    payment = json.loads(result.output)["payments"][0]
    assert payment["payment_amount"] == "270"
    assert payment["payee"]["npi"] == "1234567893"
    claim = payment["claims"][1]
    assert claim["lines"][0]["adjustments"][0] == {
        "group": "CO",
        "reason": "97",
        "amount": "150",
        "quantity": None,
    }
    assert claim["lines"][0]["remarks"][0]["code"] == "M15"


def test_parse_names_file_and_segment_of_a_malformed_file(cli, tmp_path) -> None:
    bad = tmp_path / "bad.835"
    bad.write_text(
        (FIXTURES / "derm_initial.835")
        .read_text()
        .replace("SVC*HC:11102*250*150", "SVC*HC:11102*250*1X0")
    )
    result = cli("parse", str(bad))
    assert result.exit_code == 1
    assert "bad.835: segment 22 (SVC)" in result.output
    assert "Traceback" not in result.output


def test_import_summarises_and_fails_when_a_file_fails(cli, tmp_path) -> None:
    bad = tmp_path / "zz_not_x12.835"
    bad.write_text("not x12")
    result = cli("import", str(FIXTURES / "derm_initial.835"), str(bad))
    assert result.exit_code == 1
    assert "imported   derm_initial.835: 1 payment(s), 3 claims, 2 denials" in result.output
    assert "FAILED     zz_not_x12.835: segment 1" in result.output
    assert "Denials: 2  Dollars denied: $650.00" in result.output

    again = cli("import", str(FIXTURES / "derm_initial.835"))
    assert again.exit_code == 0
    assert "already imported  derm_initial.835" in again.output


def test_import_leaves_the_report_aggregates_up_to_date(cli, engine) -> None:
    result = cli("import", str(FIXTURES / "derm_initial.835"))
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        stale = connection.execute(sa.select(sa.func.count()).select_from(ReportStale))
        assert stale.scalar_one() == 0


def test_denials_groups_largest_first_in_every_format(cli) -> None:
    cli("import", str(FIXTURES / "derm_initial.835"), str(SAMPLES / "lfh-x12__managed-care.835"))
    table = cli("denials", "--group-by", "carc")
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[1].startswith("CO-29") and "$500.00" in lines[1]
    csv_out = cli("denials", "--group-by", "category", "--format", "csv")
    assert csv_out.output.splitlines()[1].startswith("timely_filing,1,500.00")
    data = json.loads(cli("denials", "--group-by", "carc-rarc", "--format", "json").output)
    keys = [g["key"] for g in data["groups"]]
    assert "CO-97 + M15" in keys
    assert all(isinstance(g["denied"], str) for g in data["groups"])


# --- startup: commands load lazily --------------------------------------------------------

HEAVY = (
    "flask",
    "werkzeug",
    "sqlmodel",
    "sqlalchemy",
    "alembic",
    "sklearn",
    "docx",
    "docxtpl",
    "appeals.synth",
)


def loaded_after(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has imported after running `appeals ARGS`."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from appeals.cli import main\n"
        f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES "))
    return set(line.split()[1:])


def test_help_imports_no_command_module_and_no_core() -> None:
    modules = loaded_after("--help")
    assert not {m for m in modules if m.startswith("appeals.commands.")}
    assert not {m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)}
    modules = loaded_after("import", "--help")
    assert {m for m in modules if m.startswith("appeals.commands.")} == {
        "appeals.commands.remittances"
    }
    assert not {m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)}


def test_an_import_with_no_trained_model_loads_no_scikit_learn(tmp_path: Path) -> None:
    """The import, its coding checks and the rescore rank by the documented prior until a model
    is live, so the process never pays scikit-learn's memory (about 110 MB) or import time."""
    from tests.remits import Line, RemitClaim, write_remittance

    denied = [RemitClaim(f"ML{i}", [Line("11102", "200", adjustments=[("CO", "197", "200")])])
              for i in range(3)]  # fmt: skip
    path = write_remittance(tmp_path, "lean.835", "T-LEAN", date(2026, 8, 4), denied)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'lean.db'}"}
    modules = loaded_after("import", str(path), env=env)
    assert {"appeals.importer", "appeals.findings", "classifiers.scoring"} <= modules
    assert not {m for m in modules if m.split(".")[0] in ("sklearn", "skops", "scipy")}


def test_the_command_list_matches_the_commands() -> None:
    """`appeals --help` lists every command of every module with the command's own summary."""
    import importlib
    import pkgutil

    import click

    import appeals.commands
    from appeals.cli import COMMANDS, load_command, main, summary_command

    found = {}
    for info in pkgutil.iter_modules(appeals.commands.__path__):
        module = importlib.import_module(f"appeals.commands.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            found[command.name] = (info.name, command)
    assert set(found) == set(COMMANDS)
    for name, (module, command) in found.items():
        assert COMMANDS[name][0] == module
        assert load_command(name) is command
        for limit in (40, 60, 200):
            listed = summary_command(name).get_short_help_str(limit)
            assert listed == command.get_short_help_str(limit), name
    assert sorted(main.commands) == sorted(COMMANDS)
    with click.Context(main) as ctx:
        assert main.list_commands(ctx) == sorted(COMMANDS)
        assert main.get_command(ctx, "import") is found["import"][1]


def test_denials_still_refuses_an_unknown_grouping(cli) -> None:
    result = cli("denials", "--group-by", "colour")
    assert result.exit_code == 2
    assert "'colour' is not one of 'carc'" in result.output


def test_a_database_that_cannot_be_opened_is_an_error_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'appeals.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", "from appeals.cli import main; main(['denials'])"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 1
    assert "Error: Cannot open the database sqlite:///" in done.stderr
    assert "unable to open database file" in done.stderr and "Traceback" not in done.stderr
