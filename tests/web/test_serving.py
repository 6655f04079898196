"""The server's request log leaves query values (search terms: patient names) out."""

from __future__ import annotations

import logging
import threading
import urllib.request

import pytest
from flask import Flask
from werkzeug.serving import make_server

from appeals.web.serving import RedactingRequestHandler, redact_query


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/queue", "/queue"),
        ("/queue?q=Smith", "/queue?q=…"),
        ("/queue?q=Jane+Doe&status=new&q=", "/queue?q=…&status=…&q=…"),
        ("/denials/12?", "/denials/12?"),
    ],
)
def test_redact_query(target: str, expected: str) -> None:
    assert redact_query(target) == expected


def test_request_log_has_the_path_but_not_the_search(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    app.add_url_rule("/queue", "queue", lambda: "ok")
    server = make_server("127.0.0.1", 0, app, request_handler=RedactingRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.port}/queue?q=Zebulon+Quixote&status=new"
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.read() == b"ok"
    finally:
        server.shutdown()
        thread.join(timeout=5)
    logged = caplog.text
    assert "GET /queue?q=…&status=… HTTP/1.1" in logged
    assert "Zebulon" not in logged and "Quixote" not in logged
