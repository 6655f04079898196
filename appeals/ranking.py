"""Queue priority: expected recovered dollars, raised as the appeal deadline nears.

The probability of recovery and the dollars at stake (the payer's usual allowed amount) come
from `classifiers.recovery`: the trained model where it beat the smoothed prior on the newest
outcomes, else the prior. Each denial keeps which one scored it and why, in plain words, in its
`DenialScore` row.
A new denial is scored by the import before it is stored (`score_new`, after its coding
checks), as `rescore` scores stored ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache, partial
from operator import itemgetter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from appeals import db, heap
from appeals.deadlines import days_left
from appeals.formatting import json_list
from appeals.models import AppState, DenialScore
from appeals.write_thread import writes_on_thread
from classifiers import model as recovery_model
from classifiers import recovery, scoring
from classifiers.features import OPEN


@dataclass(frozen=True, slots=True)
class Score:
    probability: float
    expected_recovery: Decimal
    priority: float
    factors: list[str]

    @property
    def explanation(self) -> str:
        return json.dumps(self.factors)


def urgency(days_left: int | None) -> tuple[float, str]:
    """A multiplier for deadline urgency, with the words that explain it."""
    if days_left is None:
        return 1.0, "no deadline known"
    if days_left < 0:
        return 0.0, f"deadline passed {-days_left} days ago"
    if days_left <= 14:
        return 1.5, f"deadline in {days_left} days"
    if days_left <= 30:
        return 1.25, f"deadline in {days_left} days"
    return 1.0, f"{days_left} days left to appeal"


@lru_cache(maxsize=1 << 16)
def _chance(probability: float) -> int:
    """The probability in ten-thousandths, the 4 places that price a denial (calibrated
    models give a few thousand distinct values: each is converted once). A plain float only:
    a NumPy float equal to it would share its cache entry but could round differently."""
    return int(Decimal(str(round(probability, 4))).scaleb(4))


def expected_cents(stake_cents: int, probability: float) -> int:
    """Stake × the 4-place probability in whole cents, rounded half to even (as
    `Decimal.quantize` does), in integers: the daily rescore prices 200,000 denials."""
    cents, rest = divmod(stake_cents * _chance(probability), 10_000)
    return cents + (rest > 5_000 or (rest == 5_000 and cents % 2))


# `urgency`'s words for a near or passed deadline (`shown_reasons` drops them where stored)
_DEADLINE_WORDS = re.compile(r"deadline (in \d+ days|passed \d+ days ago)")


@lru_cache(maxsize=1 << 12)
def _deadline_urgency(deadline: date | None, today: date) -> tuple[float, str]:
    """`urgency` of a deadline on a day (a few thousand distinct deadlines: each worked once)."""
    return urgency(days_left(deadline, today))


def combine(
    probability: float, stake: Decimal, deadline: date | None, today: date, reasons: list[str]
) -> Score:
    """Expected dollars = probability × stake, raised near the deadline; reasons kept to three.

    The deadline's words are not stored among the reasons ("deadline in 6 days" would change
    every day, and the daily rescore would rewrite every urgent denial for it): `shown_reasons`
    adds them as of the day they are read.
    """
    expected, priority = _price(int(stake.scaleb(2)), float(probability), deadline, today)
    return Score(probability, Decimal(expected).scaleb(-2), priority, reasons[:3])


def _price(
    stake_cents: int, probability: float, deadline: date | None, today: date
) -> tuple[int, float]:
    """(expected cents, priority): the expected dollars raised for the deadline's urgency."""
    expected = expected_cents(stake_cents, probability)
    return expected, expected / 100 * _deadline_urgency(deadline, today)[0]


def shown_reasons(explanation: str, deadline: date | None, status: str, today: date) -> list[str]:
    """A denial's stored reasons as shown today: for an open denial whose deadline is near or
    passed, the strongest two and the deadline (only an urgent or passed deadline is a reason).

    Reasons stored before the deadline's words were left out end in them; those are dropped.
    """
    reasons = [r for r in json_list(explanation) if not _DEADLINE_WORDS.fullmatch(str(r))]
    if status not in OPEN:
        return reasons[:3]
    multiplier, deadline_words = _deadline_urgency(deadline, today)
    return [*reasons[:2], deadline_words] if multiplier != 1.0 else reasons[:3]


def model_folder(session: Session) -> Path:
    """Where this database's trained models live (the instance folder, never git)."""
    instance = Path(os.environ.get("APPEALS_INSTANCE") or db.DEFAULT_INSTANCE)
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return recovery_model.folder_for(instance, url)


@dataclass
class _Live:
    """The scoring context of one database for one day: aggregates and the live model."""

    aggregates: scoring.Aggregates
    model: Any


_CONTEXTS: dict[tuple[str, date], _Live] = {}


def _context(session: Session, today: date, *, fresh: bool) -> _Live:
    """The scoring context, cheapest first: this process's, the one kept beside the model
    (built today for the same model), else the database's aggregates (then kept).

    `fresh` (the full rescore) always reads the aggregates afresh and keeps them.
    """
    url = str(session.get_bind().engine.url)
    key = (url, today)
    if not fresh and key in _CONTEXTS:
        return _CONTEXTS[key]
    folder = model_folder(session)
    saved = recovery_model.latest(folder)
    model, card = saved if saved else (None, None)
    model_key = scoring.model_key(card)
    aggregates = None if fresh else scoring.load(folder, today, model_key)
    if aggregates is None:
        aggregates = scoring.build(session, today, model_key)
        with contextlib.suppress(OSError):  # a read-only instance folder: this process keeps them
            scoring.save(folder, aggregates)
    _CONTEXTS.clear()
    _CONTEXTS[key] = _Live(aggregates, model)
    return _CONTEXTS[key]


def forget_context(session: Session | None = None) -> None:
    """Drop the cached scoring context (after training, so the new model ranks at once).

    The aggregates kept beside the model name the model they were built with, so another
    process rebuilds them too; given a session, its database's kept copy is removed as well.
    """
    _CONTEXTS.clear()
    if session is not None:
        scoring.forget(model_folder(session))


# Rows written per commit by a full rescore on SQLite: 20,000 hold the write lock about a
# quarter of a second each; 5,000 took 0.85 s more over 200,000 rows, in commits.
WRITE_BATCH = 20_000


def rescore(session: Session, denial_ids: Sequence[int] | None, today: date) -> int:
    """Recompute priority for these open denials (None: every open denial); returns how many.

    Only rows whose score, reasons or priority changed are written. A few denials (a file's
    new ones, an outcome) are scored against the kept aggregates; None rebuilds them.
    """
    if denial_ids is not None and not denial_ids:
        return 0
    session.flush()
    with heap.frozen() if denial_ids is None else contextlib.nullcontext():
        live = _context(session, today, fresh=denial_ids is None)
        cols = scoring.load_open(session, None if denial_ids is None else list(denial_ids))
        if not len(cols):
            return 0
        if denial_ids is None and session.get_bind().dialect.name == "postgresql":
            _rescore_in_slices(session, cols, live, today)
        else:
            bulk = scoring.score(cols, live.aggregates, live.model)
            _write(session, _changed(cols, bulk, today), committing=denial_ids is None)
    return len(cols)


# A full rescore scores this many rows at a time on PostgreSQL: enough for the prediction to
# run on every core (`classifiers.model.PARALLEL_FROM`), few enough that the writes of the first
# slices overlap the scoring of the rest (a short last slice is predicted on one thread).
SLICE = 40_000


def _rescore_in_slices(session: Session, cols: scoring.Columns, live: _Live, today: date) -> None:
    """PostgreSQL's full rescore: `SLICE` rows scored at a time, each slice's changed rows
    written on a thread of their own while the next slice is scored, so the server's UPDATE of
    one slice runs on the other core (all in the caller's transaction).

    SQLite scores every row, then writes: it writes inside this process, where a write thread
    only contended with the prediction's threads (more CPU, no sooner done), and its writes
    commit as they go, so a failure while scoring must come before any of them.
    """
    with writes_on_thread(pending=1) as writes:
        for start in range(0, len(cols), SLICE):
            part = cols.part(start, start + SLICE)
            values = _changed(part, scoring.score(part, live.aggregates, live.model), today)
            writes.submit(partial(_write, session, values))
        writes.drain()


def score_new(
    session: Session,
    rows: Sequence[dict[str, Any]],
    lines: dict[int, dict[str, Any]],
    claims: dict[int, dict[str, Any]],
    payer_name: str,
    today: date,
) -> list[dict[str, Any]]:
    """Score denials before they are stored, as `rescore` would once they are: `rows` as the
    importer writes them (findings included), with their service lines and claims by id and
    their payer's name. Returns each row's `DenialScore` values but its id (probability, stake,
    expected dollars, priority, reasons and ranker), so a new denial is stored already ranked."""
    if not rows:
        return []
    live = _context(session, today, fresh=False)
    line_of = [lines.get(row["line_id"]) if row["line_id"] is not None else None for row in rows]
    cols = scoring.Columns(
        id=[0] * len(rows), payer_id=[r["payer_id"] for r in rows],
        payer_name=[payer_name] * len(rows), payer_type=[r["payer_type"] or "other" for r in rows],
        carc=[r["carc"] for r in rows], group_code=[r["group_code"] for r in rows],
        rarc=[r["rarc"] for r in rows], carcs=[r["carcs"] for r in rows],
        rarcs=[r["rarcs"] for r in rows], category=[r["category"] for r in rows],
        action=[r["action"] for r in rows], procedure=[r["procedure_code"] for r in rows],
        modifiers=[line["modifiers"] if line else "" for line in line_of],
        units=[float(line["units"]) if line and line["units"] else 1.0 for line in line_of],
        denied_cents=[int(r["denied_amount"].scaleb(2)) for r in rows],
        whole_claim=[r["line_id"] is None for r in rows],
        claim_status=[claims[r["claim_id"]]["status"] for r in rows],
        service_date=[r["service_date"] for r in rows], denied_on=[r["denied_on"] for r in rows],
        deadline=[r["deadline"] for r in rows], findings=[r["findings"] for r in rows],
        stored_probability=[None] * len(rows), stored_priority=[None] * len(rows),
        stored_explanation=[""] * len(rows), stored_ranker=[""] * len(rows),
        stored_stake=[None] * len(rows), stored_expected=[None] * len(rows),
        stored_basis=[None] * len(rows),
    )  # fmt: skip
    bulk = scoring.score(cols, live.aggregates, live.model)
    scores = _changed(cols, bulk, today, every=True)
    for values in scores:
        del values["b_id"]
    return scores


def score_of(session: Session, denial_id: int) -> DenialScore:
    """A stored denial's score, as last written (every denial has one from its import on)."""
    score = session.get(DenialScore, denial_id, populate_existing=True)
    assert score is not None, "a denial stored without its score"
    return score


def _write(session: Session, values: list[dict[str, Any]], *, committing: bool = False) -> None:
    """Store new scores (`db.update_rows`: many rows in bulk).

    `committing` (every open denial rescored, a change of nothing but scores): on SQLite each
    batch is committed, so the single write lock is held `WRITE_BATCH` rows at a time and a
    login or a save waits a fraction of a second, not the whole rescore (seconds at 200,000).
    """
    table = DenialScore.__table__  # type: ignore[attr-defined]
    if committing and session.get_bind().dialect.name == "sqlite":
        if not values:
            return
        # In id order: each commit writes the table pages its batch changed, so rows in table
        # order are written once each (200,000 rows: 9.3 s against 12.1 s in priority order,
        # whose batches each touched pages all over the table).
        values = sorted(values, key=itemgetter("b_id"))
        session.commit()  # what the session holds, as the first batch's commit would
        # On a connection of their own, which keeps the priority index's pages in a larger cache
        # across the batches' commits (a session's commit hands its connection back to the pool)
        with session.get_bind().connect() as connection, db.sqlite_page_cache(connection, 16):
            for start in range(0, len(values), WRITE_BATCH):
                db.update_rows(connection, table, values[start : start + WRITE_BATCH])
                connection.commit()
        return
    # In one transaction, in the new priority's order: the priority index takes its new entries
    # in sequence (about a fifth less work for SQLite than in id order).
    db.update_rows(session.connection(), table, sorted(values, key=itemgetter("priority")))


@lru_cache(maxsize=1 << 16)
def _explanation(factors: tuple[str, ...]) -> str:
    return json.dumps(list(factors))


def _changed(
    cols: scoring.Columns, bulk: scoring.Bulk, today: date, *, every: bool = False
) -> list[dict[str, Any]]:
    """The new values of the rows whose probability, priority, reasons, ranker, stake or
    expected dollars differ from what is stored (compared as the reference path rounds them);
    `every`: of every row (new denials, none stored yet).

    `combine` row by row, without a `Score` for each of 200,000 rows (a test compares them)."""
    values = []
    ranker = bulk.ranker
    for i, probability in enumerate(bulk.probability.tolist()):
        stake = bulk.stake[i]
        stake_cents = int(stake.scaleb(2))
        expected, priority = _price(stake_cents, probability, cols.deadline[i], today)
        explanation = _explanation(tuple(bulk.reasons[i][:3]))  # as `combine` (a test compares)
        old_p, old_priority = cols.stored_probability[i], cols.stored_priority[i]
        if (
            not every
            and explanation == cols.stored_explanation[i]
            and ranker == cols.stored_ranker[i]
            and stake_cents == cols.stored_stake[i]
            and expected == cols.stored_expected[i]
            and bulk.basis[i] == cols.stored_basis[i]
            # what was written last comes back exactly; rounding only decides the rest
            and (old_p == probability or round(old_p or 0.0, 6) == round(probability, 6))
            and (old_priority == priority or round(old_priority or 0.0, 4) == round(priority, 4))
        ):
            continue
        values.append(
            {
                "b_id": cols.id[i],
                "probability": probability,
                "ranker": ranker,
                "stake": stake,
                "expected_recovery": Decimal(expected).scaleb(-2),
                "priority": priority,
                "explanation": explanation,
                "basis": bulk.basis[i],
            }
        )
    return values


def rescore_open(session: Session, today: date) -> int:
    """Recompute priority for every open denial (deadline urgency changes daily)."""
    return rescore(session, None, today)


RESCORED_ON = "priority_rescored_on"


def claim_daily_rescore(session: Session, today: date) -> bool:
    """Whether this caller is the first today to rescore (and so must); committed at once.

    Several web workers or a cron job may ask at the same moment: only one UPDATE or INSERT
    of the day's mark succeeds.
    """
    table = AppState.__table__  # type: ignore[attr-defined]
    mark = today.isoformat()
    claimed = session.execute(
        sa.update(table).where(table.c.key == RESCORED_ON, table.c.value < mark).values(value=mark)
    ).rowcount
    if not claimed:
        if session.get(AppState, RESCORED_ON) is not None:
            session.rollback()
            return False
        try:
            session.execute(sa.insert(table).values(key=RESCORED_ON, value=mark))
        except sa.exc.IntegrityError:
            session.rollback()
            return False
    session.commit()
    return True


def rescore_daily(
    session: Session, today: date, *, force: bool = False, retrain: bool = False
) -> int | None:
    """Rescore every open denial once a day; None when it was already done today.

    `force` rescores even when it was done today (the `appeals rescore` command); `retrain`
    first trains the recovery model again when enough new outcomes have arrived.
    """
    if not claim_daily_rescore(session, today) and not force:
        return None
    folder = model_folder(session)
    if retrain and recovery.due_for_training(session, folder, today):
        try:
            recovery.train(session, folder, today)
            forget_context(session)
        except recovery_model.NotEnoughData:
            pass  # the smoothed prior keeps ranking
    count = rescore_open(session, today)
    session.commit()
    return count
