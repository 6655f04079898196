"""Display formats shared by the web pages and the letters: money and dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal


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
