"""The `appeals` command: a click group whose commands are thin wrappers over the core.

Commands load lazily: `appeals --help` lists them from `COMMANDS` without importing a command
module, the core, Flask or the web app (a test checks each listed summary against the command's
own help), and `appeals COMMAND ...` imports only that command's module. A command that needs
the app (its config, the database URL) is marked `with_appcontext`, which builds the app when
the command runs, not when its help is shown.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, TypeVar

import click

from appeals import create_app

F = TypeVar("F", bound=Callable[..., Any])

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


def with_appcontext(command: F) -> F:
    """Run the command inside the app's context, the app built when the command runs (Flask's
    own decorator needs flask.cli imported first: a third of a second for every `--help`).
    A caller's `flask.cli.ScriptInfo` (the test runner's) supplies the app if there is one."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from flask import current_app
        from flask.cli import ScriptInfo

        context = click.get_current_context()
        if not current_app:
            info = context.find_object(ScriptInfo) or ScriptInfo(create_app=create_app)
            context.with_resource(info.load_app().app_context())
        return command(*args, **kwargs)

    return run  # type: ignore[return-value]


class LazyGroup(click.Group):
    """A group whose commands load lazily (`LazyCommands`) and whose list needs none of them
    loaded."""

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


@click.group(cls=LazyGroup)
def main() -> None:
    """Derm Appeals: import 835 remittances, work denials, write appeal letters."""
