"""The `appeals` command: a Flask CLI group whose commands are thin wrappers over the core."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from appeals import create_app
from appeals.commands import (
    demo,
    documentation,
    history,
    letters,
    model,
    remittances,
    report,
    synth,
    users,
)


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False)
def main() -> None:
    """Derm Appeals: import 835 remittances, work denials, write appeal letters."""


for module in (remittances, documentation, history, model, report, users, letters, synth, demo):
    for command in module.COMMANDS:
        main.add_command(command)
