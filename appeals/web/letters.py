"""Appeal letters in the app: choose a template, fill the fields it needs, preview, generate and
download; earlier versions stay listed. From the queue: letters for the selected denials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    url_for,
)
from sqlmodel import col, select

from appeals import audit, documentation, letters, lifecycle
from appeals.letters.preview import to_html
from appeals.models import Claim, Denial, Letter
from appeals.web import get_session, params, record_read
from appeals.web.auth import me
from appeals.web.denials import get_denial_for_user
from appeals.web.documentation import save_fields, scope_of
from appeals.web.htmx import render_page_or_partial
from appeals.web.queue import MAX_SELECTED, selected_ids

bp = Blueprint("letters", __name__)

# Letter-only fields offered on every letter form, after the template's own.
ALWAYS_OFFERED = ("enclosures", "additional_notes")
# Where to fix a required field that is not documentation.
NON_DOC_HINTS = {
    "practice.name": "practice settings",
    "signer.name": "practice settings (letters signed by) or the claim's rendering provider",
    "patient.name": "the remittance (patient name)",
    "patient.member_id": "the remittance (member ID)",
    "claim.number": "the remittance (payer claim number)",
    "lines": "the denied lines",
}


def folders() -> list[Path]:
    """The practice's edited templates (instance folder or LETTER_TEMPLATES) before defaults."""
    configured = current_app.config.get("LETTER_TEMPLATES")
    folder = Path(configured or Path(current_app.instance_path) / "letter_templates")
    return letters.template_folders(folder if folder.is_dir() else None)


def form_fields(info: letters.TemplateInfo) -> tuple[list[str], list[str]]:
    """The template's required documentation fields, then the other ones it can show."""
    required = [
        path.removeprefix("doc.")
        for path in (letters.DERIVED_FROM.get(r, (r,))[0] for r in info.required)
        if path.startswith("doc.")
    ]
    used = sorted(
        p.removeprefix("doc.") for p in letters.shown_fields(info) if p.startswith("doc.")
    )
    optional = [n for n in (*used, *ALWAYS_OFFERED) if n not in required]
    return required, list(dict.fromkeys(optional))


def same_claim_denials(denial: Denial) -> list[Denial]:
    query = select(Denial).where(Denial.claim_id == denial.claim_id)
    return list(get_session().exec(query.order_by(col(Denial.id))).all())


@dataclass(frozen=True)
class LetterRequest:
    """What one letter request works with, looked up once: templates, choice, claim's denials."""

    denial: Denial
    folders: list[Path]
    templates: dict[str, letters.TemplateInfo]
    chosen: str  # the template the denial would get by default
    info: letters.TemplateInfo  # the template asked for (else the chosen one)
    claim_denials: list[Denial]
    selected: list[int]  # denial ids the letter covers, this denial first


def _request(denial: Denial, name: str | None, ids: list[str]) -> LetterRequest:
    """The request's template (404 when unknown) and the selected denials of the same claim."""
    where = folders()
    templates = letters.available_templates(where)
    chosen = letters.choose_template(denial, where, templates=templates)
    if (name or chosen) not in templates:
        abort(404)
    claim_denials = same_claim_denials(denial)
    allowed = {d.id for d in claim_denials}
    if ids:
        picked = [int(v) for v in ids if v.isdigit() and int(v) in allowed]
    else:  # first visit: every line still to appeal that the same template covers
        name = name or chosen
        picked = [
            d.id or 0
            for d in claim_denials
            if d.status in lifecycle.SENDABLE
            and letters.choose_template(d, where, templates=templates) == name
        ]
    selected = [denial.id or 0, *[i for i in picked if i != denial.id]]
    return LetterRequest(
        denial, where, templates, chosen, templates[name or chosen], claim_denials, selected
    )


def _versions(denial_ids: list[int]) -> list[Letter]:
    """The letters covering these denials, newest first, without their .docx."""
    return lifecycle.letters_for(get_session(), denial_ids)


def _context(req: LetterRequest, overrides: dict[str, str]) -> dict[str, Any]:
    return letters.build_context(
        get_session(),
        req.selected,
        overrides,
        template=req.info.name,
        folders=req.folders,
        templates=req.templates,
    )


def _page(
    req: LetterRequest,
    entered: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    preview: Any = None,
    status: int = 200,
    context: dict[str, Any] | None = None,
) -> Response:
    """The letter form; `context` when the caller built it for these entered values."""
    db = get_session()
    denial, info = req.denial, req.info
    if context is None:
        overrides = {k: v for k, v in (entered or {}).items() if k not in (errors or {})}
        context = _context(req, overrides)
    required, optional = form_fields(info)
    missing = letters.missing_fields(info.name, context, req.folders, templates=req.templates)
    values = {**context["doc"], **(entered or {})}
    fields = documentation.fields()
    return render_page_or_partial(
        "letters/page.html",
        "letters/_form.html",
        status=status,
        denial=denial,
        claim=db.get(Claim, denial.claim_id),
        info=info,
        templates=req.templates,
        chosen=req.chosen,
        claim_denials=req.claim_denials,
        selected=req.selected,
        required=[fields[n] for n in required if n in fields],
        optional=[fields[n] for n in optional if n in fields],
        values=values,
        errors=errors or {},
        missing_other=[(m, NON_DOC_HINTS.get(m, "")) for m in missing if not m.startswith("doc.")],
        missing_doc={m.removeprefix("doc.") for m in missing if m.startswith("doc.")},
        preview=preview,
        versions=_versions([d.id or 0 for d in req.claim_denials]),
        context=context,
        sendable=[
            d
            for d in req.claim_denials
            if d.id in req.selected
            and d.status in lifecycle.SENDABLE
            and lifecycle.pending_appeal(db, d) is None
        ],
        methods={k: lifecycle.METHODS[k] for k in lifecycle.SEND_METHODS},
        today=date.today(),
    )


@bp.get("/denials/<int:denial_id>/letter")
def page(denial_id: int) -> Response:
    """The letter form for a denial: template, lines, fields, earlier versions."""
    denial = get_denial_for_user(denial_id)
    return _page(_request(denial, request.args.get("template"), request.args.getlist("ids")))


def _validate(denial: Denial, info: letters.TemplateInfo) -> tuple[dict[str, str], dict[str, str]]:
    """Entered documentation values (normalised) and errors keyed by field."""
    required, optional = form_fields(info)
    entered: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in (*required, *optional):
        if name not in request.form:
            continue
        value = request.form.get(name, "").strip()
        if error := documentation.validate_field(name, value):
            errors[name] = error
        entered[name] = documentation.normalise_value(name, value) if not error else value
    return entered, errors


@bp.post("/denials/<int:denial_id>/letter")
def submit(denial_id: int) -> Response:
    """Preview (nothing stored) or generate: save the fields, store a new letter version."""
    db = get_session()
    denial = get_denial_for_user(denial_id)
    req = _request(denial, request.form.get("template"), request.form.getlist("ids"))
    info, selected = req.info, req.selected
    entered, errors = _validate(denial, info)
    if errors:
        return _page(req, entered, errors, status=422)
    if request.form.get("action") == "preview":
        context = _context(req, entered)
        logo = letters.practice_logo(db, denial.practice_id)
        docx = letters.render(
            info.name, context, folders=req.folders, logo=logo, templates=req.templates
        )
        return _page(req, entered, preview=to_html(docx), context=context)
    errors = _save_facts(denial, entered)
    if errors:
        db.rollback()
        return _page(req, entered, errors, status=422)
    try:
        letter = letters.generate_letter(
            db, selected, info.name, me().id, folders=req.folders, templates=req.templates
        )
    except letters.MissingFields as missing:
        db.rollback()
        required = {f.removeprefix("doc.") for f in missing.fields}
        errors = {n: "required for this letter" for n in required if n in documentation.fields()}
        return _page(req, entered, errors, status=422)
    db.commit()
    flash(f"Letter written: {info.title}, version {letter.version}.", "success")
    query = urlencode({"template": info.name, "ids": selected}, doseq=True)
    return redirect(url_for("letters.page", denial_id=denial.id) + f"?{query}#versions", 303)


def _save_facts(denial: Denial, entered: dict[str, str]) -> dict[str, str]:
    """Store the entered documentation for the denial's date of service (and procedure)."""
    scope = scope_of(denial)
    if scope.service_date is None:
        return dict.fromkeys(entered, "no date of service to file documentation under")
    errors = save_fields(denial, scope, entered)
    if entered and not errors:
        audit.record(
            get_session(), me().id, "update", "denial", denial.id, {"fields": sorted(entered)}
        )
    return errors


def get_letter_for_user(letter_id: int) -> Letter:
    letter = get_session().get(Letter, letter_id)
    if letter is None:
        abort(404)
    get_denial_for_user(letter.denial_id)  # 404 outside the user's practice
    return letter


@bp.get("/letters/<int:letter_id>.docx")
def download(letter_id: int) -> Response:
    """The stored .docx of one letter version."""
    letter = get_letter_for_user(letter_id)
    record_read(me().id, "export", "denial", letter.denial_id, {"letter_id": letter.id})
    response = make_response(letter.docx)
    response.headers["Content-Type"] = (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    name = letters.letter_filename(letter)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/letters/<int:letter_id>")
def show(letter_id: int) -> Response:
    """One stored letter version, shown as it was written."""
    letter = get_letter_for_user(letter_id)
    denial = get_session().get(Denial, letter.denial_id)
    return render_page_or_partial(
        "letters/show.html",
        "letters/show.html",
        letter=letter,
        denial=denial,
        preview=to_html(letter.docx),
    )


@bp.post("/letters/batch")
def batch() -> Response:
    """Appeal letters for the denials selected in the queue; those left out are listed with
    the reason (another route, deadline passed, fields missing)."""
    db = get_session()
    ids, more = selected_ids(request.form)  # the checked rows or every one matching the filters
    denials = [get_denial_for_user(i) for i in ids]
    if more:
        flash(f"Only the first {MAX_SELECTED:,} matching denials were taken.", "warning")
    if not denials:
        flash("Select at least one denial to write letters for.", "warning")
        return redirect(url_for("queue.index"), 303)
    written, skipped = letters.generate_batch(
        db, [d.id or 0 for d in denials], me().id, folders=folders()
    )
    db.commit()
    status = 200 if written else 422
    skipped_ids = [s.denial_id for s in skipped]
    return render_page_or_partial(
        "letters/batch.html",
        "letters/_batch.html",
        status=status,
        written=written,
        skipped=skipped,
        sent_ids=[d.id for d in denials if d.id not in skipped_ids],
        methods={k: lifecycle.METHODS[k] for k in lifecycle.SEND_METHODS},
        today=date.today(),
        skipped_ids=skipped_ids,
    )


@bp.post("/letters/zip")
def zip_download() -> Response:
    """Stored letters (by id) as one .zip; its index also lists the batch's skipped denials.
    A POST: a batch of 1,000 ids would not fit in a URL a proxy or gunicorn accepts."""
    ids = params.query_ids("letter", limit=MAX_SELECTED, form=True)
    chosen = [get_letter_for_user(i) for i in ids]
    if not chosen:
        abort(404)
    left_out = params.query_ids("skipped", limit=MAX_SELECTED, form=True)
    for denial_id in left_out:
        get_denial_for_user(denial_id)  # 404 outside the user's practice
    skipped = (
        letters.explain_skipped(get_session(), left_out, folders=folders()) if left_out else []
    )
    audit.record(
        get_session(), me().id, "export", "letter", None, {"letter_ids": [c.id for c in chosen]}
    )
    get_session().commit()
    response = make_response(letters.zip_letters(chosen, skipped))
    response.headers["Content-Type"] = "application/zip"
    response.headers["Content-Disposition"] = 'attachment; filename="appeal-letters.zip"'
    return response


def letters_of(denial_id: int) -> list[Letter]:
    """Letters covering a denial, newest first (for the denial page's panel)."""
    return _versions([denial_id])


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["letters_of"] = letters_of
