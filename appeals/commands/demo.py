"""`appeals demo` (a fresh synthetic practice, then the web app) and `appeals serve`."""

from __future__ import annotations

import secrets
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from appeals.commands.remittances import check_findings, print_summary

if TYPE_CHECKING:
    from sqlmodel import Session

    from appeals.importer import FileResult
    from appeals.models import Practice

# The core is imported inside each command (see appeals/commands/__init__.py).

DEMO_USERS = (
    ("specialist", "specialist", "Sam Specialist (demo)"),
    ("manager", "manager", "Morgan Manager (demo)"),
    ("admin", "admin", "Alex Admin (demo)"),
)


def seed_letter_settings(session: Session, practice: Practice | None) -> None:
    """Fictional letterhead details and payer appeal addresses, so demo letters are complete."""
    from sqlmodel import select

    from appeals.models import Payer, PayerAppealAddress
    from appeals.synth.params import load_params

    if practice is not None:
        practice.phone, practice.fax = "(800) 555-0100", "(800) 555-0199"
        practice.signer_name, practice.signer_title = "Jordan Example, CPC", "Appeals Coordinator"
        session.add(practice)
    by_name = {payer.name: payer for payer in load_params().payers}
    for payer in session.exec(select(Payer)):
        source = by_name.get(payer.name)
        if source is None:
            continue
        payer.payer_type, payer.phone, payer.website = source.kind, source.phone, source.url
        session.add(payer)
        session.add(
            PayerAppealAddress(
                payer_id=payer.id,  # type: ignore[arg-type]
                department="Provider Appeals",
                address_line1=source.address,
                city=source.city,
                state=source.state,
                postal_code=source.zip,
                fax=f"(800) 555-{source.phone[-4:]}",
                portal_url=source.url,
                notes="Fictional demo address.",
            )
        )


def train_model(session: Session) -> str:
    """Train the recovery model on the practice's own history; say which ranker is live."""
    from appeals import ranking
    from classifiers import recovery
    from classifiers.model import NotEnoughData

    try:
        card, _ = recovery.train(session, ranking.model_folder(session), date.today())
    except NotEnoughData as error:
        return f"recovery model not trained ({error}): the smoothed prior ranks"
    ranking.forget_context()
    return (
        f"recovery model trained on {card.outcomes} outcomes; "
        f"live ranker: {card.live} ({card.reason})"
    )


def _serve(host: str, port: int) -> None:
    from appeals.web.serving import serve

    click.echo(f"\nDerm Appeals is running at http://{host}:{port}/  (Ctrl+C to stop)")
    serve(current_app._get_current_object(), host, port)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Run the web app."""
    from appeals.web import get_engine

    get_engine()
    _serve(host, port)


@click.command("demo")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--months", default=18, show_default=True, type=int)
@click.option("--claims-per-month", default=300, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Build the demo database, then stop.")
@click.option("--yes", is_flag=True, help="Replace an earlier demo database without asking.")
@with_appcontext
def demo_command(
    seed: int,
    months: int,
    claims_per_month: int,
    host: str,
    port: int,
    no_serve: bool,
    yes: bool,
) -> None:
    """A fresh SQLite database with a synthetic practice's history, demo users, then the app."""
    from sqlmodel import Session, select

    from appeals import db, ranking
    from appeals.documentation import import_documentation_csv
    from appeals.history import import_appeal_history
    from appeals.importer import import_file
    from appeals.models import Practice
    from appeals.synth import generate
    from appeals.users import create_user

    instance = Path(current_app.instance_path)
    database = instance / "demo.db"
    if database.exists() and not yes:
        click.confirm(f"Replace the demo database {database}?", default=True, abort=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    db.dispose_engine(url)
    current_app.config["DATABASE_URL"] = url
    engine = db.get_engine(url)

    folder = instance / "demo-data"
    shutil.rmtree(folder, ignore_errors=True)
    total = months * claims_per_month
    with click.progressbar(length=total, label="Simulating the practice", file=sys.stderr) as bar:
        summary = generate(
            folder, seed=seed, months=months, claims_per_month=claims_per_month, progress=bar.update
        )
    files = sorted(folder.glob("*.835"))
    results: list[FileResult] = []
    with click.progressbar(files, label="Importing remittances", file=sys.stderr) as bar:
        for path in bar:
            results.append(import_file(engine, path))
    check_findings(engine, results)
    with Session(engine) as session:
        documentation = import_documentation_csv(session, None, folder / "documentation.csv")
        history = import_appeal_history(session, folder / "appeals.csv")
        session.commit()
        trained = train_model(session)
        ranking.rescore_open(session, date.today())
        practice = session.exec(select(Practice)).first()
        seed_letter_settings(session, practice)
        passwords = []
        for username, role, name in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            practice_id = practice.id if practice and role == "specialist" else None
            create_user(
                session, username, password, role=role, practice_id=practice_id, full_name=name
            )
            passwords.append((username, role, password))
        session.commit()
    click.echo(
        f"\nSynthetic practice: {summary.claims} claims over {months} months, "
        f"{summary.files} remittance files."
    )
    print_summary(results, per_file=False)
    click.echo(
        f"Documentation facts: {documentation.stored} stored "
        f"({len(documentation.unmatched)} rows matched no claim); "
        f"appeal history: {history.recorded} appeals recorded "
        f"({len(history.unmatched)} rows matched no denial, {len(history.invalid)} refused)."
    )
    click.echo(trained[0].upper() + trained[1:] + ".")
    click.echo("\nDemo users (passwords are shown only now):")
    for username, role, password in passwords:
        click.echo(f"  {role:<11} username {username:<11} password {password}")
    click.echo(f"\nDatabase: {database}")
    if not no_serve:
        _serve(host, port)


COMMANDS = [demo_command, serve_command]
