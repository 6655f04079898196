"""The web server for `appeals serve` and `appeals demo`: werkzeug's, with a request log that
keeps query strings out.

Queue searches travel in the URL (`/queue?q=...`, so filters can be bookmarked and shared) and a
search term can be a patient's name or account number. werkzeug logs each request line, so the
log would carry that PHI; this handler logs the path with the query values replaced by `…`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, run_simple


def redact_query(target: str) -> str:
    """A request target with every query value replaced: `/queue?q=…&page=…`."""
    parts = urlsplit(target)
    if not parts.query:
        return target
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return parts.path + "?" + "&".join(f"{name}=…" for name in names)


class RedactingRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, logging request lines without query values."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Called as the response starts: the WSGI environ was built from the path already.
        if hasattr(self, "path"):
            self.path = redact_query(self.path)
        super().log_request(code, size)

    def log_error(self, format: str, *args: object) -> None:
        # http.server's messages for malformed or timed-out requests quote the raw request line.
        self.log("error", "%s", "malformed or timed-out request (request line not logged)")


def serve(app: Flask, host: str, port: int) -> None:
    # Flask's app.run() refuses to start inside its own CLI; werkzeug's server is the same one.
    run_simple(host, port, app, threaded=True, request_handler=RedactingRequestHandler)
