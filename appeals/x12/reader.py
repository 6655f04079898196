"""The 835 reader: segments from the tokenizer into PaymentHeader, Claim and PaymentEnd objects.

`iter_remittance` streams, per ST/SE transaction: one `PaymentHeader` (yielded at the first LX,
CLP, PLB or SE, when BPR/TRN/payer/payee are known), each `Claim` once the next CLP, LX, PLB or SE
closes it, and one `PaymentEnd` (PLB adjustments, counts, transaction warnings). The `PaymentEnd`
is held until the next ST or the end of the file so that GE/IEA envelope checks can be added to it.

Decisions (see docs/835-json.md for the output):
- Malformed input raises `X12Error` (file, segment number, segment id, problem); no other
  exception escapes.
- Things that do not add up (balances, counts, control numbers, invalid dates, unknown segments,
  odd versions) are `Issue`s on the claim or the payment, never silent and never fatal.
- 4010 (GS08 `004010...`) is refused at the first segment of an 835 transaction after its ST.
  Empty 835 transactions (ST/SE only) in a 4010 group carry nothing to misread and are returned
  as empty payments with a warning, so a file mixing 278/837 with empty 835s reads as 0 claims.
- Transaction sets other than 835 inside a file are skipped; a file with no 835 at all raises.
- A file starting at ST (no envelope) is read with inferred delimiters and an `Issue`.
- Numbers the database stores are range-checked here, so both databases see the same values:
  an amount beyond the `Money` column (|x| >= 10^12) or a quantity beyond `Units` (|x| >= 10^9)
  raises `X12Error` naming the element; a claim whose adjustments add up beyond `Money` too (a
  denial's amount is their sum). More decimal places than stored (an amount of 1.005, units of
  1.0005) are rounded half up (away from zero on a tie: 1.005 -> 1.01, -1.005 -> -1.01) and
  the segment gets a `sub-cent-amount` / `units-precision` warning: never silent, and what is
  stored is what was balanced. A date the app cannot count deadlines from (a year before 1900
  or after 2199; payers write 99991231 for "no end") is read as no date with a warning, as an
  impossible date is.
- A missing SVC02/SVC03 or CLP03/CLP04 that the balancing rules give exactly is derived, with
  a `derived-amount` warning on its segment (line charge = paid + line adjustments, line payment
  = charge - adjustments, a line missing both from the claim's totals when it is the only such
  line and the result balances; claim charge = sum of the line charges, or payment + claim
  adjustments without lines; claim payment = charge - adjustments). A claim with neither CLP03
  nor CLP04 and no lines cannot be derived: it is left out of the payment with a
  `claim-left-out` warning, and the rest of the file is read.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

from appeals.x12.errors import X12Error
from appeals.x12.model import (
    Adjustment,
    Amount,
    Claim,
    Contact,
    Issue,
    Party,
    Payment,
    PaymentEnd,
    PaymentHeader,
    Person,
    Procedure,
    ProviderAdjustment,
    Quantity,
    Reference,
    Remark,
    ServiceLine,
)
from appeals.x12.tokenizer import Tokenizer

Item = PaymentHeader | Claim | PaymentEnd
Source = str | os.PathLike[str] | BinaryIO | bytes
Handler = Callable[[list[str], int], None]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_GROUPS = frozenset({"CO", "OA", "PI", "PR"})
_LINE_DATES = frozenset({"472", "150", "151"})
_ALT_COMPONENT = ">:|^<\\!"
_PERSON_ROLES = {
    "QC": "patient",
    "IL": "insured",
    "74": "corrected_patient",
    "82": "rendering_provider",
    "TT": "crossover_carrier",
    "PR": "corrected_payer",
    "GB": "other_subscriber",
}
_ENVELOPE = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})
_HEADER_ONLY = frozenset({"BPR", "TRN", "CUR", "N1", "N3", "N4", "RDM"})
_KNOWN_DETAIL = frozenset({"PER", "TS3", "TS2"})

# What the database stores exactly (appeals.models: Money is NUMERIC(14, 2), Units is
# NUMERIC(12, 3); a test keeps these in step). The reader refuses more, so that SQLite (integer
# cents, 64 bits) and PostgreSQL (NUMERIC) accept and refuse the same files.
MONEY_PLACES = 2
MONEY_LIMIT = Decimal(10) ** 12
UNITS_PLACES = 3
UNITS_LIMIT = Decimal(10) ** 9
# Dates from which deadlines (at most a few years on) and reports can be counted.
FIRST_YEAR = 1900
LAST_YEAR = 2199
_CENT = Decimal(1).scaleb(-MONEY_PLACES)
_MILLI = Decimal(1).scaleb(-UNITS_PLACES)

# Parsed numbers by their text; only "clean" ones (at most 2 places, |x| < UNITS_LIMIT), which
# are valid as amounts and as units alike, so a cache hit needs no further check.
_number_cache: dict[str, Decimal] = {}
_date_cache: dict[str, date | None] = {}


class _Bad(Exception):
    """A problem in the current segment; the reader adds file, segment number and id."""


def _number(value: str, what: str) -> Decimal:
    """An X12 decimal (`-12.50`, `100`, `.5`) as Decimal; raises _Bad otherwise."""
    d = _number_cache.get(value)
    if d is not None:
        return d
    digits = value[1:] if value[:1] == "-" else value
    if (
        not digits
        or len(value) > 20
        or not digits.isascii()
        or not digits.replace(".", "", 1).isdigit()
    ):
        if not value:
            raise _Bad(f"{what} is missing")
        raise _Bad(f"{what} {value[:30]!r} is not a number")
    d = Decimal(value)
    # Clean (cached) = at most 9 digits before the point and 2 after: read off the text.
    dot = value.find(".")
    whole = (dot if dot >= 0 else len(value)) - (len(value) - len(digits))
    if whole <= 9 and (dot < 0 or len(value) - dot <= 3):
        if len(_number_cache) > 50_000:
            _number_cache.clear()
        _number_cache[value] = d
    return d


def _optional_number(value: str, what: str) -> Decimal | None:
    return _number(value, what) if value else None


def _parse_date(value: str) -> date | None:
    """CCYYMMDD as a date, None when invalid (the caller warns)."""
    try:
        return _date_cache[value]
    except KeyError:
        pass
    result: date | None = None
    if len(value) == 8 and value.isascii() and value.isdigit():
        try:
            result = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            result = None
        if result is not None and not FIRST_YEAR <= result.year <= LAST_YEAR:
            result = None
    if len(_date_cache) > 50_000:
        _date_cache.clear()
    _date_cache[value] = result
    return result


def _out_of_years(value: str) -> bool:
    """A real CCYYMMDD date whose year the reader does not accept (see the module docstring)."""
    if len(value) != 8 or not value.isascii() or not value.isdigit():
        return False
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def _pad(seg: list[str], size: int) -> list[str]:
    if len(seg) < size:
        seg.extend([""] * (size - len(seg)))
    return seg


def _add(owner: Claim | ServiceLine, attribute: str, item: object) -> None:
    """Append to one of owner's list attributes, which start as the shared empty tuple."""
    items = getattr(owner, attribute)
    if items:
        items.append(item)
    else:
        setattr(owner, attribute, [item])


def _valid_id(seg_id: str) -> bool:
    return 2 <= len(seg_id) <= 3 and seg_id.isascii() and seg_id.isalnum() and seg_id.isupper()


class _Reader:
    """The state machine; `handlers`/`default` are swapped as the transaction advances."""

    def __init__(self, name: str, tokenizer: Tokenizer) -> None:
        self.name = name
        self.tokenizer = tokenizer
        self.out: list[Item] = []
        # Envelope state.
        self.isa: list[str] | None = None
        self.isa_n = 0
        self.gs: list[str] | None = None
        self.gs_n = 0
        self.gs_count = 0
        self.st_count = 0
        self.component = ":"
        self.alt_component = ""
        self.envelope_notes: list[Issue] = []
        self.first_foreign: tuple[int, str] | None = None
        self.transactions = 0
        # Transaction state.
        self.st: list[str] = []
        self.st_n = 0
        self.header: PaymentHeader | None = None
        self.header_sent = False
        self.party: Party | None = None
        self.claim: Claim | None = None
        self.line: ServiceLine | None = None
        self.claim_count = 0
        self.claims_paid = _ZERO
        self.plb: list[ProviderAdjustment] = []
        self.end_warnings: list[Issue] = []
        self.pending_end: PaymentEnd | None = None
        self.alt_noted = False
        # Warnings from numbers (rounded values, derived amounts) waiting for their owner.
        self.pending: list[Issue] = []
        # The open claim's amounts to derive: (line or None for the claim, element, segment).
        self.missing: list[tuple[ServiceLine | None, str, int]] = []
        self.large = False  # the open claim has an amount too big for the number cache

        self.envelope_handlers: dict[str, Handler] = {
            "ISA": self.isa_,
            "GS": self.gs_,
            "ST": self.st_,
            "GE": self.ge_,
            "IEA": self.iea_,
        }
        self.skip_handlers: dict[str, Handler] = {"SE": self.se_skip}
        for sid in ("ISA", "GS", "ST", "GE", "IEA"):
            self.skip_handlers[sid] = self.missing_se
        self.start_handlers: dict[str, Handler] = {"BPR": self.bpr, "SE": self.se}
        self.header_handlers: dict[str, Handler] = {
            "BPR": self.out_of_order,
            "TRN": self.trn,
            "CUR": self.cur,
            "REF": self.header_ref,
            "DTM": self.header_dtm,
            "N1": self.n1,
            "N3": self.n3,
            "N4": self.n4,
            "PER": self.per,
            "RDM": self.ignore,
            "LX": self.lx,
            "CLP": self.clp,
            "PLB": self.plb_,
            "SE": self.se,
        }
        self.detail_handlers: dict[str, Handler] = {
            "CAS": self.cas,
            "SVC": self.svc,
            "DTM": self.dtm,
            "REF": self.ref,
            "AMT": self.amt,
            "QTY": self.qty,
            "LQ": self.lq,
            "CLP": self.clp,
            "NM1": self.nm1,
            "MOA": self.moa,
            "MIA": self.mia,
            "PER": self.ignore,
            "LX": self.lx,
            "TS3": self.ignore,
            "TS2": self.ignore,
            "PLB": self.plb_,
            "SE": self.se,
        }
        self.plb_handlers: dict[str, Handler] = {"PLB": self.plb_, "SE": self.se}
        for table in (self.start_handlers, self.header_handlers, self.detail_handlers):
            for sid in ("ISA", "GS", "ST", "GE", "IEA"):
                table[sid] = self.missing_se
        for sid in ("ISA", "GS", "ST", "GE", "IEA"):
            self.plb_handlers[sid] = self.missing_se
        for sid in _HEADER_ONLY:
            self.detail_handlers.setdefault(sid, self.out_of_order)
        # One dict, refilled on each state change, so the read loop can bind its `get` once.
        self.dispatch: dict[str, Handler] = {}
        self.state: dict[str, Handler] = {}
        self.default: Handler = self.outside
        self.use(self.envelope_handlers, self.outside)

    def use(self, handlers: dict[str, Handler], default: Handler) -> None:
        """Switch state: the handlers by segment id, and the one for any other id."""
        self.state = handlers
        self.dispatch.clear()
        self.dispatch.update(handlers)
        self.default = default

    # ------------------------------------------------------------------ helpers

    def warn_tx(self, n: int, code: str, message: str, level: str = "warning") -> None:
        issue = Issue(n, code, message, level)
        if self.header is not None and not self.header_sent:
            self.header.warnings.append(issue)
        else:
            self.end_warnings.append(issue)

    def warn_claim(self, n: int, code: str, message: str, level: str = "warning") -> None:
        claim = self.claim
        if claim is not None:
            _add(claim, "warnings", Issue(n, code, message, level))
        else:
            self.warn_tx(n, code, message, level)

    def money(self, value: str, what: str, n: int) -> Decimal:
        """An amount not found in the number cache: syntax, range and cents checked."""
        d = _number_cache.get(value)
        if d is not None:
            return d
        d = _number(value, what)
        if value in _number_cache:  # clean: nothing more to check
            return d
        d = self.bounded(d, value, what, n, _CENT, MONEY_LIMIT, "sub-cent-amount")
        if not -UNITS_LIMIT < d < UNITS_LIMIT:
            self.large = True
        return d

    def units(self, value: str, what: str, n: int) -> Decimal:
        """Units or a quantity (SVC05, SVC07, CAS quantities): syntax, range and places."""
        d = _number_cache.get(value)
        if d is not None:
            return d
        d = _number(value, what)
        if value in _number_cache:
            return d
        return self.bounded(d, value, what, n, _MILLI, UNITS_LIMIT, "units-precision")

    def bounded(
        self, d: Decimal, value: str, what: str, n: int, quantum: Decimal, limit: Decimal, code: str
    ) -> Decimal:
        """d (read from value) rounded to quantum with a warning, refused beyond limit."""
        if d.as_tuple().exponent < quantum.as_tuple().exponent:  # type: ignore[operator]
            rounded = d.quantize(quantum, rounding=ROUND_HALF_UP)
            places = -quantum.as_tuple().exponent  # type: ignore[operator]
            self.pending.append(
                Issue(
                    n,
                    code,
                    f"{what} {value} has more than {places} decimal places: read as {rounded} "
                    "(rounded half up)",
                )
            )
            d = rounded
        if not -limit < d < limit:
            raise _Bad(
                f"{what} {value[:30]} is out of range: at most {limit - quantum:,} either side "
                "of zero can be stored"
            )
        return d

    def flush_numbers(self) -> None:
        """Put the number warnings on the open claim, else on the transaction."""
        for issue in self.pending:
            self.warn_claim(issue.segment, issue.code, issue.message, issue.level)
        self.pending.clear()

    def date_or_warn(self, value: str, n: int, what: str, claim: bool) -> date | None:
        if not value:
            return None
        d = _parse_date(value)
        if d is None:
            if _out_of_years(value):
                msg = (
                    f"{what} {value!r} is outside the years {FIRST_YEAR}-{LAST_YEAR}; read as no "
                    "date"
                )
            else:
                msg = f"{what} {value[:20]!r} is not a valid CCYYMMDD date; read as no date"
            if claim:
                self.warn_claim(n, "invalid-date", msg)
            else:
                self.warn_tx(n, "invalid-date", msg)
        return d

    def composite(self, value: str, n: int) -> list[str]:
        """Split a composite on ISA16, or on another separator the sender used in the data."""
        comp = self.component
        if comp in value:
            return value.split(comp)
        if (
            len(value) > 3
            and value[2] in _ALT_COMPONENT
            and value[:2].isalpha()
            and value[2] != comp
        ):
            alt = value[2]
            if not self.alt_noted:
                self.alt_noted = True
                self.warn_tx(
                    n,
                    "component-separator",
                    f"composite uses {alt!r} as component separator but ISA16 is {comp!r}",
                    "note",
                )
            return value.split(alt)
        return [value]

    def procedure(self, value: str, n: int) -> Procedure:
        parts = self.composite(value, n)
        return Procedure(
            parts[0],
            parts[1] if len(parts) > 1 else "",
            [m for m in parts[2:6] if m],
            parts[6] if len(parts) > 6 else "",
        )

    # ------------------------------------------------------------------ envelope

    def outside(self, seg: list[str], n: int) -> None:
        if not _valid_id(seg[0]):
            raise _Bad(f"not a segment: {seg[0][:10]!r}")
        if seg[0] == "SE":
            raise _Bad("SE without a matching ST")
        raise _Bad(f"{seg[0]} outside a transaction (no ST before it)")

    def missing_se(self, seg: list[str], n: int) -> None:
        raise _Bad(
            f"{seg[0]} before the SE that closes the transaction started at segment {self.st_n}"
        )

    def isa_(self, seg: list[str], n: int) -> None:
        if self.isa is not None:
            raise _Bad(f"ISA before the IEA closing the interchange at segment {self.isa_n}")
        if self.gs is not None:
            raise _Bad("ISA inside a functional group")
        self.isa = _pad(seg, 17)
        self.isa_n = n
        self.gs_count = 0
        self.component = seg[16][:1] or ":"
        self.alt_component = ""

    def gs_(self, seg: list[str], n: int) -> None:
        if self.isa is None and self.tokenizer.envelope:
            raise _Bad("GS outside an interchange (no ISA)")
        if self.gs is not None:
            raise _Bad(f"GS before the GE closing the group at segment {self.gs_n}")
        self.gs = _pad(seg, 9)
        self.gs_n = n
        self.gs_count += 1
        self.st_count = 0

    def ge_(self, seg: list[str], n: int) -> None:
        if self.gs is None:
            raise _Bad("GE without a matching GS")
        _pad(seg, 3)
        if seg[1] != str(self.st_count):
            self.warn_envelope(
                n,
                "transaction-count",
                f"GE01 says {seg[1]!r} transactions, the group has {self.st_count}",
            )
        if seg[2] != self.gs[6]:
            self.warn_envelope(
                n, "control-number", f"GE02 {seg[2]!r} does not match GS06 {self.gs[6]!r}"
            )
        self.gs = None

    def iea_(self, seg: list[str], n: int) -> None:
        if self.isa is None:
            raise _Bad("IEA without a matching ISA")
        if self.gs is not None:
            raise _Bad(f"IEA before the GE closing the group at segment {self.gs_n}")
        _pad(seg, 3)
        if seg[1] != str(self.gs_count):
            self.warn_envelope(
                n,
                "group-count",
                f"IEA01 says {seg[1]!r} groups, the interchange has {self.gs_count}",
            )
        if seg[2] != self.isa[13]:
            self.warn_envelope(
                n, "control-number", f"IEA02 {seg[2]!r} does not match ISA13 {self.isa[13]!r}"
            )
        self.isa = None

    def warn_envelope(self, n: int, code: str, message: str) -> None:
        issue = Issue(n, code, message)
        if self.pending_end is not None:
            self.pending_end.warnings.append(issue)
        else:
            self.envelope_notes.append(issue)

    def flush_end(self) -> None:
        if self.pending_end is not None:
            self.out.append(self.pending_end)
            self.pending_end = None

    def st_(self, seg: list[str], n: int) -> None:
        if self.gs is None and self.tokenizer.envelope:
            raise _Bad("ST outside a functional group (no GS)")
        self.flush_end()
        _pad(seg, 3)
        self.st_count += 1
        self.st = seg
        self.st_n = n
        if seg[1] != "835":
            if self.first_foreign is None:
                self.first_foreign = (n, seg[1][:10])
            self.use(self.skip_handlers, self.ignore)
            return
        self.transactions += 1
        isa = self.isa or [""] * 17
        gs = self.gs or [""] * 9
        version = gs[8]
        self.header = header = PaymentHeader(
            seg[2],
            n,
            interchange_control_number=isa[13],
            group_control_number=gs[6],
            sender_id=isa[6].strip(),
            receiver_id=isa[8].strip(),
            version=version,
        )
        header.warnings.extend(self.tokenizer.notes)
        self.tokenizer.notes.clear()
        header.warnings.extend(self.envelope_notes)
        self.envelope_notes.clear()
        if self.gs is not None:
            if gs[1] != "HP":
                self.warn_tx(
                    self.gs_n,
                    "version",
                    f"GS01 {gs[1][:10]!r} is not HP (health care claim payment)",
                )
            if not version.startswith("004010") and not version.startswith("005010X221"):
                hint = " (ISA12 00401 suggests 4010 content)" if isa[12] == "00401" else ""
                self.warn_tx(
                    self.gs_n,
                    "version",
                    f"GS08 version {version[:20]!r} is not 005010X221A1{hint}; read as 5010",
                )
        self.header_sent = False
        self.party = None
        self.claim = None
        self.line = None
        self.claim_count = 0
        self.claims_paid = _ZERO
        self.plb = []
        self.end_warnings = []
        self.alt_noted = False
        self.use(self.start_handlers, self.expect_bpr)

    def check_version(self) -> None:
        if self.gs is not None and self.gs[8].startswith("004010"):
            raise X12Error(
                self.name,
                self.gs_n,
                "GS",
                f"GS08 {self.gs[8]!r}: X12 4010 is not supported (only 005010X221A1)",
            )

    def expect_bpr(self, seg: list[str], n: int) -> None:
        self.check_version()
        if not _valid_id(seg[0]):
            raise _Bad(f"not a segment: {seg[0][:10]!r}")
        raise _Bad(f"{seg[0]} before BPR: an 835 transaction must start with BPR after ST")

    def se_skip(self, seg: list[str], n: int) -> None:
        self.use(self.envelope_handlers, self.outside)

    def ignore(self, seg: list[str], n: int) -> None:
        return None

    # ------------------------------------------------------------------ header

    def bpr(self, seg: list[str], n: int) -> None:
        self.check_version()
        h = self.header
        assert h is not None
        _pad(seg, 17)
        h.handling_code = seg[1]
        h.payment_amount = self.money(seg[2], "BPR02 payment amount", n)
        h.credit_debit = seg[3]
        h.payment_method = seg[4]
        h.payment_format = seg[5]
        h.payer_account = seg[9]
        h.payee_account = seg[15]
        h.payment_date = self.date_or_warn(seg[16], n, "BPR16 payment date", False)
        self.use(self.header_handlers, self.header_default)

    def header_default(self, seg: list[str], n: int) -> None:
        if not _valid_id(seg[0]):
            raise _Bad(f"not a segment: {seg[0][:10]!r}")
        if seg[0] in self.detail_handlers:
            raise _Bad(f"{seg[0]} before any CLP (claim)")
        self.warn_tx(n, "unknown-segment", f"unexpected segment {seg[0]} ignored")

    def out_of_order(self, seg: list[str], n: int) -> None:
        raise _Bad(f"{seg[0]} out of order: it belongs in the header, before the claims")

    def trn(self, seg: list[str], n: int) -> None:
        h = self.header
        assert h is not None
        _pad(seg, 4)
        h.trace_type, h.trace_number, h.trace_originator = seg[1], seg[2], seg[3]

    def cur(self, seg: list[str], n: int) -> None:
        assert self.header is not None
        self.header.currency = _pad(seg, 3)[2]

    def header_ref(self, seg: list[str], n: int) -> None:
        assert self.header is not None
        _pad(seg, 3)
        target = self.party.references if self.party else self.header.references
        target.append(Reference(seg[1], seg[2]))

    def header_dtm(self, seg: list[str], n: int) -> None:
        assert self.header is not None
        _pad(seg, 3)
        if seg[1] == "405":
            self.header.production_date = self.date_or_warn(seg[2], n, "DTM*405", False)

    def n1(self, seg: list[str], n: int) -> None:
        h = self.header
        assert h is not None
        _pad(seg, 5)
        if seg[1] == "PR":
            party = h.payer
        elif seg[1] == "PE":
            party = h.payee
        else:
            self.warn_tx(n, "unknown-segment", f"N1 entity {seg[1][:10]!r} ignored")
            party = Party(seg[1])
        party.name, party.id_qualifier, party.identifier = seg[2], seg[3], seg[4]
        self.party = party

    def n3(self, seg: list[str], n: int) -> None:
        if self.party is None:
            raise _Bad("N3 before N1")
        self.party.address.extend(v for v in seg[1:3] if v)

    def n4(self, seg: list[str], n: int) -> None:
        if self.party is None:
            raise _Bad("N4 before N1")
        _pad(seg, 4)
        self.party.city, self.party.state, self.party.postal_code = seg[1], seg[2], seg[3]

    def per(self, seg: list[str], n: int) -> None:
        if self.party is None:
            self.warn_tx(n, "unknown-segment", "PER before N1 ignored")
            return
        _pad(seg, 3)
        numbers = [(seg[i], seg[i + 1]) for i in range(3, len(seg) - 1, 2) if seg[i + 1]]
        self.party.contacts.append(Contact(seg[1], seg[2], numbers))

    def send_header(self) -> None:
        if not self.header_sent:
            assert self.header is not None
            self.out.append(self.header)
            self.header_sent = True
            self.use(self.detail_handlers, self.detail_default)

    # ------------------------------------------------------------------ detail

    def detail_default(self, seg: list[str], n: int) -> None:
        if not _valid_id(seg[0]):
            raise _Bad(f"not a segment: {seg[0][:10]!r}")
        self.warn_claim(n, "unknown-segment", f"unexpected segment {seg[0]} ignored")

    def lx(self, seg: list[str], n: int) -> None:
        self.send_header()
        self.close_claim()

    def clp(self, seg: list[str], n: int) -> None:
        if not self.header_sent:
            self.send_header()
        if self.claim is not None:
            self.close_claim()
        if len(seg) < 14:
            seg.extend([""] * (14 - len(seg)))
        if not seg[1]:
            raise _Bad("CLP01 patient control number is missing")
        if not seg[2]:
            raise _Bad("CLP02 claim status is missing")
        money = self.money
        charge = money(seg[3], "CLP03 claim charge", n) if seg[3] else _ZERO
        paid = money(seg[4], "CLP04 claim payment", n) if seg[4] else _ZERO
        patient = seg[5]
        responsibility = money(patient, "CLP05 patient responsibility", n) if patient else None
        if not seg[3]:
            self.missing.append((None, "CLP03", n))
        if not seg[4]:
            self.missing.append((None, "CLP04", n))
        self.claim = Claim(
            seg[1],
            seg[2],
            charge,
            paid,
            responsibility,
            seg[6],
            seg[7],
            n,
            seg[8],
            seg[9],
            seg[11],
            _number(seg[12], "CLP12 DRG weight") if seg[12] else None,
            _number(seg[13], "CLP13 discharge fraction") if seg[13] else None,
        )
        self.line = None

    def close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self.claim = None
        self.line = None
        if self.missing and not self.derive(claim):
            self.large = False
            return
        n = claim.segment
        # Plain loops, not sum(): a line has one to three adjustments (same additions, in order).
        claim_cas = _ZERO
        for a in claim.adjustments:
            claim_cas += a.amount
        count = len(claim.adjustments)
        line_cas = _ZERO
        for line in claim.lines:
            adj = _ZERO
            for a in line.adjustments:
                adj += a.amount
            count += len(line.adjustments)
            line_cas += adj
            if line.charge - adj != line.paid:
                _add(
                    claim,
                    "warnings",
                    Issue(
                        line.segment,
                        "line-imbalance",
                        f"line {line.procedure}: charge {line.charge} - adjustments {adj} "
                        f"!= paid {line.paid}",
                    ),
                )
            if line.service_date is None and line.service_date_end is None:
                line.service_date = claim.statement_from
                line.service_date_end = claim.statement_to
        diff = claim.charge - claim_cas - line_cas - claim.paid
        if diff:
            interest = sum([a.amount for a in claim.amounts if a.qualifier == "I"], _ZERO)
            if claim_cas and line_cas and claim.charge - line_cas == claim.paid:
                _add(
                    claim,
                    "warnings",
                    Issue(
                        n,
                        "claim-cas-duplicates-lines",
                        f"claim-level adjustments {claim_cas} repeat the line adjustments: the "
                        "claim balances only without them",
                    ),
                )
            elif interest and diff == -interest:
                _add(
                    claim,
                    "warnings",
                    Issue(
                        n,
                        "interest-in-payment",
                        f"claim payment includes interest {interest} (AMT*I)",
                        "note",
                    ),
                )
            else:
                _add(
                    claim,
                    "warnings",
                    Issue(
                        n,
                        "claim-imbalance",
                        f"charge {claim.charge} - claim adjustments {claim_cas} - line "
                        f"adjustments {line_cas} != paid {claim.paid} (off by {diff})",
                    ),
                )
        if self.large or count >= 1000:
            # Fewer than 1,000 cached amounts (each under UNITS_LIMIT) cannot add up to that.
            self.large = False
            self.check_adjustment_total(claim)
        self.claim_count += 1
        self.claims_paid += claim.paid
        self.out.append(claim)

    def check_adjustment_total(self, claim: Claim) -> None:
        """A denial's amount is a sum of the claim's adjustments: it must fit `Money` too."""
        total = sum([abs(a.amount) for a in claim.adjustments], _ZERO)
        for line in claim.lines:
            total += sum([abs(a.amount) for a in line.adjustments], _ZERO)
        if total >= MONEY_LIMIT:
            raise X12Error(
                self.name,
                claim.segment,
                "CLP",
                f"claim {claim.patient_control_number[:30]!r}: its adjustments add up to "
                f"{total:,} either side of zero, more than the {MONEY_LIMIT - _CENT:,} a denied "
                "amount can be stored as",
            )

    def derive(self, claim: Claim) -> bool:
        """Fill in the amounts the claim's CLP and SVC segments left empty, exactly or not at all.

        Returns False when the claim cannot be read (neither charge nor payment, no lines): it
        is then left out with a warning on the transaction. Raises X12Error for a line whose
        amounts cannot be derived. See the module docstring for the rules.
        """
        missing = self.missing
        self.missing = []
        claim_missing = {element for line, element, _ in missing if line is None}
        gaps: dict[int, tuple[ServiceLine, set[str]]] = {}
        for line, element, _ in missing:
            if line is not None:
                gaps.setdefault(id(line), (line, set()))[1].add(element)

        def note(segment: int, message: str, *values: Decimal) -> None:
            for value in values:
                if not -MONEY_LIMIT < value < MONEY_LIMIT:
                    raise X12Error(
                        self.name,
                        segment,
                        message[:3],
                        f"{message.split(':')[0]} and the amount derived, {value:,}, is out of "
                        f"range: at most {MONEY_LIMIT - _CENT:,} either side of zero can be stored",
                    )
            _add(claim, "warnings", Issue(segment, "derived-amount", message))

        claim_cas = sum([a.amount for a in claim.adjustments], _ZERO).quantize(_CENT)
        both: list[ServiceLine] = []
        for line, elements in gaps.values():
            adj = sum([a.amount for a in line.adjustments], _ZERO).quantize(_CENT)
            if len(elements) == 2:
                both.append(line)
            elif "SVC02" in elements:
                line.charge = (line.paid + adj).quantize(_CENT)
                note(
                    line.segment,
                    f"SVC02 line charge is missing: read as {line.charge}, the line payment "
                    f"{line.paid} + line adjustments {adj}",
                    line.charge,
                )
            else:
                line.paid = (line.charge - adj).quantize(_CENT)
                note(
                    line.segment,
                    f"SVC03 line payment is missing: read as {line.paid}, the line charge "
                    f"{line.charge} - line adjustments {adj}",
                    line.paid,
                )
        if both:
            line = both[0]
            if len(both) > 1 or claim_missing:
                raise X12Error(
                    self.name,
                    line.segment,
                    "SVC",
                    "SVC02 line charge and SVC03 line payment are missing and cannot be derived: "
                    + (
                        "several lines lack them"
                        if len(both) > 1
                        else "the claim's CLP03 or CLP04 is missing too"
                    ),
                )
            others = [x for x in claim.lines if x is not line]
            charge = (claim.charge - sum([x.charge for x in others], _ZERO)).quantize(_CENT)
            paid = (claim.paid + claim_cas - sum([x.paid for x in others], _ZERO)).quantize(_CENT)
            adj = sum([a.amount for a in line.adjustments], _ZERO).quantize(_CENT)
            if charge - adj != paid:
                raise X12Error(
                    self.name,
                    line.segment,
                    "SVC",
                    "SVC02 line charge and SVC03 line payment are missing and cannot be derived: "
                    f"the claim's totals leave charge {charge} and payment {paid}, which do not "
                    f"balance with the line adjustments {adj}",
                )
            line.charge, line.paid = charge, paid
            note(
                line.segment,
                f"SVC02 line charge and SVC03 line payment are missing: read as {charge} and "
                f"{paid}, what the claim's CLP03 and CLP04 leave after the other lines (they "
                f"balance with the line adjustments {adj})",
                charge,
                paid,
            )
        n = claim.segment
        if "CLP03" in claim_missing:
            if claim.lines:
                claim.charge = sum([x.charge for x in claim.lines], _ZERO).quantize(_CENT)
                how = "the sum of the line charges"
            elif "CLP04" not in claim_missing:
                claim.charge = (claim.paid + claim_cas).quantize(_CENT)
                how = f"the claim payment {claim.paid} + claim adjustments {claim_cas}"
            else:
                self.warn_tx(
                    n,
                    "claim-left-out",
                    f"claim {claim.patient_control_number[:30]!r} left out: CLP03 claim charge "
                    "and CLP04 claim payment are missing, and it has no service lines to derive "
                    "them from",
                )
                return False
            note(n, f"CLP03 claim charge is missing: read as {claim.charge}, {how}", claim.charge)
        if "CLP04" in claim_missing:
            line_cas = sum([a.amount for x in claim.lines for a in x.adjustments], _ZERO).quantize(
                _CENT
            )
            claim.paid = (claim.charge - claim_cas - line_cas).quantize(_CENT)
            note(
                n,
                f"CLP04 claim payment is missing: read as {claim.paid}, the claim charge "
                f"{claim.charge} - claim adjustments {claim_cas} - line adjustments {line_cas}",
                claim.paid,
            )
        return True

    def need_claim(self, seg_id: str) -> Claim:
        if self.claim is None:
            raise _Bad(f"{seg_id} before any CLP (claim)")
        return self.claim

    def cas(self, seg: list[str], n: int) -> None:
        owner: Claim | ServiceLine = self.line or self.need_claim("CAS")
        if len(seg) == 4 and seg[2] and seg[1] in _GROUPS:
            # The usual CAS: one reason and amount, no quantity.
            value = self.money(seg[3], "CAS03 adjustment amount", n)
            _add(owner, "adjustments", Adjustment(seg[1], seg[2], value, None, n))
            return
        group = seg[1] if len(seg) > 1 else ""
        if group not in _GROUPS:
            if not group:
                raise _Bad("CAS01 group code is missing")
            self.warn_claim(n, "cas-group", f"CAS group code {group[:10]!r} is not CO/OA/PI/PR")
        size = len(seg)
        if size < 4:
            raise _Bad("CAS needs a reason code and an amount")
        for i in range(2, size, 3):
            reason = seg[i]
            amount = seg[i + 1] if i + 1 < size else ""
            quantity = seg[i + 2] if i + 2 < size else ""
            if not reason:
                if amount or quantity:
                    raise _Bad(f"CAS{i:02d} reason code is missing for an amount")
                continue
            value = self.money(amount, f"CAS{i + 1:02d} adjustment amount", n)
            units = self.units(quantity, f"CAS{i + 2:02d} quantity", n) if quantity else None
            _add(owner, "adjustments", Adjustment(group, reason, value, units, n))

    def nm1(self, seg: list[str], n: int) -> None:
        claim = self.need_claim("NM1")
        if len(seg) < 10:
            seg.extend([""] * (10 - len(seg)))
        role = _PERSON_ROLES.get(seg[1])
        if role is None:
            self.warn_claim(n, "unknown-segment", f"NM1 entity {seg[1][:10]!r} ignored")
            return
        setattr(claim, role, Person(seg[1], seg[3], seg[4], seg[5], seg[8], seg[9]))

    def mia(self, seg: list[str], n: int) -> None:
        claim = self.need_claim("MIA")
        for i in (5, 20, 21, 22, 23):
            if i < len(seg) and seg[i]:
                _add(claim, "remarks", Remark(seg[i], "MIA"))

    def moa(self, seg: list[str], n: int) -> None:
        claim = self.need_claim("MOA")
        for code in seg[3:8]:
            if code:
                _add(claim, "remarks", Remark(code, "MOA"))

    def dtm(self, seg: list[str], n: int) -> None:
        claim = self.claim
        if claim is None:
            raise _Bad("DTM before any CLP (claim)")
        if len(seg) < 3:
            seg.extend(("", ""))
        qual = seg[1]
        line = self.line
        if line is not None and qual in _LINE_DATES:
            d = _date_cache.get(seg[2])
            if d is None:
                d = self.date_or_warn(seg[2], n, f"DTM*{qual}", True)
            if qual == "151":
                line.service_date_end = d
            else:
                line.service_date = d
        elif qual == "232":
            d = _date_cache.get(seg[2])
            claim.statement_from = d or self.date_or_warn(seg[2], n, "DTM*232", True)
        elif qual == "233":
            d = _date_cache.get(seg[2])
            claim.statement_to = d or self.date_or_warn(seg[2], n, "DTM*233", True)
        elif qual == "050":
            claim.received_date = self.date_or_warn(seg[2], n, "DTM*050", True)
        elif qual == "036":
            claim.coverage_expiration = self.date_or_warn(seg[2], n, "DTM*036", True)

    def ref(self, seg: list[str], n: int) -> None:
        if len(seg) < 3:
            seg.extend(("", ""))
        owner: Claim | ServiceLine = self.line or self.need_claim("REF")
        _add(owner, "references", Reference(seg[1], seg[2]))

    def amt(self, seg: list[str], n: int) -> None:
        if len(seg) < 3:
            seg.extend(("", ""))
        owner: Claim | ServiceLine = self.line or self.need_claim("AMT")
        value = self.money(seg[2], f"AMT*{seg[1][:3]} amount", n)
        _add(owner, "amounts", Amount(seg[1], value))

    def qty(self, seg: list[str], n: int) -> None:
        _pad(seg, 3)
        owner: Claim | ServiceLine = self.line or self.need_claim("QTY")
        _add(owner, "quantities", Quantity(seg[1], _number(seg[2], f"QTY*{seg[1][:3]} quantity")))

    def lq(self, seg: list[str], n: int) -> None:
        if self.line is None:
            raise _Bad("LQ outside a service line (no SVC before it)")
        _pad(seg, 3)
        if seg[2]:
            _add(self.line, "remarks", Remark(seg[2], "LQ", seg[1]))

    def svc(self, seg: list[str], n: int) -> None:
        claim = self.claim
        if claim is None:
            raise _Bad("SVC before any CLP (claim)")
        if len(seg) < 8:
            seg.extend([""] * (8 - len(seg)))
        cached = _number_cache.get
        composite = seg[1]
        comp = self.component
        if comp in composite:
            parts = composite.split(comp)
            size = len(parts)
            if size == 2:
                modifiers = []
            elif size == 3:
                modifiers = [parts[2]] if parts[2] else []
            else:
                modifiers = [m for m in parts[2:6] if m]
            procedure = Procedure(parts[0], parts[1], modifiers, parts[6] if size > 6 else "")
        else:
            procedure = self.procedure(composite, n)
        charge = cached(seg[2])
        if charge is None:
            charge = self.money(seg[2], "SVC02 line charge", n) if seg[2] else _ZERO
        paid = cached(seg[3])
        if paid is None:
            paid = self.money(seg[3], "SVC03 line payment", n) if seg[3] else _ZERO
        units = self.units(seg[5], "SVC05 units", n) if seg[5] else _ONE
        self.line = line = ServiceLine(
            procedure,
            charge,
            paid,
            units,
            n,
            seg[4],
            self.procedure(seg[6], n) if seg[6] else None,
            self.units(seg[7], "SVC07 original units", n) if seg[7] else None,
        )
        if not seg[2]:
            self.missing.append((line, "SVC02", n))
        if not seg[3]:
            self.missing.append((line, "SVC03", n))
        lines = claim.lines
        if lines:
            lines.append(line)
        else:
            claim.lines = [line]

    def plb_(self, seg: list[str], n: int) -> None:
        self.send_header()
        self.close_claim()
        self.use(self.plb_handlers, self.after_plb)
        _pad(seg, 5)
        provider = seg[1]
        fiscal = self.date_or_warn(seg[2], n, "PLB02 fiscal period date", False)
        size = len(seg)
        for i in range(3, size, 2):
            if not seg[i]:
                if i + 1 < size and seg[i + 1]:
                    raise _Bad(f"PLB{i:02d} reason is missing for an amount")
                continue
            parts = self.composite(seg[i], n)
            amount = self.money(seg[i + 1] if i + 1 < size else "", f"PLB{i + 1:02d} amount", n)
            self.plb.append(
                ProviderAdjustment(
                    provider, fiscal, parts[0], ":".join(parts[1:]) if parts[1:] else "", amount, n
                )
            )

    def after_plb(self, seg: list[str], n: int) -> None:
        if not _valid_id(seg[0]):
            raise _Bad(f"not a segment: {seg[0][:10]!r}")
        if seg[0] in self.detail_handlers or seg[0] in self.header_handlers:
            raise _Bad(f"{seg[0]} after PLB: provider adjustments must come last")
        self.warn_tx(n, "unknown-segment", f"unexpected segment {seg[0]} ignored")

    def se(self, seg: list[str], n: int) -> None:
        header = self.header
        assert header is not None
        if self.state is self.start_handlers:
            self.warn_tx(n, "empty-transaction", "835 transaction with no BPR (ST/SE only)")
        self.send_header()
        self.close_claim()
        _pad(seg, 3)
        count = n - self.st_n + 1
        if seg[1] != str(count):
            self.warn_tx(
                n,
                "segment-count",
                f"SE01 says {seg[1][:12]!r} segments, the transaction has {count}",
            )
        if seg[2] != self.st[2]:
            self.warn_tx(
                n, "control-number", f"SE02 {seg[2][:12]!r} does not match ST02 {self.st[2][:12]!r}"
            )
        plb_total = sum([p.amount for p in self.plb], _ZERO)
        if (
            self.state is not self.start_handlers
            and header.payment_amount != (self.claims_paid - plb_total)
            and not any(w.code == "empty-transaction" for w in header.warnings)
        ):
            self.warn_tx(
                n,
                "payment-imbalance",
                f"BPR02 {header.payment_amount} != claim payments {self.claims_paid} - "
                f"provider adjustments {plb_total}",
            )
        self.pending_end = PaymentEnd(
            self.plb, self.claim_count, self.claims_paid, self.end_warnings
        )
        self.header = None
        self.use(self.envelope_handlers, self.outside)

    # ------------------------------------------------------------------ end of file

    def finish(self, n: int, last_id: str) -> None:
        if self.state is not self.envelope_handlers:
            raise X12Error(
                self.name,
                n,
                last_id,
                f"truncated file: the transaction started at segment {self.st_n} has no SE",
            )
        if self.gs is not None:
            raise X12Error(
                self.name,
                n,
                last_id,
                f"truncated file: the group started at segment {self.gs_n} has no GE",
            )
        if self.isa is not None:
            raise X12Error(
                self.name,
                n,
                last_id,
                f"truncated file: the interchange started at segment {self.isa_n} has no IEA",
            )
        self.flush_end()
        if not self.transactions:
            if self.first_foreign is not None:
                seg_n, kind = self.first_foreign
                raise X12Error(
                    self.name,
                    seg_n,
                    "ST",
                    f"transaction set {kind!r} is not an 835 and the file has no 835 transaction",
                )
            raise X12Error(self.name, n, last_id, "no 835 transaction (ST*835) in the file")


def iter_remittance(source: Source, name: str | None = None) -> Iterator[Item]:
    """Stream an 835 file: per transaction a PaymentHeader, its Claims, then a PaymentEnd."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    tokenizer = Tokenizer(source, name)
    reader = _Reader(tokenizer.name, tokenizer)
    out = reader.out
    handler_for = reader.dispatch.get
    # The commonest segments of a claim are handled here, inline, in their usual well-formed
    # shape; anything else goes to the handler, which does the full checks. The inline cases are
    # picked by comparing the segment id (cheaper than hashing a fresh string for a dict lookup);
    # each needs an open claim or line, which only exists inside a transaction's detail, so they
    # never run in another state. None of them completes an item but CLP, so the others skip the
    # `out` check. `claim`, `line` and `comp` mirror the reader's: only handlers change those, so
    # they are re-read after each handler call.
    detail = reader.detail_handlers
    number = _number_cache.get
    day = _date_cache.get
    one = _ONE
    claim: Claim | None = None
    line: ServiceLine | None = None
    comp = reader.component
    money = reader.money
    pending = reader.pending  # number warnings; cleared in place, never replaced
    n = 0
    seg: list[str] = [""]
    try:
        for elem, batch in tokenizer:
            # n continues over batches: enumerate reads the start once, before the loop.
            for n, text in enumerate(batch, n + 1):  # noqa: B020
                seg = text.split(elem)
                sid = seg[0]
                if sid == "DTM":
                    if claim is not None and len(seg) == 3:
                        qual = seg[1]
                        if qual == "472":
                            if line is not None:
                                value = day(seg[2])
                                if value is not None:
                                    line.service_date = value
                                    continue
                        elif qual == "232":
                            value = day(seg[2])
                            if value is not None:
                                claim.statement_from = value
                                continue
                        elif qual == "233":
                            value = day(seg[2])
                            if value is not None:
                                claim.statement_to = value
                                continue
                elif sid == "CAS":
                    if line is not None and len(seg) == 4 and seg[2]:
                        group = seg[1]
                        # _GROUPS spelled out: comparing is cheaper than hashing a fresh string.
                        if group == "CO" or group == "PR" or group == "OA" or group == "PI":
                            value = number(seg[3])
                            if value is None:
                                value = money(seg[3], "CAS03 adjustment amount", n)
                                if pending:
                                    reader.flush_numbers()
                            adjustment = Adjustment(group, seg[2], value, None, n)
                            items = line.adjustments
                            if items:
                                items.append(adjustment)
                            else:
                                line.adjustments = [adjustment]
                            continue
                elif sid == "REF":
                    if line is not None and len(seg) == 3:
                        reference = Reference(seg[1], seg[2])
                        items = line.references
                        if items:
                            items.append(reference)
                        else:
                            line.references = [reference]
                        continue
                elif sid == "SVC":
                    if claim is not None and len(seg) == 6 and comp in seg[1]:
                        parts = seg[1].split(comp)
                        size = len(parts)
                        charge = number(seg[2])
                        paid = number(seg[3])
                        units = number(seg[5]) if seg[5] else one
                        # Anything not cached (missing, rounded, large) takes the full path.
                        if (
                            (size == 2 or (size == 3 and parts[2]))
                            and charge is not None
                            and paid is not None
                            and units is not None
                        ):
                            line = ServiceLine(
                                Procedure(parts[0], parts[1], parts[2:], ""),
                                charge,
                                paid,
                                units,
                                n,
                                seg[4],
                            )
                            reader.line = line
                            lines = claim.lines
                            if lines:
                                lines.append(line)
                            else:
                                claim.lines = [line]
                            continue
                elif sid == "AMT":
                    if line is not None and len(seg) == 3:
                        value = number(seg[2])
                        if value is None:
                            value = money(seg[2], f"AMT*{seg[1][:3]} amount", n)
                            if pending:
                                reader.flush_numbers()
                        amount = Amount(seg[1], value)
                        items = line.amounts
                        if items:
                            items.append(amount)
                        else:
                            line.amounts = [amount]
                        continue
                elif sid == "NM1":
                    if claim is not None and len(seg) == 10 and seg[1] == "QC":
                        claim.patient = Person(seg[1], seg[3], seg[4], seg[5], seg[8], seg[9])
                        continue
                elif (
                    sid == "CLP"
                    and len(seg) == 10
                    and seg[1]
                    and seg[2]
                    and seg[3]
                    and seg[4]
                    and reader.state is detail
                ):
                    charge = number(seg[3])
                    if charge is None:
                        charge = money(seg[3], "CLP03 claim charge", n)
                    paid = number(seg[4])
                    if paid is None:
                        paid = money(seg[4], "CLP04 claim payment", n)
                    if seg[5]:
                        responsibility = number(seg[5])
                        if responsibility is None:
                            responsibility = money(seg[5], "CLP05 patient responsibility", n)
                    else:
                        responsibility = None
                    if claim is not None:
                        reader.close_claim()
                    claim = reader.claim = Claim(
                        seg[1],
                        seg[2],
                        charge,
                        paid,
                        responsibility,
                        seg[6],
                        seg[7],
                        n,
                        seg[8],
                        seg[9],
                    )
                    line = reader.line = None
                    if pending:
                        reader.flush_numbers()
                    if out:
                        yield from out
                        out.clear()
                    continue
                handler = handler_for(sid)
                if handler is None:
                    handler = reader.default
                handler(seg, n)
                if pending:
                    reader.flush_numbers()
                claim = reader.claim
                line = reader.line
                comp = reader.component
                if out:
                    yield from out
                    out.clear()
    except _Bad as exc:
        raise X12Error(tokenizer.name, n, seg[0][:3], str(exc)) from None
    reader.finish(n, seg[0][:3])
    yield from out


def read_payments(source: Source, name: str | None = None) -> list[Payment]:
    """The whole file as a list of `Payment` (one per ST/SE): for small files and tests."""
    payments: list[Payment] = []
    current: Payment | None = None
    for item in iter_remittance(source, name):
        if isinstance(item, PaymentHeader):
            current = Payment(item, warnings=list(item.warnings))
            payments.append(current)
        elif isinstance(item, Claim):
            assert current is not None
            current.claims.append(item)
        else:
            assert current is not None
            current.provider_adjustments = item.provider_adjustments
            current.warnings.extend(item.warnings)
    return payments
