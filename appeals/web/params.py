"""Query and path parameters, validated: a bad value is a 400 that names the field, never a 500.

Path ints go through werkzeug's `int` converter, which accepts any number of digits; a value
no database column can hold (above `MAX_ID`) would fail inside the driver (SQLite's
OverflowError, PostgreSQL's "out of range"), so `check_path_ints` refuses it first, for every
route. Views read query values through `query_int` / `query_ids` / `query_text`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from appeals.queue import MAX_ID
from appeals.queue import is_id as is_id  # the views' quiet check, beside the refusing ones

MAX_TEXT = 200


class BadParameter(BadRequest):
    """A malformed query or path value; the message names the field and is safe to show."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{_label(field)}: {problem}")
        self.field = field


def _label(field: str) -> str:
    return f"The value of “{field}”"


def parse_int(text: str | None, field: str, *, minimum: int = 1, maximum: int = MAX_ID) -> int:
    """`text` as a whole number from `minimum` to `maximum`, else BadParameter naming `field`."""
    value = (text or "").strip()
    digits = value[1:] if value[:1] in "+-" else value
    if not digits.isascii() or not digits.isdigit() or len(digits) > len(str(MAX_ID)) + 1:
        raise BadParameter(field, f"enter a whole number from {minimum} to {maximum}.")
    number = int(value)
    if not minimum <= number <= maximum:
        raise BadParameter(field, f"enter a whole number from {minimum} to {maximum}.")
    return number


def query_int(
    field: str, default: int | None = None, *, minimum: int = 1, maximum: int = MAX_ID
) -> int | None:
    """An optional whole-number query argument (empty or absent: `default`)."""
    text = request.args.get(field, "")
    if not text.strip():
        return default
    return parse_int(text, field, minimum=minimum, maximum=maximum)


def query_ids(field: str, limit: int = 1000, *, form: bool = False) -> list[int]:
    """Every value of a repeated id argument (`?letter=1&letter=2`), at most `limit` of them;
    `form` reads the posted body instead (lists too long for a URL)."""
    values = (request.form if form else request.args).getlist(field)
    if len(values) > limit:
        raise BadParameter(field, f"choose at most {limit}.")
    return [parse_int(v, field) for v in values if v.strip()]


def query_text(field: str, default: str = "", *, max_length: int = MAX_TEXT) -> str:
    """A free-text query argument, stripped, refused above `max_length` characters."""
    text = request.args.get(field, default).strip()
    if len(text) > max_length:
        raise BadParameter(field, f"enter at most {max_length} characters.")
    return text


def refuse_errors(errors: dict[str, str]) -> None:
    """Where no form can show errors beside the fields (a download), the first is a 400."""
    for field, problem in sorted(errors.items()):
        raise BadParameter(field, problem[:1].lower() + problem[1:])


def check_path_ints(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Refuse an `<int:…>` path value no table can hold, naming it (runs before every view)."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_ID:
            raise BadParameter(name, f"enter a whole number from 1 to {MAX_ID}.")


def refuse_nul(*sources: Any) -> None:
    """Refuse a NUL character in any query or form value: no text holds one, and PostgreSQL
    refuses it in a text parameter (a DataError, which would be a 500)."""
    for source in sources:
        for field, value in source.items(multi=True):
            if "\x00" in field or "\x00" in value:
                raise BadParameter(field.replace("\x00", ""), "remove the NUL character.")


def _check_request() -> None:
    sources = [request.args]
    if request.method == "POST" and request.mimetype in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        sources.append(request.form)
    refuse_nul(*sources)


def init_app(app: Flask) -> None:
    app.url_value_preprocessor(check_path_ints)
    app.before_request(_check_request)
