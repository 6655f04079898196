"""Settings for admins: the practice letterhead and signer, and each payer's appeal addresses
and filing windows per product line. Every change is validated beside the field and audited.

Payers, their appeal addresses and their filing windows are shared by every practice, so only an
admin for all practices changes them; an admin scoped to one practice reads them (a change would
reach the letters and deadlines of practices they cannot see)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    request,
    url_for,
)
from sqlmodel import col, select

from appeals import payer_windows
from appeals import practice_settings as settings
from appeals.deadlines import PAYER_TYPES
from appeals.models import Payer, PayerAppealAddress, PayerWindow, Practice
from appeals.web import get_session, params
from appeals.web.auth import me, role_required
from appeals.web.htmx import render_page_or_partial

bp = Blueprint("letter_settings", __name__, url_prefix="/settings")


def _practice(practice_id: int | None) -> Practice:
    """The practice to edit: the admin's own, else the one asked for, else the first."""
    db = get_session()
    wanted = me().practice_id or practice_id
    practice = (
        db.get(Practice, wanted)
        if wanted
        else db.exec(select(Practice).order_by(col(Practice.id))).first()
    )
    if practice is None:
        abort(404)
    return practice


def _practice_page(
    practice: Practice,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    db = get_session()
    practices = (
        [] if me().practice_id else db.exec(select(Practice).order_by(col(Practice.name))).all()
    )
    values = form or {name: getattr(practice, name) for name in settings.PRACTICE_FIELDS}
    return render_page_or_partial(
        "letters/settings_practice.html",
        "letters/settings_practice.html",
        status=status,
        practice=practice,
        practices=practices,
        fields=settings.PRACTICE_FIELDS,
        values=values,
        errors=errors or {},
    )


@bp.get("/practice")
@role_required("admin")
def practice_page() -> Response:
    """The letterhead: name, address, NPI, TIN, phone, signer and logo."""
    return _practice_page(_practice(params.query_int("practice")))


@bp.post("/practice/<int:practice_id>")
@role_required("admin")
def practice_save(practice_id: int) -> Response:
    """Save the letterhead; errors beside the fields (422)."""
    db = get_session()
    practice = _practice(practice_id)
    if practice.id != practice_id:
        abort(404)
    values, errors = settings.validate_practice(request.form)
    logo: tuple[bytes, str] | None = None
    upload = request.files.get("logo")
    if upload is not None and upload.filename:
        data = upload.read()
        mime, error = settings.validate_logo(data)
        if error:
            errors["logo"] = error
        else:
            logo = (data, mime)
    if errors:
        return _practice_page(practice, values, errors, 422)
    changed = settings.update_practice(
        db, practice, values, me().id, logo=logo, remove_logo=bool(request.form.get("remove_logo"))
    )
    db.commit()
    flash("Saved." if changed else "Nothing changed.", "success" if changed else "info")
    return redirect(url_for("letter_settings.practice_page", practice=practice.id), 303)


@bp.get("/practice/<int:practice_id>/logo")
@role_required("admin")
def practice_logo(practice_id: int) -> Response:
    """The stored logo image."""
    practice = _practice(practice_id)
    if practice.id != practice_id or not practice.logo:
        abort(404)
    response = make_response(practice.logo)
    response.headers["Content-Type"] = practice.logo_mime or "application/octet-stream"
    return response


@bp.get("/payers")
@role_required("admin")
def payers_page() -> Response:
    """Every payer with the number of appeal addresses and own filing windows on file."""
    db = get_session()
    payers = db.exec(select(Payer).order_by(col(Payer.name))).all()
    counts: dict[int, int] = {}
    for address in db.exec(select(PayerAppealAddress)).all():
        counts[address.payer_id] = counts.get(address.payer_id, 0) + 1
    return render_page_or_partial(
        "letters/settings_payers.html",
        "letters/settings_payers.html",
        payers=payers,
        counts=counts,
        window_counts=payer_windows.count_by_payer(db),
    )


def _may_edit_shared() -> bool:
    """Whether this admin may change what every practice shares (payer addresses, windows)."""
    return me().practice_id is None


def _require_shared_editor() -> None:
    """Refuse (403) an admin scoped to one practice."""
    if not _may_edit_shared():
        abort(403)


def _payer_page(
    payer: Payer,
    errors: dict[str, dict[str, str]] | None = None,
    forms: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    db = get_session()
    addresses = db.exec(
        select(PayerAppealAddress)
        .where(PayerAppealAddress.payer_id == payer.id)
        .order_by(col(PayerAppealAddress.id))
    ).all()
    return render_page_or_partial(
        "letters/settings_payer.html",
        "letters/settings_payer.html",
        status=status,
        payer=payer,
        addresses=addresses,
        fields=settings.ADDRESS_FIELDS,
        product_lines=settings.PRODUCT_LINES,
        errors=errors or {},
        forms=forms or {},
        editable=_may_edit_shared(),
        windows=payer_windows.windows_table(db, payer),
        window_fields=payer_windows.WINDOW_FIELDS,
        window_lines=payer_windows.product_lines(payer.payer_type),
        payer_types=PAYER_TYPES,
        window_levels=payer_windows.LEVEL_NAMES,
    )


def _payer(payer_id: int) -> Payer:
    payer = get_session().get(Payer, payer_id)
    if payer is None:
        abort(404)
    return payer


@bp.get("/payers/<int:payer_id>")
@role_required("admin")
def payer_page(payer_id: int) -> Response:
    """One payer's appeal addresses (edit forms), a form to add one, and its filing windows."""
    return _payer_page(_payer(payer_id))


@bp.post("/payers/<int:payer_id>/addresses")
@role_required("admin")
def address_create(payer_id: int) -> Response:
    """Add an appeal address for a product line."""
    _require_shared_editor()
    db = get_session()
    payer = _payer(payer_id)
    values, errors = settings.validate_address(request.form)
    if errors:
        return _payer_page(payer, {"new": errors}, {"new": dict(request.form)}, 422)
    settings.save_address(db, payer.id or 0, None, values, me().id)
    db.commit()
    flash("Appeal address added.", "success")
    return redirect(url_for("letter_settings.payer_page", payer_id=payer.id), 303)


def _address(address_id: int) -> PayerAppealAddress:
    address = get_session().get(PayerAppealAddress, address_id)
    if address is None:
        abort(404)
    return address


@bp.post("/addresses/<int:address_id>")
@role_required("admin")
def address_update(address_id: int) -> Response:
    """Save changes to one appeal address."""
    _require_shared_editor()
    db = get_session()
    address = _address(address_id)
    values, errors = settings.validate_address(request.form)
    if errors:
        key = str(address.id)
        return _payer_page(_payer(address.payer_id), {key: errors}, {key: dict(request.form)}, 422)
    settings.save_address(db, address.payer_id, address, values, me().id)
    db.commit()
    flash("Appeal address saved.", "success")
    return redirect(url_for("letter_settings.payer_page", payer_id=address.payer_id), 303)


@bp.post("/addresses/<int:address_id>/delete")
@role_required("admin")
def address_delete(address_id: int) -> Response:
    """Remove an appeal address."""
    _require_shared_editor()
    db = get_session()
    address = _address(address_id)
    payer_id = address.payer_id
    settings.delete_address(db, address, me().id)
    db.commit()
    flash("Appeal address removed.", "success")
    return redirect(url_for("letter_settings.payer_page", payer_id=payer_id), 303)


def _moved(count: int) -> str:
    return f"{count} open deadline{'' if count == 1 else 's'} recomputed."


@bp.post("/payers/<int:payer_id>/windows")
@role_required("admin")
def window_save(payer_id: int) -> Response:
    """Set the payer's filing window for a product line and level; its open deadlines move."""
    _require_shared_editor()
    db = get_session()
    payer = _payer(payer_id)
    values, errors = payer_windows.validate_window(request.form)
    if values is None:
        return _payer_page(payer, {"window": errors}, {"window": dict(request.form)}, 422)
    try:
        moved = payer_windows.save_window(db, payer.id or 0, values, me().id)
        db.commit()
    except sa.exc.IntegrityError:  # another admin added the same window meanwhile: update it
        db.rollback()
        moved = payer_windows.save_window(db, payer.id or 0, values, me().id)
        db.commit()
    flash(f"Saved. {_moved(len(moved))}", "success")
    return redirect(
        url_for("letter_settings.payer_page", payer_id=payer.id, _anchor="windows"), 303
    )


@bp.post("/windows/<int:window_id>/delete")
@role_required("admin")
def window_delete(window_id: int) -> Response:
    """Remove a payer's filing window: its open deadlines go back to the default."""
    _require_shared_editor()
    db = get_session()
    window = db.get(PayerWindow, window_id)
    if window is None:
        abort(404)
    payer_id = window.payer_id
    moved = payer_windows.remove_window(db, window, me().id)
    db.commit()
    flash(f"Window removed. {_moved(len(moved))}", "success")
    return redirect(
        url_for("letter_settings.payer_page", payer_id=payer_id, _anchor="windows"), 303
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
