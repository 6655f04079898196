"""One error funnel: HTTP errors become `errors/<code>.html` pages, or a small fragment for htmx."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, make_response, render_template
from flask_wtf.csrf import CSRFError
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException, InternalServerError

from appeals.web import params
from appeals.web.htmx import is_htmx

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "Your account does not have access to this page.",
    404: "There is nothing here, or you do not have access to it.",
    405: "That action is not allowed here.",
    413: "The upload is too large.",
    429: "Too many requests. Wait a moment and try again.",
    500: "Something went wrong on our side. The error has been logged.",
}


def _limit_words(app_limit: int | None) -> str:
    if not app_limit:
        return ""
    return f" The limit is {app_limit // (1024 * 1024)} MB per request."


def render_error(code: int, message: str | None = None) -> Response:
    """The error page (or fragment) for `code`."""
    message = message or MESSAGES.get(code, "Something went wrong.")
    template = "errors/_fragment.html" if is_htmx() else f"errors/{code}.html"
    try:
        body = render_template(template, code=code, message=message)
    except TemplateNotFound:
        body = render_template("errors/error.html", code=code, message=message)
    response = make_response(body, code)
    response.vary.add("HX-Request")
    return response


def handle_http(error: HTTPException) -> Response:
    code = error.code or 500
    message = None
    if isinstance(error, params.BadParameter):
        message = error.description  # names the field; never echoes the value
    if code == 413:
        from flask import current_app

        message = MESSAGES[413] + _limit_words(current_app.config.get("MAX_CONTENT_LENGTH"))
    return render_error(code, message)


def handle_csrf(error: CSRFError) -> Response:
    return render_error(
        400, "The form has expired or is missing its security token. Reload the page and try again."
    )


def log_failure(what: str, error: BaseException) -> None:
    """Log an exception by its type and stack only: its message can carry patient data (a SQL
    error quotes the statement, a parse error quotes the input)."""
    stack = "".join(traceback.format_tb(error.__traceback__))
    log.error("%s: %s\n%s", what, type(error).__name__, stack)


def handle_unexpected(error: Exception) -> Response:
    log_failure("unhandled", error)
    return render_error(500)


def init_app(app: Flask) -> None:
    params.init_app(app)  # path values checked before any view, with errors named by field
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_http)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)
