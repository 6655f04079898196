"""CARC, RARC, group, claim-status, PLB and ICD-10-CM code tables, loaded once from `data/codes/`.

Unknown codes are never rejected: lookups return a `CodeInfo` marked unknown, so a remittance
carrying a code newer (or older) than our lists still imports and shows the code as unknown.
The ICD-10-CM list holds only the dermatology codes the checks and letters cite.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

CODES_DIR = Path(__file__).resolve().parent.parent / "data" / "codes"
# X12's notes for implementers that follow a CARC's reason text: "Usage: ...", "Note: ...",
# the rule that a remark code must accompany it, and which group codes it may be used with.
_CARC_NOTES = (
    re.compile(r"\s*(?:\(Note:[^)]*\)\s*|(?:Usage|Note):).*$", re.S),
    re.compile(r"\s*At least one Remark Code must be provided \([^)]*\)"),
    re.compile(r"\s*\(Use only with Group Codes? [^)]*\)"),
)


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


def carc_reason(code: str) -> str:
    """The CARC's reason as a payer states it: its text without X12's notes for implementers."""
    text = describe_carc(code)
    for note in _CARC_NOTES:
        text = note.sub("", text)
    return text.strip()


def is_alert(code: str) -> bool:
    """A RARC that informs (`Alert: ...`) rather than explains the adjustment."""
    info = rarc(code)
    return info.is_alert or info.description.startswith("Alert:")


@cache
def _icd10() -> dict[str, str]:
    with open(CODES_DIR / "icd10cm_derm.csv", newline="", encoding="utf-8") as handle:
        return {row["code"]: row["description"] for row in csv.DictReader(handle)}


def describe_icd10(code: str) -> str:
    """The ICD-10-CM description of a code in the dermatology list; "" for any other code."""
    key = code.strip().upper()
    if "." not in key and len(key) > 3:
        key = f"{key[:3]}.{key[3:]}"
    return _icd10().get(key, "")
