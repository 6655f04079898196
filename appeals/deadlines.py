"""Appeal deadlines per payer type and level (`data/denial_rules/appeal_windows.csv`)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

WINDOWS_CSV = (
    Path(__file__).resolve().parent.parent / "data" / "denial_rules" / "appeal_windows.csv"
)

# CLP06 claim filing indicator → payer type.
FILING_INDICATOR_TYPES = {
    "MA": "medicare",
    "MB": "medicare",
    "16": "medicare_advantage",
    "MC": "medicaid",
    "CH": "commercial",
    "BL": "commercial",
    "CI": "commercial",
    "HM": "commercial",
    "12": "commercial",
    "13": "commercial",
    "14": "commercial",
    "15": "commercial",
    "17": "commercial",
}


@dataclass(frozen=True, slots=True)
class AppealWindow:
    payer_type: str
    level: int
    days: int
    receipt_days: int
    label: str
    varies: bool
    source: str


@cache
def windows() -> dict[tuple[str, int], AppealWindow]:
    with open(WINDOWS_CSV, newline="", encoding="utf-8") as handle:
        rows = [
            AppealWindow(
                payer_type=row["payer_type"],
                level=int(row["level"]),
                days=int(row["days"]),
                receipt_days=int(row["receipt_days"]),
                label=row["label"],
                varies=row["varies"] == "Y",
                source=row["source"],
            )
            for row in csv.DictReader(handle)
        ]
    return {(w.payer_type, w.level): w for w in rows}


def payer_type_for(filing_indicator: str) -> str:
    return FILING_INDICATOR_TYPES.get(
        filing_indicator, "commercial" if filing_indicator else "other"
    )


def window(payer_type: str, level: int = 1) -> AppealWindow:
    """The window for a payer type and level, falling back to level 1 and then to 'other'."""
    table = windows()
    return table.get((payer_type, level)) or table.get((payer_type, 1)) or table[("other", 1)]


def deadline(notice_date: date | None, payer_type: str, level: int = 1) -> date | None:
    """Last day to file the appeal at `level`, counted from the remittance (notice) date."""
    if notice_date is None:
        return None
    w = window(payer_type, level)
    return notice_date + timedelta(days=w.receipt_days + w.days)


def days_left(due: date | None, today: date) -> int | None:
    return None if due is None else (due - today).days
