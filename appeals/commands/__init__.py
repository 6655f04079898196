"""The `appeals` subcommands, one module per area; each lists its commands in `COMMANDS`.

A command module imports only click and Flask's CLI helpers at import time; the core (SQLModel,
the importer, the recovery model, the synthetic practice, docx) is imported inside the command
functions, so that `appeals --help` and `appeals COMMAND --help` start fast.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyChoice(click.Choice):  # type: ignore[type-arg]
    """A `click.Choice` whose values live in a core module, imported only when they are needed
    (parsing the option or showing the command's help), not when the CLI starts."""

    def __init__(self, module: str, attribute: str, case_sensitive: bool = True) -> None:
        self.source = (module, attribute)
        self.case_sensitive = case_sensitive

    @property  # type: ignore[override]
    def choices(self) -> tuple[Any, ...]:
        module, attribute = self.source
        return tuple(getattr(importlib.import_module(module), attribute))
