"""Jinja filters and globals: money, dates, code descriptions and labels."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from appeals import codes, ranking, workflow
from appeals.deadlines import days_left
from appeals.denials import action_label, category_label
from appeals.fields import fields
from appeals.formatting import day, json_list, money
from appeals.models import Denial, DenialScore


def when(value: datetime | None, zone: str = "UTC") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime("%m/%d/%Y %H:%M")


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def reasons(score: DenialScore, denial: Denial, today: date) -> list[str]:
    """A denial's reasons as shown today: `ranking.shown_reasons`."""
    return ranking.shown_reasons(score.explanation, denial.deadline, denial.status, today)


def codes_of(text: str) -> list[str]:
    return [c for c in (text or "").split() if c]


def isoday(text: str | None) -> str:
    """An ISO date kept as text (audit details) as `MM/DD/YYYY`; other text unchanged."""
    try:
        return day(date.fromisoformat(str(text)))
    except ValueError:
        return str(text or "")


# Audited field names that are not documentation fields, in words.
OTHER_FIELD_LABELS = {"follow_up_on": "follow-up date"}


def amount(value: Any) -> str:
    """An amount kept as text (audit details) as money, `$1,234.50`; other text unchanged."""
    try:
        return money(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value or "")


def plain(value: str | None) -> str:
    """A stored key in words: `upper_arm` → `upper arm`."""
    return str(value or "").replace("_", " ")


def field_label(name: str) -> str:
    """A documentation field's label (`lesion_id` → `Lesion label`), else the name in words."""
    definition = fields().get(name)
    if definition is not None:
        return definition.label
    return OTHER_FIELD_LABELS.get(name, plain(name))


def user_name(user_id: Any) -> str:
    """A user's name for history lines (`user #id` when the account is gone)."""
    from appeals.models import User
    from appeals.web import get_session

    user = get_session().get(User, int(user_id)) if str(user_id).isdigit() else None
    if user is None:
        return f"user #{user_id}"
    return user.full_name or user.username


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
        plain=plain,
        amount=amount,
        field_label=field_label,
        carc_reason=codes.carc_reason,
        codes=codes_of,
        category=category_label,
        action=action_label,
        status=workflow.label,
        carc=codes.describe_carc,
        rarc=codes.describe_rarc,
        group_code=lambda code: codes.group(code).description,
    )
    app.jinja_env.globals.update(
        days_left=days_left,
        csrf_field=csrf_field,
        user_name=user_name,
        reasons=reasons,
    )
