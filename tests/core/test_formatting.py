from datetime import date, datetime
from decimal import Decimal

from appeals.formatting import day, money


def test_money_formats_sign_thousands_and_cents() -> None:
    assert money(Decimal("1234.5")) == "$1,234.50"
    assert money(Decimal("-5")) == "-$5.00"
    assert money(None) == ""


def test_day_formats_dates_and_datetimes() -> None:
    assert day(date(2026, 3, 4)) == "03/04/2026"
    assert day(datetime(2026, 12, 31, 23, 59)) == "12/31/2026"
    assert day(None) == ""
