"""Display formats shared by the web pages and the letters: money, dates, JSON lists."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def money(value: Decimal | None) -> str:
    """`$1,234.50`, `-$5.00`; empty for None."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def day(value: date | datetime | None) -> str:
    """`MM/DD/YYYY`; empty for None."""
    if value is None:
        return ""
    return value.strftime("%m/%d/%Y")


def json_list(text: str) -> list[Any]:
    """A JSON list column (explanation, findings); anything else reads as empty."""
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
