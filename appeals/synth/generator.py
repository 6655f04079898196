"""`generate()`: simulate the practice; write its 835 files, appeals.csv and documentation.csv."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from appeals.history import ALL_COLUMNS as HISTORY_COLUMNS
from appeals.synth.engine import (
    AppealRecord,
    ClaimResult,
    LineResult,
    ProviderAdjustment,
    Simulation,
    first_month,
)
from appeals.synth.params import Params, PayerParams, load_params
from appeals.synth.people import choose_payers, make_patients, make_providers
from appeals.synth.writer import Envelope, render

ZERO = Decimal("0")
# The appeal history format (`docs/appeal-history-csv.md`), then what only the simulation knows.
APPEAL_COLUMNS = (
    *HISTORY_COLUMNS,
    "payer_claim_control_number",
    "line_control_number",
    "adjustment",
    "remark_codes",
    "denied_amount",
    "denial_date",
    "category",
    "deadline",
    "simulated_outcome",
)
# The history format's routes and outcomes for the simulation's.
ROUTES = {
    "appeal": "appeal",
    "redetermination": "appeal",
    "corrected_claim": "corrected_claim",
    "resubmit": "corrected_claim",
    "reopening": "reopening",
}
OUTCOMES = {"pending": "", "dismissed_untimely": "lost"}
# How the practice sends an appeal to each kind of payer (corrected claims go electronically).
SEND_METHODS = {
    "medicare": "mail",
    "medicare_advantage": "fax",
    "medicaid": "mail",
    "commercial": "portal",
}
DOCUMENTATION_COLUMNS = ("patient_control_number", "date_of_service", "procedure", "field", "value")


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What one run produced: counts and dollars (Decimal)."""

    out_dir: Path
    seed: int
    start: date
    end: date
    files: int
    claims: int
    lines: int
    remitted_claims: int
    remitted_lines: int
    denied_lines: int
    denials: int
    appeals: int
    won_appeals: int
    charges: Decimal
    payments: Decimal
    denied_amount: Decimal
    recovered_amount: Decimal

    @property
    def line_denial_rate(self) -> float:
        """Denied lines over the lines that have had a first remittance."""
        return self.denied_lines / self.remitted_lines if self.remitted_lines else 0.0


def generate(
    out_dir: str | Path,
    seed: int = 1,
    months: int | None = None,
    claims_per_month: int | None = None,
    progress: Callable[[int], object] | None = None,
    end_date: date | None = None,
    params: Params | None = None,
    drift: bool = False,
) -> SynthSummary:
    """Simulate a dermatology practice and write its remittances and appeal history to `out_dir`.

    Deterministic: the same seed, months, claims per month and end date give the same bytes.
    `progress`, if given, is called with the number of claims simulated since the last call.
    `drift` makes payers change over the period (`[drift]` in the parameter file): without it
    the practice is the same as before drift existed, byte for byte.
    """
    params = params or load_params()
    months = months or params.months
    claims_per_month = claims_per_month or params.claims_per_month
    end = end_date or params.end_date
    start = first_month(end, months)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    rng = random.Random(seed)
    providers = make_providers(rng, params)
    payers = choose_payers(rng, params)
    pool = max(20, int(months * claims_per_month * params.patients_per_claim))
    patients = make_patients(rng, params, payers, pool, end)
    sim = Simulation(rng, params, providers, patients, start, end, params.drift if drift else None)
    sim.run(claims_per_month, progress)
    if sim.late_payer:
        payers.append(sim.late_payer)

    files, payments = _write_remittances(out, rng, params, payers, sim)
    _write_appeals(out / "appeals.csv", sim, payers)
    _write_documentation(out / "documentation.csv", sim)
    remitted = {result.claim.pcn for results in sim.remits.claims.values() for result in results}
    return SynthSummary(
        out_dir=out,
        seed=seed,
        start=start,
        end=end,
        files=files,
        claims=sim.claim_count,
        lines=sim.line_count,
        remitted_claims=len(remitted),
        remitted_lines=sim.remitted_lines,
        denied_lines=sim.denied_lines,
        denials=len(sim.denials),
        appeals=len(sim.appeals),
        won_appeals=sum(1 for a in sim.appeals if a.outcome in ("won", "partial")),
        charges=sim.charges,
        payments=payments,
        denied_amount=sum(
            (d.result.lines[i].charge for d in sim.denials for i in d.line_indexes), ZERO
        ),
        recovered_amount=sum((a.recovered_amount for a in sim.appeals), ZERO),
    )


def _write_remittances(
    out: Path, rng: random.Random, params: Params, payers: list[PayerParams], sim: Simulation
) -> tuple[int, Decimal]:
    """One file per payer and payment date; recoupments wait for a payment large enough."""
    batches: list[tuple[date, PayerParams, list[ClaimResult], list[ProviderAdjustment]]] = []
    for payer in payers:
        dates = sorted(
            {d for k, d in sim.remits.claims if k == payer.key}
            | {d for k, d in sim.remits.plb if k == payer.key}
        )
        carried: list[ProviderAdjustment] = []
        for when in dates:
            claims = sim.remits.claims.get((payer.key, when), [])
            items = carried + sim.remits.plb.get((payer.key, when), [])
            paid = sum((r.paid for r in claims), ZERO)
            carried = []
            kept = []
            for item in items:
                if item.reason == "WO" and paid - item.amount < 0:
                    carried.append(item)
                else:
                    kept.append(item)
                    paid -= item.amount
            kept, extra = _fit_plb(kept, when)
            carried += extra
            if claims or kept:
                batches.append((when, payer, claims, kept))
    batches.sort(key=lambda b: (b[0], b[1].key))
    total = ZERO
    traces: dict[str, int] = {}
    for number, (when, payer, claims, items) in enumerate(batches, start=1):
        traces[payer.key] = traces.get(payer.key, 0) + 1
        if payer.payment_method == "CHK":
            trace = f"{40000000 + traces[payer.key]:08d}"
        else:
            trace = f"{payer.payer_id[:2]}{when:%y%m%d}{traces[payer.key]:05d}"
        envelope = Envelope(
            control_number=number,
            payment_date=when,
            production_date=when - timedelta(days=2),
            time=f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}",
            trace_number=trace,
        )
        data = render(payer, params.practice, envelope, claims, items)
        (out / f"{when:%Y-%m-%d}_{payer.key}_{number:06d}.835").write_bytes(data)
        total += sum((r.paid for r in claims), ZERO) - sum((i.amount for i in items), ZERO)
    return len(batches), total


def _fit_plb(
    items: list[ProviderAdjustment], when: date
) -> tuple[list[ProviderAdjustment], list[ProviderAdjustment]]:
    """Keep a remittance to one PLB segment (six adjustments): interest is summed into one L6
    when there is more, and surplus recoupments wait for the next payment. pyx12 rejects a
    second PLB segment although the guide allows it, and the files must pass pyx12."""
    if len(items) <= 6:
        return items, []
    interest = [i for i in items if i.reason == "L6"]
    others = [i for i in items if i.reason != "L6"]
    if interest:
        total = sum((i.amount for i in interest), ZERO)
        others.append(ProviderAdjustment("L6", f"INTEREST{when:%Y%m%d}", total))
    # Recoupments that do not fit wait; dropping interest first keeps the payment non-negative.
    return others[-6:], others[:-6]


def _write_appeals(path: Path, sim: Simulation, payers: list[PayerParams]) -> None:
    """The appeal history in the import format: one row per denial and level.

    A whole-claim denial (no service lines in the 835) is one row without a procedure. A win
    the payer paid nothing for (the deductible took the allowed amount) is written with the
    allowed amount, as the app records a won appeal with more than $0.00.
    """
    kinds = {payer.payer_id: payer.kind for payer in payers}
    whole_claims = {d.result.icn for d in sim.denials if d.result.omit_lines}
    repaid = _repaid_lines(sim)
    groups: dict[tuple[str, int] | int, list[AppealRecord]] = {}
    for number, a in enumerate(sim.appeals):
        whole = a.payer_claim_control_number in whole_claims
        groups.setdefault((a.payer_claim_control_number, a.level) if whole else number, []).append(
            a
        )
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(APPEAL_COLUMNS)
        for records in groups.values():
            a = records[0]
            outcome = OUTCOMES.get(a.outcome, a.outcome)
            if a.decision_date and a.decision_date > sim.end:
                outcome = ""  # a dismissal dated after the simulated period is still pending
            recovered = sum((r.recovered_amount for r in records), ZERO)
            if outcome in ("won", "partial") and not recovered:
                recovered = sum((_allowed(repaid, r) for r in records), ZERO)
            route = ROUTES[a.route]
            whole = a.payer_claim_control_number in whole_claims
            writer.writerow(
                (
                    a.patient_control_number,
                    a.service_date.isoformat(),
                    "" if whole else a.procedure.split("-")[0],
                    a.payer_id,
                    a.level,
                    a.date_appealed.isoformat(),
                    "electronic" if route == "corrected_claim" else SEND_METHODS[kinds[a.payer_id]],
                    outcome,
                    a.decision_date.isoformat() if outcome and a.decision_date else "",
                    f"{recovered:.2f}" if outcome else "",
                    "",
                    route,
                    a.payer_claim_control_number,
                    a.line_control_number,
                    a.adjustment,
                    a.remarks,
                    f"{sum((r.denied_amount for r in records), ZERO):.2f}",
                    a.denial_date.isoformat(),
                    a.category,
                    a.deadline.isoformat(),
                    a.outcome,
                )
            )


def _repaid_lines(sim: Simulation) -> dict[str, list[tuple[date, LineResult]]]:
    """Every line a remittance allowed, by line control number, earliest first."""
    found: dict[str, list[tuple[date, LineResult]]] = {}
    for (_, when), results in sorted(sim.remits.claims.items(), key=lambda item: item[0][1]):
        for result in results:
            for line in result.lines:
                if line.charge > 0 and line.allowed > 0:
                    found.setdefault(line.control, []).append((when, line))
    return found


def _allowed(repaid: dict[str, list[tuple[date, LineResult]]], record: AppealRecord) -> Decimal:
    """What the payer allowed for the line once the appeal was won."""
    decided = record.decision_date or record.date_appealed
    later = [line for when, line in repaid.get(record.line_control_number, []) if when >= decided]
    return later[0].allowed if later else ZERO


def _write_documentation(path: Path, sim: Simulation) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(DOCUMENTATION_COLUMNS)
        seen = set()
        for pcn, service_date, procedure, name, value in sim.documentation:
            key = (pcn, procedure, name)
            if key in seen:
                continue
            seen.add(key)
            writer.writerow((pcn, service_date.isoformat(), procedure, name, value))
