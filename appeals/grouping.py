"""Denials grouped by reason, category, payer or procedure: count and dollars, largest first."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session

from appeals import codes
from appeals.denials import category_label
from appeals.models import Denial, Payer
from appeals.workflow import CLOSED_STATUSES, OPEN_STATUSES, RECOVERED_STATUSES

GROUPINGS = ("carc", "rarc", "carc-rarc", "category", "payer", "procedure")


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    description: str
    count: int
    denied: Decimal
    recovery_rate: float | None  # recovered share of decided denials, None before outcomes exist

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "description": self.description,
            "count": self.count,
            "denied": str(self.denied),
            "recovery_rate": self.recovery_rate,
        }


def group_denials(
    session: Session,
    by: str,
    *,
    practice_id: int | None = None,
    open_only: bool = False,
) -> list[Group]:
    """Groups of denials by `by` (one of GROUPINGS), largest denied dollars first."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}; choose one of {', '.join(GROUPINGS)}")
    rarc = Denial.rarc
    keys: dict[str, list[sa.ColumnElement[str]]] = {
        "carc": [Denial.group_code, Denial.carc],
        "rarc": [rarc],
        "carc-rarc": [Denial.group_code, Denial.carc, rarc],
        "category": [Denial.category],
        "payer": [Payer.name],
        "procedure": [Denial.procedure_code],
    }
    columns = keys[by]
    recovered = sa.func.sum(sa.case((Denial.status.in_(RECOVERED_STATUSES), 1), else_=0))
    decided = sa.func.sum(sa.case((Denial.status.in_(CLOSED_STATUSES), 1), else_=0))
    query = (
        sa.select(
            *columns,
            sa.func.count(Denial.id),
            sa.func.sum(Denial.denied_amount),
            recovered,
            decided,
        )
        .join(Payer, Payer.id == Denial.payer_id)
        .group_by(*columns)
        .order_by(sa.func.sum(Denial.denied_amount).desc(), sa.func.count(Denial.id).desc())
    )
    if practice_id is not None:
        query = query.where(Denial.practice_id == practice_id)
    if open_only:
        query = query.where(Denial.status.in_(OPEN_STATUSES))
    groups = []
    for row in session.execute(query):
        *key_parts, count, denied, won, done = row
        key, description = _describe(by, [str(k or "") for k in key_parts])
        groups.append(
            Group(
                key=key,
                description=description,
                count=count,
                denied=denied or Decimal("0.00"),
                recovery_rate=(won / done) if done else None,
            )
        )
    return groups


def _describe(by: str, parts: list[str]) -> tuple[str, str]:
    if by == "carc":
        group_code, reason = parts
        return f"{group_code}-{reason}", codes.describe_carc(reason)
    if by == "rarc":
        (remark,) = parts
        return (remark, codes.describe_rarc(remark)) if remark else ("(none)", "No remark code")
    if by == "carc-rarc":
        group_code, reason, remark = parts
        description = codes.describe_carc(reason)
        if remark:
            description += " / " + codes.describe_rarc(remark)
        return f"{group_code}-{reason}" + (f" + {remark}" if remark else ""), description
    if by == "category":
        return parts[0], category_label(parts[0])
    if by == "payer":
        return parts[0], parts[0]
    return parts[0] or "(claim)", parts[0] or "Whole claim"
