"""The plain values the dermatology checks read and the findings they return."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

ACTIONS = (
    "appeal",
    "corrected_claim",
    "bill_patient",
    "write_off",
    "verify_eligibility",
    "retro_authorization",
    "reopening",
    "resubmit",
)
LETTERS = (
    "medical_necessity",
    "modifier_correction",
    "cosmetic_vs_medical",
    "prior_authorization",
    "bundling",
    "timely_filing",
    "duplicate",
    "second_level",
)
MEDICARE_FILING_INDICATORS = frozenset({"MA", "MB"})


@dataclass(frozen=True)
class LineFacts:
    """One service line as adjudicated: `procedure` is SVC01, `original_procedure` SVC06."""

    procedure: str
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal("1")
    charge: Decimal = Decimal("0.00")
    paid: Decimal = Decimal("0.00")
    original_procedure: str = ""
    service_date: date | None = None
    adjustments: tuple[tuple[str, str, Decimal], ...] = ()  # (group, carc, amount)
    rarcs: tuple[str, ...] = ()
    number: int | None = None  # the line number on the claim, for messages
    docs: dict[str, str] = field(default_factory=dict)  # merged documentation facts

    @property
    def billed_procedure(self) -> str:
        """The code the practice billed (SVC06 when the payer changed it, else SVC01)."""
        return self.original_procedure or self.procedure


@dataclass(frozen=True)
class ClaimFacts:
    lines: tuple[LineFacts, ...]
    payer_type: str = "commercial"  # medicare | medicare_advantage | medicaid | commercial | other
    filing_indicator: str = ""
    adjustments: tuple[tuple[str, str, Decimal], ...] = ()  # claim-level CAS
    rarcs: tuple[str, ...] = ()  # claim-level MOA/MIA remarks
    # the claim-wide documentation facts of its service date, which a claim-level denial's
    # stand-in line is judged with
    docs: dict[str, str] = field(default_factory=dict)

    @property
    def is_medicare_ffs(self) -> bool:
        """Original Medicare (not Medicare Advantage): reopenings and MA130 rules apply."""
        return self.payer_type == "medicare" or self.filing_indicator in MEDICARE_FILING_INDICATORS


@dataclass
class Finding:
    """What is likely wrong with a denied line and what to do about it."""

    rule_id: str
    message: str
    action: str
    letter: str | None = None
    suggested_change: str = ""
    cite: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    badge: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")
        if self.letter is not None and self.letter not in LETTERS:
            raise ValueError(f"unknown letter {self.letter!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            rule_id=str(data["rule_id"]),
            message=str(data.get("message", "")),
            action=str(data["action"]),
            letter=data.get("letter") or None,
            suggested_change=str(data.get("suggested_change", "")),
            cite={str(k): str(v) for k, v in (data.get("cite") or {}).items()},
            missing=[str(m) for m in data.get("missing") or []],
            badge=str(data.get("badge", "")),
        )
