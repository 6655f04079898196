"""Parameters of the simulated practice, read from `data/synth/params.toml`.

The numbers are documented assumptions (see `data/synth/ASSUMPTIONS.md`); they double as the
cold-start priors the ranking uses before a practice has outcomes of its own.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

PARAMS_FILE = Path(__file__).resolve().parents[2] / "data" / "synth" / "params.toml"

PAYER_KINDS = ("medicare", "medicare_advantage", "medicaid", "commercial")


@dataclass(frozen=True, slots=True)
class PayerParams:
    """One payer of the practice: identity, 835 habits, speed and appeal windows."""

    key: str
    name: str
    payer_id: str
    kind: str
    filing: str
    ein: str
    address: str
    city: str
    state: str
    zip: str
    phone: str
    url: str
    cycle_days: int
    weekday: int
    fee_factor: Decimal
    lag_min: int
    lag_max: int
    windows: tuple[int, int]
    timely_filing_days: int
    payment_method: str
    reversal_style: str
    policy_prefix: str
    pays_interest: bool = False
    claim_level_denials: bool = False
    optional: bool = False
    joins_late: bool = False  # only in a simulation with drift (`Drift.new_payer`)


@dataclass(frozen=True, slots=True)
class DenialKind:
    """How often one kind of denial happens and how it tends to end."""

    name: str
    weight: float
    category: str
    route: str
    merit: float
    win_merit: float
    win_no_merit: float
    worked: float
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CostSharing:
    em_copay: Decimal
    coinsurance: Decimal
    deductibles: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class Drift:
    """How payers change over the period when a simulation asks for drift."""

    win_factor_at_end: dict[str, float]  # by payer kind, against 1.0 at the start
    new_payer: str  # key of a `joins_late` payer
    new_payer_months: int  # joins this many months before the end
    new_payer_share: float  # of commercial patients, moving at their next visit
    new_payer_win_factor: float


@dataclass(frozen=True, slots=True)
class Params:
    """Everything the generator reads from the parameter file, typed."""

    practice: dict[str, Any]
    end_date: date
    months: int
    claims_per_month: int
    patients_per_claim: float
    payer_mix: dict[str, float]
    denial_rate: dict[str, float]
    charge_multiplier: Decimal
    sequestration: Decimal
    multiple_procedure_reduction: Decimal
    payers: tuple[PayerParams, ...]
    cost_sharing: dict[str, CostSharing]
    scenarios: dict[str, float]
    em_with_procedure: float
    new_patient_share: float
    denials: dict[str, DenialKind]
    appeals: dict[str, Any]
    payer_events: dict[str, Any]
    drift: Drift
    fees: dict[str, Decimal] = field(default_factory=dict)


def _payer(raw: dict[str, Any]) -> PayerParams:
    values = dict(raw)
    values["fee_factor"] = Decimal(values["fee_factor"])
    values["windows"] = tuple(values["windows"])
    return PayerParams(**values)


def _drift(raw: dict[str, Any], payers: tuple[PayerParams, ...]) -> Drift:
    """`[drift]`, checked: the new payer must be a commercial payer that only joins late."""
    late = next((p for p in payers if p.key == raw["new_payer"]), None)
    if late is None or not late.joins_late or late.kind != "commercial":
        raise ValueError(
            f"[drift] new_payer {raw['new_payer']!r} must name a commercial payer with "
            "joins_late = true"
        )
    return Drift(
        win_factor_at_end={k: float(v) for k, v in raw["win_factor_at_end"].items()},
        new_payer=late.key,
        new_payer_months=int(raw["new_payer_months"]),
        new_payer_share=float(raw["new_payer_share"]),
        new_payer_win_factor=float(raw["new_payer_win_factor"]),
    )


def load_params(path: Path | None = None) -> Params:
    """Read and type the parameter file (the packaged one unless `path` is given)."""
    with open(path or PARAMS_FILE, "rb") as handle:
        raw = tomllib.load(handle)
    sim = raw["simulation"]
    charges = raw["charges"]
    payers = tuple(_payer(p) for p in raw["payers"])
    return Params(
        practice=raw["practice"],
        end_date=date.fromisoformat(sim["end_date"]),
        months=int(sim["months"]),
        claims_per_month=int(sim["claims_per_month"]),
        patients_per_claim=float(sim["patients_per_claim"]),
        payer_mix={k: float(v) for k, v in raw["payer_mix"].items()},
        denial_rate={k: float(v) for k, v in raw["denial_rate"].items()},
        charge_multiplier=Decimal(str(charges["charge_multiplier"])),
        sequestration=Decimal(charges["sequestration"]),
        multiple_procedure_reduction=Decimal(charges["multiple_procedure_reduction"]),
        payers=payers,
        cost_sharing={
            kind: CostSharing(
                em_copay=Decimal(v["em_copay"]),
                coinsurance=Decimal(v["coinsurance"]),
                deductibles=tuple(Decimal(d) for d in v["deductibles"]),
            )
            for kind, v in raw["cost_sharing"].items()
        },
        scenarios={k: float(v) for k, v in raw["scenarios"].items()},
        em_with_procedure=float(raw["clinical"]["em_with_procedure"]),
        new_patient_share=float(raw["clinical"]["new_patient_share"]),
        denials={
            name: DenialKind(
                name=name,
                weight=float(v["weight"]),
                category=v["category"],
                route=v["route"],
                merit=float(v["merit"]),
                win_merit=float(v["win_merit"]),
                win_no_merit=float(v["win_no_merit"]),
                worked=float(v["worked"]),
                kinds=tuple(v.get("kinds", ())),
            )
            for name, v in raw["denials"].items()
        },
        appeals=raw["appeals"],
        payer_events=raw["payer_events"],
        drift=_drift(raw["drift"], payers),
        fees={str(code): Decimal(amount) for code, amount in raw["fees"].items()},
    )
