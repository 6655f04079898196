"""CARC, RARC, group, claim-status and PLB code tables, loaded once from `data/codes/`.

Unknown codes are never rejected: lookups return a `CodeInfo` marked unknown, so a remittance
carrying a code newer (or older) than our lists still imports and shows the code as unknown.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

CODES_DIR = Path(__file__).resolve().parent.parent / "data" / "codes"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    description: str
    status: str = "current"  # current | deactivated | unknown
    start_date: date | None = None
    end_date: date | None = None
    is_alert: bool = False

    @property
    def known(self) -> bool:
        return self.status != "unknown"


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _load(filename: str) -> dict[str, CodeInfo]:
    with open(CODES_DIR / filename, newline="", encoding="utf-8") as handle:
        return {
            row["code"]: CodeInfo(
                code=row["code"],
                description=row["description"],
                status=row.get("status")
                or ("current" if row.get("valid_in_005010X221A1") == "Y" else "legacy"),
                start_date=_date(row.get("start_date", "")),
                end_date=_date(row.get("end_date", "")),
                is_alert=row.get("is_alert") == "Y",
            )
            for row in csv.DictReader(handle)
        }


@cache
def _table(name: str) -> dict[str, CodeInfo]:
    return _load(f"{name}.csv")


def _lookup(table: str, code: str) -> CodeInfo:
    code = code.strip().upper()
    return _table(table).get(code) or CodeInfo(code, f"Unknown code {code}", status="unknown")


def carc(code: str) -> CodeInfo:
    """A Claim Adjustment Reason Code (CAS02/05/...)."""
    return _lookup("carc", code)


def rarc(code: str) -> CodeInfo:
    """A Remittance Advice Remark Code (MOA/MIA/LQ)."""
    return _lookup("rarc", code)


def group(code: str) -> CodeInfo:
    """A claim adjustment group code (CO, OA, PI, PR; CR is 4010 only)."""
    return _lookup("group_codes", code)


def claim_status(code: str) -> CodeInfo:
    """A CLP02 claim status code."""
    return _lookup("claim_status_codes", code)


def plb_reason(code: str) -> CodeInfo:
    """A PLB03-1 provider-level adjustment reason."""
    return _lookup("plb_reason_codes", code)


def describe_carc(code: str) -> str:
    return carc(code).description


def describe_rarc(code: str) -> str:
    return rarc(code).description
