"""Scoring open denials in bulk, against aggregates computed by the database.

The reference path (`recovery.context` + `recovery.score`) reads every denial into a `Record`
and every paid line of 12 months into Python to build its `History` and payment medians. This
module computes the same numbers set-wise:

- `outcome_counts`: decided and recovered denials grouped by CARC × payer type × payer ×
  procedure × the day each counts from (one GROUP BY; the labels of `features.labelled` as a
  SQL CASE);
- `payment_medians`: the median allowed per payer × procedure over 12 months of paid lines,
  from window functions (only the one or two middle rows of each group leave the database);
- `Aggregates`: both, plus the day and the model they were built for. The daily full rescore
  builds them and keeps them as JSON beside the model (`save` / `load`), so a rescore of a
  file's new denials in a new process reads a small file instead of the whole database;
- `load_open` reads open denials as columns (money as exact cents, no ORM objects), and
  `score` turns them into probabilities, stakes and reasons with NumPy where the arithmetic
  allows and the reference functions where words are made, so the stored results equal the
  reference path's (`tests/core/test_bulk_scoring.py` compares them).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from appeals.files import private_folder, write_private
from appeals.models import (
    Appeal,
    Claim,
    Denial,
    DenialScore,
    Payer,
    Payment,
    ServiceLine,
    paid_on,
)
from appeals.rules.tables import family
from classifiers import model as m
from classifiers import recovery
from classifiers.features import (
    CATEGORICAL,
    FEATURES,
    LEVELS,
    OPEN,
    RECOVERED,
    SETTLE,
    OutcomeSql,
    _findings,
)
from classifiers.priors import STRENGTH, prior_for

SNAPSHOT = "scoring-context.json"
SNAPSHOT_FORM = 3  # outcomes as columns, each counted and recovered from its own day
_DAY_SPAN = 1 << 22  # above date.max.toordinal(): (group, day) packs into one int64
_CHUNK = 900  # ids per IN (...) list


# --- aggregates ----------------------------------------------------------------------------


def _day(value: Any) -> date | None:
    """A date from what the driver returned (SQLite hands back text for computed dates)."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    return date.fromisoformat(str(value)[:10])


def outcome_counts(
    session: Session, as_of: date
) -> list[tuple[str, str, int, str, int, int | None, int]]:
    """Outcomes counted by `as_of`, grouped: (carc, payer type, payer id, procedure, ordinal of
    the day they count from (`features.counted_from`), ordinal of the day they count as
    recovered from (`features.recovered_from`) or None, count).

    The same labels as `features.load_records` + `features.labelled`: won or partial with money
    back = 1 and lost or written off = 0, each on its last appeal decision (won, partial or lost
    only), else the day of the remittance that paid it, else the day it closed, else its arrival;
    an open denial whose deadline passed = 0 on its deadline; a denial `SETTLE` old not
    recovered by `as_of` = 0.
    """
    d, payer, appeal = (t.__table__ for t in (Denial, Payer, Appeal))  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    decisions = (
        sa.select(appeal.c.denial_id, sa.func.max(appeal.c.closed_on).label("decided"))
        .where(appeal.c.outcome != "")
        .group_by(appeal.c.denial_id)
        .subquery()
    )
    closed = sa.func.date(d.c.closed_at) if dialect == "sqlite" else sa.cast(d.c.closed_at, sa.Date)
    known = OutcomeSql.on(d, as_of)
    won, lost, expired, arrived = known.won, known.lost, known.expired, known.arrived
    decision = sa.case((d.c.status.in_((*RECOVERED, "lost")), decisions.c.decided), else_=sa.null())
    paid = paid_on(d.c.closed_by_claim_id)
    decided = sa.case(
        (won | lost, sa.func.coalesce(decision, paid, closed, arrived)), else_=d.c.deadline
    )
    recovered = won & (decided <= as_of)
    settle = SETTLE.days
    if dialect == "sqlite":  # ISO date text compares in date order
        settles = sa.func.date(arrived, f"+{settle} days")
        latest = sa.func.max(decided, settles)
    else:
        settles = arrived + settle
        latest = sa.func.greatest(decided, settles)
    day = settles.label("day")
    won_day = sa.case((recovered, latest), else_=sa.null()).label("won_day")
    payer_type = sa.func.coalesce(
        sa.func.nullif(d.c.payer_type, ""), sa.func.nullif(payer.c.payer_type, ""), "other"
    ).label("payer_type")
    counted_rows = (
        sa.select(d.c.carc, payer_type, d.c.payer_id, d.c.procedure_code, day, won_day)
        .join(payer, payer.c.id == d.c.payer_id)
        .outerjoin(decisions, decisions.c.denial_id == d.c.id)
        .where(((won | lost | expired) & (decided <= as_of)) | (arrived <= as_of - SETTLE))
        .subquery()
    )
    query = sa.select(*counted_rows.c, sa.func.count()).group_by(*counted_rows.c)
    out = []
    for carc, kind, payer_id, procedure, when, won, count in session.execute(query):
        counted_day = _day(when).toordinal()  # type: ignore[union-attr]
        won_on = _day(won)
        recovered_day = won_on.toordinal() if won_on else None
        out.append((carc, kind, int(payer_id), procedure, counted_day, recovered_day, int(count)))
    out.sort(key=lambda row: (*row[:5], row[5] or 0))
    return out


def payment_medians(
    session: Session, as_of: date, months: int = 12
) -> dict[tuple[int, str], Decimal]:
    """`features.expected_payments` set-wise: the median allowed (else paid) per payer and
    procedure on paid lines of the last `months`, the middle rows picked by window functions."""
    line, claim, payment = (t.__table__ for t in (ServiceLine, Claim, Payment))  # type: ignore[attr-defined]
    since = as_of - timedelta(days=months * 31)
    amount = sa.type_coerce(
        sa.case((line.c.allowed > 0, line.c.allowed), else_=line.c.paid), line.c.paid.type
    )
    paid = (
        sa.select(
            claim.c.payer_id,
            line.c.procedure_code.label("code"),
            amount.label("amount"),
            sa.func.row_number()
            .over(partition_by=(claim.c.payer_id, line.c.procedure_code), order_by=amount)
            .label("k"),
            sa.func.count().over(partition_by=(claim.c.payer_id, line.c.procedure_code)).label("n"),
        )
        .join(claim, claim.c.id == line.c.claim_id)
        .join(payment, payment.c.id == claim.c.payment_id)
        .where(line.c.paid > 0, payment.c.payment_date >= since, claim.c.is_reversal.is_(False))
        .subquery()
    )
    middle = sa.select(paid.c.payer_id, paid.c.code, paid.c.amount).where(
        paid.c.k.in_(((paid.c.n + 1) // 2, (paid.c.n + 2) // 2))
    )
    found: dict[tuple[int, str], list[Decimal]] = {}
    for payer_id, code, value in session.execute(
        middle.order_by(paid.c.payer_id, paid.c.code, paid.c.k)
    ):
        found.setdefault((int(payer_id), code), []).append(value)
    # statistics.median: the middle value, or the mean of the two middle ones (exact Decimals)
    return {
        key: Decimal(values[0] if len(values) == 1 else (values[0] + values[1]) / 2)
        for key, values in found.items()
    }


def model_key(card: m.Card | None) -> str:
    """Which saved model a snapshot was built with ("" for none)."""
    return f"{card.trained_at} {card.fingerprint} {card.live}" if card else ""


@dataclass
class Aggregates:
    """Everything scoring needs besides the denials themselves, small enough to keep as JSON."""

    as_of: date
    model_key: str
    outcomes: list[tuple[str, str, int, str, int, int | None, int]]
    payments: dict[tuple[int, str], Decimal]
    _levels: dict[str, _Level] = field(default_factory=dict, repr=False)
    _columns: list[list[Any]] | None = field(default=None, repr=False)

    def columns(self) -> list[list[Any]]:
        """`outcomes` as seven columns (how they are kept, and what `_Level` reads)."""
        if self._columns is None:
            self._columns = [[row[i] for row in self.outcomes] for i in range(7)]
        return self._columns

    def level(self, name: str) -> _Level:
        found = self._levels.get(name)
        if found is None:
            found = self._levels[name] = _Level(self.columns(), LEVELS.index(name))
        return found


def build(session: Session, as_of: date, key: str) -> Aggregates:
    """Aggregates read afresh from the database (two grouped queries)."""
    return Aggregates(as_of, key, outcome_counts(session, as_of), payment_medians(session, as_of))


def save(folder: Path, aggregates: Aggregates) -> Path:
    """Keep the aggregates beside the model (owner-only, replaced atomically)."""
    private_folder(folder)
    path = folder / SNAPSHOT
    data = {
        # one key, which a version that kept "as_of" beside rows of outcomes does not read:
        # it refuses this file and builds its own, rather than misread these columns
        "built_for": _built_for(aggregates.as_of, aggregates.model_key),
        "outcomes": aggregates.columns(),
        "payments": [[p, c, str(v)] for (p, c), v in sorted(aggregates.payments.items())],
    }
    scratch = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    write_private(scratch, json.dumps(data, separators=(",", ":")))
    os.replace(scratch, path)
    return path


def load(folder: Path, as_of: date, key: str) -> Aggregates | None:
    """The kept aggregates if they were built today for this model and the same rates rule,
    else None (rebuild)."""
    path = folder / SNAPSHOT
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("built_for") != _built_for(as_of, key):
        return None
    columns = data["outcomes"]
    return Aggregates(
        as_of,
        key,
        list(zip(*columns, strict=True)),
        {(int(p), c): Decimal(v) for p, c, v in data["payments"]},
        _columns=columns,
    )


def _built_for(as_of: date, key: str) -> list[Any]:
    """What kept aggregates answer for: the day, the model, the settling window, the form."""
    return [as_of.isoformat(), key, SETTLE.days, SNAPSHOT_FORM]


def forget(folder: Path) -> None:
    """Drop the kept aggregates (after training: the next rescore builds them again)."""
    (folder / SNAPSHOT).unlink(missing_ok=True)


class _Running:
    """Counts of one kind per group, running over the days they count from, as sorted arrays."""

    def __init__(self, gids: np.ndarray, days: np.ndarray, counts: np.ndarray, groups: int):
        packed = gids * _DAY_SPAN + days
        order = np.argsort(packed, kind="stable")
        self.packed = packed[order]
        self.total = np.concatenate(([0], np.cumsum(counts[order])))
        self.start = np.searchsorted(self.packed, np.arange(groups) * _DAY_SPAN)

    def before(self, gids: np.ndarray, days: np.ndarray) -> np.ndarray:
        """The count strictly before each day, per group id (all of them seen)."""
        at = np.searchsorted(self.packed, gids * _DAY_SPAN + days, side="left")
        return self.total[at] - self.total[self.start[gids]]


class _Level:
    """Counted and recovered denials before a day, for one level of keys, as sorted arrays."""

    def __init__(self, columns: Sequence[Sequence[Any]], level: int) -> None:
        """`columns`: `outcome_counts`' rows as columns (row by row in Python, a year of a big
        practice's 80,000 rows took 0.5 s for the four levels)."""
        carc, kind, payer_id, procedure, day, won_day, count = columns
        picked = ((carc,), (carc, kind), (carc, payer_id), (carc, payer_id, procedure))[level]
        groups: dict[tuple[Any, ...], int] = {}
        gids = np.fromiter(
            (groups.setdefault(key, len(groups)) for key in zip(*picked, strict=True)),
            np.int64,
            len(day),
        )
        self.groups = groups
        counts = np.array(count, dtype=np.int64)
        won = np.array([w is not None for w in won_day], dtype=bool)
        won_days = np.array([w for w in won_day if w is not None], dtype=np.int64)
        self.counted = _Running(gids, np.array(day, dtype=np.int64), counts, len(groups))
        self.recovered = _Running(gids[won], won_days, counts[won], len(groups))

    def before(self, gids: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(counted, recovered) strictly before each day, per group id (-1: never seen)."""
        seen = gids >= 0
        if not self.groups:
            return np.zeros(len(gids), dtype=np.int64), np.zeros(len(gids), dtype=np.int64)
        safe = np.where(seen, gids, 0)
        n = np.where(seen, self.counted.before(safe, days), 0)
        s = np.where(seen, self.recovered.before(safe, days), 0)
        return n, s


# --- open denials as columns ----------------------------------------------------------------


@dataclass
class Columns:
    """Open denials' raw facts, one list per column (the reference path's `Record` fields)."""

    id: list[int]
    payer_id: list[int]
    payer_name: list[str]
    payer_type: list[str]
    carc: list[str]
    group_code: list[str]
    rarc: list[str]
    carcs: list[str]
    rarcs: list[str]
    category: list[str]
    action: list[str]
    procedure: list[str]
    modifiers: list[str]
    units: list[float]
    denied_cents: list[int]
    whole_claim: list[bool]
    claim_status: list[str]
    service_date: list[date | None]
    denied_on: list[date | None]
    deadline: list[date | None]
    findings: list[str]
    # what ranking stored last: probability, priority, explanation, ranker, stake and expected
    # recovery in cents (compared, so unchanged rows are not written again)
    stored_probability: list[float | None]
    stored_priority: list[float | None]
    stored_explanation: list[str]
    stored_ranker: list[str]
    stored_stake: list[int | None]
    stored_expected: list[int | None]
    stored_basis: list[int | None]

    def __len__(self) -> int:
        return len(self.id)

    def part(self, start: int, stop: int) -> Columns:
        """Rows `start` to `stop` (every column sliced alike)."""
        return Columns(*(getattr(self, column.name)[start:stop] for column in fields(self)))


def _cents(column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    """A money column as whole cents, bypassing Decimal conversion (exact on both databases)."""
    if dialect == "sqlite":
        return sa.type_coerce(column, sa.BigInteger)  # stored as cents already
    return sa.cast(column * 100, sa.BigInteger)


def load_open(session: Session, ids: Sequence[int] | None = None) -> Columns:
    """Open denials (new, in progress) with what scoring needs: one query (per 900 ids)."""
    d, line, claim, payer, scored = (
        t.__table__  # type: ignore[attr-defined]
        for t in (Denial, ServiceLine, Claim, Payer, DenialScore)
    )
    dialect = session.get_bind().dialect.name
    sqlite = dialect == "sqlite"
    # SQLite keeps dates as ISO text and units as thousandths: read them raw, convert here.
    when = (lambda c: sa.type_coerce(c, sa.String)) if sqlite else (lambda c: c)
    units = (
        sa.type_coerce(line.c.units, sa.BigInteger) if sqlite else sa.cast(line.c.units, sa.Float)
    )
    query = (
        sa.select(
            d.c.id,
            d.c.payer_id,
            payer.c.name,
            sa.func.coalesce(
                sa.func.nullif(d.c.payer_type, ""), sa.func.nullif(payer.c.payer_type, ""), "other"
            ),
            d.c.carc,
            d.c.group_code,
            d.c.rarc,
            d.c.carcs,
            d.c.rarcs,
            d.c.category,
            d.c.action,
            d.c.procedure_code,
            line.c.modifiers,
            units,
            _cents(d.c.denied_amount, dialect),
            d.c.line_id,
            claim.c.status,
            when(d.c.service_date),
            when(d.c.denied_on),
            when(d.c.deadline),
            d.c.findings,
            scored.c.probability,
            scored.c.priority,
            scored.c.explanation,
            scored.c.ranker,
            _cents(scored.c.stake, dialect),
            _cents(scored.c.expected_recovery, dialect),
            scored.c.basis,
        )  # fmt: skip
        .join(scored, scored.c.id == d.c.id)
        .join(claim, claim.c.id == d.c.claim_id)
        .join(payer, payer.c.id == d.c.payer_id)
        .outerjoin(line, line.c.id == d.c.line_id)
        .where(d.c.status.in_(OPEN))
        .order_by(d.c.id)
    )
    rows: list[Any] = []
    if ids is None:
        rows = session.execute(query).all()
    else:
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), _CHUNK):
            rows.extend(session.execute(query.where(d.c.id.in_(wanted[start : start + _CHUNK]))))
    cols = list(zip(*rows, strict=True)) if rows else [()] * 28
    parse = _parse_dates if sqlite else list
    unit_values = (
        [u / 1000 if u else 1.0 for u in cols[13]]
        if sqlite
        else [float(u) if u else 1.0 for u in cols[13]]
    )
    return Columns(
        id=list(cols[0]), payer_id=list(cols[1]), payer_name=list(cols[2]),
        payer_type=list(cols[3]), carc=list(cols[4]), group_code=list(cols[5]),
        rarc=list(cols[6]), carcs=list(cols[7]), rarcs=list(cols[8]), category=list(cols[9]),
        action=list(cols[10]), procedure=list(cols[11]),
        modifiers=[v or "" for v in cols[12]], units=unit_values,
        denied_cents=[int(v) for v in cols[14]], whole_claim=[v is None for v in cols[15]],
        claim_status=list(cols[16]), service_date=parse(cols[17]), denied_on=parse(cols[18]),
        deadline=parse(cols[19]), findings=list(cols[20]), stored_probability=list(cols[21]),
        stored_priority=list(cols[22]), stored_explanation=list(cols[23]),
        stored_ranker=list(cols[24]), stored_stake=list(cols[25]), stored_expected=list(cols[26]),
        stored_basis=list(cols[27]),
    )  # fmt: skip


def _parse_dates(values: Sequence[Any]) -> list[date | None]:
    parsed: dict[Any, date | None] = {None: None}
    out = []
    for value in values:
        found = parsed.get(value, parsed)
        if found is parsed:
            found = parsed[value] = _day(value)
        out.append(found)  # type: ignore[arg-type]
    return out


# --- features, probabilities, reasons -------------------------------------------------------


@dataclass
class Bulk:
    """Scored open denials: arrays in `Columns` order."""

    probability: np.ndarray
    stake: list[Decimal]
    ranker: str
    reasons: list[list[str]]
    basis: list[int | None]  # `fingerprints` of each row's features and the model (None: prior)


def _doc_facts(text: str) -> tuple[str, str, float, float]:
    """(first rule id, first badge, has findings, missing facts) of a findings JSON."""
    findings = _findings(text)
    first = findings[0] if findings else {}
    missing = sum(len(f.get("missing") or []) for f in findings)
    return (
        str(first.get("rule_id") or "none"),
        str(first.get("badge") or "none"),
        1.0 if findings else 0.0,
        float(missing),
    )


def features(cols: Columns, aggregates: Aggregates) -> tuple[np.ndarray, dict[str, Any]]:
    """The model's matrix (object array, `FEATURES` order, as `features.matrix` builds it) and
    the rates and counts the reasons need."""
    n = len(cols)
    arrived = [a or s or date.min for a, s in zip(cols.denied_on, cols.service_date, strict=True)]
    day = np.fromiter((a.toordinal() for a in arrived), dtype=np.int64, count=n)
    # group ids per level, looked up once per distinct key
    keys: dict[tuple[Any, ...], tuple[int, ...]] = {}
    levels = [aggregates.level(name) for name in LEVELS]
    gid_rows = []
    for key in zip(cols.carc, cols.payer_type, cols.payer_id, cols.procedure, strict=True):
        found = keys.get(key)
        if found is None:
            carc, kind, payer_id, procedure = key
            found = keys[key] = tuple(
                level.groups.get(k, -1)
                for level, k in zip(
                    levels,
                    ((carc,), (carc, kind), (carc, payer_id), (carc, payer_id, procedure)),
                    strict=True,
                )
            )
        gid_rows.append(found)
    gids = np.array(gid_rows, dtype=np.int64).reshape(n, len(LEVELS))
    priors: dict[tuple[str, str, str, str], float] = {}
    prior = np.empty(n)
    for i, key in enumerate(
        zip(cols.carc, cols.rarcs, cols.payer_type, cols.category, strict=True)
    ):
        value = priors.get(key)
        if value is None:
            value = priors[key] = prior_for(
                key[0], tuple(key[1].split()), key[2], key[3]
            ).probability
        prior[i] = value
    counts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    smoothed: dict[str, np.ndarray] = {}
    level_value = prior
    for j, (name, level) in enumerate(zip(LEVELS, levels, strict=True)):
        decided, won = level.before(gids[:, j], day)
        counts[name] = (decided, won)
        # priors.shrink, element by element in the same order of operations
        level_value = (won + STRENGTH * level_value) / (decided + STRENGTH)
        smoothed[name] = level_value
    docs = {}
    doc_rows = []
    for text in cols.findings:
        found_doc = docs.get(text)
        if found_doc is None:
            found_doc = docs[text] = _doc_facts(text)
        doc_rows.append(found_doc)
    families: dict[str, str] = {}
    x = np.empty((n, len(FEATURES)), dtype=object)
    if n == 0:
        return x, {"counts": counts, "prior": prior, "smoothed": smoothed}
    denied = [c / 100 for c in cols.denied_cents]
    fam = []
    for procedure in cols.procedure:
        value = families.get(procedure)
        if value is None:
            value = families[procedure] = family(procedure) or "other"
        fam.append(value)
    categorical = [
        cols.carc,
        cols.group_code,
        [r or "none" for r in cols.rarc],
        cols.category,
        cols.action,
        [str(p) for p in cols.payer_id],
        cols.payer_type,
        [p or "claim" for p in cols.procedure],
        fam,
        [(m_.split() or ["none"])[0] for m_ in cols.modifiers],
        cols.claim_status,
        [d[0] for d in doc_rows],
        [d[1] for d in doc_rows],
    ]
    numeric = [
        [math.log1p(max(v, 0.0)) for v in denied],
        cols.units,
        [(a - s).days if s else -1 for a, s in zip(arrived, cols.service_date, strict=True)],
        [(dl - a).days if dl else -1 for a, dl in zip(arrived, cols.deadline, strict=True)],
        [len(c.split()) for c in cols.carcs],
        [len(r.split()) for r in cols.rarcs],
        [1.0 if w else 0.0 for w in cols.whole_claim],
        [d[2] for d in doc_rows],
        [d[3] for d in doc_rows],
        prior.tolist(),
        *(smoothed[name].tolist() for name in LEVELS),
        [math.log1p(v) for v in counts["carc_payer"][0].tolist()],
    ]
    assert len(categorical) == len(CATEGORICAL)
    for j, values in enumerate((*categorical, *numeric)):
        x[:, j] = values
    return x, {"counts": counts, "prior": prior, "smoothed": smoothed, "denied": denied}


def score(cols: Columns, aggregates: Aggregates, model: Any) -> Bulk:
    """Probability (the live model, else the smoothed prior), dollars at stake and reasons."""
    x, found = features(cols, aggregates)
    if len(cols) == 0:
        return Bulk(np.zeros(0), [], recovery.PRIOR, [], [])
    if model is not None:
        factors = m.factorize(x)
        basis: list[int | None] = fingerprints(x, factors, aggregates.model_key).tolist()
        probability, ranker = _predicted(model, x, factors, basis, cols), recovery.MODEL
    else:
        probability, ranker = found["smoothed"]["carc_payer_proc"], recovery.PRIOR
        basis = [None] * len(cols)  # the smoothed prior costs nothing to compute again
    payments = aggregates.payments
    denied = found["denied"]
    bases = _rate_bases(found["counts"])
    priors = found["prior"].tolist()
    stakes: list[Decimal] = []
    words: list[list[str]] = []
    for i, (procedure, amount, payer_id) in enumerate(
        zip(cols.procedure, denied, cols.payer_id, strict=True)
    ):
        allowed = payments.get((payer_id, procedure))
        stakes.append(recovery.stake_money(allowed, cols.denied_cents[i]))
        group, carc = cols.group_code[i], cols.carc[i]
        code = f"{group}-{carc}" if group and carc else carc or cols.category[i]
        words.append(
            recovery.reason_words(
                code,
                procedure,
                cols.payer_name[i],
                cols.payer_type[i],
                bases[i],
                priors[i],
                cols.findings[i],
                allowed,
                amount,
            )
        )
    return Bulk(np.asarray(probability, dtype=float), stakes, ranker, words, basis)


def _rate_bases(counts: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[tuple[int, int, int]]:
    """`recovery.rate_basis` of every row at once, from each level's (decided, recovered)."""
    decided = np.column_stack([counts[name][0] for name in recovery.RATE_LEVELS])
    recovered = np.column_stack([counts[name][1] for name in recovery.RATE_LEVELS])
    enough = decided >= recovery.QUOTED_FROM
    quoted = enough.any(axis=1)
    level = np.where(quoted, enough.argmax(axis=1), -1)
    rows, at = np.arange(len(level)), np.maximum(level, 0)
    n = np.where(quoted, decided[rows, at], 0)
    s = np.where(quoted, recovered[rows, at], 0)
    return list(zip(level.tolist(), n.tolist(), s.tolist(), strict=True))


def _predicted(
    model: Any, x: np.ndarray, factors: m.Factors, basis: list[int | None], cols: Columns
) -> np.ndarray:
    """The model's probabilities, predicted only for rows whose stored one came from other
    features or another model (a denial's features are fixed at its arrival, so from one day to
    the next only its documentation or a late-recorded outcome changes them: the daily rescore
    of 200,000 open denials predicted every row for 2.7 s, and now a handful)."""
    stored = np.array(
        [
            p if p is not None and b == new and r == recovery.MODEL else np.nan
            for p, b, r, new in zip(
                cols.stored_probability, cols.stored_basis, cols.stored_ranker, basis,
                strict=True,
            )
        ],
        dtype=float,
    )  # fmt: skip
    again = np.isnan(stored)
    if again.any():
        stored[again] = m.predict(model, x[again], factors.rows(again))
    return stored


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _mixed(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on every element (uint64 arithmetic wraps around)."""
    z = z + _MIX[0]
    z = (z ^ (z >> np.uint64(30))) * _MIX[1]
    z = (z ^ (z >> np.uint64(27))) * _MIX[2]
    return z ^ (z >> np.uint64(31))


@lru_cache(maxsize=1 << 14)
def _code_digest(value: str) -> int:
    """A text's 64-bit digest, the same in every process (Python's own `hash` is not)."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little")


def fingerprints(x: np.ndarray, factors: m.Factors, model_key: str) -> np.ndarray:
    """A 63-bit digest of each row of the feature matrix and of the model it is scored with,
    stored beside the probability (`DenialScore.basis`) so an unchanged row is not predicted
    again. Each column's values are mixed in turn: codes by a digest of their text (`repr`,
    so None and "None" differ), numbers by their bits."""
    seed = _code_digest(f"{model_key}|{'|'.join(FEATURES)}")
    digest = np.full(len(x), seed, dtype=np.uint64)
    for positions, values in zip(factors.positions, factors.distinct, strict=True):
        digests = np.array([_code_digest(repr(value)) for value in values], dtype=np.uint64)
        digest = _mixed(digest ^ digests[positions])
    numbers = np.ascontiguousarray(x[:, len(CATEGORICAL) :], dtype=np.float64).view(np.uint64)
    for j in range(numbers.shape[1]):
        digest = _mixed(digest ^ numbers[:, j])
    return (digest >> np.uint64(1)).astype(np.int64)
