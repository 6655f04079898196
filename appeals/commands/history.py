"""`appeals history import|export`: a practice's past appeals and outcomes as CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from appeals.cli import with_appcontext

# The core is imported inside each command (see appeals/commands/__init__.py).


@click.group("history")
def history_group() -> None:
    """Appeal history: past appeals and their outcomes (docs/appeal-history-csv.md)."""


@history_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Import FILE.csv: one row per appeal sent, with its outcome once decided.

    The file is stored in one transaction; rows already recorded are left as they are.
    """
    from appeals import db
    from appeals.history import HistoryFormatError, import_appeal_history
    from appeals.web import get_engine

    engine = get_engine()
    try:
        with db.session_scope(engine) as session:
            report = import_appeal_history(session, file)
    except HistoryFormatError as error:
        raise click.ClickException(f"{file.name}: {error}") from error
    click.echo(
        f"{file.name}: {report.rows} rows; recorded {report.recorded}, "
        f"already recorded {report.already_recorded}, unmatched {len(report.unmatched)}, "
        f"invalid {len(report.invalid)}"
    )
    for unmatched in report.unmatched:
        click.echo(f"  row {unmatched.row}: unmatched: {unmatched.reason}")
    for invalid in report.invalid:
        click.echo(f"  row {invalid.row}: invalid {invalid.field}: {invalid.message}")
    if report.invalid:
        sys.exit(1)


@history_group.command("export")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="CSV file to write (replaced if it exists).",
)
@with_appcontext
def export_command(out: Path) -> None:
    """Write every sent appeal to a CSV file in the import format."""
    from appeals import audit, db
    from appeals.files import open_private
    from appeals.history import export_appeal_history
    from appeals.web import get_engine

    engine = get_engine()
    with (
        db.session_scope(engine) as session,
        open_private(out, "w", newline="", encoding="utf-8") as handle,
    ):
        count = export_appeal_history(session, handle)
        audit.record(session, None, "export", "appeal", None, {"rows": count, "by": "cli"})
    click.echo(f"{out.name}: {count} appeal(s) written")


COMMANDS = [history_group]
