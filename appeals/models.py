"""All database tables (SQLModel).

Money is `Decimal` in Python and exact in the database: NUMERIC on PostgreSQL, integer cents on
SQLite (whose NUMERIC is a float), through the `Money` column type. Every schema change gets an
Alembic revision in `migrations/versions/`; a test checks the migrations match these models.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlmodel import Field, SQLModel


class ScaledDecimal(sa.types.TypeDecorator):
    """An exact decimal: NUMERIC where the database has one, a scaled integer on SQLite."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, places: int = 2, digits: int = 14) -> None:
        super().__init__()
        self.places = places
        self.digits = digits
        self.factor = Decimal(10) ** places
        self.quantum = Decimal(1).scaleb(-places)

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.digits, self.places, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(self.quantum)
        if dialect.name == "sqlite":
            return int(value * self.factor)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(value) / self.factor).quantize(self.quantum)
        return Decimal(value).quantize(self.quantum)


class Money(ScaledDecimal):
    """Dollars and cents."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(places=2, digits=14)


class Units(ScaledDecimal):
    """Service units and CAS quantities (real files carry fractional units such as 9.999)."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(places=3, digits=12)


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (SQLModel stores aware datetimes)."""
    return datetime.now(UTC)


def money(**kwargs: Any) -> Any:
    return Field(default=Decimal("0.00"), sa_type=Money, **kwargs)


def optional_money(**kwargs: Any) -> Any:
    return Field(default=None, sa_type=Money, **kwargs)


# --- organisation -------------------------------------------------------------------------


class Practice(SQLModel, table=True):
    """A billing entity (payee): the practice whose remittances are imported."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    npi: str = Field(default="", index=True)
    tax_id: str = Field(default="", index=True)
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    phone: str = ""
    fax: str = ""
    email: str = ""
    signer_name: str = ""
    signer_title: str = ""
    logo: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    logo_mime: str = ""


class Payer(SQLModel, table=True):
    """A payer, keyed by its identifier (REF*2U, N104 or TRN03) and name."""

    id: int | None = Field(default=None, primary_key=True)
    identifier: str = Field(index=True, unique=True)
    name: str
    payer_type: str = "commercial"  # medicare | medicare_advantage | medicaid | commercial | other
    website: str = ""
    phone: str = ""


class PayerAppealAddress(SQLModel, table=True):
    """Where appeals go for one payer and product line (reviewed data, edited by an admin)."""

    id: int | None = Field(default=None, primary_key=True)
    payer_id: int = Field(foreign_key="payer.id", index=True)
    product_line: str = "all"
    department: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    fax: str = ""
    portal_url: str = ""
    reviewed_on: date | None = None
    notes: str = ""


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True)
    full_name: str = ""
    email: str = ""
    password_hash: str
    role: str = "specialist"  # specialist | manager | admin
    practice_id: int | None = Field(default=None, foreign_key="practice.id", index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    # Login lockout (appeals.users.authenticate): attempts are counted here, by one atomic UPDATE,
    # before the password is checked; reaching the limit locks the account for a period that
    # doubles with each lockout until a successful login.
    failed_logins: int = 0
    last_failed_at: datetime | None = None
    locked_until: datetime | None = None
    lockouts: int = 0


class LoginAttempt(SQLModel, table=True):
    """Recent login attempts, for rate limiting per account and per address.

    Recorded as failed before the password is checked, marked succeeded after. `known_user`:
    the username existed; `throttled`: refused without a check (never counted as a failure).
    """

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True)
    address: str = Field(index=True)
    succeeded: bool = False
    known_user: bool = False
    throttled: bool = False
    at: datetime = Field(default_factory=utcnow, index=True)


class UserSession(SQLModel, table=True):
    """A signed-in session. The cookie holds a random token; only its SHA-256 is stored.

    Checked on every request (appeals.users.resume_session): a session ends at logout, "sign
    out everywhere", a password change, disabling, idle timeout or its absolute lifetime, and a
    replayed cookie of an ended session is refused.
    """

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow, index=True)
    ended_at: datetime | None = None
    end_reason: str = ""  # logout | everywhere | password | disabled | idle | expired


class AuditEvent(SQLModel, table=True):
    """Who viewed or changed which record, when. `detail` holds ids and field names, no PHI."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    action: str  # view | update | create | status | assign | import | letter | login ...
    entity: str = Field(index=True)  # denial | claim | practice | payer | user | file ...
    entity_id: int | None = Field(default=None, index=True)
    detail: str = ""  # JSON


# --- remittances ---------------------------------------------------------------------------


class RemittanceFile(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    sha256: str = Field(index=True, unique=True)
    size_bytes: int = 0
    interchange_control_number: str = ""
    imported_at: datetime = Field(default_factory=utcnow)
    imported_by_id: int | None = Field(default=None, foreign_key="user.id")
    payment_count: int = 0
    duplicate_payment_count: int = 0
    claim_count: int = 0
    line_count: int = 0
    denial_count: int = 0
    warning_count: int = 0
    warnings: str = ""  # JSON list of {segment, code, message}
    # Set in the import's own transaction when the file created denials, cleared once the coding
    # checks on them are stored: an import interrupted between the two is checked later.
    checks_pending: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # When a run last claimed those checks (renewed as it goes): one run checks a file at a time,
    # and a claim older than `findings.CLAIM_LEASE` belongs to a run that died.
    checks_claimed_at: datetime | None = None


class Payment(SQLModel, table=True):
    """One ST/SE transaction: the BPR/TRN payment and its payer and payee."""

    __table_args__ = (sa.UniqueConstraint("dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    file_id: int = Field(foreign_key="remittancefile.id", index=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    payer_id: int = Field(foreign_key="payer.id", index=True)
    dedupe_key: str  # payer id + trace number + amount + date: a re-sent payment is posted once
    transaction_control_number: str = ""
    handling_code: str = ""
    amount: Decimal = money()
    credit_debit: str = ""
    method: str = ""
    payment_date: date | None = Field(default=None, index=True)
    trace_number: str = Field(default="", index=True)
    trace_originator: str = ""
    payee_name: str = ""
    payee_npi: str = ""
    payee_tax_id: str = ""
    warnings: str = ""  # JSON


class Claim(SQLModel, table=True):
    """Loop 2100 (CLP) as received in one payment (patients are synthetic in tests and demo)."""

    # The same claim's earlier remittances (reports' first-pass resolution): one index lookup.
    __table_args__ = (
        sa.Index("ix_claim_account", "patient_control_number", "payer_id", "practice_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    payer_id: int = Field(foreign_key="payer.id", index=True)
    patient_control_number: str  # looked up through ix_claim_account, its first column
    payer_claim_control_number: str = Field(default="", index=True)
    status: str
    charge: Decimal = money()
    paid: Decimal = money()
    patient_responsibility: Decimal | None = optional_money()
    filing_indicator: str = ""
    facility_code: str = ""
    frequency_code: str = ""
    patient_last_name: str = Field(default="", index=True)  # queue search by name
    patient_first_name: str = ""
    member_id: str = ""
    insured_last_name: str = ""
    insured_first_name: str = ""
    rendering_provider_name: str = ""
    rendering_provider_npi: str = ""
    statement_from: date | None = None
    statement_to: date | None = None
    received_date: date | None = None
    service_date: date | None = Field(default=None, index=True)  # first line date or statement from
    original_reference: str = ""  # REF*F8
    is_reversal: bool = False
    reverses_claim_id: int | None = Field(default=None, foreign_key="claim.id")
    segment: int = 0
    warnings: str = ""  # JSON


def paid_on(claim_id: Any) -> Any:
    """The payment date of the remittance that carried the claim `claim_id` (a column, e.g. a
    denial's `closed_by_claim_id`): a correlated scalar subquery."""
    return (
        sa.select(Payment.payment_date)
        .join(Claim, Claim.payment_id == Payment.id)  # type: ignore[arg-type]
        .where(Claim.id == claim_id)
        .scalar_subquery()
    )


class ServiceLine(SQLModel, table=True):
    """Loop 2110 (SVC)."""

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    line_number: int
    procedure_qualifier: str = "HC"
    procedure_code: str
    modifiers: str = ""  # space-separated, as billed order
    description: str = ""
    original_procedure_code: str = ""
    original_modifiers: str = ""
    revenue_code: str = ""
    units: Decimal = Field(default=Decimal("1"), sa_type=Units)
    original_units: Decimal | None = Field(default=None, sa_type=Units)
    charge: Decimal = money()
    paid: Decimal = money()
    allowed: Decimal | None = optional_money()
    service_date: date | None = None
    service_date_end: date | None = None
    control_number: str = ""
    policy_id: str = ""
    segment: int = 0


class Adjustment(SQLModel, table=True):
    """One CAS triplet, at claim level (line_id null) or line level.

    Read by claim only, and never deleted: the claim index is the only one besides the key
    (each index is written again for every row an import inserts).
    """

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="serviceline.id")
    group_code: str
    reason: str
    amount: Decimal = money()
    quantity: Decimal | None = Field(default=None, sa_type=Units)
    position: int = 0


class Remark(SQLModel, table=True):
    """A remark code (RARC) from MOA/MIA (claim level) or LQ (line level); read by claim only."""

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="serviceline.id")
    code: str
    source: str = ""
    qualifier: str = "HE"


class ProviderAdjustment(SQLModel, table=True):
    """A PLB reason/amount pair."""

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    provider_id: str = ""
    fiscal_period_date: date | None = None
    reason: str
    reference: str = ""
    amount: Decimal = money()


# --- denials and appeals -------------------------------------------------------------------


class Denial(SQLModel, table=True):
    """One denied service line (or claim, where the claim has no lines) to work."""

    # The queue reads pages in (sort column, id) order with keyset paging: one index per sort
    # (priority's is on DenialScore).
    __table_args__ = (
        sa.Index("ix_denial_queue_deadline", "deadline", "id"),
        sa.Index("ix_denial_queue_amount", "denied_amount", "id"),
        sa.Index("ix_denial_queue_age", "denied_on", "id"),
        # Reports aggregate a period's denials from this index alone, never the wide rows.
        sa.Index(
            "ix_denial_report",
            "denied_on",
            "practice_id",
            "payer_id",
            "status",
            "deadline",
            "denied_amount",
            "recovered_amount",
            "category",
            "group_code",
            "carc",
            "rarc",
            "procedure_code",
            "claim_id",
        ),  # fmt: skip
        # The sources report's root causes: a reason's newest denials, read newest first.
        sa.Index("ix_denial_reason_newest", "group_code", "carc", "rarc", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    payer_id: int = Field(foreign_key="payer.id", index=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="serviceline.id", index=True)
    patient_control_number: str = Field(index=True)
    procedure_code: str = Field(default="", index=True)
    service_date: date | None = Field(default=None, index=True)
    # payment date of the remittance; indexed by ix_denial_queue_age (denied_on, id)
    denied_on: date | None = None
    group_code: str = ""
    carc: str = Field(default="", index=True)  # the reason that decided the category
    carcs: str = ""  # every denial CARC on the line, space-separated
    rarc: str = Field(default="", index=True)  # the first remark code: the detail of the reason
    rarcs: str = ""  # every RARC on the line (and claim), space-separated
    category: str = Field(index=True)
    action: str
    denied_amount: Decimal = money()
    status: str = Field(default="new", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    appeal_level: int = 1
    payer_type: str = ""  # from the claim's CLP06 (the payer's default when absent)
    level_notice_on: date | None = None  # when the current level's clock started
    deadline: date | None = None  # indexed by ix_denial_queue_deadline (deadline, id)
    deadline_basis: str = ""  # the rule behind `deadline`, in words
    findings: str = ""  # JSON: dermatology coding checks
    recovered_amount: Decimal = money()
    closed_at: datetime | None = None
    closed_by_claim_id: int | None = Field(default=None, foreign_key="claim.id")
    # When a person first worked it, with the score and queue rank it had then: later training
    # can correct for learning only from the denials people chose to work.
    worked_at: datetime | None = None
    worked_probability: float | None = None
    worked_rank: int | None = None
    repeat_count: int = 0  # later remittances that denied the same line again
    last_denied_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DenialScore(SQLModel, table=True):
    """A denial's score, in a narrow table of its own sharing the denial's id.

    Every rescore rewrites these columns for up to every open denial. On the wide denial row
    each such update was a new row version with an entry in every denial index, and the report
    triggers read it: 200,000 updates took 22 s on PostgreSQL against 2.2-2.7 s here.
    """

    __table_args__ = (sa.Index("ix_denialscore_queue_priority", "priority", "id"),)

    id: int = Field(foreign_key="denial.id", primary_key=True)  # the denial's id
    probability: float | None = None
    ranker: str = ""  # what scored `probability`: "model" or "prior"
    stake: Decimal | None = optional_money()  # expected payment: the payer's usual allowed
    expected_recovery: Decimal | None = optional_money()
    priority: float = 0.0
    explanation: str = ""  # JSON: why this priority (deadline words added when shown)
    # `scoring.fingerprints` of the features and model `probability` came from: the daily
    # rescore predicts again only the rows whose digest differs
    basis: int | None = Field(default=None, sa_type=sa.BigInteger)


class Appeal(SQLModel, table=True):
    """One request at one level: opened by a letter or when sent, closed by a decision."""

    id: int | None = Field(default=None, primary_key=True)
    denial_id: int = Field(foreign_key="denial.id", index=True)
    level: int = 1
    route: str = "appeal"  # appeal | corrected_claim | reopening
    deadline: date | None = None  # the level's filing deadline when it was sent
    submitted_on: date | None = None
    method: str = ""  # portal | fax | mail | phone | electronic | automatic
    reference: str = ""  # the payer's or carrier's reference / tracking number
    follow_up_on: date | None = Field(default=None, index=True)
    outcome: str = ""  # won | partial | lost | withdrawn
    recovered_amount: Decimal = money()
    closed_on: date | None = None  # the decision date
    source: str = "app"  # app | history | remittance
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    sent_by_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class AppealLetter(SQLModel, table=True):
    """The letters an appeal sent (one letter can cover several denied lines' appeals)."""

    appeal_id: int = Field(foreign_key="appeal.id", primary_key=True)
    letter_id: int = Field(foreign_key="letter.id", primary_key=True, index=True)


class PayerWindow(SQLModel, table=True):
    """An admin's filing window for one payer and product line, replacing the default.

    Level 1, 2, ... are appeal levels (days after the notice or decision); level 0 is the
    timely-filing limit for corrected claims and reopenings (days after the date of service).
    """

    __table_args__ = (sa.UniqueConstraint("payer_id", "payer_type", "level"),)

    id: int | None = Field(default=None, primary_key=True)
    payer_id: int = Field(foreign_key="payer.id", index=True)
    payer_type: str  # the product line: medicare | medicare_advantage | medicaid | commercial
    level: int = 1
    days: int
    receipt_days: int = 0
    source: str = ""  # contract, manual or page the window comes from
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")


class AppState(SQLModel, table=True):
    """Small facts about the installation (e.g. the day priorities were last recomputed)."""

    key: str = Field(primary_key=True)
    value: str = ""


class Letter(SQLModel, table=True):
    """A generated appeal letter, kept with the context it was rendered from."""

    id: int | None = Field(default=None, primary_key=True)
    appeal_id: int | None = Field(default=None, foreign_key="appeal.id", index=True)
    denial_id: int = Field(foreign_key="denial.id", index=True)
    template: str
    version: int = 1
    context: str = ""  # JSON snapshot
    docx: bytes = Field(sa_type=sa.LargeBinary)
    author_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class DocumentationFact(SQLModel, table=True):
    """One clinical fact for a claim's date of service (and procedure), as exported from an EHR."""

    __table_args__ = (
        sa.UniqueConstraint(
            "practice_id", "patient_control_number", "service_date", "procedure_code", "field"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(foreign_key="practice.id", index=True)
    patient_control_number: str = Field(index=True)
    service_date: date | None = None
    procedure_code: str = ""  # '' applies to every line of the date of service
    field: str
    value: str = ""
    source: str = "app"  # app | csv
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")


class Note(SQLModel, table=True):
    """A note or a payer call log on a denial."""

    id: int | None = Field(default=None, primary_key=True)
    denial_id: int = Field(foreign_key="denial.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    kind: str = "note"  # note | call
    body: str = ""
    call_date: date | None = None
    call_person: str = ""
    call_reference: str = ""
    follow_up_on: date | None = Field(default=None, index=True)  # what the payer promised by


# --- web uploads ---------------------------------------------------------------------------


class UploadJob(SQLModel, table=True):
    """One browser upload of 835 files, imported in the background (appeals.web.jobs).

    Kept in the database so any server process can show its progress, and so a job that was
    running when its process stopped is marked failed with the reason instead of spinning.
    """

    __tablename__ = "upload_job"

    id: str = Field(primary_key=True, max_length=32)  # random hex, the URL's job id
    user_id: int = Field(foreign_key="user.id", index=True)
    practice_id: int | None = Field(default=None, foreign_key="practice.id")
    created_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = Field(default=None, index=True)  # NULL while unfinished
    host: str = ""  # the process importing it: host name and process id
    pid: int = 0
    error: str = ""  # why the job stopped early ("the server restarted during the import")


class UploadJobFile(SQLModel, table=True):
    """One uploaded file of a job and its outcome (the importer's FileResult, flattened)."""

    __tablename__ = "upload_job_file"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="upload_job.id", index=True, max_length=32)
    position: int = 0
    name: str
    size: int = 0
    done: int = 0  # bytes read so far, written at most about once a second
    state: str = "queued"  # queued | importing | imported | duplicate | failed
    error: str = ""
    file_id: int | None = Field(default=None, foreign_key="remittancefile.id")
    claims: int = 0
    lines: int = 0
    denials: int = 0
    denied_amount: Decimal = money()
    warnings: int = 0


# --- report aggregates (appeals.reports.aggregates) ----------------------------------------
# Monthly sums the report pages read instead of scanning every denial and remittance line. A
# "cell" is one practice's month of denial (basis "denied", which is also the month of payment
# for remittance claims) or month of service (basis "service"); month "" holds undated rows.
# Database triggers (migration 0008) mark a cell stale in the same transaction as any write to
# its denials, appeals or claims; a report request first recomputes the stale cells.


class ReportStale(SQLModel, table=True):
    """A cell whose aggregates no longer match the rows (written by triggers)."""

    __tablename__ = "report_stale"

    practice_id: int = Field(primary_key=True)
    basis: str = Field(primary_key=True)  # denied | service
    month: str = Field(primary_key=True)  # YYYY-MM, "" for no date
    kind: str = Field(primary_key=True)  # denial (denials, appeals) | claim (remittance figures)


class ReportCell(SQLModel, table=True):
    """A computed cell: the first and last day its rows carry (a partial month can use the
    cell when every row falls inside the period)."""

    __tablename__ = "report_cell"

    practice_id: int = Field(primary_key=True)
    basis: str = Field(primary_key=True)
    month: str = Field(primary_key=True)
    first_day: date | None = None
    last_day: date | None = None


class ReportDenial(SQLModel, table=True):
    """Denial outcomes of a cell. `dim` "" rows are per payer and provider (both set) and carry
    the cohort sums; the other dims (category, carc, carc-rarc, family) are per payer only
    (provider null; their sum is the whole cell) or per provider only (payer null)."""

    __tablename__ = "report_denial"
    __table_args__ = (sa.Index("ix_report_denial_cell", "practice_id", "basis", "dim", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int
    basis: str
    month: str
    payer_id: int | None = None
    provider: str | None = None  # the rendering provider's NPI, or name when no NPI
    dim: str = ""
    key: str = ""
    label: str = ""
    denials: int = 0
    denied: Decimal = money()
    recovered: Decimal = money()
    still_open: Decimal = money()
    lost: Decimal = money()
    expired: Decimal = money()
    written_off: Decimal = money()
    expired_count: int = 0
    won_count: int = 0  # won or partly won (the Reasons page's rate, by number)
    closed_count: int = 0  # won, partial, lost or written off
    open_count: int = 0  # new or in progress, whatever the deadline (the backlog)
    open_amount: Decimal = money()
    within_30: Decimal = money()  # recovered 0-30 days after the denial date
    within_60: Decimal = money()  # 31-60 days
    within_90: Decimal = money()
    within_180: Decimal = money()


class ReportReturned(SQLModel, table=True):
    """Recovered dollars of a denial-month cell by the month they came back."""

    __tablename__ = "report_returned"
    __table_args__ = (sa.Index("ix_report_returned_back", "back_month", "practice_id"),)

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int
    month: str = Field(index=True)
    payer_id: int
    provider: str
    back_month: str
    denials: int = 0
    recovered: Decimal = money()
    first_back: date | None = None
    last_back: date | None = None


class ReportAppeal(SQLModel, table=True):
    """Appeals sent for a cell's denials per payer, provider, level and outcome."""

    __tablename__ = "report_appeal"
    __table_args__ = (sa.Index("ix_report_appeal_cell", "practice_id", "basis", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int
    basis: str
    month: str
    payer_id: int
    provider: str
    level: int
    outcome: str
    appeals: int = 0
    recovered: Decimal = money()
    stake: Decimal = money()  # Σ denied amount of the appeals' denials
    days: str = ""  # JSON {days from sending to decision: decided appeals}


class ReportTeam(SQLModel, table=True):
    """Per person for a cell's denials: worked, sent, decided, won, recovered."""

    __tablename__ = "report_team"
    __table_args__ = (sa.Index("ix_report_team_cell", "practice_id", "basis", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int
    basis: str
    month: str
    payer_id: int
    provider: str
    user_id: int
    worked: int = 0
    sent: int = 0
    decided: int = 0
    won: int = 0
    recovered: Decimal = money()
    by_835: Decimal = money()
    days: str = ""  # JSON {days from sending to decision: decided appeals}


class ReportRemit(SQLModel, table=True):
    """Remittance figures of a cell's claims (month of payment or of service)."""

    __tablename__ = "report_remit"
    __table_args__ = (sa.Index("ix_report_remit_cell", "practice_id", "basis", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int
    basis: str
    month: str
    payer_id: int
    provider: str
    paid: Decimal = money()
    charges: Decimal = money()
    claims: int = 0  # a reversal counts -1
    contractual: Decimal = money()
    lines: int = 0
    line_charges: Decimal = money()
    first_claims: int = 0
    resolved: int = 0
    days: str = ""  # JSON {days from service to payment: paid claims}
