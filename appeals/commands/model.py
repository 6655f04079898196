"""`appeals model train|evaluate|status`: the recovery model from the shell."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from sqlmodel import Session

from appeals import model_report, ranking
from appeals.cli import with_appcontext
from appeals.web import get_engine
from classifiers import model as recovery_model
from classifiers import recovery
from classifiers.features import SETTLE


def _number(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec)


def print_report(report: dict[str, Any]) -> None:
    """The evaluation as tables: probabilities, per payer type, and dollars."""
    click.echo(
        f"Time split: trained on {report['train_outcomes']} outcomes of denials that arrived "
        f"before {report['holdout_from']}, tested on the {report['holdout_outcomes']} after."
    )
    click.echo(
        f"\n{'ranker':<18} {'AUC':>6} {'AP':>6} {'Brier':>6} {'ECE':>6} {'floor':>6} {'n':>7}"
    )
    for row in model_report.metric_rows(report):
        click.echo(
            f"{row['ranker']:<18} {_number(row['auc']):>6} {_number(row['average_precision']):>6} "
            f"{_number(row['brier']):>6} {_number(row['ece']):>6} "
            f"{_number(row.get('ece_floor')):>6} {row['n']:>7}"
        )
    click.echo("(floor: the ECE a perfectly calibrated ranker would show on this many outcomes)")
    click.echo(f"\n{'payer type':<22} {'ranker':<16} {'AUC':>6} {'ECE':>6} {'floor':>6} {'n':>6}")
    for row in model_report.payer_type_rows(report):
        click.echo(
            f"{row['payer_type']:<22} {row['ranker']:<16} {_number(row['auc']):>6} "
            f"{_number(row['ece']):>6} {_number(row.get('ece_floor')):>6} {row['n']:>6}"
        )
    click.echo("\nDollars recovered working the top k open denials each business day")
    click.echo(f"{'order':<18} {'k = 10%':>12} {'× oldest':>9} {'k = 25%':>12} {'× oldest':>9}")
    for row in model_report.dollar_rows(report):
        click.echo(
            f"{row['ranker']:<18} {'$' + format(row['10%'], ',.0f'):>12} "
            f"{_number(row['10% vs oldest'], '.2f'):>9} {'$' + format(row['25%'], ',.0f'):>12} "
            f"{_number(row['25% vs oldest'], '.2f'):>9}"
        )


SMALL_HOLDOUT = 100  # fewer outcomes to test on: the command says the figures are mostly chance


@click.group("model")
def model_group() -> None:
    """Train, evaluate and inspect the recovery model that ranks the queue."""


@model_group.command("train")
@with_appcontext
def train_command() -> None:
    """Train on the practice's outcomes; it ranks only if it beats the smoothed prior."""
    with Session(get_engine()) as session:
        folder = ranking.model_folder(session)
        try:
            card, report = recovery.train(session, folder, date.today())
        except recovery_model.NotEnoughData as error:
            raise click.ClickException(f"not trained: {error}; the smoothed prior ranks") from error
        ranking.forget_context()
        count = ranking.rescore_open(session, date.today())
        session.commit()
    print_report(asdict(report))
    click.echo(f"\nLive ranker: {model_report.label(card.live)} ({card.reason}).")
    click.echo(f"Priorities recomputed for {count} open denials.")


@model_group.command("evaluate")
@with_appcontext
@click.option(
    "--charts",
    "charts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write calibration.svg and lift.svg here.",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Evaluate as on this day: only outcomes known by then count (default: today).",
)
@click.option(
    "--holdout-from",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Test on denials that arrived from this day on; learn from the older ones "
    "(default: the newest quarter of the outcomes).",
)
def evaluate_command(
    charts_dir: Path | None, as_of: datetime | None, holdout_from: datetime | None
) -> None:
    """Time-split evaluation: AUC, AP, Brier, calibration error, dollars against baselines."""
    today = date.today()
    day = as_of.date() if as_of else today
    if day > today:  # open windows that have not closed yet would count as lost
        raise click.BadParameter(f"{day} is after today", param_hint="--as-of")
    with Session(get_engine()) as session:
        try:
            report, _ = recovery.evaluate(
                session, day, holdout_from=holdout_from.date() if holdout_from else None
            )
        except recovery_model.NotEnoughData as error:
            raise click.ClickException(str(error)) from error
    data = asdict(report)
    print_report(data)
    if report.holdout_outcomes < SMALL_HOLDOUT:
        click.echo(
            f"\nOnly {report.holdout_outcomes} outcomes to test on: the figures move by chance "
            "(compare each calibration error with its floor); an earlier --holdout-from tests "
            "on more."
        )
    click.echo(f"\nWould go live: {model_report.label(report.live)} ({report.reason}).")
    if charts_dir is not None:
        charts_dir.mkdir(parents=True, exist_ok=True)
        (charts_dir / "calibration.svg").write_text(model_report.calibration_svg(data))
        (charts_dir / "lift.svg").write_text(model_report.gains_svg(data))
        click.echo(f"Charts: {charts_dir / 'calibration.svg'}, {charts_dir / 'lift.svg'}")


@model_group.command("status")
@with_appcontext
def status_command() -> None:
    """Which ranker is live, when it was trained, on how many outcomes."""
    with Session(get_engine()) as session:
        folder = ranking.model_folder(session)
        card = recovery_model.latest_card(folder)
        outcomes = recovery.outcome_count(session, date.today())
    if card is None:
        click.echo(
            f"No model trained yet: the smoothed prior ranks ({outcomes} outcomes of denials "
            f"at least {SETTLE.days} days old; "
            f"{recovery_model.MIN_OUTCOMES} are needed to train)."
        )
        return
    click.echo(f"Live ranker: {model_report.label(card.live)}")
    click.echo(
        f"Trained {card.trained_at} on {card.outcomes} outcomes ({outcomes} to learn from now)"
    )
    click.echo(f"Why: {card.reason}")
    if card.calibration:
        click.echo(f"Calibrated by {card.calibration}")
    for name, values in card.holdout.items():
        click.echo(
            f"  {model_report.label(name):<16} AUC {_number(values.get('auc'))}  "
            f"Brier {_number(values.get('brier'))}  ECE {_number(values.get('ece'))} "
            f"(noise floor {_number(values.get('ece_floor'))})"
        )


COMMANDS = [model_group]
