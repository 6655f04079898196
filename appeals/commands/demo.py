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

from appeals.cli import with_appcontext
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

    from appeals import practice_settings
    from appeals.models import Payer, PayerAppealAddress
    from appeals.synth.params import load_params

    if practice is not None:
        practice.phone, practice.fax = "(800) 555-0100", "(800) 555-0199"
        practice.signer_name, practice.signer_title = "Jordan Example, CPC", "Appeals Coordinator"
        # What an admin saving the practice form would be refused for, the demo never stores.
        form = {
            name: str(getattr(practice, name) or "") for name in practice_settings.PRACTICE_FIELDS
        }
        _, errors = practice_settings.validate_practice(form)
        if errors:
            raise ValueError(f"demo practice settings fail validation: {sorted(errors)}")
        session.add(practice)
    by_name = {payer.name: payer for payer in load_params().payers}
    for payer in session.exec(select(Payer)):
        source = by_name.get(payer.name)
        if source is None:
            continue
        # The 835 carries the payer's site as "PAYER.EXAMPLE/PATH"; the settings pages ask for an
        # https:// address, so the demo stores one.
        portal = demo_portal_url(source.url)
        payer.payer_type, payer.phone, payer.website = source.kind, source.phone, portal
        session.add(payer)
        values, errors = practice_settings.validate_address(
            {
                "product_line": "all",
                "department": "Provider Appeals",
                "address_line1": source.address,
                "city": source.city,
                "state": source.state,
                "postal_code": source.zip,
                "fax": f"(800) 555-{source.phone[-4:]}",
                "portal_url": portal,
                "notes": "Fictional demo address.",
            }
        )
        if errors:
            raise ValueError(f"demo appeal address of {payer.name} fails validation: {errors}")
        session.add(PayerAppealAddress(payer_id=payer.id, **values))  # type: ignore[arg-type]


def demo_portal_url(text: str) -> str:
    """A payer's site as the 835 gives it (`WWW.PAYER.EXAMPLE/PROVIDERS`) as an https:// URL."""
    text = text.strip()
    if not text:
        return ""
    host, slash, path = text.partition("/")
    if "://" in text:
        rest = text.partition("://")[2]
        host, slash, path = rest.partition("/")
    return f"https://{host.lower()}{slash}{path.lower()}"


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


def fresh_demo_database(instance: Path, yes: bool) -> tuple[str, str]:
    """The demo's database, emptied: `DATABASE_URL` when set, else `instance/demo.db`.

    Asks before replacing anything stored there (unless `yes`). Returns the URL and how to
    show it (without a password).
    """
    import os

    import sqlalchemy as sa
    from sqlmodel import SQLModel

    from appeals import db

    if os.environ.get("DATABASE_URL"):
        url = db.normalise_url(os.environ["DATABASE_URL"])
    else:
        url = f"sqlite:///{instance / 'demo.db'}"
    parsed = sa.engine.make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        db.dispose_engine(url)  # its connections would keep the deleted file
        database = Path(parsed.database or "")
        if database.exists() and not yes:
            click.confirm(f"Replace the demo database {database}?", default=True, abort=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        return url, str(database)
    engine = db.get_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT count(*) FROM remittancefile")).scalar()
    if stored and not yes:
        click.confirm(
            f"Delete everything stored in {shown} and build the demo there?",
            default=False,
            abort=True,
        )
    tables = ", ".join(f'"{t.name}"' for t in reversed(SQLModel.metadata.sorted_tables))
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return url, shown


def _serve(host: str, port: int) -> None:
    from appeals.findings import start_pending_checks
    from appeals.web import get_engine
    from appeals.web.serving import ServerSettings, SettingError, serve

    try:
        settings = ServerSettings.from_env()  # docs/deployment.md lists the variables
    except SettingError as error:
        raise click.ClickException(str(error)) from None

    start_pending_checks(get_engine())  # what an interrupted import left unchecked

    click.echo(
        f"\nDerm Appeals is running at http://{host}:{port}/  (Ctrl+C to stop; "
        f"{settings.workers} processes x {settings.threads} threads)"
    )
    serve(current_app._get_current_object(), host, port, settings)


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
# 2–4 dermatologists bill about 1,000–3,000 claims a month; at 300, the queue, the reports and
# the model's evidence were a fifth of a real practice's (and the model's holdout was noise).
@click.option("--claims-per-month", default=1500, show_default=True, type=int)
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
    """A fresh demo database with a synthetic practice's history, demo users, then the app.

    The database is `instance/demo.db` (SQLite), or the one `DATABASE_URL` names, emptied first
    (after asking, unless --yes).
    """
    from sqlmodel import Session, select

    from appeals import db, ranking
    from appeals.documentation import import_documentation_csv
    from appeals.files import private_folder
    from appeals.history import import_appeal_history
    from appeals.importer import import_file
    from appeals.models import Practice
    from appeals.synth import generate
    from appeals.users import create_user

    instance = private_folder(current_app.instance_path)
    url, shown = fresh_demo_database(instance, yes)
    current_app.config["DATABASE_URL"] = url  # what the app and its upload jobs use from now on
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
    check_findings(engine)
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
    click.echo(f"\nDatabase: {shown}")
    if not no_serve:
        _serve(host, port)


COMMANDS = [demo_command, serve_command]
