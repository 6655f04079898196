"""Letters for many denials at once: one per claim and template, in a zip with an index.

Only appeals are written (`choosing.not_for_appeal`): corrected claims, reopenings, other
routes, denials past their appeal deadline and those not waiting for an appeal are skipped, and
so are letters that lack required fields. Each skipped denial carries its reason in plain words;
the zip's `index.csv` lists every letter in it and every denial left out.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from appeals.csvsafe import text_cells
from appeals.formatting import day, money
from appeals.letters.choosing import choose_template, not_for_appeal
from appeals.letters.context import MissingFields, build_context, load_denials, missing_fields
from appeals.letters.rendering import generate_letter, letter_filename
from appeals.letters.templates import TemplateInfo, available_templates
from appeals.models import Claim, Denial, Letter

INDEX_FILE = "index.csv"
INDEX_COLUMNS = (
    "file",
    "result",
    "denial_id",
    "claim_number",
    "procedure",
    "date_of_service",
    "denied",
    "template",
    "version",
    "reason",
)


@dataclass(frozen=True)
class Skipped:
    """A denial a batch wrote no letter for, and why."""

    denial_id: int
    claim_number: str
    procedure_code: str
    service_date: str  # as printed, MM/DD/YYYY
    denied: str  # as printed, $1,234.50
    reason: str  # plain words, e.g. "needs modifier that applies and why the modifier applies"
    fields: tuple[str, ...] = ()  # the missing context fields, when they are the reason


Groups = dict[tuple[int, str], list[Denial]]


def _plan(
    session: Session,
    denial_ids: Sequence[int],
    folders: Sequence[Path] | None,
    today: date,
    templates: Mapping[str, TemplateInfo],
) -> tuple[Groups, list[Skipped], dict[int, str]]:
    """The denials to write, grouped by claim and template; those left out; claim numbers."""
    denials = load_denials(session, denial_ids)
    numbers = dict(
        session.exec(
            select(Claim.id, Claim.payer_claim_control_number).where(
                col(Claim.id).in_(sorted({d.claim_id for d in denials}))
            )
        ).all()
    )
    groups: Groups = {}
    skipped = []
    for denial in denials:
        reason = not_for_appeal(denial, today)
        if reason:
            skipped.append(_skip(denial, numbers, reason))
            continue
        name = choose_template(denial, folders, templates=templates)
        groups.setdefault((denial.claim_id, name), []).append(denial)
    return groups, skipped, numbers


def _skip(
    denial: Denial, numbers: Mapping[int, str], reason: str, fields: Sequence[str] = ()
) -> Skipped:
    return Skipped(
        denial.id or 0,
        numbers.get(denial.claim_id, ""),
        denial.procedure_code,
        day(denial.service_date),
        money(denial.denied_amount),
        reason,
        tuple(fields),
    )


def _in_order(skipped: list[Skipped], denial_ids: Sequence[int]) -> list[Skipped]:
    position = {denial_id: index for index, denial_id in enumerate(denial_ids)}
    return sorted(skipped, key=lambda s: position.get(s.denial_id, len(position)))


def generate_batch(
    session: Session,
    denial_ids: Sequence[int],
    user_id: int | None = None,
    *,
    folders: Sequence[Path] | None = None,
    today: date | None = None,
) -> tuple[list[Letter], list[Skipped]]:
    """One appeal letter per claim and template for the selected denials; the rest skipped."""
    today = today or date.today()
    templates = available_templates(folders)
    groups, skipped, numbers = _plan(session, denial_ids, folders, today, templates)
    written: list[Letter] = []
    for (_claim_id, name), members in groups.items():
        ids = [d.id or 0 for d in members]
        try:
            written.append(
                generate_letter(
                    session, ids, name, user_id, folders=folders, today=today, templates=templates
                )
            )
        except MissingFields as exc:
            skipped.extend(_skip(d, numbers, exc.words, exc.fields) for d in members)
    return written, _in_order(skipped, denial_ids)


def explain_skipped(
    session: Session,
    denial_ids: Sequence[int],
    *,
    folders: Sequence[Path] | None = None,
    today: date | None = None,
) -> list[Skipped]:
    """Why a batch leaves these denials out, writing nothing (for a zip asked for later).

    A denial whose letter could be written now (its fields were filled since) is listed as
    not written in that batch.
    """
    today = today or date.today()
    templates = available_templates(folders)
    groups, skipped, numbers = _plan(session, denial_ids, folders, today, templates)
    for (_claim_id, name), members in groups.items():
        ids = [d.id or 0 for d in members]
        context = build_context(session, ids, None, today, name, folders, templates=templates)
        missing = missing_fields(name, context, folders, templates=templates)
        reason = MissingFields(name, missing).words if missing else "not written in that batch"
        skipped.extend(_skip(d, numbers, reason, missing) for d in members)
    return _in_order(skipped, denial_ids)


def _index(written: Sequence[Letter], skipped: Sequence[Skipped]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS)
    for letter in written:
        context = json.loads(letter.context or "{}")
        name = letter_filename(letter, context)
        claim = context.get("claim", {}).get("number", "")
        lines = context.get("lines", [])
        for denial_id, line in zip(context.get("denial_ids", []), lines, strict=True):
            procedure, served, denied = line["procedure_code"], line["date"], line["denied"]
            row = [name, "written", denial_id, claim, procedure, served, denied]
            writer.writerow(text_cells((*row, letter.template, letter.version, "")))
    for item in skipped:
        row = ["", "skipped", item.denial_id, item.claim_number, item.procedure_code]
        row += [item.service_date, item.denied, "", "", item.reason]
        writer.writerow(text_cells(row))
    return out.getvalue()


def zip_letters(written: Sequence[Letter], skipped: Sequence[Skipped] = ()) -> bytes:
    """The letters as one zip with `index.csv`: each letter's denials, then those left out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for letter in written:
            archive.writestr(letter_filename(letter), letter.docx)
        archive.writestr(INDEX_FILE, _index(written, skipped))
    return buffer.getvalue()


def render_batch_zip(
    session: Session,
    denial_ids: Sequence[int],
    user_id: int | None = None,
    *,
    folders: Sequence[Path] | None = None,
    today: date | None = None,
) -> tuple[bytes, list[Skipped]]:
    """`generate_batch` and `zip_letters` in one call: the zip and the skipped denials."""
    written, skipped = generate_batch(session, denial_ids, user_id, folders=folders, today=today)
    return zip_letters(written, skipped), skipped
