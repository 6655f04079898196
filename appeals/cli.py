"""The `appeals` command: a Flask CLI group whose commands are thin wrappers over the core.

Commands load lazily: `appeals --help` lists them from `COMMANDS` without importing a command
module, the core or the web app (a test checks each listed summary against the command's own
help), and `appeals COMMAND ...` imports only that command's module. The app defines no CLI
commands of its own, so, unlike a plain FlaskGroup, listing does not build it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any

import click
from flask.cli import FlaskGroup

from appeals import create_app

# name → (module in appeals.commands, the command's summary: the first sentence of its help)
COMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("remittances", "Print the normalised content of an 835 file (no database)."),
    "import": (
        "remittances",
        "Import 835 files and folders; each file is all-or-nothing and imported once.",
    ),
    "denials": (
        "remittances",
        "Denials grouped by reason: count, denied dollars and description, largest first.",
    ),
    "rescore": (
        "remittances",
        "Recompute every open denial's priority for today (for cron; the app does it daily too).",
    ),
    "documentation": (
        "documentation",
        "Clinical documentation facts the coding checks and letters read.",
    ),
    "findings": (
        "documentation",
        "List the coding findings of every open denial (computed now from the stored data).",
    ),
    "history": (
        "history",
        "Appeal history: past appeals and their outcomes (docs/appeal-history-csv.md).",
    ),
    "model": ("model", "Train, evaluate and inspect the recovery model that ranks the queue."),
    "report": (
        "report",
        "Monthly recovery, sources, KPIs, appeals or team: the figures the Reports pages show.",
    ),
    "user": ("users", "Manage user accounts (specialists, managers, admins)."),
    "letter": (
        "letters",
        "Write the appeal letter for DENIAL_IDS (denied lines of one claim) to a .docx file.",
    ),
    "letters": ("letters", "Check, list and batch-write appeal letter templates."),
    "synth": (
        "synth",
        "Simulate a dermatology practice: 835 remittances, appeals.csv, documentation.csv.",
    ),
    "demo": (
        "demo",
        "A fresh demo database with a synthetic practice's history, demo users, then the app.",
    ),
    "serve": ("demo", "Run the web app."),
}


def load_command(name: str) -> click.Command:
    """The command `name`, importing its module."""
    module = importlib.import_module(f"appeals.commands.{COMMANDS[name][0]}")
    return next(command for command in module.COMMANDS if command.name == name)


def summary_command(name: str) -> click.Command:
    """A stand-in for the command `name` that carries only its summary (for the command list)."""
    return click.Command(name, help=COMMANDS[name][1])


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands by name: every name of `COMMANDS` is there from the start, and its
    module is imported when the command is first looked up."""

    def __init__(self) -> None:
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self.loaded[name] = load_command(name)
        return self.loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self.loaded

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({*COMMANDS, *self.loaded}))

    def __len__(self) -> int:
        return len({*COMMANDS, *self.loaded})


class LazyFlaskGroup(FlaskGroup):
    """A FlaskGroup whose commands load lazily (`LazyCommands`) and whose list needs none of
    them loaded (nor the app built: it defines no commands of its own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: LazyCommands = LazyCommands()

    def invoke(self, ctx: click.Context) -> Any:
        """A database that cannot be opened is an error line, not a traceback."""
        try:
            return super().invoke(ctx)
        except Exception as error:
            db = sys.modules.get("appeals.db")  # loaded if it raised (`--help` stays light)
            if db is not None and isinstance(error, db.DatabaseUnavailable):
                raise click.ClickException(str(error)) from None
            raise

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return list(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, each summary from `COMMANDS` unless the command is loaded."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)
        rows = []
        for name in names:
            if name in COMMANDS and name not in self.commands.loaded:
                rows.append((name, summary_command(name).get_short_help_str(limit)))
            elif (command := self.commands.get(name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyFlaskGroup, create_app=create_app, add_default_commands=False)
def main() -> None:
    """Derm Appeals: import 835 remittances, work denials, write appeal letters."""
