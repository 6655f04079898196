"""Synthetic people: providers with Luhn-valid NPIs and patients with fictional names and ids."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from appeals.synth.params import Params, PayerParams

# Clearly fictional surnames, so no generated record can be mistaken for a real patient.
LAST_NAMES = (
    "TESTWOOD",
    "FAKELEY",
    "SYNTHSON",
    "MOCKFORD",
    "DUMMETT",
    "FICTORIA",
    "SAMPLESWORTH",
    "EXAMPLETON",
    "PLACEHOLT",
    "NOTAPERSON",
    "PRETENDALL",
    "IMAGINGTON",
    "MADEUPSKI",
    "FAUXMAN",
    "SIMULATTI",
    "DATAPOINT",
    "PSEUDONYMA",
    "INVENTOVA",
    "SPECIMENKO",
    "DRAFTLY",
    "LOREMBERG",
    "IPSUMSEN",
    "QUUXLEY",
    "FOOBARRA",
    "WIDGETTE",
    "GADGETSON",
    "TEMPLATON",
    "DEMOLISH",
    "PROXIMAN",
    "STANDINSKY",
    "CARDBOARDEN",
    "PAPERWAITE",
    "ANONYMOUSE",
    "NOBODYSON",
    "UNREALTY",
    "FABLEWICK",
    "STORYMORE",
    "PROTOTYPA",
    "MOCKINGTON",
    "BOGUSZ",
)
FIRST_NAMES = (
    "AVA",
    "BEN",
    "CARA",
    "DEV",
    "ELLA",
    "FINN",
    "GWEN",
    "HUGO",
    "IRIS",
    "JONAH",
    "KAI",
    "LENA",
    "MILO",
    "NORA",
    "OTTO",
    "PIA",
    "QUINN",
    "RUBY",
    "SETH",
    "TESS",
    "UMA",
    "VIC",
    "WREN",
    "XAVI",
    "YARA",
    "ZANE",
    "ALMA",
    "BRUNO",
    "CLEO",
    "DORA",
    "EMIL",
    "FAYE",
    "GUS",
    "HAZEL",
    "IVO",
    "JUNE",
    "KIT",
    "LOU",
    "MAE",
    "NED",
    "OLIVE",
    "PERCY",
    "ROSA",
    "SAUL",
    "THEA",
)
PROVIDER_NAMES = (
    ("QUILLFEATHER", "MAREN"),
    ("OAKENSHAW", "TOBIAS"),
    ("LINDQVIST-FAUX", "ADAEZE"),
    ("BRIGHTWATER", "SOREN"),
)
# Medicare Beneficiary Identifier letters: A-Z without S, L, O, I, B, Z.
MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
MBI_DIGITS = "0123456789"


def npi_check_digit(first_nine: str) -> str:
    """Luhn check digit of an NPI: the nine digits prefixed with 80840 (CMS NPI standard)."""
    total = 24  # the digits of the 80840 prefix, weighted as the Luhn scheme does
    for position, char in enumerate(reversed(first_nine)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid_npi(npi: str) -> bool:
    """True when `npi` is ten digits with a correct Luhn check digit."""
    return len(npi) == 10 and npi.isdigit() and npi_check_digit(npi[:9]) == npi[9]


def make_npi(rng: random.Random) -> str:
    """A random individual-style NPI (starts with 1) with a valid check digit."""
    nine = "1" + "".join(rng.choice(MBI_DIGITS) for _ in range(8))
    return nine + npi_check_digit(nine)


@dataclass(frozen=True, slots=True)
class Provider:
    npi: str
    last_name: str
    first_name: str
    mohs_surgeon: bool


@dataclass(slots=True)
class Patient:
    """A synthetic patient with one payer; the subscriber is the patient unless named."""

    number: int
    last_name: str
    first_name: str
    birth_date: date
    sex: str
    payer: PayerParams
    member_id: str
    subscriber: tuple[str, str] | None = None
    deductible: Decimal = Decimal(0)
    deductible_left: dict[int, Decimal] = field(default_factory=dict)


def make_providers(rng: random.Random, params: Params) -> list[Provider]:
    """Two to four dermatologists; the first one is the practice's Mohs surgeon."""
    low = int(params.practice["providers_min"])
    high = int(params.practice["providers_max"])
    count = rng.randint(low, high)
    return [
        Provider(make_npi(rng), last, first, mohs_surgeon=index == 0)
        for index, (last, first) in enumerate(PROVIDER_NAMES[:count])
    ]


def choose_payers(rng: random.Random, params: Params) -> list[PayerParams]:
    """The practice's payers: the fixed ones plus zero to two optional commercial payers."""
    fixed = [p for p in params.payers if not p.optional and not p.joins_late]
    optional = [p for p in params.payers if p.optional and not p.joins_late]
    extra = rng.randint(0, len(optional))
    return fixed + optional[:extra]


def member_id(rng: random.Random, payer: PayerParams) -> str:
    """A member id in the payer's style (MBI-shaped for Medicare, prefix + digits otherwise)."""
    if payer.kind == "medicare":
        pattern = "NAXNAXNAANN"
        pools = {"N": "123456789", "A": MBI_LETTERS, "X": MBI_LETTERS + MBI_DIGITS}
        out = [rng.choice(pools[c] if i else "123456789") for i, c in enumerate(pattern)]
        out[3] = rng.choice(MBI_DIGITS)
        out[6] = rng.choice(MBI_DIGITS)
        out[9] = rng.choice(MBI_DIGITS)
        out[10] = rng.choice(MBI_DIGITS)
        return "".join(out)
    digits = "".join(rng.choice(MBI_DIGITS) for _ in range(9))
    return payer.payer_id[:3] + digits


def make_patients(
    rng: random.Random,
    params: Params,
    payers: list[PayerParams],
    count: int,
    end_date: date,
) -> list[Patient]:
    """A pool of synthetic patients spread over the payer mix; Medicare patients are 65 or older."""
    by_kind: dict[str, list[PayerParams]] = {}
    for payer in payers:
        by_kind.setdefault(payer.kind, []).append(payer)
    kinds = [k for k in params.payer_mix if k in by_kind]
    weights = [params.payer_mix[k] for k in kinds]
    patients = []
    for number in range(1, count + 1):
        kind = rng.choices(kinds, weights)[0]
        payer = rng.choice(by_kind[kind])
        if kind in ("medicare", "medicare_advantage"):
            age = rng.randint(65, 92)
        else:
            age = rng.choice((rng.randint(2, 17), rng.randint(18, 64), rng.randint(18, 64)))
        birth = end_date - timedelta(days=age * 365 + rng.randint(0, 364))
        subscriber = None
        if kind == "commercial" and age < 26:
            subscriber = (rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES))
        patients.append(
            Patient(
                number=number,
                last_name=subscriber[0] if subscriber else rng.choice(LAST_NAMES),
                first_name=rng.choice(FIRST_NAMES),
                birth_date=birth,
                sex=rng.choice("FM"),
                payer=payer,
                member_id=member_id(rng, payer),
                subscriber=subscriber,
                deductible=rng.choice(params.cost_sharing[kind].deductibles),
            )
        )
    return patients
