"""Denials grouped by reason, category, payer or procedure: count and dollars, largest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from appeals import codes
from appeals.denials import category_label
from appeals.models import Denial, Money, Payer, ReportDenial
from appeals.reports import aggregates
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


@dataclass(frozen=True, slots=True)
class ReasonGroup:
    """Open denials of one group, with the recovery rate of every decided denial of the group."""

    group: Group  # count and dollars of the open denials
    recovery_rate: float | None


REASON_VIEWS = ("carc", "carc-rarc", "category")


def reason_groups(
    session: Session, *, practice_id: int | None = None, today: date | None = None
) -> dict[str, list[ReasonGroup]]:
    """Open denials by CARC, CARC + RARC and category, each with its all-time recovery rate.

    Read from the report aggregates (`appeals.reports.aggregates`, their stale cells recomputed
    first): per denial month and dimension they keep the open count and dollars and the numbers
    won and decided, so the page adds up a few hundred rows instead of every denial. The same
    figures as `reason_groups_from_scratch`.
    """
    aggregates.refresh(session, today or date.today())
    query = sa.select(
        ReportDenial.dim,
        ReportDenial.key,
        sa.func.sum(ReportDenial.open_count),
        sa.type_coerce(sa.func.sum(ReportDenial.open_amount), Money()),
        sa.func.sum(ReportDenial.won_count),
        sa.func.sum(ReportDenial.closed_count),
    ).where(
        ReportDenial.basis == "denied",
        ReportDenial.payer_id.is_not(None),  # type: ignore[union-attr]  (per payer: all of them)
        ReportDenial.provider.is_(None),  # type: ignore[union-attr]
        ReportDenial.dim.in_(REASON_VIEWS),  # type: ignore[attr-defined]
    )
    if practice_id is not None:
        query = query.where(ReportDenial.practice_id == practice_id)
    folded: dict[str, dict[tuple[str, ...], list[Any]]] = {view: {} for view in REASON_VIEWS}
    for view, key, n_open, dollars, won, done in session.execute(
        query.group_by(ReportDenial.dim, ReportDenial.key)
    ):
        if view == "category":
            parts: tuple[str, ...] = (key,)
        else:
            reason, _, rarc = key.partition(" + ")
            group_code, _, carc = reason.partition("-")
            parts = (group_code, carc) if view == "carc" else (group_code, carc, rarc)
        # PostgreSQL's SUM of an integer is NUMERIC: back to int, so rates are floats.
        counts = int(n_open or 0), int(won or 0), int(done or 0)
        folded[view][parts] = [counts[0], dollars or Decimal("0.00"), counts[1], counts[2]]
    return _reason_lists(folded)


def reason_groups_from_scratch(
    session: Session, *, practice_id: int | None = None
) -> dict[str, list[ReasonGroup]]:
    """`reason_groups` counted from the denials themselves (the reference).

    One aggregate over (group code, CARC, RARC, category), folded here into the three views:
    the same figures as `group_denials` for each view (open only, and all for the rate).
    """
    is_open = Denial.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
    zero = sa.literal(Decimal("0.00"), Money())
    keys = [Denial.group_code, Denial.carc, Denial.rarc, Denial.category]
    query = sa.select(
        *keys,
        sa.func.sum(sa.case((is_open, 1), else_=0)),
        sa.type_coerce(sa.func.sum(sa.case((is_open, Denial.denied_amount), else_=zero)), Money()),
        sa.func.sum(sa.case((Denial.status.in_(RECOVERED_STATUSES), 1), else_=0)),  # type: ignore[attr-defined]
        sa.func.sum(sa.case((Denial.status.in_(CLOSED_STATUSES), 1), else_=0)),  # type: ignore[attr-defined]
    ).group_by(*keys)
    if practice_id is not None:
        query = query.where(Denial.practice_id == practice_id)
    folded: dict[str, dict[tuple[str, ...], list[Any]]] = {view: {} for view in REASON_VIEWS}
    for group_code, carc, rarc, category, n_open, dollars, won, done in session.execute(query):
        parts = {
            "carc": (group_code, carc),
            "carc-rarc": (group_code, carc, rarc),
            "category": (category,),
        }
        for view, key in parts.items():
            bucket = folded[view].setdefault(key, [0, Decimal("0.00"), 0, 0])
            bucket[0] += int(n_open or 0)  # PostgreSQL sums integers as NUMERIC
            bucket[1] += dollars or Decimal("0.00")
            bucket[2] += int(won or 0)
            bucket[3] += int(done or 0)
    return _reason_lists(folded)


def _reason_lists(
    folded: dict[str, dict[tuple[str, ...], list[Any]]],
) -> dict[str, list[ReasonGroup]]:
    """Each view's groups with open denials, largest open dollars first."""
    result: dict[str, list[ReasonGroup]] = {}
    for view, groups in folded.items():
        items = []
        for parts_, (n_open, dollars, won, done) in groups.items():
            if not n_open:
                continue
            key, description = _describe(view, [str(p or "") for p in parts_])
            group = Group(key, description, n_open, dollars, (won / done) if done else None)
            items.append(ReasonGroup(group, group.recovery_rate))
        items.sort(key=lambda r: (-r.group.denied, -r.group.count))
        result[view] = items
    return result
