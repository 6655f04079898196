"""Rendering and storing letters: the .docx from a template and a context, and the stored
`Letter` with its context snapshot and version per denial and template.

Values are rendered with autoescape on, so user text such as `O'Brien & <Sons>` or `{{ }}`
appears exactly as typed.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import TemplateSyntaxError
from sqlmodel import Session, select

from appeals import audit, lifecycle
from appeals.letters.choosing import choose_template
from appeals.letters.context import (
    MissingFields,
    build_context,
    load_denials,
    lookup,
    missing_fields,
)
from appeals.letters.templates import (
    LetterError,
    TemplateInfo,
    available_templates,
    jinja_env,
    template_info,
)
from appeals.models import Letter, Practice

_INVALID_XML = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@cache
def _template_bytes(path: Path, mtime_ns: int) -> bytes:
    return path.read_bytes()


def _clean(value: Any) -> Any:
    """Strip characters XML cannot hold; keep newlines (docxtpl turns them into line breaks)."""
    if isinstance(value, str):
        return _INVALID_XML.sub("", value.replace("\r\n", "\n").replace("\t", " "))
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    folders: Sequence[Path] | None = None,
    logo: bytes | None = None,
    templates: Mapping[str, TemplateInfo] | None = None,
) -> bytes:
    """The filled .docx for `template` (autoescape on) as bytes; `logo` from `practice_logo`."""
    info = template_info(template, folders, templates)
    assert info.path is not None
    source = _template_bytes(info.path, info.path.stat().st_mtime_ns)
    document = DocxTemplate(io.BytesIO(source))
    values = _clean(dict(context))
    if logo:
        values["logo"] = InlineImage(document, io.BytesIO(logo), height=Mm(18))
    try:
        document.render(values, jinja_env=jinja_env(), autoescape=True)
    except TemplateSyntaxError as exc:
        raise LetterError(
            f"{template}: template error on line {exc.lineno}: {exc.message}"
        ) from exc
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def practice_logo(session: Session, practice_id: int) -> bytes | None:
    """The practice's letterhead logo for `render` (None when it has none)."""
    practice = session.get(Practice, practice_id)
    return practice.logo if practice and practice.logo else None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a letter snapshot")


def snapshot(context: Mapping[str, Any]) -> str:
    """The context as JSON (Decimals and dates as strings)."""
    return json.dumps(context, default=_json_default, sort_keys=True)


def next_version(session: Session, denial_id: int, template: str) -> int:
    """The next version number of a denial's letter from this template."""
    latest = session.exec(
        select(sa.func.max(Letter.version)).where(
            Letter.denial_id == denial_id, Letter.template == template
        )
    ).one()
    return int(latest or 0) + 1


def generate_letter(
    session: Session,
    denial_ids: Sequence[int],
    template: str | None = None,
    user_id: int | None = None,
    *,
    overrides: Mapping[str, str] | None = None,
    folders: Sequence[Path] | None = None,
    today: date | None = None,
    templates: Mapping[str, TemplateInfo] | None = None,
) -> Letter:
    """Render and store a letter for denied lines of one claim; raises MissingFields.

    The letter is linked to the open appeal of every denial it covers (each is credited with
    it). Earlier letters are kept: the version counts per denial and template. `templates` is
    `available_templates(folders)` when the caller already has it.
    """
    templates = available_templates(folders) if templates is None else templates
    denials = load_denials(session, denial_ids)
    name = template or choose_template(denials[0], folders, templates=templates)
    context = build_context(
        session, denial_ids, overrides, today, name, folders, templates=templates
    )
    missing = missing_fields(name, context, folders, templates=templates)
    if missing:
        raise MissingFields(name, missing)
    logo = practice_logo(session, denials[0].practice_id)
    docx = render(name, context, folders=folders, logo=logo, templates=templates)
    primary = denials[0]
    letter = Letter(
        appeal_id=lifecycle.appeal_for_letter(session, primary, user_id).id,
        denial_id=primary.id or 0,
        template=name,
        version=next_version(session, primary.id or 0, name),
        context=snapshot(context),
        docx=docx,
        author_id=user_id,
    )
    session.add(letter)
    session.flush()
    lifecycle.credit_letter(session, letter, denials, user_id)
    for denial in denials:
        audit.record(
            session,
            user_id,
            "letter",
            "denial",
            denial.id,
            {"letter_id": letter.id, "template": name, "version": letter.version},
        )
    return letter


def letter_filename(letter: Letter, context: Mapping[str, Any] | None = None) -> str:
    """A file name without patient names: claim number, template, denial and version."""
    ctx = context if context is not None else json.loads(letter.context or "{}")
    claim = lookup(ctx, "claim.number") or lookup(ctx, "claim.patient_control_number") or "claim"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(claim))[:40]
    return f"{safe}-{letter.template}-d{letter.denial_id}-v{letter.version}.docx"
