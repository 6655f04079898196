"""`appeals synth`: write a synthetic dermatology practice's 835 files and appeal history."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

# The synthetic practice is imported inside the command (see appeals/commands/__init__.py).


@click.command("synth")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the .835 files, appeals.csv and documentation.csv.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same bytes.")
@click.option("--months", type=click.IntRange(1, 120), default=None, help="Default: 18.")
@click.option(
    "--claims-per-month", type=click.IntRange(1, 100_000), default=None, help="Default: 300."
)
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last simulated day (default 2026-10-31).",
)
@click.option(
    "--drift",
    is_flag=True,
    help="Payers change over the period: win rates trend by payer type, a payer joins late.",
)
def synth_command(
    out_dir: Path,
    seed: int,
    months: int | None,
    claims_per_month: int | None,
    end_date: datetime | None,
    drift: bool,
) -> None:
    """Simulate a dermatology practice: 835 remittances, appeals.csv, documentation.csv."""
    from appeals.synth import generate
    from appeals.synth.params import load_params

    params = load_params()
    total = (months or params.months) * (claims_per_month or params.claims_per_month)
    end = end_date.date() if end_date is not None else None
    with click.progressbar(length=total, label="Simulating claims") as bar:
        summary = generate(
            out_dir,
            seed=seed,
            months=months,
            claims_per_month=claims_per_month,
            progress=bar.update,
            end_date=end,
            params=params,
            drift=drift,
        )
    click.echo(
        f"{summary.files} files in {summary.out_dir} ({summary.start} to {summary.end}): "
        f"{summary.claims} claims, {summary.lines} lines; {summary.denied_lines} denied lines "
        f"({summary.line_denial_rate:.1%} of remitted lines), ${summary.denied_amount} denied; "
        f"{summary.appeals} appeal rows, {summary.won_appeals} won, "
        f"${summary.recovered_amount} recovered; ${summary.payments} paid."
    )


COMMANDS = [synth_command]
