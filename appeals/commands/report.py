"""`appeals report monthly|sources|kpis|appeals|team`: the managers' reports from the shell."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from typing import Any

import click
from sqlmodel import Session

from appeals import reports
from appeals.cli import with_appcontext
from appeals.formatting import money
from appeals.web import get_engine


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "money":
        return money(value)
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "count":
        return f"{value:,}"
    if kind == "days":
        return f"{value:g}"
    return str(value)


def print_table(table: reports.Table) -> None:
    """A table as aligned text columns (long text cut at 40 characters)."""
    cells = [
        [_cell(v, c.kind)[:40] for c, v in zip(table.columns, row, strict=True)]
        for row in table.rows
    ]
    widths = [max([len(c.label), *(len(r[i]) for r in cells)]) for i, c in enumerate(table.columns)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if c.kind == "text" else v.rjust(w)
            for v, w, c in zip(values, widths, table.columns, strict=True)
        ).rstrip()

    click.echo(f"\n{table.title}")
    click.echo(line([c.label for c in table.columns]))
    for row in cells:
        click.echo(line(row))
    if not cells:
        click.echo("(nothing in this period)")


@click.command("report")
@click.argument("name", type=click.Choice(list(reports.REPORTS)))
@click.option("--from", "date_from", help="First day, YYYY-MM-DD (default: 12 months ago).")
@click.option("--to", "date_to", help="Last day, YYYY-MM-DD (default: today).")
@click.option("--basis", type=click.Choice(list(reports.BASES)), default="denied")
@click.option("--payer", help="A payer id.")
@click.option("--provider", help="A rendering provider's NPI (or name).")
@click.option("--practice", help="A practice id (default: every practice).")
@click.option("--by", type=click.Choice(list(reports.BREAKDOWNS)), default="payer")
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option("--table", "table_key", help="With --format csv: which table (default: the first).")
@click.option(
    "--from-scratch",
    is_flag=True,
    help="Count from the denials and remittances themselves, not the monthly aggregates "
    "(the same numbers, slower: a check).",
)
@with_appcontext
def report_command(
    name: str,
    date_from: str | None,
    date_to: str | None,
    basis: str,
    payer: str | None,
    provider: str | None,
    practice: str | None,
    by: str,
    output: str,
    table_key: str | None,
    from_scratch: bool,
) -> None:
    """Monthly recovery, sources, KPIs, appeals or team: the figures the Reports pages show."""
    args = {
        "from": date_from,
        "to": date_to,
        "basis": basis,
        "payer": payer,
        "provider": provider,
        "practice": practice,
        "by": by,
    }
    today = date.today()
    filters = reports.ReportFilters.parse(args, scope=None, today=today)
    if filters.errors:
        problems = "; ".join(f"--{k}: {v}" for k, v in filters.errors.items())
        raise click.UsageError(problems)
    with Session(get_engine()) as session:
        report = reports.build(session, name, filters, today, from_scratch=from_scratch)
    if output == "json":
        click.echo(json.dumps(report.as_json(), indent=2))
        return
    if output == "csv":
        table = report.table(table_key) if table_key else report.tables[0]
        if table is None:
            keys = ", ".join(t.key for t in report.tables)
            raise click.UsageError(f"--table: choose one of {keys}")
        csv.writer(sys.stdout).writerows(reports.csv_rows(table))
        return
    f = report.filters
    click.echo(f"{report.title}: {f.basis_label.lower()} {f.date_from} to {f.date_to}")
    for figure in report.figures:
        detail = f"  ({figure.detail})" if figure.detail else ""
        click.echo(f"  {figure.label}: {_cell(figure.value, figure.kind)}{detail}")
        click.echo(f"      = {figure.formula}")
    for table in report.tables:
        print_table(table)


COMMANDS = [report_command]
