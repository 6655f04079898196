"""`appeals letter` and `appeals letters check|list|zip`: appeal letters from the command line.

The same core calls as the web app (`appeals.letters`): a letter written here is stored with its
context snapshot and version, and the practice's edited templates in the instance folder
(`letter_templates/`) take precedence over the defaults.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from sqlmodel import Session

from appeals import letters
from appeals.cli import with_appcontext
from appeals.files import write_private
from appeals.web import get_engine


def practice_folder() -> Path:
    """The practice's template folder: config `LETTER_TEMPLATES`, else instance/letter_templates."""
    configured = current_app.config.get("LETTER_TEMPLATES")
    return Path(configured) if configured else Path(current_app.instance_path) / "letter_templates"


def folders() -> list[Path]:
    folder = practice_folder()
    return letters.template_folders(folder if folder.is_dir() else None)


def _overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not FIELD=VALUE", param_hint="--set")
        values[name.strip()] = value
    return values


def _missing_message(error: letters.MissingFields) -> str:
    lines = [f"cannot write the {error.template} letter: it {error.words}."]
    lines.append("These required fields are empty:")
    lines += [f"  - {name}: {letters.CONTEXT_SCHEMA.get(name, '')}" for name in error.fields]
    lines.append("Enter them in the app, import them as documentation, or pass --set FIELD=VALUE.")
    return "\n".join(lines)


@click.command("letter")
@click.argument("denial_ids", nargs=-1, required=True, type=int)
@click.option("--template", "template", help="Template name (default: chosen from the denial).")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the .docx.",
)
@click.option(
    "--set",
    "pairs",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A documentation field for this letter, e.g. --set doc.symptoms='bleeding'.",
)
@with_appcontext
def letter_command(
    denial_ids: tuple[int, ...], template: str | None, out: Path, pairs: tuple[str, ...]
) -> None:
    """Write the appeal letter for DENIAL_IDS (denied lines of one claim) to a .docx file."""
    engine = get_engine()
    with Session(engine, expire_on_commit=False) as session:
        try:
            letter = letters.generate_letter(
                session, list(denial_ids), template, overrides=_overrides(pairs), folders=folders()
            )
        except letters.MissingFields as error:
            raise click.ClickException(_missing_message(error)) from error
        except letters.LetterError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
        write_private(out, letter.docx)  # a letter names the patient: owner-only
        click.echo(f"wrote {out} ({letter.template}, version {letter.version}, letter {letter.id})")


@click.group("letters")
def letters_group() -> None:
    """Check, list and batch-write appeal letter templates."""


@letters_group.command("check")
@click.option(
    "--folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of edited templates (default: the built-in ones and the practice's folder).",
)
@with_appcontext
def check_command(folder: Path | None) -> None:
    """Report unknown fields, bad required fields and syntax errors, by template and field."""
    targets = [folder] if folder else [letters.BUILTIN_FOLDER]
    if folder is None and practice_folder().is_dir():
        targets.append(practice_folder())
    problems = [p for target in targets for p in letters.check_templates(target)]
    for target in targets:
        count = len([p for p in target.glob("*.docx") if not p.name.startswith("~$")])
        click.echo(f"checked {target}: {count} templates")
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) found")
    click.echo("no problems found")


@letters_group.command("list")
@with_appcontext
def list_command() -> None:
    """List the templates with the denial categories they serve and their required fields."""
    for info in letters.available_templates(folders()).values():
        click.echo(f"{info.name}: {info.title}")
        if info.categories:
            click.echo(f"  categories: {', '.join(info.categories)}")
        click.echo(f"  requires: {', '.join(info.required) or '(common fields only)'}")
        click.echo(f"  file: {info.path}")


@letters_group.command("zip")
@click.argument("denial_ids", nargs=-1, required=True, type=int)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path)
)
@with_appcontext
def zip_command(denial_ids: tuple[int, ...], out: Path) -> None:
    """Write appeal letters for many denials into one .zip (one per claim and template).

    Denials routed elsewhere (corrected claim, reopening), past their appeal deadline or whose
    letter lacks fields are left out and listed, here and in the zip's index.csv.
    """
    engine = get_engine()
    with Session(engine, expire_on_commit=False) as session:
        try:
            data, skipped = letters.render_batch_zip(
                session, list(denial_ids), None, folders=folders()
            )
        except letters.LetterError as error:
            raise click.ClickException(str(error)) from error
        session.commit()
    write_private(out, data)
    click.echo(f"wrote {out}")
    for item in skipped:
        click.echo(f"skipped denial {item.denial_id}: {item.reason}", err=True)
    if skipped:
        sys.exit(1 if len(skipped) == len(set(denial_ids)) else 0)


COMMANDS = [letter_command, letters_group]
