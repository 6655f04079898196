"""`appeals parse`, `appeals import` and `appeals denials`: the 835 side of the command line."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from appeals.cli import with_appcontext
from appeals.commands import LazyChoice

if TYPE_CHECKING:
    from appeals.importer import FileResult

# The core is imported inside each command (see appeals/commands/__init__.py).


@click.command("parse")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
def parse_command(file: Path, output: str) -> None:
    """Print the normalised content of an 835 file (no database)."""
    from appeals.x12 import X12Error, iter_remittance
    from appeals.x12.jsonout import format_text, write_json

    try:
        with open(file, "rb") as handle:
            items = iter_remittance(handle, name=file.name)
            if output == "json":
                write_json(items, sys.stdout)
            else:
                for line in format_text(items):
                    click.echo(line)
    except X12Error as error:
        raise click.ClickException(str(error)) from error


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@with_appcontext
def import_command(paths: tuple[Path, ...]) -> None:
    """Import 835 files and folders; each file is all-or-nothing and imported once."""
    from appeals.importer import FileResult, expand_paths, import_file
    from appeals.web import get_engine

    engine = get_engine()
    files = expand_paths(paths)
    if not files:
        raise click.ClickException("no 835 files found")
    total = sum(f.stat().st_size for f in files)
    results: list[FileResult] = []
    with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
        for path in files:
            done = [0]

            def advance(position: int, done: list[int] = done) -> None:
                bar.update(position - done[0])
                done[0] = position

            try:
                results.append(import_file(engine, path, progress=advance))
            except Exception as error:  # a bug met on one file: the others still import
                reason = f"{path.name}: unexpected error ({type(error).__name__})"
                results.append(FileResult(name=path.name, status="failed", error=reason))
            advance(path.stat().st_size)
    checked = check_findings(engine)
    print_summary(results)
    if any(r.status == "imported" for r in results):
        refresh_reports(engine)
    if any(r.status == "failed" for r in results) or not checked:
        sys.exit(1)


def refresh_reports(engine) -> None:  # type: ignore[no-untyped-def]
    """Bring the report aggregates the import made stale up to date, so the next report view
    does not wait for them (a failure only leaves them for that view to recompute)."""
    from appeals.reports import aggregates

    try:
        aggregates.refresh_stale(engine)
    except Exception as error:
        click.echo(
            f"Reports not brought up to date ({type(error).__name__}): the next report view "
            "recomputes them.",
            err=True,
        )


def check_findings(engine) -> bool:  # type: ignore[no-untyped-def]
    """Run the dermatology coding checks on the denials the import created, and on those an
    earlier, interrupted run left pending. False (said in words) when they stopped: they stay
    pending for the next run."""
    from appeals.findings import pending_denials, refresh_pending_findings

    total = pending_denials(engine)
    if not total:
        return True
    try:
        with click.progressbar(length=total, label="Coding checks", file=sys.stderr) as bar:
            refresh_pending_findings(engine, progress=bar.update)
    except Exception as error:
        click.echo(
            f"Coding checks stopped ({type(error).__name__}); they run again on the next "
            "import, at `appeals serve`, or with `appeals findings --refresh`.",
            err=True,
        )
        return False
    return True


def print_summary(results: list[FileResult], per_file: bool = True) -> None:
    for r in results:
        if not per_file and r.status != "failed":
            continue
        if r.status == "failed":
            click.echo(f"FAILED     {r.error or r.name}", err=True)
        elif r.status == "duplicate":
            stored = r.duplicate_payments
            every = f" (all {stored} payment(s) already stored)" if stored else ""
            click.echo(f"already imported  {r.name}{every}")
        else:
            extra = (
                f", {r.duplicate_payments} payment(s) already posted"
                if r.duplicate_payments
                else ""
            )
            click.echo(
                f"imported   {r.name}: {r.payments} payment(s), {r.claims} claims, "
                f"{r.denials} denials{extra}"
            )
    imported = [r for r in results if r.status == "imported"]
    categories: dict[str, list] = {}
    for r in imported:
        for category, (count, dollars) in r.by_category.items():
            bucket = categories.setdefault(category, [0, Decimal("0.00")])
            bucket[0] += count
            bucket[1] += dollars
    click.echo("")
    click.echo(
        f"Files: {len(imported)} imported, "
        f"{sum(r.status == 'duplicate' for r in results)} already imported, "
        f"{sum(r.status == 'failed' for r in results)} failed"
    )
    click.echo(
        f"Payments: {sum(r.payments for r in imported)} "
        f"(duplicates skipped: {sum(r.duplicate_payments for r in imported)})  "
        f"Claims: {sum(r.claims for r in imported)}  Lines: {sum(r.lines for r in imported)}  "
        f"Warnings: {sum(r.warnings for r in imported)}"
    )
    denied = sum((r.denied_amount for r in imported), Decimal("0.00"))
    click.echo(f"Denials: {sum(r.denials for r in imported)}  Dollars denied: ${denied:,.2f}")
    repeats = sum(r.repeats for r in imported)
    if repeats:
        click.echo(f"Lines denied again (recorded on their earlier denial): {repeats}")
    recovered = sum(r.recovered for r in imported)
    if recovered:
        amount = sum((r.recovered_amount for r in imported), Decimal("0.00"))
        click.echo(f"Denials closed by payment: {recovered} (${amount:,.2f})")
    for category, (count, dollars) in sorted(categories.items(), key=lambda kv: -kv[1][1]):
        click.echo(f"  {category:<26} {count:>7}  {'$' + format(dollars, ',.2f'):>15}")


@click.command("denials")
@click.option(
    "--group-by",
    "by",
    type=LazyChoice("appeals.grouping", "GROUPINGS"),
    default="carc",
    show_default=True,
)
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option("--open-only", is_flag=True, help="Only denials still to work.")
@with_appcontext
def denials_command(by: str, output: str, open_only: bool) -> None:
    """Denials grouped by reason: count, denied dollars and description, largest first."""
    from sqlmodel import Session

    from appeals.grouping import group_denials
    from appeals.web import get_engine

    with Session(get_engine()) as session:
        groups = group_denials(session, by, open_only=open_only)
    if output == "json":
        click.echo(json.dumps({"group_by": by, "groups": [g.as_dict() for g in groups]}, indent=2))
        return
    if output == "csv":
        from appeals.csvsafe import text_cell

        writer = csv.writer(sys.stdout)
        writer.writerow(["group", "count", "denied", "recovery_rate", "description"])
        for g in groups:
            rate = "" if g.recovery_rate is None else f"{g.recovery_rate:.3f}"
            writer.writerow([text_cell(g.key), g.count, g.denied, rate, text_cell(g.description)])
        return
    if not groups:
        click.echo("No denials imported yet. Run `appeals import FILE...` first.")
        return
    width = max(12, *(len(g.key) for g in groups))

    def dollars(amount: Decimal) -> str:
        return f"{'$' + format(amount, ',.2f'):>14}"

    click.echo(f"{'group':<{width}}  {'count':>7}  {'denied':>14}  description")
    for g in groups:
        description = g.description if len(g.description) <= 90 else g.description[:87] + "..."
        click.echo(f"{g.key:<{width}}  {g.count:>7}  {dollars(g.denied)}  {description}")
    total = sum((g.denied for g in groups), Decimal("0.00"))
    click.echo(f"{'total':<{width}}  {sum(g.count for g in groups):>7}  {dollars(total)}")


@click.command("rescore")
@click.option(
    "--deadlines",
    is_flag=True,
    help="First recompute every unfinished deadline from the current rules (after an upgrade).",
)
@with_appcontext
def rescore_command(deadlines: bool) -> None:
    """Recompute every open denial's priority for today (for cron; the app does it daily too)."""
    from sqlmodel import Session

    from appeals import ranking
    from appeals.deadlines import recompute_open
    from appeals.web import get_engine

    with Session(get_engine()) as session:
        if deadlines:
            moved = recompute_open(session)
            session.commit()
            click.echo(f"Deadlines recomputed: {len(moved)} moved.")
        count = ranking.rescore_daily(session, date.today(), force=True)
    click.echo(f"Priorities recomputed for {count} open denials.")


COMMANDS = [parse_command, import_command, denials_command, rescore_command]
