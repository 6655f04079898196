"""Cold-start recovery priors per CARC (refined by RARC and payer type), and their shrinkage.

`data/denial_rules/carc_priors.csv` holds documented priors (sources in its `source` column);
a CARC it lacks falls back to its category's prior (`category_priors.csv`). As the practice's
own outcomes arrive, each level is shrunk toward the one above it (Beta-Binomial): a rate
observed on n decided denials with s recovered becomes (s + m·p) / (n + m).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from appeals.denials import category_priors

PRIORS_CSV = Path(__file__).resolve().parent.parent / "data" / "denial_rules" / "carc_priors.csv"
STRENGTH = 12.0  # prior weight m, in decided denials


@dataclass(frozen=True, slots=True)
class Prior:
    probability: float
    source: str


@cache
def _table() -> dict[tuple[str, str, str], Prior]:
    with open(PRIORS_CSV, newline="", encoding="utf-8") as handle:
        return {
            (row["carc"], row["rarc"], row["payer_type"]): Prior(float(row["prior"]), row["source"])
            for row in csv.DictReader(handle)
        }


@cache
def prior_for(carc: str, rarcs: tuple[str, ...], payer_type: str, category: str) -> Prior:
    """The most specific documented prior: CARC+RARC+type, CARC+RARC, CARC+type, CARC, category."""
    table = _table()
    for rarc in rarcs:
        for key in ((carc, rarc, payer_type), (carc, rarc, "")):
            if key in table:
                return table[key]
    for key in ((carc, "", payer_type), (carc, "", "")):
        if key in table:
            return table[key]
    priors = category_priors()
    value = priors.get(category, priors["other"])
    return Prior(float(value), f"category prior ({category})")


def shrink(recovered: float, decided: float, toward: float, strength: float = STRENGTH) -> float:
    """A recovery rate from `decided` outcomes, pulled toward `toward` (Beta-Binomial mean)."""
    return (recovered + strength * toward) / (decided + strength)
