"""The production server: bounded settings from the environment, no version banner, silent and
stalled clients never hold a thread, a request log without search terms, jobs failed on
restart, and the reverse-proxy settings (ProxyFix hops, HSTS)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask, Response, request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appeals.models import UploadJob, UploadJobFile
from appeals.web import create_app, jobs
from appeals.web.serving import (
    ACCESS_LOG_FORMAT,
    SETTINGS,
    ReadTimeoutWorker,
    RedactingLogger,
    ServerSettings,
    SettingError,
    options_for,
    redact_query,
    redact_text,
)
from tests.web.conftest import World, log_in

APPEALS = str(Path(sys.executable).with_name("appeals"))


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


def test_messages_lose_their_query_values() -> None:
    assert redact_text("Error handling request GET /queue?q=Zebulon+Q") == (
        "Error handling request GET /queue?q=…"
    )
    logger = RedactingLogger.__new__(RedactingLogger)
    message, args = logger._clean(
        "Invalid request from ip=10.0.0.9: Invalid HTTP request line: 'GET /queue?q=Zebulon Q'",
        (),
    )
    assert "Zebulon" not in str(message) and "10.0.0.9" in str(message)
    message, args = logger._clean("Error handling request %s %s", ("GET", "/queue?q=Zebulon"))
    assert args == ("GET", "/queue?q=…")


def test_the_access_log_line_has_no_search_and_no_referrer() -> None:
    logger = RedactingLogger.__new__(RedactingLogger)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/queue?q=Zebulon&status=new",
        "PATH_INFO": "/queue",
        "QUERY_STRING": "q=Zebulon&status=new",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "http://x/queue?q=Quixote",
        "REMOTE_ADDR": "127.0.0.1",
    }
    request = SimpleNamespace(headers=[("REFERER", "http://x/queue?q=Quixote")])
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    line = ACCESS_LOG_FORMAT % {k: atoms.get(k, "-") for k in "htrsbM"}
    assert '"GET /queue?q=…&status=… HTTP/1.1" 200' in line
    assert all("Zebulon" not in str(v) and "Quixote" not in str(v) for v in atoms.values())
    assert "%(f)s" not in ACCESS_LOG_FORMAT and "%(a)s" not in ACCESS_LOG_FORMAT


def test_settings_are_bounded_and_come_from_the_environment() -> None:
    default = ServerSettings.from_env({})
    assert default.workers == 2 * (os.cpu_count() or 1) + 1 and default.threads == 4
    assert default.worker_connections > default.threads
    assert 0 < default.read_timeout <= 60 and 0 < default.keepalive <= 30
    chosen = ServerSettings.from_env(
        {"APPEALS_WORKERS": "3", "APPEALS_THREADS": "4", "APPEALS_READ_TIMEOUT": "7"}
    )
    assert (chosen.workers, chosen.threads, chosen.read_timeout) == (3, 4, 7)
    for variable, value in (
        ("APPEALS_THREADS", "0"),
        ("APPEALS_THREADS", "1000"),
        ("APPEALS_WORKERS", "many"),
    ):
        with pytest.raises(SettingError, match=variable):
            ServerSettings.from_env({variable: value})
    assert ServerSettings.from_env({"APPEALS_THREADS": "  "}).threads == default.threads  # blank
    with pytest.raises(SettingError, match="APPEALS_MAX_CONNECTIONS"):
        ServerSettings.from_env({"APPEALS_THREADS": "8", "APPEALS_MAX_CONNECTIONS": "8"})
    assert all(s.variable.startswith("APPEALS_") and s.meaning for s in SETTINGS.values())


def test_gunicorn_runs_our_bounded_worker_without_a_control_socket(app: Flask) -> None:
    settings = ServerSettings.from_env({"APPEALS_WORKERS": "2", "APPEALS_THREADS": "4"})
    options = options_for(app, "127.0.0.1", 5000, settings)
    assert options["worker_class"] is ReadTimeoutWorker
    assert (options["workers"], options["threads"]) == (2, 4)
    assert options["worker_connections"] == settings.worker_connections
    assert options["logger_class"] is RedactingLogger
    assert options["control_socket_disable"] is True
    assert options["forwarded_allow_ips"] == ""  # ProxyFix decides what to believe


# --- the real server ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(
    database_url: str, engine: Engine, world: World, tmp_path: Path
) -> Iterator[SimpleNamespace]:
    """`appeals serve` on the test database, 1 worker × 2 threads, short timeouts; started
    after an upload job was left unfinished by an earlier run of the server."""
    with Session(engine) as session:
        session.add(
            UploadJob(id="a" * 32, user_id=world.users["specialist"], host=jobs.host_name())
        )
        session.add(UploadJobFile(job_id="a" * 32, name="big.835", size=100, state="importing"))
        session.commit()
    port = _free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "APPEALS_INSTANCE": str(tmp_path / "instance"),
        "APPEALS_WORKERS": "1",
        "APPEALS_THREADS": "2",
        "APPEALS_READ_TIMEOUT": "1",
        "APPEALS_KEEPALIVE": "120",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [APPEALS, "serve", "--port", str(port)], env=env, stdout=output, stderr=output
        )
    try:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail(f"the server stopped: {log.read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=5):
                    break
            except OSError:
                time.sleep(0.2)
        yield SimpleNamespace(port=port, log=log, process=process)
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.mark.slow
def test_the_server(server: SimpleNamespace, engine: Engine, app: Flask) -> None:
    port = server.port
    # No version banner.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login?q=Zebulon", timeout=30) as r:
        banner = r.headers.get("Server", "")
        assert r.status == 200
    assert not any(ch.isdigit() for ch in banner)
    assert "werkzeug" not in banner.lower() and "python" not in banner.lower()

    # Forty connections that send nothing (more than the 2 threads, kept open 120 s) do not
    # stand between a request and its answer: they wait in the poller, not in a thread.
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=60) as r:
            assert r.status == 200
        # A client that stops in the middle of its request is disconnected (read timeout 1 s).
        with socket.create_connection(("127.0.0.1", port)) as stalled:
            stalled.sendall(b"GET /auth/login HTTP/1.1\r\nHost: example\r\n")
            stalled.settimeout(60)
            assert stalled.recv(100) == b""
        for sock in idle:  # the silent ones are still open: nothing had to close them
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
    finally:
        for sock in idle:
            sock.close()

    # The request log has the path and the names of the parameters, never the values.
    log = server.log.read_text(errors="replace")
    assert "GET /auth/login?q=… HTTP/1.1" in log
    assert "Zebulon" not in log

    # The upload job left unfinished before the start is failed with the reason ...
    with Session(engine) as session:
        job = session.get(UploadJob, "a" * 32)
        assert job is not None and job.finished_at is not None
        assert job.error == jobs.RESTARTED
    # ... and its page says so.
    client = log_in(app.test_client(), "specialist")
    page = client.get(f"/imports/jobs/{'a' * 32}").get_data(as_text=True)
    assert "the server restarted during the import" in page
    assert 'data-done="true"' in page and 'data-file-state="failed"' in page


# --- behind a reverse proxy --------------------------------------------------------------


def _proxy_app(database_url: str, seen: list[tuple[str, str]], **config: object) -> Flask:
    """The app as configured, noting each request's client address and scheme in `seen`."""
    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test", **config}
    )

    @app.after_request
    def note(response: Response) -> Response:
        seen.append((request.remote_addr or "", request.scheme))
        return response

    return app


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_are_believed_only_for_the_configured_hops(
    database_url: str, engine: Engine
) -> None:
    seen: list[tuple[str, str]] = []
    off = _proxy_app(database_url, seen).test_client()
    response = off.get("/auth/login", headers=FORWARDED)
    assert seen[-1] == ("127.0.0.1", "http")
    assert "Strict-Transport-Security" not in response.headers

    behind = _proxy_app(database_url, seen, PROXY_HOPS=1, PREFERRED_URL_SCHEME="https")
    response = behind.test_client().get("/auth/login", headers=FORWARDED)
    assert seen[-1] == ("203.0.113.9", "https")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    plain = behind.test_client().get("/auth/login", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers  # HSTS only over HTTPS

    with pytest.raises(SettingError, match="APPEALS_PROXY_HOPS must be a whole number"):
        _proxy_app(database_url, seen, PROXY_HOPS="two")
    with pytest.raises(SettingError, match="APPEALS_PROXY_HOPS must be from 0 to 10"):
        _proxy_app(database_url, seen, PROXY_HOPS=11)
