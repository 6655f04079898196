"""The rule tables in `data/rules/`, loaded once into typed lookups."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

RULES_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "rules"


@dataclass(frozen=True)
class Procedure:
    code: str
    family: str
    global_days: str  # 000 | 010 | 090 | ZZZ (add-on) | XXX (not applicable)
    site_group: str = ""
    size_above_cm: Decimal | None = None  # band is (above, up_to]
    size_up_to_cm: Decimal | None = None
    max_units: Decimal | None = None

    @property
    def is_addon(self) -> bool:
        return self.global_days == "ZZZ"

    @property
    def is_minor(self) -> bool:
        """A 000/010-global procedure: its E/M needs modifier 25 to be paid separately."""
        return self.global_days in ("000", "010")

    @property
    def global_period_days(self) -> int | None:
        return int(self.global_days) if self.global_days.isdigit() else None

    def fits(self, size: Decimal) -> bool:
        if self.size_above_cm is not None and size <= self.size_above_cm:
            return False
        return self.size_up_to_cm is None or size <= self.size_up_to_cm


@dataclass(frozen=True)
class Pair:
    """An NCCI procedure-to-procedure pair (either order) that bundles on the same date."""

    a_from: str
    a_to: str
    b_from: str
    b_to: str
    modifier_indicator: str
    kind: str  # distinct_lesion | repair_after_excision
    note: str

    def matches(self, first: str, second: str) -> bool:
        return (_in(first, self.a_from, self.a_to) and _in(second, self.b_from, self.b_to)) or (
            _in(second, self.a_from, self.a_to) and _in(first, self.b_from, self.b_to)
        )


@dataclass(frozen=True)
class Site:
    name: str
    excision_group: str
    mohs_group: str
    auc_area: str


@dataclass(frozen=True)
class Diagnosis:
    prefix: str
    meaning: str
    supports_medical_removal: bool


def _in(code: str, low: str, high: str) -> bool:
    return len(code) == len(low) and low <= code <= high


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if text.strip() else None


def _rows(name: str) -> list[dict[str, str]]:
    with (RULES_DIR / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _json(name: str) -> Any:
    return json.loads((RULES_DIR / name).read_text(encoding="utf-8"))


@cache
def procedures() -> dict[str, Procedure]:
    """Every code in the procedure table, ranges expanded."""
    table: dict[str, Procedure] = {}
    for row in _rows("procedures.csv"):
        for number in range(int(row["code_from"]), int(row["code_to"]) + 1):
            code = f"{number:05d}"
            table[code] = Procedure(
                code=code,
                family=row["family"],
                global_days=row["global_days"],
                site_group=row["site_group"],
                size_above_cm=_decimal(row["size_above_cm"]),
                size_up_to_cm=_decimal(row["size_up_to_cm"]),
                max_units=_decimal(row["max_units"]),
            )
    return table


def procedure(code: str) -> Procedure | None:
    return procedures().get(code)


def family(code: str) -> str:
    info = procedure(code)
    return info.family if info else ""


@cache
def addon_primaries() -> dict[str, tuple[str, ...]]:
    return {row["addon"]: tuple(row["primaries"].split()) for row in _rows("addons.csv")}


@cache
def pairs() -> tuple[Pair, ...]:
    return tuple(
        Pair(
            a_from=row["group_a_from"],
            a_to=row["group_a_to"],
            b_from=row["group_b_from"],
            b_to=row["group_b_to"],
            modifier_indicator=row["modifier_indicator"],
            kind=row["kind"],
            note=row["note"],
        )
        for row in _rows("ncci_pairs.csv")
    )


def pair_for(first: str, second: str) -> Pair | None:
    return next((p for p in pairs() if p.matches(first, second)), None)


@cache
def sites() -> dict[str, Site]:
    return {
        name: Site(name, v["excision_group"], v["mohs_group"], v["auc_area"])
        for name, v in _json("sites.json")["sites"].items()
    }


def site(name: str) -> Site | None:
    return sites().get(normalise_site(name))


def normalise_site(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


@cache
def diagnoses() -> tuple[Diagnosis, ...]:
    rows = [
        Diagnosis(r["prefix"].upper(), r["meaning"], r["supports_medical_removal"] == "yes")
        for r in _rows("diagnoses.csv")
    ]
    return tuple(sorted(rows, key=lambda d: -len(d.prefix)))  # longest prefix wins


def diagnosis(code: str) -> Diagnosis | None:
    code = code.strip().upper()
    return next((d for d in diagnoses() if code.startswith(d.prefix)), None)


@cache
def _codes() -> dict[str, Any]:
    return _json("codes.json")


def carcs(role: str) -> frozenset[str]:
    return frozenset(_codes()["carc"][role])


def rarcs(role: str) -> frozenset[str]:
    return frozenset(_codes()["rarc"][role])


def rarc_fix(code: str) -> str | None:
    return _codes()["rarc_fix"].get(code)


@cache
def indication_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    data = _json("indications.json")
    negation = "|".join(re.escape(n) for n in data["negations"])
    result = []
    for name, terms in data["indications"].items():
        alternatives = "|".join(re.escape(t) for t in terms)
        # a term counts unless a negation stands at most two words before it
        pattern = re.compile(
            rf"(?<![\w/])(?P<neg>(?:\b(?:{negation})\b(?:[^\w.;]+\w+){{0,2}}?[^\w.;]+)?)"
            rf"(?:{alternatives})",
            re.IGNORECASE,
        )
        result.append((name, pattern))
    return tuple(result)


def indications_in(text: str) -> list[str]:
    """The medical indications a free-text note documents (negated mentions do not count)."""
    found = []
    for name, pattern in indication_patterns():
        if any(not m.group("neg") for m in pattern.finditer(text)):
            found.append(name)
    return found


MALIGNANT = re.compile(r"malignan|carcinoma|melanoma|in situ|lentigo maligna|\bBCC\b|\bSCC\b", re.I)
BENIGN = re.compile(
    r"benign|nevus|nevi|keratosis|cyst|lipoma|dermatofibroma|uncertain|dysplas|atypical|wart",
    re.I,
)
NEGATED_MALIGNANCY = re.compile(
    r"\b(?:no|negative for|without|not)\b(?:\W+\w+){0,3}?\W+(?:malignan|carcinoma|melanoma)",
    re.I,
)


def pathology_kind(text: str) -> str:
    """'malignant', 'benign' or '' (unknown) from a free-text pathology result.

    Malignant includes in-situ disease, which is coded with the malignant excision codes;
    uncertain behaviour and dysplasia count as benign, as CPT's benign excision codes say.
    """
    cleaned = NEGATED_MALIGNANCY.sub(" ", text)
    if MALIGNANT.search(cleaned):
        return "malignant"
    if BENIGN.search(text) or NEGATED_MALIGNANCY.search(text):
        return "benign"
    return ""
