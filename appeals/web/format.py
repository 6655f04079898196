"""Jinja filters and globals: money, dates, code descriptions and labels."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from appeals import codes, workflow
from appeals.deadlines import days_left
from appeals.denials import action_label, category_label
from appeals.formatting import day, money


def when(value: datetime | None, zone: str = "UTC") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime("%m/%d/%Y %H:%M")


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def json_list(text: str) -> list[Any]:
    """A JSON list column (explanation, findings); anything else reads as empty."""
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def codes_of(text: str) -> list[str]:
    return [c for c in (text or "").split() if c]


def isoday(text: str | None) -> str:
    """An ISO date kept as text (audit details) as `MM/DD/YYYY`; other text unchanged."""
    try:
        return day(date.fromisoformat(str(text)))
    except ValueError:
        return str(text or "")


def csrf_field() -> Markup:
    """The hidden CSRF input for forms posted without htmx (htmx sends the header instead)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=money,
        day=day,
        isoday=isoday,
        when=when,
        percent=percent,
        json_list=json_list,
        codes=codes_of,
        category=category_label,
        action=action_label,
        status=workflow.label,
        carc=codes.describe_carc,
        rarc=codes.describe_rarc,
        group_code=lambda code: codes.group(code).description,
    )
    app.jinja_env.globals.update(days_left=days_left, csrf_field=csrf_field)
