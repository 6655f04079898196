"""The one place that looks at htmx request headers.

`render_page_or_partial` answers a plain or boosted request with the full page and an htmx
request for part of a page with just the partial; `Vary` tells caches the answer depends on it.
History-restore requests (htmx re-fetching a page it could not find in its cache) get the page.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, make_response, render_template, request


def is_htmx() -> bool:
    """An htmx request for a fragment (not a boosted navigation, not a history restore)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_partial(
    page: str, partial: str, /, status: int = 200, **context: Any
) -> Response:
    """The full page, or only `partial` when htmx asked for a fragment."""
    response = make_response(render_template(partial if is_htmx() else page, **context), status)
    response.vary.add("HX-Request")
    return response


def trigger(response: Response, event: str, detail: Any = None) -> Response:
    """Fire `event` in the browser after the swap (HX-Trigger), merged with any already set."""
    existing = response.headers.get("HX-Trigger")
    events: dict[str, Any] = json.loads(existing) if existing else {}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["is_htmx"] = is_htmx
