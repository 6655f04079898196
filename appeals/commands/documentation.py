"""`appeals documentation import` and `appeals findings`: documentation facts and coding checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from appeals.cli import with_appcontext

# The core is imported inside each command (see appeals/commands/__init__.py).


@click.group("documentation")
def documentation_group() -> None:
    """Clinical documentation facts the coding checks and letters read."""


@documentation_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--practice", "practice_id", type=int, default=None, help="Only this practice id.")
@with_appcontext
def import_command(file: Path, practice_id: int | None) -> None:
    """Import FILE.csv: patient_control_number,date_of_service,procedure,field,value."""
    from appeals import db
    from appeals.documentation import DocumentationImportError, import_documentation_csv
    from appeals.models import Practice
    from appeals.web import get_engine

    engine = get_engine()
    try:
        with db.session_scope(engine) as session:
            if practice_id is not None and session.get(Practice, practice_id) is None:
                raise click.ClickException(f"no practice with id {practice_id}")
            report = import_documentation_csv(session, practice_id, file)
    except DocumentationImportError as error:
        raise click.ClickException(f"{file.name}: {error}") from error
    click.echo(
        f"{file.name}: {report.rows} rows; imported {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, deleted {report.deleted}, "
        f"unmatched {len(report.unmatched)}, invalid {len(report.invalid)}; "
        f"findings refreshed on {report.denials_refreshed} denial(s)"
    )
    for problem in report.unmatched:
        click.echo(f"  row {problem.row}: unmatched: {problem.reason}")
    for problem in report.invalid:
        click.echo(f"  row {problem.row}: invalid {problem.field}: {problem.reason}")
    if report.unmatched or report.invalid:
        sys.exit(1)


@click.command("findings")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "--refresh",
    is_flag=True,
    help="First store the coding checks that interrupted imports left pending.",
)
@with_appcontext
def findings_command(output: str, refresh: bool) -> None:
    """List the coding findings of every open denial (computed now from the stored data)."""
    from sqlmodel import col, select

    from appeals import db
    from appeals.findings import iter_findings, refresh_pending_findings
    from appeals.models import Denial
    from appeals.web import get_engine

    engine = get_engine()
    if refresh:
        checked = refresh_pending_findings(engine)
        click.echo(f"Pending coding checks stored on {checked} denial(s).", err=True)
    rows = []
    with db.session_scope(engine) as session:
        denials = session.exec(
            select(Denial)
            .where(col(Denial.closed_at).is_(None))
            .order_by(col(Denial.claim_id), col(Denial.id))
        ).all()
        for denial, findings in iter_findings(session, denials):
            for finding in findings:
                rows.append(
                    {
                        "denial_id": denial.id,
                        "patient_control_number": denial.patient_control_number,
                        "procedure": denial.procedure_code,
                        **finding.to_dict(),
                    }
                )
    if output == "json":
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    if not rows:
        click.echo("No findings on open denials.")
        return
    for row in rows:
        click.echo(
            f"{row['denial_id']:>6}  {row['patient_control_number']:<16} {row['procedure']:<6} "
            f"{row['rule_id']:<24} {row['action']:<19} {row['suggested_change'] or '-'}"
        )
        click.echo(f"{'':8}{row['message']}")


COMMANDS = [documentation_group, findings_command]
