"""The reports computed from scratch: the reference the stored aggregates must always match.

The same GROUP BY queries over the base tables the reports ran before the aggregates existed,
returning each report's data for its `present`. `build(..., from_scratch=True)` uses them; a
test checks every report through the aggregates against them after imports, outcomes,
reversals and a history import. They also answer the rare request the aggregates do not
cover (a payer and a provider at once with a dimension breakdown).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from appeals import codes
from appeals.denials import category_label
from appeals.models import Adjustment, Appeal, Claim, Denial, Payment, ServiceLine
from appeals.reports.base import (
    DECIDED,
    ZERO,
    ReportFilters,
    _carc_label,
    _count,
    _date_column,
    _days,
    _denial_where,
    _dialect,
    _expired,
    _family_label,
    _family_of,
    _money,
    _month,
    _outcome_sums,
    _payer_names,
    _provider_match,
)
from appeals.reports.kpi import KpiData, backlog_query, due_soon
from appeals.reports.origins import SourcesData
from appeals.reports.overturns import AppealsData
from appeals.reports.people import TeamData
from appeals.reports.recovery import MonthlyData, breakdown_entry, recoveries_from_scratch
from appeals.workflow import OPEN_STATUSES, RECOVERED_STATUSES


def _claim_where(f: ReportFilters) -> list[Any]:
    """Remittance claims in scope: their payment date (or date of service) in the period."""
    where: list[Any] = []
    if f.practice is not None:
        where.append(Claim.practice_id == f.practice)
    if f.payer is not None:
        where.append(Claim.payer_id == f.payer)
    if f.provider:
        where.append(_provider_match(f.provider))
    column = Payment.payment_date if f.basis == "denied" else Claim.service_date
    where.extend([column >= f.date_from, column <= f.date_to])
    return where


def monthly_data(session: Session, f: ReportFilters, today: date) -> MonthlyData:
    """Months, cohorts, money by the month it came back and the breakdown, from scratch."""
    dialect = _dialect(session)
    where = _denial_where(f)
    month = _month(_date_column(f), dialect)
    data = MonthlyData()
    for m, *values in session.execute(
        sa.select(month, *_outcome_sums(today)).where(*where).group_by(month).order_by(month)
    ):
        data.months[m] = list(values)
    data.cohort, data.came_back = recoveries_from_scratch(session, f, dialect)
    _breakdown(session, f, today, data)
    return data


def _breakdown(session: Session, f: ReportFilters, today: date, data: MonthlyData) -> None:
    """The period's outcomes by one dimension (`f.by`)."""
    where = _denial_where(f)
    sums = _outcome_sums(today)
    if f.by == "provider":
        keys = [Claim.rendering_provider_npi, Claim.rendering_provider_name]
        query = sa.select(*keys, *sums).join(Claim, Claim.id == Denial.claim_id)
    else:
        keys = {
            "payer": [Denial.payer_id],
            "category": [Denial.category],
            "carc": [Denial.group_code, Denial.carc],
            "family": [Denial.procedure_code],
        }[f.by]
        query = sa.select(*keys, *sums)
    names = _payer_names(session) if f.by == "payer" else {}
    for row in session.execute(query.where(*where).group_by(*keys)):
        parts, values = tuple(row[: len(keys)]), list(row[len(keys) :])
        if f.by == "family":
            parts = (_family_of(parts[0]),)
        elif f.by == "provider":
            npi, name = parts
            parts = (npi or name, " · ".join(p for p in (name, npi) if p) or "(not given)")
        data.add_breakdown(*breakdown_entry(f.by, parts, names), values)


def sources_data(session: Session, f: ReportFilters, today: date) -> SourcesData:
    """Both periods' counts and dollars by every dimension, from scratch."""
    prev_from, prev_to = f.previous
    span = replace(f, date_from=prev_from)
    column = _date_column(f)
    current = column >= f.date_from
    measures = [
        _count(current),
        _money(Denial.denied_amount, current),
        _count(sa.not_(current)),
        _money(Denial.denied_amount, sa.not_(current)),
    ]
    fine = [
        Denial.payer_id,
        Denial.category,
        Denial.group_code,
        Denial.carc,
        Denial.rarc,
        Denial.procedure_code,
    ]
    rows = session.execute(
        sa.select(*fine, *measures).where(*_denial_where(span)).group_by(*fine)
    ).all()
    names = _payer_names(session)
    data = SourcesData()
    add = data.add

    for payer_id, category, group_code, carc, rarc, procedure, *values in rows:
        add("payer", str(payer_id), (names.get(payer_id, "?"), ""), values)
        add("category", category, (category_label(category), ""), values)
        add("carc", f"{group_code}-{carc}", _carc_label(group_code, carc), values)
        key = f"{group_code}-{carc}" + (f" + {rarc}" if rarc else "")
        description = codes.describe_carc(carc) + (
            f" / {codes.describe_rarc(rarc)}" if rarc else ""
        )
        add("carc-rarc", key, (key, description), values)
        name = _family_of(procedure)
        add("family", name, (_family_label(name), ""), values)
    provider_keys = [Claim.rendering_provider_npi, Claim.rendering_provider_name]
    for npi, name, *values in session.execute(
        sa.select(*provider_keys, *measures)
        .join(Claim, Claim.id == Denial.claim_id)
        .where(*_denial_where(span))
        .group_by(*provider_keys)
    ):
        add(
            "provider",
            npi or name,
            (" · ".join(p for p in (name, npi) if p) or "(not given)", ""),
            values,
        )
    return data


def kpis_data(session: Session, f: ReportFilters, today: date) -> KpiData:
    """The remittance sums, denial counts and backlog, from scratch."""
    dialect = _dialect(session)
    where = _claim_where(f)
    sign = sa.case((Claim.is_reversal, -1), else_=1)
    paid, charges, claim_count = session.execute(
        sa.select(_money(Claim.paid), _money(Claim.charge), sa.func.coalesce(sa.func.sum(sign), 0))
        .join(Payment, Payment.id == Claim.payment_id)
        .where(*where)
    ).one()
    contractual = session.execute(
        sa.select(_money(Adjustment.amount))
        .join(Claim, Claim.id == Adjustment.claim_id)
        .join(Payment, Payment.id == Claim.payment_id)
        .where(*where, Adjustment.group_code == "CO", Adjustment.reason == "45")
    ).scalar_one()
    lines, line_charges = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sign), 0), _money(ServiceLine.charge))
        .join(Claim, Claim.id == ServiceLine.claim_id)
        .join(Payment, Payment.id == Claim.payment_id)
        .where(*where)
    ).one()
    denial_where = _denial_where(f)
    denied_lines, denied_dollars = session.execute(
        sa.select(sa.func.count(), _money(Denial.denied_amount)).where(*denial_where)
    ).one()

    earlier = sa.alias(Claim.__table__, "earlier")
    first = sa.not_(
        sa.exists().where(
            earlier.c.practice_id == Claim.practice_id,
            earlier.c.payer_id == Claim.payer_id,
            earlier.c.patient_control_number == Claim.patient_control_number,
            earlier.c.id < Claim.id,
            earlier.c.is_reversal.is_(False),
        )
    )
    denied_claim = sa.exists().where(Denial.claim_id == Claim.id)
    first_count, resolved = session.execute(
        sa.select(sa.func.count(), _count(sa.and_(Claim.paid > ZERO, sa.not_(denied_claim))))
        .join(Payment, Payment.id == Claim.payment_id)
        .where(*where, Claim.is_reversal.is_(False), first)
    ).one()

    days = _days(Payment.payment_date, Claim.service_date, dialect)
    histogram = {
        int(d): int(n)
        for d, n in session.execute(
            sa.select(days, sa.func.count())
            .select_from(Claim)
            .join(Payment, Payment.id == Claim.payment_id)
            .where(
                *where,
                Claim.is_reversal.is_(False),
                Claim.paid > ZERO,
                Claim.service_date.is_not(None),
            )  # type: ignore[union-attr]
            .group_by(days)
        )
        if d is not None
    }
    backlog = {int(b): (int(n), dollars) for b, n, dollars in backlog_query(session, f, today, [])}
    due_n, due = due_soon(session, f, today)
    is_open = Denial.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
    expired_n, expired = session.execute(
        sa.select(_count(_expired(today)), _money(Denial.denied_amount, _expired(today))).where(
            *_denial_where(f, dated=False), is_open
        )
    ).one()
    return KpiData(
        paid, charges, int(claim_count), contractual, int(lines), line_charges,
        int(denied_lines), denied_dollars, int(first_count), int(resolved), histogram,
        backlog, due_n, due, int(expired_n), expired,
    )  # fmt: skip


def appeals_data(session: Session, f: ReportFilters, today: date) -> AppealsData:
    """Appeals by level, payer and outcome, and their days to decision, from scratch."""
    dialect = _dialect(session)
    where = [*_denial_where(f), Appeal.submitted_on.is_not(None)]  # type: ignore[union-attr]
    counts = session.execute(
        sa.select(
            Appeal.level,
            Denial.payer_id,
            Appeal.outcome,
            sa.func.count(),
            _money(Appeal.recovered_amount),
            _money(Denial.denied_amount),
        )
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(*where)
        .group_by(Appeal.level, Denial.payer_id, Appeal.outcome)
    ).all()
    days = _days(Appeal.closed_on, Appeal.submitted_on, dialect)
    timing = session.execute(
        sa.select(Appeal.level, Denial.payer_id, days, sa.func.count())
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(*where, Appeal.outcome.in_(DECIDED), Appeal.closed_on.is_not(None))  # type: ignore[attr-defined,union-attr]
        .group_by(Appeal.level, Denial.payer_id, days)
    ).all()
    return AppealsData([tuple(r) for r in counts], [tuple(r) for r in timing])


def team_data(session: Session, f: ReportFilters, today: date) -> TeamData:
    """Per person: appeals sent and their outcomes, days to decision, denials worked."""
    dialect = _dialect(session)
    where = _denial_where(f)
    sent = session.execute(
        sa.select(
            Appeal.sent_by_id,
            sa.func.count(),
            _count(Appeal.outcome.in_(DECIDED)),  # type: ignore[attr-defined]
            _count(Appeal.outcome.in_(RECOVERED_STATUSES)),  # type: ignore[attr-defined]
            _money(Appeal.recovered_amount, Appeal.outcome.in_(RECOVERED_STATUSES)),  # type: ignore[attr-defined]
            _money(
                Appeal.recovered_amount,
                sa.and_(Appeal.outcome.in_(RECOVERED_STATUSES), Appeal.source == "remittance"),
            ),  # type: ignore[attr-defined]
        )
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(*where, Appeal.sent_by_id.is_not(None), Appeal.submitted_on.is_not(None))  # type: ignore[union-attr]
        .group_by(Appeal.sent_by_id)
    ).all()
    days = _days(Appeal.closed_on, Appeal.submitted_on, dialect)
    hist: dict[int, Counter[int]] = defaultdict(Counter)
    for user_id, d, n in session.execute(
        sa.select(Appeal.sent_by_id, days, sa.func.count())
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(
            *where,
            Appeal.sent_by_id.is_not(None),
            Appeal.outcome.in_(DECIDED),
            Appeal.closed_on.is_not(None),
            Appeal.submitted_on.is_not(None),
        )  # type: ignore[union-attr,attr-defined]
        .group_by(Appeal.sent_by_id, days)
    ):
        hist[user_id][int(d)] += int(n)
    assigned = sa.select(Denial.assignee_id.label("user_id"), Denial.id.label("denial_id")).where(
        *where,
        Denial.assignee_id.is_not(None),
        Denial.status != "new",  # type: ignore[union-attr]
    )
    appealed = (
        sa.select(Appeal.sent_by_id.label("user_id"), Appeal.denial_id.label("denial_id"))
        .join(Denial, Denial.id == Appeal.denial_id)
        .where(*where, Appeal.sent_by_id.is_not(None), Appeal.submitted_on.is_not(None))  # type: ignore[union-attr]
    )
    worked_union = sa.union(assigned, appealed).subquery()
    worked = dict(
        session.execute(
            sa.select(worked_union.c.user_id, sa.func.count()).group_by(worked_union.c.user_id)
        ).all()
    )
    data = TeamData(sent=[tuple(r) for r in sent], worked={k: int(v) for k, v in worked.items()})
    for user_id, counter in hist.items():
        data.hist[user_id].update(counter)
    return data
