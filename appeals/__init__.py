"""Derm Appeals: denial management and appeals for dermatology practices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The Flask application (imported lazily so the domain core never loads Flask)."""
    from appeals.web import create_app as _create_app

    return _create_app(test_config)
