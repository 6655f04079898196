"""The simulation: claims, adjudication, denials, appeals and later payments, as remit items.

Produces plain objects (`ClaimResult`, `ProviderAdjustment` items keyed by payer and payment
cycle) that `writer.py` turns into 835 bytes. One `random.Random` drives everything, in a fixed
order, so one seed always yields the same practice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from appeals.synth import clinical as c
from appeals.synth.params import DenialKind, Drift, Params, PayerParams
from appeals.synth.people import Patient, Provider, member_id
from appeals.synth.planting import Context, Plan, plant

CENT = Decimal("0.01")
ZERO = Decimal("0")
ANCHOR = date(2020, 1, 6)  # a Monday: biweekly cycles alternate from here
EXCISIONS = ("114", "116")
PROCEDURE_SCENARIOS = (
    "ak_destruction",
    "biopsy",
    "benign_destruction",
    "shave_removal",
    "skin_tags",
    "benign_excision",
    "malignant_excision",
    "injection",
)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class Claim:
    """A claim as the practice billed it."""

    pcn: str
    patient: Patient
    provider: Provider
    payer: PayerParams
    service_date: date
    lines: list[c.Line]
    received: date
    scenario: str
    plan: Plan | None = None


@dataclass(slots=True)
class LineResult:
    """One adjudicated service line (SVC loop)."""

    code: str
    modifiers: list[str]
    units: int
    charge: Decimal
    paid: Decimal
    allowed: Decimal
    control: str
    service_date: date
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    policy: str = ""
    original: tuple[str, list[str]] | None = None

    @property
    def procedure(self) -> str:
        return "-".join([self.code, *self.modifiers])


@dataclass(slots=True)
class ClaimResult:
    """One adjudicated claim (CLP loop) in one remittance."""

    claim: Claim
    status: str
    icn: str
    lines: list[LineResult]
    received: date
    claim_adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)
    moa: list[str] = field(default_factory=list)
    frequency: str = "1"
    original_icn: str = ""
    omit_lines: bool = False
    crossover: bool = False

    @property
    def charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        """CLP04 by the balancing rule: charge minus every claim and line adjustment."""
        total = self.charge - sum((a[2] for a in self.claim_adjustments), ZERO)
        for line in self.lines:
            total -= sum((a[2] for a in line.adjustments), ZERO)
        return total

    @property
    def patient_responsibility(self) -> Decimal:
        total = sum((a[2] for a in self.claim_adjustments if a[0] == "PR"), ZERO)
        for line in self.lines:
            total += sum((a[2] for a in line.adjustments if a[0] == "PR"), ZERO)
        return total


@dataclass(slots=True)
class ProviderAdjustment:
    reason: str
    reference: str
    amount: Decimal


@dataclass(slots=True)
class Denial:
    """A denied line (or claim) with what happened to it afterwards."""

    claim: Claim
    result: ClaimResult
    line_indexes: list[int]
    remit_date: date
    plan: Plan


@dataclass(slots=True)
class AppealRecord:
    patient_control_number: str
    payer_claim_control_number: str
    payer_id: str
    service_date: date
    procedure: str
    line_control_number: str
    adjustment: str
    remarks: str
    denied_amount: Decimal
    denial_date: date
    category: str
    route: str
    level: int
    date_appealed: date
    deadline: date
    outcome: str
    decision_date: date | None
    recovered_amount: Decimal


@dataclass(slots=True)
class Remits:
    """Everything the payers send, keyed by (payer key, payment date)."""

    claims: dict[tuple[str, date], list[ClaimResult]] = field(default_factory=dict)
    plb: dict[tuple[str, date], list[ProviderAdjustment]] = field(default_factory=dict)

    def add(self, payer: PayerParams, when: date, result: ClaimResult) -> None:
        self.claims.setdefault((payer.key, when), []).append(result)

    def add_plb(self, payer: PayerParams, when: date, item: ProviderAdjustment) -> None:
        self.plb.setdefault((payer.key, when), []).append(item)


def next_cycle(payer: PayerParams, ready: date) -> date:
    """The payer's first payment date on or after `ready` (weekly or biweekly on its weekday)."""
    day = ready + timedelta(days=(payer.weekday - ready.weekday()) % 7)
    if payer.cycle_days == 14 and ((day - ANCHOR).days // 7) % 2:
        day += timedelta(days=7)
    return day


def first_month(end: date, months: int) -> date:
    """The first day of the month `months - 1` months before `end`'s month."""
    index = end.year * 12 + end.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


class Simulation:
    """Runs the practice; `run()` fills `remits`, `denials`, `appeals` and `documentation`.

    With `drift`, payers change over the period: appeal win rates trend by payer kind, and a
    late payer joins, taking a share of the commercial patients.
    """

    def __init__(
        self,
        rng: random.Random,
        params: Params,
        providers: list[Provider],
        patients: list[Patient],
        start: date,
        end: date,
        drift: Drift | None = None,
    ) -> None:
        self.rng = rng
        self.params = params
        self.providers = providers
        self.mohs_surgeon = next(p for p in providers if p.mohs_surgeon)
        self.patients = patients
        self.start = start
        self.end = end
        self.remits = Remits()
        self.denials: list[Denial] = []
        self.appeals: list[AppealRecord] = []
        self.documentation: list[tuple[str, date, str, str, str]] = []
        self.claim_count = 0
        self.line_count = 0
        self.remitted_lines = 0
        self.denied_lines = 0
        self.charges = ZERO
        self._icn_seq: dict[str, int] = {}
        self._kinds = list(params.denials.values())
        self._scenario_names = list(params.scenarios)
        self._scenario_weights = [params.scenarios[n] for n in self._scenario_names]
        self._charge_cache: dict[str, Decimal] = {}
        self.drift = drift
        self.late_payer = (
            next(p for p in params.payers if p.key == drift.new_payer) if drift else None
        )
        self.joins = first_month(end, drift.new_payer_months) if drift else end
        self._stayed: set[int] = set()  # patients who chose not to move to the late payer
        ratio = params.em_with_procedure
        procedure_share = sum(params.scenarios[n] for n in PROCEDURE_SCENARIOS)
        # Derived so that the share of E/M visits with a same-day procedure matches the parameter.
        self._em_with_procedure = min(
            1.0, params.scenarios["em_only"] * ratio / (1 - ratio) / procedure_share
        )

    # ---- identifiers -------------------------------------------------------------------------

    def icn(self, payer: PayerParams, received: date) -> str:
        seq = self._icn_seq.get(payer.key, 0) + 1
        self._icn_seq[payer.key] = seq
        if payer.kind == "medicare":
            return f"2{received:%y%j}{seq:07d}00"
        return f"{payer.payer_id[:2]}{received:%y%m%d}{seq:07d}"

    def charge(self, code: str) -> Decimal:
        cached = self._charge_cache.get(code)
        if cached is None:
            fee = self.params.fees[code]
            cached = max(Decimal(1), (fee * self.params.charge_multiplier).quantize(Decimal(1)))
            if code == "J3301":
                cached = Decimal("6.00")
            self._charge_cache[code] = cached
        return cached

    # ---- encounters --------------------------------------------------------------------------

    def encounter(self, new_patient: bool, payer_kind: str) -> c.Encounter:
        rng = self.rng
        name = rng.choices(self._scenario_names, self._scenario_weights)[0]
        builders = {
            "ak_destruction": c.ak_destruction,
            "biopsy": c.biopsy,
            "benign_destruction": c.benign_destruction,
            "shave_removal": c.shave_removal,
            "skin_tags": c.skin_tags,
            "benign_excision": lambda r: c.excision(r, False),
            "malignant_excision": lambda r: c.excision(r, True),
            "injection": c.injection,
            "phototherapy": c.phototherapy,
            "cosmetic": c.cosmetic,
            "global_period": c.global_period,
        }
        if name == "em_only":
            return c.em_only(rng, new_patient)
        if name == "mohs":
            return c.Encounter("mohs", c.mohs(rng), mohs=True)
        lines = builders[name](rng)
        if name == "cosmetic" and payer_kind == "medicare":
            lines[0].modifiers.append("GY")
        if name == "biopsy" and rng.random() < 0.15:
            ak = c.Line("17000", ["XS" if payer_kind == "medicare" else "59"])
            ak.facts = {"diagnosis": "L57.0", "site": "forehead", "lesion_count": "1"}
            lines.append(ak)
        if name == "biopsy" and len(lines) >= 2 and rng.random() < 0.3:
            for line in lines[:2]:
                place = c.find_site(line.facts.get("site", ""), line.facts.get("laterality", ""))
                if place and place.limb and place.laterality not in line.modifiers:
                    line.modifiers.append(place.laterality)
        if name in PROCEDURE_SCENARIOS and rng.random() < self._em_with_procedure:
            lines.insert(0, c.separate_em(rng, new_patient))
        return c.Encounter(name, lines)

    def pick_kind(self, payer_kind: str) -> DenialKind:
        kinds = [k for k in self._kinds if not k.kinds or payer_kind in k.kinds]
        return self.rng.choices(kinds, [k.weight for k in kinds])[0]

    # ---- pricing -----------------------------------------------------------------------------

    def price(self, claim: Claim, line: c.Line, index: int, reduced: bool) -> LineResult:
        """Adjudicate a payable line: CO-45 to the allowed amount, CO-59, PR-1/2/3, CO-253."""
        payer = claim.payer
        params = self.params
        charge = self.charge(line.code) * line.units
        allowed = money(params.fees[line.code] * payer.fee_factor * line.units)
        allowed = min(allowed, charge)
        adjustments: list[tuple[str, str, Decimal]] = []
        if charge > allowed:
            adjustments.append(("CO", "45", charge - allowed))
        if reduced:
            cut = money(allowed * params.multiple_procedure_reduction)
            adjustments.append(("CO", "59", cut))
            allowed -= cut
        sharing = params.cost_sharing[payer.kind]
        patient = claim.patient
        year = claim.service_date.year
        left = patient.deductible_left.setdefault(year, patient.deductible)
        remaining = allowed
        is_em = line.is_em and payer.kind != "medicare"
        if is_em:
            copay = min(sharing.em_copay, remaining)
            if copay:
                adjustments.append(("PR", "3", copay))
                remaining -= copay
        else:
            deductible = min(left, remaining)
            if deductible:
                adjustments.append(("PR", "1", deductible))
                patient.deductible_left[year] = left - deductible
                remaining -= deductible
            coinsurance = money(remaining * sharing.coinsurance)
            if coinsurance:
                adjustments.append(("PR", "2", coinsurance))
                remaining -= coinsurance
        if payer.kind == "medicare" and remaining:
            sequestration = money(remaining * params.sequestration)
            adjustments.append(("CO", "253", sequestration))
            remaining -= sequestration
        return LineResult(
            line.code,
            list(line.modifiers),
            line.units,
            charge,
            remaining,
            allowed,
            f"{claim.pcn}-{index + 1}",
            claim.service_date,
            adjustments,
        )

    def deny(self, claim: Claim, line: c.Line, index: int, plan: Plan) -> LineResult:
        charge = self.charge(line.code) * line.units
        result = LineResult(
            line.code,
            list(line.modifiers),
            line.units,
            charge,
            ZERO,
            ZERO,
            f"{claim.pcn}-{index + 1}",
            claim.service_date,
            [(plan.group, plan.carc, charge)],
            [r for r in plan.rarcs if r != "MA130"],
        )
        if plan.policy:
            result.policy = f"{claim.payer.policy_prefix}-{plan.policy.upper()}"
        return result

    def adjudicate(
        self, claim: Claim, plan: Plan | None, received: date, lines: list[c.Line] | None = None
    ) -> ClaimResult:
        """Price every line; deny the planned ones."""
        lines = lines if lines is not None else claim.lines
        denied = (
            set(range(len(lines))) if plan and plan.whole_claim else set(plan.lines if plan else ())
        )
        results = []
        excisions = 0
        for index, line in enumerate(lines):
            if index in denied:
                results.append(self.deny(claim, line, index, plan))  # type: ignore[arg-type]
                continue
            is_excision = line.code[:3] in EXCISIONS
            results.append(self.price(claim, line, index, reduced=is_excision and excisions > 0))
            excisions += is_excision
        payer = claim.payer
        result = ClaimResult(claim, "1", self.icn(payer, received), results, received)
        if plan and plan.status == "4":
            result.status = "4"
        if payer.kind == "medicare":
            result.moa = ["MA130"] if plan and plan.claim_moa == "MA130" else ["MA01"]
            if result.status == "1" and claim.patient.number % 5 < 2 and result.paid > 0:
                result.status = "19"
                result.moa.append("MA18")
                result.crossover = True
        if plan and plan.whole_claim and payer.claim_level_denials:
            result.claim_adjustments = [(plan.group, plan.carc, result.charge)]
            for line_result in results:
                line_result.adjustments = []
            result.omit_lines = True
        return result

    # ---- the main loop -----------------------------------------------------------------------

    def run(self, claims_per_month: int, progress: object = None) -> None:
        month_start = self.start
        number = 0
        while month_start <= self.end:
            next_month = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
            days = [
                month_start + timedelta(days=i)
                for i in range((next_month - month_start).days)
                if (month_start + timedelta(days=i)).weekday() < 5
            ]
            dates = sorted(self.rng.choice(days) for _ in range(claims_per_month))
            for service_date in dates:
                number += 1
                self.one_claim(number, service_date)
            if callable(progress):
                progress(claims_per_month)
            month_start = next_month

    def one_claim(self, number: int, service_date: date) -> None:
        rng = self.rng
        patient = rng.choice(self.patients)
        if self.drift and service_date >= self.joins:
            patient = self.maybe_move(patient)
        payer = patient.payer
        new_patient = rng.random() < self.params.new_patient_share
        plan: Plan | None = None
        if rng.random() < self.params.denial_rate[payer.kind]:
            ctx = Context(rng, payer.kind, new_patient, payer.kind != "commercial")
            encounter, plan = plant(ctx, self.pick_kind(payer.kind))
        else:
            encounter = self.encounter(new_patient, payer.kind)
        provider = self.mohs_surgeon if encounter.mohs else rng.choice(self.providers)
        received = service_date + timedelta(days=rng.randint(1, 6))
        if plan and plan.late_filing:
            received = service_date + timedelta(days=payer.timely_filing_days + rng.randint(3, 60))
        claim = Claim(
            f"SDA{number:07d}",
            patient,
            provider,
            payer,
            service_date,
            encounter.lines,
            received,
            encounter.scenario,
            plan,
        )
        for line in claim.lines:
            days = line.facts.pop("prior_days_before", "")
            if days:
                prior = service_date - timedelta(days=int(days))
                line.facts["prior_procedure_date"] = prior.isoformat()
        self.claim_count += 1
        self.line_count += len(claim.lines)
        self.charges += sum((self.charge(x.code) * x.units for x in claim.lines), ZERO)
        ready = received + timedelta(days=rng.randint(payer.lag_min, payer.lag_max))
        when = next_cycle(payer, ready)
        if when > self.end:
            return  # still in process at the end of the simulation: no remittance yet
        self.remitted_lines += len(claim.lines)
        if plan and plan.true_duplicate:
            first = self.adjudicate(claim, None, received)
            self.remits.add(payer, when, first)
            self.after_payment(claim, first, when)
            again = received + timedelta(days=rng.randint(20, 35))
            when = next_cycle(
                payer, again + timedelta(days=rng.randint(payer.lag_min, payer.lag_max))
            )
            if when > self.end:
                return
            result = self.adjudicate(claim, plan, again)
        else:
            result = self.adjudicate(claim, plan, received)
        self.remits.add(payer, when, result)
        if plan is None:
            self.after_payment(claim, result, when)
            return
        indexes = list(range(len(claim.lines))) if plan.whole_claim else list(plan.lines)
        self.denied_lines += len(indexes)
        denial = Denial(claim, result, indexes, when, plan)
        self.denials.append(denial)
        self.record_documentation(denial)
        self.work(denial)

    def maybe_move(self, patient: Patient) -> Patient:
        """A commercial patient's first visit after the late payer joins: moves to it or stays
        (for good). A move is a new patient record, so earlier claims keep their member id."""
        assert self.drift and self.late_payer
        if patient.payer.kind != "commercial" or patient.payer is self.late_payer:
            return patient
        if patient.number in self._stayed:
            return patient
        if self.rng.random() >= self.drift.new_payer_share:
            self._stayed.add(patient.number)
            return patient
        moved = replace(  # a new plan: its own member id and deductible
            patient,
            payer=self.late_payer,
            member_id=member_id(self.rng, self.late_payer),
            deductible_left={},
        )
        self.patients[patient.number - 1] = moved
        return moved

    def win_factor(self, payer: PayerParams, filed: date) -> float:
        """How much likelier than the denial kind's rate this payer overturns an appeal."""
        factor = float(self.params.appeals["payer_win_factor"][payer.kind])
        if self.drift is None:
            return factor
        if payer is self.late_payer:
            return factor * self.drift.new_payer_win_factor
        at_end = self.drift.win_factor_at_end[payer.kind]
        span = max(1, (self.end - self.start).days)
        elapsed = min(1.0, max(0.0, (filed - self.start).days / span))
        return factor * (1 + (at_end - 1) * elapsed)

    # ---- payer events on paid claims ---------------------------------------------------------

    def after_payment(self, claim: Claim, result: ClaimResult, when: date) -> None:
        rng = self.rng
        payer = claim.payer
        events = self.params.payer_events
        if payer.pays_interest:
            late = (when - result.received).days - int(events["interest_after_days"])
            if late > 0 and result.paid > 0:
                rate = Decimal(events["interest_rate"])
                interest = money(result.paid * rate * late / 365)
                if interest > 0:
                    self.remits.add_plb(
                        payer, when, ProviderAdjustment("L6", result.icn, -interest)
                    )
        draw = rng.random()
        if draw < events["reprocess_share"] and result.paid > 0:
            later = next_cycle(payer, when + timedelta(days=rng.randint(30, 90)))
            if later <= self.end:
                self.reprocess(claim, result, later)
        elif draw < events["reprocess_share"] + events["recoupment_share"] and result.paid > 0:
            later = next_cycle(payer, when + timedelta(days=rng.randint(60, 150)))
            paid_lines = [x for x in result.lines if x.paid > 0]
            if later <= self.end and paid_lines and payer.kind != "medicare":
                amount = paid_lines[0].paid
                self.remits.add_plb(payer, later, ProviderAdjustment("WO", result.icn, amount))

    def reprocess(self, claim: Claim, result: ClaimResult, when: date) -> None:
        """A retroactive fee update: reversal of the claim and a correction paying a bit more."""
        self.remits.add(claim.payer, when, reversal(result))
        lines = []
        for old in result.lines:
            new = clone_line(old)
            co45 = next((a for a in new.adjustments if a[:2] == ("CO", "45")), None)
            if co45 and old.paid > 0:
                bump = min(money(old.allowed * Decimal("0.03")), co45[2])
                new.adjustments[new.adjustments.index(co45)] = ("CO", "45", co45[2] - bump)
                new.adjustments = [a for a in new.adjustments if a[2] != 0]
                new.paid += bump
                new.allowed += bump
            lines.append(new)
        correction = ClaimResult(
            claim,
            result.status,
            self.icn(claim.payer, when),
            lines,
            result.received,
            moa=list(result.moa),
            original_icn=result.icn,
            crossover=result.crossover,
        )
        self.remits.add(claim.payer, when, correction)

    # ---- denials: documentation and follow-up ------------------------------------------------

    def record_documentation(self, denial: Denial) -> None:
        claim = denial.claim
        for index in denial.line_indexes:
            line = claim.lines[index]
            # Without SVC loops there is no line to attach to: the facts hold for the whole date.
            code = "" if denial.result.omit_lines else line.code
            for name, value in line.facts.items():
                if value:
                    self.documentation.append((claim.pcn, claim.service_date, code, name, value))

    def work(self, denial: Denial) -> None:
        """Decide whether the practice works the denial, and play out the appeal levels."""
        rng = self.rng
        plan = denial.plan
        kind = plan.kind
        claim = denial.claim
        payer = claim.payer
        appeals = self.params.appeals
        if kind.route == "none" or plan.abn or (plan.true_duplicate and rng.random() < 0.7):
            return
        denied_amount = sum((denial.result.lines[i].charge for i in denial.line_indexes), ZERO)
        worked = kind.worked + (0.15 if denied_amount > Decimal(appeals["big_denial"]) else 0)
        if rng.random() >= worked:
            return
        route = kind.route
        if payer.kind == "medicare" and route == "corrected_claim" and plan.claim_moa != "MA130":
            route = "reopening"
        if route == "appeal" and payer.kind == "medicare":
            route = "redetermination"
        level = 1
        start = denial.remit_date
        while True:
            window = payer.windows[level - 1]
            if route == "corrected_claim":
                deadline = max(
                    claim.service_date + timedelta(days=payer.timely_filing_days),
                    start + timedelta(days=60),
                )
                delay = appeals["corrected_claim_delay"]
                decision = appeals["corrected_decision_delay"]
            elif route == "reopening":
                deadline = start + timedelta(days=365)
                delay = appeals["corrected_claim_delay"]
                decision = appeals["corrected_decision_delay"]
            else:
                deadline = start + timedelta(days=window)
                delay = appeals["appeal_delay"]
                decision = appeals["decision_delay"]
            filed = start + timedelta(days=rng.randint(*delay))
            late = rng.random() < appeals["late_share"]
            if late:
                filed = deadline + timedelta(days=rng.randint(1, 30))
            if filed > self.end:
                return
            decided = filed + timedelta(days=rng.randint(*decision))
            if level == 1:
                chance = kind.win_merit if plan.merit else kind.win_no_merit
            else:
                chance = float(appeals["second_level_win"]) if plan.merit else 0.03
            chance = min(0.97, chance * self.win_factor(payer, filed))
            won = not late and rng.random() < chance
            record = self.appeal_record(denial, route, level, filed, deadline)
            self.appeals.extend(record)
            if late:
                for row in record:
                    row.outcome, row.decision_date = "dismissed_untimely", decided
                return
            paid_on = next_cycle(payer, decided + timedelta(days=rng.randint(0, 7)))
            if decided > self.end or (won and paid_on > self.end):
                for row in record:
                    row.outcome = "pending"
                return
            for row in record:
                row.decision_date = decided
            if won:
                self.pay_overturned(denial, record, filed, paid_on, route)
                return
            for row in record:
                row.outcome = "lost"
            if route == "corrected_claim" and payer.kind != "medicare":
                again = self.adjudicate(claim, plan, filed, self.fixed_lines(denial))
                again.frequency = "7"
                again.original_icn = denial.result.icn
                self.remits.add(payer, paid_on, again)
            if (
                level == 2
                or route in ("corrected_claim", "reopening")
                or not plan.merit
                or rng.random() >= float(appeals["second_level_share"])
            ):
                return
            level = 2
            start = decided

    def appeal_record(
        self, denial: Denial, route: str, level: int, filed: date, deadline: date
    ) -> list[AppealRecord]:
        claim = denial.claim
        rows = []
        for index in denial.line_indexes:
            line = denial.result.lines[index]
            rows.append(
                AppealRecord(
                    claim.pcn,
                    denial.result.icn,
                    claim.payer.payer_id,
                    claim.service_date,
                    claim.lines[index].procedure,
                    line.control,
                    f"{denial.plan.group}-{denial.plan.carc}",
                    " ".join(denial.plan.rarcs),
                    line.charge,
                    denial.remit_date,
                    denial.plan.kind.category,
                    route,
                    level,
                    filed,
                    deadline,
                    "",
                    None,
                    ZERO,
                )
            )
        return rows

    def fixed_lines(self, denial: Denial) -> list[c.Line]:
        lines = []
        for index, line in enumerate(denial.claim.lines):
            fix = denial.plan.fixes.get(index)
            if fix is None:
                lines.append(line)
            else:
                code, modifiers = fix
                kept = [m for m in line.modifiers if m not in modifiers]
                lines.append(c.Line(code, [*modifiers, *kept], line.units, line.facts))
        return lines

    def pay_overturned(
        self,
        denial: Denial,
        records: list[AppealRecord],
        filed: date,
        paid_on: date,
        route: str,
    ) -> None:
        """The won appeal or accepted corrected claim, as the payer reports it in a later 835."""
        claim = denial.claim
        payer = claim.payer
        lines = self.fixed_lines(denial)
        fresh = self.adjudicate(claim, None, filed, lines)
        fresh.frequency = "7" if route in ("corrected_claim", "reopening") else "1"
        overturned = set(denial.line_indexes)
        for index, old in enumerate(denial.result.lines):
            if index not in overturned:
                fresh.lines[index] = clone_line(old)
        by_line = {i: fresh.lines[i].paid for i in overturned}
        style = payer.reversal_style
        if denial.plan.claim_moa == "MA130":
            style = "repayment"  # an unprocessable claim was never adjudicated: a new claim pays
        if style == "reversal" and denial.plan.claim_moa != "MA130":
            self.remits.add(payer, paid_on, reversal(denial.result))
            fresh.original_icn = denial.result.icn
            if claim.payer.kind == "medicare" and fresh.status == "1":
                fresh.moa = ["MA01"]
        else:
            fresh.lines = [fresh.lines[i] for i in sorted(overturned)]
            fresh.frequency = "1"
        fresh.status = "1" if fresh.status == "4" else fresh.status
        self.remits.add(payer, paid_on, fresh)
        for record, index in zip(records, denial.line_indexes, strict=True):
            record.recovered_amount = by_line[index]
            changed = denial.plan.fixes.get(index)
            downcoded = changed is not None and changed[0] != claim.lines[index].code
            record.outcome = "partial" if downcoded else "won"


def clone_line(line: LineResult) -> LineResult:
    return LineResult(
        line.code,
        list(line.modifiers),
        line.units,
        line.charge,
        line.paid,
        line.allowed,
        line.control,
        line.service_date,
        list(line.adjustments),
        list(line.remarks),
        line.policy,
        line.original,
    )


def reversal(result: ClaimResult) -> ClaimResult:
    """CLP02=22: the original claim with every amount negated and its CLP07 kept."""
    lines = []
    for line in result.lines:
        new = clone_line(line)
        new.charge, new.paid, new.allowed = -line.charge, -line.paid, -line.allowed
        new.adjustments = [(g, r, -a) for g, r, a in line.adjustments]
        lines.append(new)
    return ClaimResult(
        result.claim,
        "22",
        result.icn,
        lines,
        result.received,
        [(g, r, -a) for g, r, a in result.claim_adjustments],
        list(result.moa),
        result.frequency,
        "",
        result.omit_lines,
        result.crossover,
    )
