"""Practice letterhead settings and payer appeal addresses: validation and audited updates.

Both feed every letter (letterhead, signer, where the appeal goes), so each change is validated
field by field (errors keyed by field name, shown beside the input) and recorded in the audit
trail with the field names changed, never their values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from sqlmodel import Session

from appeals import audit
from appeals.models import PayerAppealAddress, Practice

PRACTICE_FIELDS: dict[str, str] = {
    "name": "Practice name",
    "npi": "Group NPI",
    "tax_id": "Tax ID (TIN)",
    "address_line1": "Address",
    "address_line2": "Address line 2",
    "city": "City",
    "state": "State",
    "postal_code": "ZIP code",
    "phone": "Phone",
    "fax": "Fax",
    "email": "E-mail",
    "signer_name": "Letters signed by",
    "signer_title": "Signer's title",
}

ADDRESS_FIELDS: dict[str, str] = {
    "product_line": "Product line",
    "department": "Department / attention",
    "address_line1": "Address",
    "address_line2": "Address line 2",
    "city": "City",
    "state": "State",
    "postal_code": "ZIP code",
    "fax": "Appeals fax",
    "portal_url": "Appeals portal",
    "reviewed_on": "Reviewed on",
    "notes": "Notes (source of this address)",
}

PRODUCT_LINES: dict[str, str] = {
    "all": "All product lines",
    "medicare": "Medicare (Part B)",
    "medicare_advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "commercial": "Commercial",
}

LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_LOGO_BYTES = 512 * 1024
MAX_TEXT = 200

_PHONE = re.compile(r"^\+?[0-9 ().-]{7,20}$")
_ZIP = re.compile(r"^[0-9]{5}(-?[0-9]{4})?$")
_STATE = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIN = re.compile(r"^[0-9]{2}-?[0-9]{7}$")


def npi_is_valid(npi: str) -> bool:
    """The NPI check digit (Luhn over the prefix 80840 and the first nine digits)."""
    if not re.fullmatch(r"[0-9]{10}", npi):
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def _common(name: str, value: str) -> str | None:
    if len(value) > MAX_TEXT and name != "notes":
        return f"at most {MAX_TEXT} characters"
    if not value:
        return None
    if name in ("phone", "fax") and not _PHONE.match(value):
        return "must be a phone number, e.g. 614-555-0100"
    if name == "postal_code" and not _ZIP.match(value):
        return "must be a 5- or 9-digit ZIP code"
    if name == "state" and not _STATE.match(value):
        return "must be a two-letter state code, e.g. OH"
    return None


def validate_practice(form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Cleaned values and errors for the practice settings form."""
    values = {name: (form.get(name) or "").strip() for name in PRACTICE_FIELDS}
    values["state"] = values["state"].upper()
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "required"
    if values["npi"] and not npi_is_valid(values["npi"]):
        errors["npi"] = "not a valid NPI (10 digits with a correct check digit)"
    if values["tax_id"] and not _TIN.match(values["tax_id"]):
        errors["tax_id"] = "must be 9 digits, e.g. 12-3456789"
    if values["email"] and not _EMAIL.match(values["email"]):
        errors["email"] = "must be an e-mail address"
    for name, value in values.items():
        if name not in errors and (message := _common(name, value)):
            errors[name] = message
    return values, errors


def validate_logo(data: bytes) -> tuple[str, str | None]:
    """The logo's MIME type, and an error when it is not a small PNG or JPEG."""
    if len(data) > MAX_LOGO_BYTES:
        return "", f"the logo must be under {MAX_LOGO_BYTES // 1024} KB"
    for magic, mime in LOGO_TYPES.items():
        if data.startswith(magic):
            return mime, None
    return "", "the logo must be a PNG or JPEG image"


def update_practice(
    session: Session,
    practice: Practice,
    values: Mapping[str, str],
    user_id: int | None,
    *,
    logo: tuple[bytes, str] | None = None,
    remove_logo: bool = False,
) -> list[str]:
    """Apply validated values; returns the changed field names (audited)."""
    changed = [name for name, value in values.items() if getattr(practice, name) != value]
    for name in changed:
        setattr(practice, name, values[name])
    if logo is not None:
        practice.logo, practice.logo_mime = logo
        changed.append("logo")
    elif remove_logo and practice.logo:
        practice.logo, practice.logo_mime = None, ""
        changed.append("logo")
    if changed:
        session.add(practice)
        audit.record(session, user_id, "update", "practice", practice.id, {"fields": changed})
    return changed


def validate_address(form: Mapping[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """Cleaned values and errors for a payer appeal address form."""
    text = {name: (form.get(name) or "").strip() for name in ADDRESS_FIELDS}
    text["state"] = text["state"].upper()
    errors: dict[str, str] = {}
    if text["product_line"] not in PRODUCT_LINES:
        errors["product_line"] = f"must be one of: {', '.join(PRODUCT_LINES)}"
    if text["portal_url"] and not text["portal_url"].startswith("https://"):
        errors["portal_url"] = "must start with https://"
    if not (text["address_line1"] or text["fax"] or text["portal_url"]):
        errors["address_line1"] = "give a mailing address, a fax number or a portal"
    reviewed: date | None = None
    if text["reviewed_on"]:
        try:
            reviewed = date.fromisoformat(text["reviewed_on"])
        except ValueError:
            errors["reviewed_on"] = "must be a date (YYYY-MM-DD)"
    for name, value in text.items():
        if name not in errors and (message := _common(name, value)):
            errors[name] = message
    values: dict[str, object] = dict(text)
    values["reviewed_on"] = reviewed
    return values, errors


def save_address(
    session: Session,
    payer_id: int,
    address: PayerAppealAddress | None,
    values: Mapping[str, object],
    user_id: int | None,
) -> PayerAppealAddress:
    """Create or update an appeal address from validated values (audited on the payer)."""
    created = address is None
    address = address or PayerAppealAddress(payer_id=payer_id)
    changed = [name for name, value in values.items() if getattr(address, name) != value]
    for name in changed:
        setattr(address, name, values[name])
    session.add(address)
    session.flush()
    if created or changed:
        audit.record(
            session,
            user_id,
            "create" if created else "update",
            "payer",
            payer_id,
            {"appeal_address_id": address.id, "fields": changed},
        )
    return address


def delete_address(session: Session, address: PayerAppealAddress, user_id: int | None) -> None:
    audit.record(
        session, user_id, "update", "payer", address.payer_id, {"deleted_address": address.id}
    )
    session.delete(address)
