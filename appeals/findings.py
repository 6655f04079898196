"""Stored denials → dermatology findings: builds the rules' plain facts from the database.

`compute_findings` reads; `refresh_findings` stores the JSON in `Denial.findings`, and is called
again whenever documentation changes (CSV import, an edit in the app).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice
from multiprocessing.process import BaseProcess
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from appeals import db, deadlines, ranking
from appeals.denials import classify
from appeals.fields import documentation_for_claims
from appeals.models import (
    Adjustment,
    Claim,
    Denial,
    Payer,
    Payment,
    Remark,
    RemittanceFile,
    ServiceLine,
    utcnow,
)
from appeals.rules import ClaimFacts, Finding, LineFacts, check_line
from appeals.workflow import OPEN_STATUSES

log = logging.getLogger(__name__)

CLAIM_CHUNK = 500  # claims whose facts are read together (bounds the IN lists)


def claim_facts(session: Session, claim: Claim) -> tuple[ClaimFacts, list[int]]:
    """The claim as the rules see it, and the service line id of each `lines` position."""
    assert claim.id is not None
    return claims_facts(session, [claim.id])[claim.id]


def claims_facts(
    session: Session, claim_ids: Iterable[int]
) -> dict[int, tuple[ClaimFacts, list[int]]]:
    """`claim_facts` for many claims, read set-wise: six queries per 500 claims.

    Claims that do not exist are left out of the result.
    """
    ids = sorted(set(claim_ids))
    found: dict[int, tuple[ClaimFacts, list[int]]] = {}
    for start in range(0, len(ids), CLAIM_CHUNK):
        found.update(_claims_facts(session, ids[start : start + CLAIM_CHUNK]))
    return found


def _claims_facts(session: Session, ids: list[int]) -> dict[int, tuple[ClaimFacts, list[int]]]:
    if session.autoflush:
        session.flush()  # as ORM queries would: rows pending in the session count
    claim_t, line_t = Claim.__table__, ServiceLine.__table__  # type: ignore[attr-defined]
    adjustment_t, remark_t = Adjustment.__table__, Remark.__table__  # type: ignore[attr-defined]
    claims = session.execute(
        sa.select(
            claim_t.c.id,
            claim_t.c.practice_id,
            claim_t.c.payer_id,
            claim_t.c.patient_control_number,
            claim_t.c.service_date,
            claim_t.c.filing_indicator,
        ).where(claim_t.c.id.in_(ids))
    ).all()
    if not claims:
        return {}
    lines: dict[int, list[Any]] = {}
    for line in session.execute(
        sa.select(
            line_t.c.id,
            line_t.c.claim_id,
            line_t.c.line_number,
            line_t.c.procedure_code,
            line_t.c.modifiers,
            line_t.c.units,
            line_t.c.charge,
            line_t.c.paid,
            line_t.c.original_procedure_code,
            line_t.c.service_date,
        )
        .where(line_t.c.claim_id.in_(ids))
        .order_by(line_t.c.claim_id, line_t.c.line_number, line_t.c.id)
    ):
        lines.setdefault(line.claim_id, []).append(line)
    cas: dict[tuple[int, int | None], list[tuple[str, str, Decimal]]] = {}
    for a in session.execute(
        sa.select(
            adjustment_t.c.claim_id,
            adjustment_t.c.line_id,
            adjustment_t.c.group_code,
            adjustment_t.c.reason,
            adjustment_t.c.amount,
        )
        .where(adjustment_t.c.claim_id.in_(ids))
        .order_by(adjustment_t.c.claim_id, adjustment_t.c.position, adjustment_t.c.id)
    ):
        cas.setdefault((a.claim_id, a.line_id), []).append((a.group_code, a.reason, a.amount))
    remarks: dict[tuple[int, int | None], list[str]] = {}
    for r in session.execute(
        sa.select(remark_t.c.claim_id, remark_t.c.line_id, remark_t.c.code)
        .where(remark_t.c.claim_id.in_(ids))
        .order_by(remark_t.c.id)
    ):
        remarks.setdefault((r.claim_id, r.line_id), []).append(r.code)
    payer = Payer.__table__  # type: ignore[attr-defined]
    payer_types: dict[int, str] = {
        row.id: row.payer_type
        for row in session.execute(
            sa.select(payer.c.id, payer.c.payer_type).where(
                payer.c.id.in_({c.payer_id for c in claims})
            )
        )
    }
    return build_claims_facts(session, claims, lines, cas, remarks, payer_types)


def build_claims_facts(
    session: Session,
    claims: Sequence[Any],
    lines: dict[int, list[Any]],
    cas: dict[tuple[int, int | None], list[tuple[str, str, Decimal]]],
    remarks: dict[tuple[int, int | None], list[str]],
    payer_types: dict[int, str],
) -> dict[int, tuple[ClaimFacts, list[int]]]:
    """`claims_facts` from rows already at hand (read by `_claims_facts`, or built by the
    importer before it writes them), with their documentation read from `session`.

    `claims`: rows with `id`, `practice_id`, `payer_id`, `patient_control_number`,
    `service_date`, `filing_indicator`; `lines`: each claim's service lines in line order
    (`id`, `line_number`, `procedure_code`, `modifiers`, `units`, `charge`, `paid`,
    `original_procedure_code`, `service_date`); `cas` and `remarks`: the (group, reason,
    amount) adjustments and the remark codes of each (claim id, line id or None), in order.
    """
    # each claim also gets a stand-in line with no procedure and id -claim id: its facts are the
    # claim-wide ones of the claim's date, which a claim-level denial is judged with
    docs = documentation_for_claims(
        session, [(claim, [*lines.get(claim.id, []), _claim_wide(claim.id)]) for claim in claims]
    )
    found: dict[int, tuple[ClaimFacts, list[int]]] = {}
    for claim in claims:
        own = lines.get(claim.id, [])
        facts = tuple(
            LineFacts(
                procedure=line.procedure_code,
                modifiers=tuple(line.modifiers.split()),
                units=line.units,
                charge=line.charge,
                paid=line.paid,
                original_procedure=line.original_procedure_code
                if line.original_procedure_code != line.procedure_code
                else "",
                service_date=line.service_date or claim.service_date,
                adjustments=tuple(cas.get((claim.id, line.id), ())),
                rarcs=tuple(remarks.get((claim.id, line.id), ())),
                number=line.line_number,
                docs=docs.get(line.id or 0, {}),
            )
            for line in own
        )
        found[claim.id] = (
            ClaimFacts(
                lines=facts,
                payer_type=payer_types.get(claim.payer_id, "commercial"),
                filing_indicator=claim.filing_indicator,
                adjustments=tuple(cas.get((claim.id, None), ())),
                rarcs=tuple(remarks.get((claim.id, None), ())),
                docs=docs.get(-claim.id, {}),
            ),
            [line.id or 0 for line in own],
        )
    return found


def _claim_wide(claim_id: int) -> SimpleNamespace:
    """A line that reads only a claim's date-wide facts (`documentation_for_claims`)."""
    return SimpleNamespace(
        id=-claim_id, service_date=None, procedure_code="", original_procedure_code=""
    )


def findings_for(facts: ClaimFacts, line_ids: list[int], denial: Denial) -> list[Finding]:
    """The findings for a denial on an already-built claim (see `claim_facts`)."""
    if denial.line_id is not None and denial.line_id in line_ids:
        return check_line(facts, line_ids.index(denial.line_id))
    # a claim-level denial: judge a stand-in line carrying the claim's codes and its claim-wide
    # documentation (an authorization number on file is not "missing")
    stand_in = LineFacts(
        procedure=denial.procedure_code, service_date=denial.service_date, docs=facts.docs
    )
    facts = replace(facts, lines=(*facts.lines, stand_in))
    return check_line(facts, len(facts.lines) - 1)


def compute_findings(session: Session, denial: Denial) -> list[Finding]:
    """The findings for one stored denial, from its claim, lines, codes and documentation."""
    claim = session.get(Claim, denial.claim_id)
    if claim is None:
        return []
    facts, line_ids = claim_facts(session, claim)
    return findings_for(facts, line_ids, denial)


def check_new_denials(
    facts: dict[int, tuple[ClaimFacts, list[int]]],
    denials: Iterable[dict[str, Any]],
    overrides: dict[int, dict[tuple[str, int], deadlines.Override]],
) -> None:
    """The coding checks of denials not stored yet: rows as the importer writes them, on claims
    whose facts it built (`build_claims_facts`). Each row gets what `refresh_findings` would
    store: its findings, the action they recommend and, where that moves an open denial to
    another route, that route's deadline."""
    for row in denials:
        found = facts.get(row["claim_id"])
        if found is None:
            continue
        denial = SimpleNamespace(**row)
        findings = findings_for(found[0], found[1], denial)  # type: ignore[arg-type]
        row["findings"] = findings_json(findings)
        action = recommended_action(denial, findings)  # type: ignore[arg-type]
        if action == row["action"]:
            continue
        row["action"] = denial.action = action
        if row["status"] in OPEN_STATUSES:
            deadline = deadlines.deadline_for(denial, overrides.get(row["payer_id"]))  # type: ignore[arg-type]
            row["deadline"], row["deadline_basis"] = deadline.due, deadline.basis


def findings_json(findings: Iterable[Finding]) -> str:
    """The stored JSON: `Finding.to_dict` of each, keys sorted.

    A finding's fields are plain strings, lists and dicts of strings, so its attribute dict
    serialises to the same text as `to_dict()` (which deep-copies: a tenth of the checks' time).
    """
    return json.dumps([_plain(f) for f in findings], sort_keys=True)


def _plain(finding: Finding) -> dict[str, Any]:
    values = vars(finding)
    if all(isinstance(v, str | list | dict | None) for v in values.values()):
        return values
    return finding.to_dict()


def stored_findings(denial: Denial) -> list[Finding]:
    """The findings saved on a denial (empty when none or unreadable)."""
    try:
        data = json.loads(denial.findings or "[]")
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    return [Finding.from_dict(item) for item in data if isinstance(item, dict)]


def recommended_action(denial: Denial, findings: list[Finding]) -> str:
    """The first coding finding's action where the checks found something, else the reason's."""
    if findings:
        return findings[0].action
    return classify(denial.group_code, denial.carc, denial.rarcs.split())[1]


def iter_findings(
    session: Session, denials: Iterable[Denial], chunk: int = 1000
) -> Iterator[tuple[Denial, list[Finding]]]:
    """Each denial with its findings; denials whose claim is gone are skipped.

    The denials are taken `chunk` at a time and their claims' facts read together
    (`claims_facts`), so a run of any length costs a few queries per chunk.
    """
    it = iter(denials)
    while part := list(islice(it, chunk)):
        facts = claims_facts(session, {d.claim_id for d in part})
        for denial in part:
            found = facts.get(denial.claim_id)
            if found is not None:
                yield denial, findings_for(found[0], found[1], denial)


DENIAL_CHUNK = 1000  # denials read, checked and written together
# A run renews its claim on a file's checks with every chunk it commits (seconds apart); a claim
# this old belongs to a run that was killed, and the next run takes the file over.
CLAIM_LEASE = timedelta(minutes=5)
_CHECKED = (
    "id",
    "claim_id",
    "line_id",
    "payer_id",
    "procedure_code",
    "service_date",
    "group_code",
    "carc",
    "rarcs",
    "status",
    "findings",
    "action",
    "deadline",
    "deadline_basis",
    "payer_type",
    "appeal_level",
    "level_notice_on",
    "denied_on",
)


def refresh_findings(
    session: Session, denial_ids: Iterable[int] | None = None, *, rescore: bool = True
) -> int:
    """Recompute and store the findings of these denials (default: every open denial).

    Returns how many denials changed. Set-wise: a thousand denials at a time are read with one
    query (the columns the checks need, in claim order), their claims with a few more
    (`claims_facts`), and the changed ones written with one UPDATE executemany. Denials the
    session already holds get the stored values as well.
    """
    table = Denial.__table__  # type: ignore[attr-defined]
    session.flush()  # the reads below are Core: pending changes count, as with ORM queries
    if denial_ids is None:
        query = (
            sa.select(table.c.id)
            .where(table.c.closed_at.is_(None))
            .order_by(table.c.claim_id, table.c.id)
        )
        ids = list(session.execute(query).scalars())
    else:
        ids = sorted(set(denial_ids))
    if not ids:
        return 0
    changed: list[int] = []
    overrides: dict[int, dict[tuple[str, int], deadlines.Override]] | None = None
    columns = [table.c[name] for name in _CHECKED]
    for start in range(0, len(ids), DENIAL_CHUNK):
        rows = session.execute(
            sa.select(*columns)
            .where(table.c.id.in_(ids[start : start + DENIAL_CHUNK]))
            .order_by(table.c.claim_id, table.c.id)
        ).all()
        facts = claims_facts(session, {row.claim_id for row in rows})
        updates: list[dict[str, Any]] = []
        for row in rows:
            found = facts.get(row.claim_id)
            if found is None:
                continue  # the claim is gone
            findings = findings_for(found[0], found[1], row)  # type: ignore[arg-type]
            text = findings_json(findings)
            action = recommended_action(row, findings)  # type: ignore[arg-type]
            if text == row.findings and action == row.action:
                continue
            due, basis = row.deadline, row.deadline_basis
            if action != row.action and row.status in OPEN_STATUSES:
                # A new route (say, a corrected claim instead of an appeal) has its own clock.
                if overrides is None:
                    overrides = deadlines.payer_overrides(session)
                moved = SimpleNamespace(**{**row._mapping, "action": action})
                deadline = deadlines.deadline_for(moved, overrides.get(row.payer_id))  # type: ignore[arg-type]
                due, basis = deadline.due, deadline.basis
            updates.append(
                {
                    "b_id": row.id,
                    "findings": text,
                    "action": action,
                    "deadline": due,
                    "deadline_basis": basis,
                    "updated_at": utcnow(),
                }
            )
            changed.append(row.id)
        _write_findings(session, updates)
    if rescore:
        ranking.rescore(session, changed, date.today())
    return len(changed)


def _write_findings(session: Session, updates: list[dict[str, Any]]) -> None:
    """Store recomputed findings (`db.update_rows`) and mirror them on loaded Denial objects."""
    if not updates:
        return
    if session.autoflush:
        session.flush()  # as an ORM statement would: pending changes go first
    db.update_rows(session.connection(), Denial.__table__, updates)  # type: ignore[attr-defined]
    for values in updates:
        loaded = session.identity_map.get(identity_key(Denial, values["b_id"]))
        if loaded is not None:
            for name, value in values.items():
                if name != "b_id":
                    set_committed_value(loaded, name, value)


def refresh_findings_for_claims(session: Session, claim_ids: Iterable[int]) -> int:
    """Recompute the findings of every denial on these claims (after documentation changed)."""
    ids = sorted(set(claim_ids))
    if not ids:
        return 0
    denial_ids: list[int] = []
    for start in range(0, len(ids), CLAIM_CHUNK):
        part = ids[start : start + CLAIM_CHUNK]
        query = select(Denial.id).where(col(Denial.claim_id).in_(part))
        denial_ids.extend(i for i in session.exec(query).all() if i is not None)
    return refresh_findings(session, denial_ids)


def refresh_for_documentation(
    session: Session, practice_id: int, patient_control_number: str, service_date: date
) -> int:
    """Recompute the findings of the denials a changed fact can affect (same claim and date)."""
    claim_ids = session.exec(
        select(Claim.id).where(
            Claim.practice_id == practice_id,
            Claim.patient_control_number == patient_control_number,
        )
    ).all()
    if not claim_ids:
        return 0
    line_claims = session.exec(
        select(ServiceLine.claim_id).where(
            col(ServiceLine.claim_id).in_(claim_ids), ServiceLine.service_date == service_date
        )
    ).all()
    dated_claims = session.exec(
        select(Claim.id).where(col(Claim.id).in_(claim_ids), Claim.service_date == service_date)
    ).all()
    return refresh_findings_for_claims(
        session, [i for i in (*line_claims, *dated_claims) if i is not None]
    )


def refresh_findings_for_files(
    engine: Engine,
    file_ids: Iterable[int],
    progress: Callable[[int], object] | None = None,
    chunk: int = DENIAL_CHUNK,
    *,
    pending: bool = True,
) -> int:
    """Run the checks on the denials of these files, if they are still pending, committing
    every `chunk` (one UPDATE each; a part holds SQLite's write lock until its commit).

    The import checks and ranks the denials it creates; files imported by earlier versions,
    which checked after the commit, were marked `checks_pending` until their checks were
    stored, and one whose checks were interrupted is checked here. `progress`, if given, is
    called with the number of denials checked since the last call. The mark is cleared in the
    commit that stores the last of a file's checks, so an interruption anywhere before leaves
    it pending. With `pending` (the default) files left pending by an earlier, interrupted run
    are checked too, after these (without `progress`). Returns the number of denials checked.
    """
    wanted = list(dict.fromkeys(file_ids))
    checked = _check_files(engine, wanted, progress, chunk)
    if pending:
        asked = set(wanted)
        others = [i for i in pending_files(engine) if i not in asked]
        if others:
            checked += _check_files(engine, others, None, chunk)
    return checked


def _check_files(
    engine: Engine,
    file_ids: list[int],
    progress: Callable[[int], object] | None,
    chunk: int,
) -> int:
    claimed = _claim(engine, file_ids)
    if not claimed:
        return 0
    table = RemittanceFile.__table__  # type: ignore[attr-defined]
    try:
        with Session(engine) as session:
            ids = [i for file_id in claimed for i in denial_ids_for_file(session, file_id)]
            unchecked = [
                i
                for file_id in claimed
                for i in denial_ids_for_file(session, file_id, unchecked=True)
            ]
        if progress is not None and len(unchecked) < len(ids):
            progress(len(ids) - len(unchecked))  # checked by the import itself
        parts = [unchecked[start : start + chunk] for start in range(0, len(unchecked), chunk)]
        _check_chunks(engine, parts, claimed, progress)
        with Session(engine) as session:
            # With their findings known, the new denials get the recovery model's score.
            ranking.rescore(session, ids, date.today())
            session.execute(
                sa.update(table)
                .where(table.c.id.in_(claimed))
                .values(checks_pending=False, checks_claimed_at=None)
            )
            session.commit()
    except BaseException:
        _release(engine, claimed)
        raise
    return len(ids)


def denial_ids_for_file(
    connection: sa.Connection | Session, file_id: int, *, unchecked: bool = False
) -> list[int]:
    """The denials a file's claims created; with `unchecked`, those the import did not check
    (files imported before the importer checked each batch, see `check_new_denials`)."""
    query = (
        sa.select(Denial.id)
        .join(Claim, Claim.id == Denial.claim_id)
        .join(Payment, Payment.id == Claim.payment_id)
        .where(Payment.file_id == file_id)
        .order_by(Denial.id)
    )
    if unchecked:
        query = query.where(Denial.findings == "")
    return list(connection.execute(query).scalars())


def _check_chunks(
    engine: Engine,
    parts: list[list[int]],
    claimed: list[int],
    progress: Callable[[int], object] | None,
) -> None:
    """Store the findings of each part in a transaction of its own, which also renews this
    run's claim on the files (`CLAIM_LEASE`)."""
    table = RemittanceFile.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        for part in parts:
            refresh_findings(session, part, rescore=False)
            session.execute(
                sa.update(table).where(table.c.id.in_(claimed)).values(checks_claimed_at=utcnow())
            )
            session.commit()
            if progress:
                progress(len(part))


def _claim(engine: Engine, file_ids: list[int]) -> list[int]:
    """Claim these files' pending checks for this run: those not pending, or claimed by a live
    run (one that renewed its claim within `CLAIM_LEASE`), are left out. One UPDATE, so two
    runs never both get a file."""
    if not file_ids:
        return []
    table = RemittanceFile.__table__  # type: ignore[attr-defined]
    now = utcnow()
    with engine.begin() as connection:
        claimed = connection.execute(
            sa.update(table)
            .where(
                table.c.id.in_(file_ids),
                table.c.checks_pending.is_(True),
                sa.or_(
                    table.c.checks_claimed_at.is_(None),
                    table.c.checks_claimed_at < now - CLAIM_LEASE,
                ),
            )
            .values(checks_claimed_at=now)
            .returning(table.c.id)
        ).scalars()
        return sorted(claimed)


def _release(engine: Engine, file_ids: list[int]) -> None:
    """Give up a claim after an error, so the next run checks the files at once (a run that is
    killed cannot: its claim lapses after `CLAIM_LEASE`)."""
    table = RemittanceFile.__table__  # type: ignore[attr-defined]
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.update(table).where(table.c.id.in_(file_ids)).values(checks_claimed_at=None)
            )
    except sa.exc.SQLAlchemyError:
        log.warning("could not release the claim on files %s", file_ids)


def pending_files(engine: Engine) -> list[int]:
    """Files whose coding checks have not all been stored (an import interrupted after its
    commit), oldest first."""
    table = RemittanceFile.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(table.c.id).where(table.c.checks_pending.is_(True)).order_by(table.c.id)
            ).scalars()
        )


def pending_denials(engine: Engine) -> int:
    """How many denials the pending files hold (for a progress bar)."""
    table = RemittanceFile.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        total = connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(table.c.denial_count), 0)).where(
                table.c.checks_pending.is_(True)
            )
        ).scalar()
    return int(total or 0)


def refresh_pending_findings(
    engine: Engine, progress: Callable[[int], object] | None = None
) -> int:
    """Run the coding checks every interrupted import left to do; returns the denials checked."""
    return refresh_findings_for_files(engine, pending_files(engine), progress, pending=False)


def start_pending_checks(engine: Engine) -> BaseProcess | None:
    """`refresh_pending_findings` in a background process, for app start: the app answers at
    once. A process of its own (spawned, not forked) so that nothing it holds, a connection or
    a lock, is shared with server workers forked meanwhile. A failure is logged by type only,
    and the checks stay pending for the next run. None when nothing is pending."""
    if not pending_files(engine):
        return None
    url = engine.url.render_as_string(hide_password=False)
    process = multiprocessing.get_context("spawn").Process(
        target=_run_pending_checks, args=(url,), name="pending-coding-checks", daemon=True
    )
    process.start()
    return process


def _run_pending_checks(url: str) -> None:
    from appeals import db  # the child's own engine

    try:
        refresh_pending_findings(db.get_engine(url))
    except Exception as error:  # the app keeps running; the next run tries again
        log.error("pending coding checks failed: %s", type(error).__name__)
