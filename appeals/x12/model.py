"""Plain objects an 835 is read into.

The reader fills these from segments; nothing here knows about files, databases or Flask.
Money is always `Decimal`; dates are `datetime.date` or None when absent or invalid.
The list attributes of `Claim` and `ServiceLine` start as the shared empty tuple `()`; the
reader, their only writer, puts a list there on the first item. Read them as sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(slots=True)
class Issue:
    """A warning found while reading: the file still parsed, but something does not add up."""

    segment: int
    code: str
    message: str
    level: str = (
        "warning"  # "warning": check it; "note": explained, e.g. interest folded into CLP04
    )


@dataclass(slots=True)
class Adjustment:
    """One CAS reason triplet (group, CARC, amount, quantity)."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None
    segment: int = 0


@dataclass(slots=True)
class Remark:
    """A RARC (or NCPDP reject code) and where it came from: MOA, MIA or LQ (with LQ01)."""

    code: str
    source: str
    qualifier: str = "HE"


@dataclass(slots=True)
class Reference:
    qualifier: str
    value: str


@dataclass(slots=True)
class Amount:
    qualifier: str
    amount: Decimal


@dataclass(slots=True)
class Quantity:
    qualifier: str
    quantity: Decimal


@dataclass(slots=True)
class Person:
    """An NM1 in the claim loop (patient, insured, corrected patient, rendering provider...)."""

    entity: str
    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    id_qualifier: str = ""
    identifier: str = ""


@dataclass(slots=True)
class Contact:
    function: str
    name: str = ""
    numbers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Party:
    """Payer (N1*PR, loop 1000A) or payee (N1*PE, loop 1000B)."""

    entity: str
    name: str = ""
    id_qualifier: str = ""
    identifier: str = ""
    address: list[str] = field(default_factory=list)
    city: str = ""
    state: str = ""
    postal_code: str = ""
    references: list[Reference] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)

    def reference(self, *qualifiers: str) -> str:
        """The first REF value with one of the qualifiers, or ''."""
        for ref in self.references:
            if ref.qualifier in qualifiers:
                return ref.value
        return ""

    @property
    def npi(self) -> str:
        """The NPI when N1 carries one (N103 = XX), or ''."""
        return self.identifier if self.id_qualifier == "XX" else ""

    @property
    def tax_id(self) -> str:
        """The TIN: N104 when N103 = FI, else REF*TJ (the usual place when N1 holds the NPI)."""
        return self.identifier if self.id_qualifier == "FI" else self.reference("TJ")


@dataclass(slots=True)
class Procedure:
    """An SVC01/SVC06 composite: qualifier, code, up to four modifiers, description."""

    qualifier: str
    code: str
    modifiers: list[str] = field(default_factory=list)
    description: str = ""

    def __str__(self) -> str:
        return "-".join([self.code, *self.modifiers])


@dataclass(slots=True, init=False)
class ServiceLine:
    """Loop 2110: one SVC with its dates, adjustments, references and remarks."""

    procedure: Procedure
    charge: Decimal
    paid: Decimal
    units: Decimal
    segment: int
    revenue_code: str = ""
    original_procedure: Procedure | None = None
    original_units: Decimal | None = None
    service_date: date | None = None
    service_date_end: date | None = None
    adjustments: list[Adjustment] | tuple[()] = ()
    remarks: list[Remark] | tuple[()] = ()
    references: list[Reference] | tuple[()] = ()
    amounts: list[Amount] | tuple[()] = ()
    quantities: list[Quantity] | tuple[()] = ()

    # Written out (not generated) because the reader makes one per SVC. The list attributes
    # start as the shared empty tuple: the reader (their only writer) makes a list on the first
    # append, which saves a list per empty attribute (most are empty).
    def __init__(
        self,
        procedure: Procedure,
        charge: Decimal,
        paid: Decimal,
        units: Decimal,
        segment: int,
        revenue_code: str = "",
        original_procedure: Procedure | None = None,
        original_units: Decimal | None = None,
        service_date: date | None = None,
        service_date_end: date | None = None,
        adjustments: list[Adjustment] | tuple[()] = (),
        remarks: list[Remark] | tuple[()] = (),
        references: list[Reference] | tuple[()] = (),
        amounts: list[Amount] | tuple[()] = (),
        quantities: list[Quantity] | tuple[()] = (),
    ) -> None:
        self.procedure = procedure
        self.charge = charge
        self.paid = paid
        self.units = units
        self.segment = segment
        self.revenue_code = revenue_code
        self.original_procedure = original_procedure
        self.original_units = original_units
        self.service_date = service_date
        self.service_date_end = service_date_end
        self.adjustments = adjustments
        self.remarks = remarks
        self.references = references
        self.amounts = amounts
        self.quantities = quantities

    @property
    def control_number(self) -> str:
        """REF*6R line item control number, echoed from the 837, or ''."""
        return next((r.value for r in self.references if r.qualifier == "6R"), "")

    @property
    def policy_id(self) -> str:
        """REF*0K healthcare policy identification (the LCD or policy behind the adjustment)."""
        return next((r.value for r in self.references if r.qualifier == "0K"), "")


@dataclass(slots=True, init=False)
class Claim:
    """Loop 2100: one CLP with its patient, adjustments, remarks and service lines."""

    patient_control_number: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None
    filing_indicator: str
    payer_claim_control_number: str
    segment: int
    facility_code: str = ""
    frequency_code: str = ""
    drg_code: str = ""
    drg_weight: Decimal | None = None
    discharge_fraction: Decimal | None = None
    patient: Person | None = None
    insured: Person | None = None
    corrected_patient: Person | None = None
    rendering_provider: Person | None = None
    crossover_carrier: Person | None = None
    corrected_payer: Person | None = None
    other_subscriber: Person | None = None
    statement_from: date | None = None
    statement_to: date | None = None
    received_date: date | None = None
    coverage_expiration: date | None = None
    adjustments: list[Adjustment] | tuple[()] = ()
    remarks: list[Remark] | tuple[()] = ()
    references: list[Reference] | tuple[()] = ()
    amounts: list[Amount] | tuple[()] = ()
    quantities: list[Quantity] | tuple[()] = ()
    lines: list[ServiceLine] | tuple[()] = ()
    warnings: list[Issue] | tuple[()] = ()

    # Written out for speed, like ServiceLine's.
    def __init__(
        self,
        patient_control_number: str,
        status: str,
        charge: Decimal,
        paid: Decimal,
        patient_responsibility: Decimal | None,
        filing_indicator: str,
        payer_claim_control_number: str,
        segment: int,
        facility_code: str = "",
        frequency_code: str = "",
        drg_code: str = "",
        drg_weight: Decimal | None = None,
        discharge_fraction: Decimal | None = None,
        patient: Person | None = None,
        insured: Person | None = None,
        corrected_patient: Person | None = None,
        rendering_provider: Person | None = None,
        crossover_carrier: Person | None = None,
        corrected_payer: Person | None = None,
        other_subscriber: Person | None = None,
        statement_from: date | None = None,
        statement_to: date | None = None,
        received_date: date | None = None,
        coverage_expiration: date | None = None,
        adjustments: list[Adjustment] | tuple[()] = (),
        remarks: list[Remark] | tuple[()] = (),
        references: list[Reference] | tuple[()] = (),
        amounts: list[Amount] | tuple[()] = (),
        quantities: list[Quantity] | tuple[()] = (),
        lines: list[ServiceLine] | tuple[()] = (),
        warnings: list[Issue] | tuple[()] = (),
    ) -> None:
        self.patient_control_number = patient_control_number
        self.status = status
        self.charge = charge
        self.paid = paid
        self.patient_responsibility = patient_responsibility
        self.filing_indicator = filing_indicator
        self.payer_claim_control_number = payer_claim_control_number
        self.segment = segment
        self.facility_code = facility_code
        self.frequency_code = frequency_code
        self.drg_code = drg_code
        self.drg_weight = drg_weight
        self.discharge_fraction = discharge_fraction
        self.patient = patient
        self.insured = insured
        self.corrected_patient = corrected_patient
        self.rendering_provider = rendering_provider
        self.crossover_carrier = crossover_carrier
        self.corrected_payer = corrected_payer
        self.other_subscriber = other_subscriber
        self.statement_from = statement_from
        self.statement_to = statement_to
        self.received_date = received_date
        self.coverage_expiration = coverage_expiration
        self.adjustments = adjustments
        self.remarks = remarks
        self.references = references
        self.amounts = amounts
        self.quantities = quantities
        self.lines = lines
        self.warnings = warnings

    @property
    def is_reversal(self) -> bool:
        return self.status == "22"

    @property
    def original_reference(self) -> str:
        """REF*F8: the payer's earlier claim number on a corrected claim, or ''."""
        return next((r.value for r in self.references if r.qualifier == "F8"), "")


@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB reason/amount pair. Positive reduces the payment, negative increases it."""

    provider_id: str
    fiscal_period_date: date | None
    reason: str
    reference: str
    amount: Decimal
    segment: int


@dataclass(slots=True)
class PaymentHeader:
    """One ST/SE transaction's header: envelope ids, BPR, TRN, payer and payee."""

    transaction_control_number: str
    segment: int
    interchange_control_number: str = ""
    group_control_number: str = ""
    sender_id: str = ""
    receiver_id: str = ""
    version: str = ""
    handling_code: str = ""
    payment_amount: Decimal = Decimal("0")
    credit_debit: str = ""
    payment_method: str = ""
    payment_format: str = ""
    payer_account: str = ""
    payee_account: str = ""
    payment_date: date | None = None
    trace_type: str = ""
    trace_number: str = ""
    trace_originator: str = ""
    currency: str = ""
    production_date: date | None = None
    payer: Party = field(default_factory=lambda: Party("PR"))
    payee: Party = field(default_factory=lambda: Party("PE"))
    references: list[Reference] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


@dataclass(slots=True)
class PaymentEnd:
    """Closes a transaction: provider adjustments, counts and the transaction-level warnings."""

    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    claim_count: int = 0
    claims_paid: Decimal = Decimal("0")
    warnings: list[Issue] = field(default_factory=list)


@dataclass(slots=True)
class Payment:
    """A whole ST/SE transaction, assembled from the streamed pieces (for small files and tests)."""

    header: PaymentHeader
    claims: list[Claim] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def all_warnings(self) -> list[Issue]:
        return [w for c in self.claims for w in c.warnings] + self.warnings
