"""What counts as a denial, its category and the recommended action.

A denial is one service line whose adjustments include a denial reason (or the claim itself when
the claim has no lines, or carries claim-level denial adjustments). Contractual write-downs
(CO-45, CO-253, ...) and patient cost sharing (PR-1/2/3) are not denials. The category starts
from the CARC (`data/codes/carc_categories.csv`) and is refined by the remark codes where they
say more (`data/denial_rules/rarc_refinements.csv`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from appeals.x12.model import Adjustment, Claim, Remark

DATA = Path(__file__).resolve().parent.parent / "data"

CATEGORIES: dict[str, str] = {
    "medical_necessity": "Medical necessity",
    "coding_modifier": "Modifier / coding",
    "bundling_ncci": "Bundling / NCCI",
    "authorization_precert": "Authorization",
    "eligibility_coverage": "Eligibility / coverage",
    "noncovered_cosmetic": "Cosmetic / non-covered",
    "timely_filing": "Timely filing",
    "duplicate": "Duplicate",
    "missing_invalid_info": "Missing information",
    "coordination_of_benefits": "Coordination of benefits",
    "other": "Other",
}

# The first five come from the reason codes; the dermatology checks name the rest.
ACTIONS: dict[str, str] = {
    "appeal": "Appeal",
    "corrected_claim": "Corrected claim",
    "bill_patient": "Bill patient",
    "verify_eligibility": "Verify eligibility",
    "write_off_review": "Write-off review",
    "write_off": "Write off",
    "retro_authorization": "Request retro-authorization",
    "reopening": "Reopening (clerical error)",
    "resubmit": "Fix and resubmit",
}
REASON_ACTIONS = (
    "appeal",
    "corrected_claim",
    "bill_patient",
    "verify_eligibility",
    "write_off_review",
)

# CARC categories that are not denials at all.
NOT_DENIAL = frozenset({"contractual", "patient_responsibility", "payer_informational"})
# Proposal categories folded into "other" in the product's eleven.
FOLDED = frozenset(
    {
        "benefit_limit",
        "provider_enrollment_network",
        "property_casualty_workers_comp",
        "needs_rarc_review",
    }
)
# CARCs too generic to carry the reason: the RARC decides where it says more.
GENERIC_CARCS = frozenset({"16", "96", "204", "A1", "4", "11", "B7", "167", "50"})
PATIENT_BILLABLE = frozenset({"noncovered_cosmetic", "other", "medical_necessity"})


@dataclass(frozen=True, slots=True)
class CarcRule:
    category: str
    action: str


@dataclass(frozen=True, slots=True)
class RarcRule:
    category: str
    action: str
    always: bool


@dataclass(slots=True)
class DenialDraft:
    """A denial found in a claim, before it is stored. `line_index` None means claim level."""

    line_index: int | None
    group_code: str
    carc: str
    carcs: list[str]
    rarcs: list[str]
    category: str
    action: str
    denied_amount: Decimal
    adjustments: list[Adjustment] = field(default_factory=list)


@cache
def carc_rules() -> dict[str, CarcRule]:
    with open(DATA / "codes" / "carc_categories.csv", newline="", encoding="utf-8") as handle:
        return {
            row["code"]: CarcRule(row["category"], row["recommended_action"])
            for row in csv.DictReader(handle)
        }


@cache
def rarc_rules() -> dict[str, RarcRule]:
    path = DATA / "denial_rules" / "rarc_refinements.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        return {
            row["rarc"]: RarcRule(row["category"], row["action"], row["applies"] == "always")
            for row in csv.DictReader(handle)
        }


@cache
def category_priors() -> dict[str, Decimal]:
    path = DATA / "denial_rules" / "category_priors.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["category"]: Decimal(row["prior"]) for row in csv.DictReader(handle)}


def carc_category(reason: str) -> str:
    """The raw proposal category of a CARC; unknown codes count as 'other' denials."""
    rule = carc_rules().get(reason)
    return rule.category if rule else "other"


def is_denial_adjustment(adjustment: Adjustment) -> bool:
    """A positive adjustment whose reason is a denial, not a write-down or cost sharing."""
    if adjustment.amount <= 0:
        return False
    if adjustment.group == "OA" and adjustment.reason == "23":
        return False
    return carc_category(adjustment.reason) not in NOT_DENIAL


def classify(group_code: str, reason: str, rarcs: Iterable[str]) -> tuple[str, str]:
    """(category, action) for a denial with its deciding CARC and the remark codes around it."""
    rule = carc_rules().get(reason, CarcRule("other", "write_off_review"))
    category, action = rule.category, rule.action
    refinements = rarc_rules()
    for code in rarcs:
        refinement = refinements.get(code)
        if refinement and (refinement.always or reason in GENERIC_CARCS):
            category, action = refinement.category, refinement.action
            break
    if category in FOLDED:
        category = "other"
    if action not in REASON_ACTIONS:
        action = "write_off_review"
    if group_code == "PR" and category in PATIENT_BILLABLE:
        action = "bill_patient"
    return category, action


def _codes(remarks: Iterable[Remark]) -> list[str]:
    return [r.code for r in remarks if r.qualifier == "HE"]


def _draft(
    line_index: int | None, adjustments: Sequence[Adjustment], rarcs: list[str]
) -> DenialDraft | None:
    denials = [a for a in adjustments if is_denial_adjustment(a)]
    if not denials:
        return None
    deciding = max(denials, key=lambda a: a.amount)
    category, action = classify(deciding.group, deciding.reason, rarcs)
    carcs = list(dict.fromkeys(a.reason for a in denials))
    return DenialDraft(
        line_index=line_index,
        group_code=deciding.group,
        carc=deciding.reason,
        carcs=carcs,
        rarcs=rarcs,
        category=category,
        action=action,
        denied_amount=sum((a.amount for a in denials), Decimal("0")),
        adjustments=denials,
    )


def find_denials(claim: Claim) -> list[DenialDraft]:
    """The denials in one claim as received: one per denied line, plus claim-level ones.

    Reversals (CLP02 22) and predeterminations (25) never create denials.
    """
    if claim.status in {"22", "25"}:
        return []
    claim_rarcs = list(dict.fromkeys(_codes(claim.remarks)))
    drafts: list[DenialDraft] = []
    for index, line in enumerate(claim.lines):
        rarcs = list(dict.fromkeys(_codes(line.remarks) + claim_rarcs))
        draft = _draft(index, line.adjustments, rarcs)
        if draft:
            drafts.append(draft)
    claim_level = _draft(None, claim.adjustments, claim_rarcs)
    if claim_level:
        drafts.append(claim_level)
    return drafts


def category_label(category: str) -> str:
    return CATEGORIES.get(category, category)


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)
