"""Where denials come from: count and dollars by payer, category, CARC, CARC + RARC, procedure
family and provider against the previous period of the same length, and the top ten root causes
by dollars with the fix the coding checks suggest most often.

`present` builds the report from a `SourcesData`, summed from the stored aggregates
(`from_aggregates`) or from scratch (`reference.sources_data`).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from appeals import codes
from appeals.denials import category_label
from appeals.models import Denial, ReportDenial
from appeals.reports import aggregates as agg
from appeals.reports.base import (
    SOURCE_DIMENSIONS,
    ZERO,
    Column,
    Figure,
    Report,
    ReportFilters,
    Table,
    _carc_label,
    _denial_where,
    _family_label,
    _payer_names,
    rate,
)


@dataclass
class SourcesData:
    """Per dimension and key: [count now, dollars now, count before, dollars before]."""

    folded: dict[str, dict[str, list[Any]]] = field(
        default_factory=lambda: {d: {} for d in SOURCE_DIMENSIONS}
    )
    labels: dict[str, dict[str, tuple[str, str]]] = field(
        default_factory=lambda: {d: {} for d in SOURCE_DIMENSIONS}
    )

    def add(self, dimension: str, key: str, label: tuple[str, str], values: Sequence[Any]) -> None:
        self.labels[dimension][key] = label
        bucket = self.folded[dimension].setdefault(key, [0, ZERO, 0, ZERO])
        for i, value in enumerate(values):
            bucket[i] += value


def label_of(
    dimension: str, key: str, names: dict[int, str], provider: str = ""
) -> tuple[str, str]:
    """(label, description) of a key of a dimension."""
    if dimension == "payer":
        return names.get(int(key), "?"), ""
    if dimension == "category":
        return category_label(key), ""
    if dimension == "carc":
        return _carc_label(*key.split("-", 1))
    if dimension == "carc-rarc":
        reason, _, rarc = key.partition(" + ")
        carc = reason.split("-", 1)[1]
        return key, codes.describe_carc(carc) + (f" / {codes.describe_rarc(rarc)}" if rarc else "")
    if dimension == "family":
        return _family_label(key), ""
    return provider, ""


def present(session: Session, f: ReportFilters, today: date, data: SourcesData) -> Report:
    """The sources report from its data (the root causes' fixes are read from the denials)."""
    prev_from, prev_to = f.previous
    folded, labels = data.folded, data.labels
    report = Report("sources", "Where denials come from", f)
    now = folded["category"].values()
    count_now = sum(v[0] for v in now)
    dollars_now = sum((v[1] for v in now), ZERO)
    count_before = sum(v[2] for v in now)
    dollars_before = sum((v[3] for v in now), ZERO)
    previous = f"{prev_from.isoformat()} to {prev_to.isoformat()}"
    report.figures = [
        Figure(
            "count",
            "Denials",
            count_now,
            "count",
            "denials dated in the period",
            f"previous period: {count_before:,}",
        ),
        Figure(
            "dollars",
            "Denied",
            dollars_now,
            "money",
            "Σ denied amount in the period",
            f"previous period: ${dollars_before:,.2f}",
        ),
        Figure(
            "change",
            "Change in denied dollars",
            rate(dollars_now - dollars_before, dollars_before),
            "rate",
            "(denied − previous denied) ÷ previous denied",
            f"previous period: {previous}",
        ),
    ]
    report.note = f"Previous period: {previous} (the same number of days just before)."
    for dimension, title in SOURCE_DIMENSIONS.items():
        items = sorted(folded[dimension].items(), key=lambda kv: (-kv[1][1], kv[0]))
        links = []
        table_rows = []
        for key, (n, dollars, n_before, dollars_before_) in items:
            label, description = labels[dimension][key]
            table_rows.append(
                (
                    label,
                    description,
                    n,
                    dollars,
                    rate(dollars, dollars_now),
                    n_before,
                    dollars_before_,
                    dollars - dollars_before_,
                )
            )
            links.append(
                {"payer": key}
                if dimension == "payer"
                else {"provider": key}
                if dimension == "provider" and key
                else {}
            )
        report.tables.append(
            Table(
                f"by_{dimension}",
                f"By {title}" if dimension.startswith("carc") else f"By {title.lower()}",
                (
                    Column("key", title, "text"),
                    Column("description", "Description", "text"),
                    Column("denials", "Denials", "count", "denials dated in the period"),
                    Column("denied", "Denied", "money", "Σ denied amount in the period"),
                    Column("share", "Share", "rate", "denied ÷ all denied in the period"),
                    Column(
                        "previous_denials",
                        "Denials before",
                        "count",
                        "denials in the previous period",
                    ),
                    Column(
                        "previous_denied",
                        "Denied before",
                        "money",
                        "Σ denied amount in the previous period",
                    ),
                    Column("change", "Change", "money", "denied − denied before"),
                ),
                table_rows,
                links=links,
            )
        )
    report.tables.append(_root_causes(session, f, folded["carc-rarc"], labels["carc-rarc"]))
    return report


def _root_causes(
    session: Session,
    f: ReportFilters,
    groups: dict[str, list[Any]],
    labels: dict[str, tuple[str, str]],
    sample: int = 50,
) -> Table:
    """The ten CARC + RARC groups with the most denied dollars in the period, each with the
    fix the coding checks suggest most often among (up to `sample` of) its denials."""
    top = sorted(((k, v) for k, v in groups.items() if v[0]), key=lambda kv: (-kv[1][1], kv[0]))[
        :10
    ]
    fixes: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    checked: Counter[str] = Counter()
    for key, _ in top:
        # The group's newest denials: one short query per group, read newest first by id.
        reason, _, remark = key.partition(" + ")
        group_code, _, carc = reason.partition("-")
        for (text,) in session.execute(
            sa.select(Denial.findings)
            .where(
                *_denial_where(f),
                Denial.group_code == group_code,
                Denial.carc == carc,
                Denial.rarc == remark,
            )
            .order_by(Denial.id.desc())  # type: ignore[union-attr]
            .limit(sample)
        ):
            checked[key] += 1
            finding = _first_finding(text)
            if finding:
                fixes[key][finding] += 1
    rows = []
    for key, (n, dollars, _, _) in top:
        label, description = labels[key]
        common = fixes[key].most_common(1)
        fix, seen = (common[0][0][1], common[0][1]) if common else ("", 0)
        rows.append(
            (
                label,
                description,
                n,
                dollars,
                fix or "No coding check applies: see the recommended action",
                rate(seen, checked[key]),
            )
        )
    return Table(
        "root_causes",
        "Top 10 root causes by dollars",
        (
            Column("key", "CARC + RARC", "text"),
            Column("description", "Description", "text"),
            Column("denials", "Denials", "count", "denials dated in the period"),
            Column("denied", "Denied", "money", "Σ denied amount in the period"),
            Column("fix", "Suggested fix", "text", "the coding checks' most frequent suggestion"),
            Column(
                "fix_share",
                "Denials it fits",
                "rate",
                f"share of the group's {sample} newest denials with that finding",
            ),
        ),
        rows,
    )


def _first_finding(text: str | None) -> tuple[str, str] | None:
    """(rule id, suggested change or message) of a denial's first coding finding."""
    if not text:
        return None
    try:
        items = json.loads(text)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, dict) and item.get("rule_id"):
            return str(item["rule_id"]), str(
                item.get("suggested_change") or item.get("message") or ""
            )
    return None


def from_aggregates(session: Session, f: ReportFilters, today: date) -> SourcesData:
    """Both periods from the stored cells plus their partial months from scratch.

    Needs `agg.dims_stored(f)`.
    """
    prev_from, prev_to = f.previous
    data = SourcesData()
    names = _payer_names(session)
    for offset, (start, end) in ((0, (f.date_from, f.date_to)), (2, (prev_from, prev_to))):
        period = agg.plan(session, f.practice, f.basis, start, end)
        edges = [
            row
            for cell in period.edges
            for row in agg.compute(session, cell, today, {"denial"}, f)["denial"]
        ]
        cells = [ReportDenial.basis == f.basis, ReportDenial.month.in_(period.whole)]  # type: ignore[attr-defined]
        grouped: dict[str, dict[tuple[Any, ...], list[Any]]] = {}
        measures = ("denials", "denied")
        for dimension in SOURCE_DIMENSIONS:
            if dimension in ("payer", "provider"):
                dim = ""
                keys = (
                    [ReportDenial.payer_id]
                    if dimension == "payer"
                    else [ReportDenial.provider, ReportDenial.label]
                )
            else:
                dim, keys = dimension, [ReportDenial.key]
            sums = agg.summed(
                session, ReportDenial, [*cells, *agg.dim_where(f, dim)], keys, measures
            )
            for row in edges:
                if agg.dim_matches(row, f, dim):
                    agg.add_into(sums, tuple(row[k.key] for k in keys), [row[m] for m in measures])
            grouped[dimension] = sums
        for dimension, sums in grouped.items():
            for parts, (n, dollars) in sums.items():
                if not n:
                    continue
                values = [0, ZERO, 0, ZERO]
                values[offset], values[offset + 1] = n, dollars
                key = str(parts[0])
                label = label_of(dimension, key, names, parts[1] if len(parts) > 1 else "")
                data.add(dimension, key, label, values)
    return data
