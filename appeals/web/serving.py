"""The web server for `appeals serve` and `appeals demo`: gunicorn with threaded workers.

Chosen by measurement on a 2-core machine (docs/deployment.md has the figures): a page is
mostly Python work (queries, templates), so one process is bound to one core by the GIL
(werkzeug's development server and waitress both are); gunicorn's `gthread` workers are several
processes, each with a bounded pool of threads. Everything is configured by environment
variables (`SETTINGS`, documented in docs/deployment.md):

- workers × threads bound the requests served at once; `worker_connections` bounds the open
  connections per worker (more wait in the listen backlog);
- a connection that sends nothing is parked in the worker's poller, never holding a thread, and
  closed after the keep-alive time; a client that stops sending its request (or reading the
  response) for `APPEALS_READ_TIMEOUT` seconds is disconnected (`ReadTimeoutWorker`);
- the `Server` header names no version; the request log replaces query values with `…`
  (a queue search can be a patient's name) and leaves out the referrer, whose URL can carry
  one too (`RedactingLogger`);
- the app sits behind `APPEALS_PROXY_HOPS` reverse proxies (werkzeug's `ProxyFix`, off by
  default) and sends HSTS when it is served over HTTPS (`init_app`).

Job state lives in the database (appeals.web.jobs): at start the server marks its host's
unfinished upload jobs failed ("the server restarted during the import"), and the master marks
a worker's unfinished jobs failed when that worker exits.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import selectors
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, Response, request
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.middleware.proxy_fix import ProxyFix

from appeals import db

# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One server setting read from the environment."""

    variable: str
    default: int
    minimum: int
    maximum: int
    meaning: str


SETTINGS: dict[str, Setting] = {
    "workers": Setting(
        "APPEALS_WORKERS", 0, 0, 64, "worker processes; 0 = two per CPU core, plus one"
    ),
    "threads": Setting("APPEALS_THREADS", 4, 1, 64, "threads per worker: requests served at once"),
    "worker_connections": Setting(
        "APPEALS_MAX_CONNECTIONS", 200, 2, 10000, "open connections per worker"
    ),
    "backlog": Setting("APPEALS_BACKLOG", 256, 16, 4096, "connections waiting to be accepted"),
    "read_timeout": Setting(
        "APPEALS_READ_TIMEOUT",
        20,
        1,
        3600,
        "seconds a client may stall while sending a request or reading a response",
    ),
    "keepalive": Setting(
        "APPEALS_KEEPALIVE", 5, 1, 300, "seconds an idle connection (or one not yet sending) lives"
    ),
    "timeout": Setting(
        "APPEALS_WORKER_TIMEOUT", 60, 10, 3600, "seconds before a hung worker is restarted"
    ),
    "graceful_timeout": Setting(
        "APPEALS_GRACEFUL_TIMEOUT", 30, 1, 3600, "seconds to finish requests when stopping"
    ),
    "limit_request_line": Setting(
        "APPEALS_MAX_REQUEST_LINE", 8190, 1024, 8190, "longest request line (URL) in bytes"
    ),
}


class SettingError(ValueError):
    """An environment variable with a value the server cannot use (its name is in the text)."""


def whole_number(variable: str, value: object, default: int, minimum: int, maximum: int) -> int:
    """`value` (text from the environment, or a number from the app's config; empty or None for
    `default`) as a whole number from `minimum` to `maximum`; else SettingError naming
    `variable`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise SettingError(f"{variable} must be a whole number") from None
    if not minimum <= number <= maximum:
        raise SettingError(f"{variable} must be from {minimum} to {maximum}")
    return number


@dataclass(frozen=True)
class ServerSettings:
    workers: int
    threads: int
    worker_connections: int
    backlog: int
    read_timeout: int
    keepalive: int
    timeout: int
    graceful_timeout: int
    limit_request_line: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """The settings from `environ` (default `os.environ`); raises SettingError."""
        environ = os.environ if environ is None else environ
        values = {
            name: whole_number(
                setting.variable,
                environ.get(setting.variable),
                setting.default,
                setting.minimum,
                setting.maximum,
            )
            for name, setting in SETTINGS.items()
        }
        if values["workers"] == 0:
            # A worker runs Python on one core at a time and waits while the database works:
            # 2 x 4 + 1 on two cores served 12 % more pages a second on PostgreSQL than one
            # worker per core with 8 threads (as many on SQLite); docs/deployment.md.
            values["workers"] = 2 * (os.cpu_count() or 1) + 1
        if values["worker_connections"] <= values["threads"]:
            raise SettingError("APPEALS_MAX_CONNECTIONS must be more than APPEALS_THREADS")
        return cls(**values)

    def gunicorn_options(self) -> dict[str, Any]:
        """gunicorn's configuration for these settings."""
        options: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        del options["read_timeout"]  # ours (ReadTimeoutWorker), not gunicorn's
        return options


# --- the request log ------------------------------------------------------------------------


def redact_query(target: str) -> str:
    """A request target with every query value replaced: `/queue?q=…&page=…`."""
    parts = urlsplit(target)
    if not parts.query:
        return target
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return parts.path + "?" + "&".join(f"{name}=…" for name in names)


_QUERY_IN_TEXT = re.compile(r"\?\S*")


def redact_text(text: str) -> str:
    """Any query string inside a message (`GET /queue?q=Smith HTTP/1.1`) redacted."""
    return _QUERY_IN_TEXT.sub(lambda m: redact_query("/" + m.group(0))[1:], text)


class RedactingLogger(Logger):
    """gunicorn's logger, with no query value, referrer or raw request line in any message."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        target = redact_query(environ.get("RAW_URI") or environ.get("PATH_INFO") or "")
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {target} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = redact_query("/?" + (environ.get("QUERY_STRING") or ""))[2:]
        atoms["f"] = "-"
        # Request headers ({referer}i) and environ ({query_string}e) atoms may carry a search.
        return {k: v for k, v in atoms.items() if not k.startswith("{")}

    def _clean(self, msg: object, args: tuple[object, ...]) -> tuple[object, tuple[object, ...]]:
        if isinstance(msg, str) and msg.startswith("Invalid request from ip="):
            # gunicorn quotes the malformed request line: keep only who sent it.
            return msg.split(": ", 1)[0] + ": malformed request (not logged)", ()
        return (
            redact_text(msg) if isinstance(msg, str) else msg,
            tuple(redact_text(a) if isinstance(a, str) else a for a in args),
        )

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, TimeoutError):
            self.info("client stalled for over the read timeout: connection closed")
            return
        msg, args = self._clean(msg, args)
        super().exception(msg, *args, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        msg, args = self._clean(msg, args)
        super().error(msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        msg, args = self._clean(msg, args)
        super().warning(msg, *args, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        msg, args = self._clean(msg, args)
        super().info(msg, *args, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        msg, args = self._clean(msg, args)
        super().debug(msg, *args, **kwargs)


ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'


# --- the worker -----------------------------------------------------------------------------


class _ReadTimeoutSocket(socket.socket):
    """A client socket whose blocking mode has a timeout.

    gunicorn's thread worker switches a connection to blocking mode (no timeout) once its first
    bytes arrive; a client that then stops sending would hold a thread for good. Here blocking
    mode means "block at most `read_timeout` seconds per read or write".
    """

    read_timeout: float = 20.0

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(self.read_timeout)
        else:
            super().setblocking(False)


class ReadTimeoutWorker(ThreadWorker):
    """gunicorn's `gthread` worker, changed so that no silent client holds a thread.

    - A new connection waits in the worker's poller until its first bytes arrive (closed after
      the keep-alive time if none do), instead of in a pool thread: gunicorn waits 5 s there,
      so a few hundred connections that send nothing would stall every request behind them.
    - Once it is sending, every read and write has a timeout (`_ReadTimeoutSocket`).
    """

    read_timeout: float = 20.0  # set from APPEALS_READ_TIMEOUT before the workers fork

    def accept(self, listener: socket.socket) -> None:
        try:
            accepted, address = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        client = _ReadTimeoutSocket(
            accepted.family, accepted.type, accepted.proto, fileno=accepted.detach()
        )
        client.read_timeout = self.read_timeout
        self.nr_conns += 1
        conn = TConn(self.cfg, client, address, listener.getsockname())  # non-blocking now
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )


# --- the server -----------------------------------------------------------------------------


class AppealsServer(BaseApplication):
    """gunicorn running the already-created Flask app (created once, before the fork)."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        assert self.cfg is not None
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def _post_fork(_server: Any, _worker: Any) -> None:
    db.reset_after_fork()


def options_for(app: Flask, host: str, port: int, settings: ServerSettings) -> dict[str, Any]:
    """The complete gunicorn configuration for `app` on `host:port`."""
    from appeals.web import jobs
    from appeals.web.imports import upload_folder

    url = app.config["DATABASE_URL"]
    folder = upload_folder(app)

    def child_exit(_server: Any, worker: Any) -> None:
        # In the master: a worker ended (crash, timeout, restart); its imports cannot go on.
        try:
            jobs.fail_unfinished(
                db.get_engine(url), jobs.WORKER_STOPPED, pid=worker.pid, upload_folder=folder
            )
        except Exception as error:  # the master must survive a database outage
            logging.getLogger(__name__).warning(
                "could not mark the stopped worker's imports failed (%s)", type(error).__name__
            )

    return {
        **settings.gunicorn_options(),
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "worker_class": ReadTimeoutWorker,
        "logger_class": RedactingLogger,
        "accesslog": "-",
        "errorlog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "proc_name": "appeals",
        "control_socket_disable": True,  # no control socket in the home folder
        "post_fork": _post_fork,
        "child_exit": child_exit,
        # Forwarded headers are ProxyFix's job (APPEALS_PROXY_HOPS), not gunicorn's.
        "forwarded_allow_ips": "",
    }


def serve(app: Flask, host: str, port: int, settings: ServerSettings | None = None) -> None:
    """Run `app` on gunicorn until stopped (Ctrl+C or SIGTERM)."""
    from appeals.web import jobs
    from appeals.web.imports import upload_folder

    settings = settings or ServerSettings.from_env()
    engine = db.get_engine(app.config["DATABASE_URL"])
    jobs.fail_unfinished(engine, jobs.RESTARTED, upload_folder=upload_folder(app))
    ReadTimeoutWorker.read_timeout = settings.read_timeout
    db.dispose_all()  # no connection may be shared with the forked workers
    AppealsServer(app, options_for(app, host, port, settings)).run()


# --- behind a reverse proxy -----------------------------------------------------------------


def init_app(app: Flask) -> None:
    """ProxyFix for `APPEALS_PROXY_HOPS` proxies, and HSTS when served over HTTPS.

    `APPEALS_PROXY_HOPS` (default 0: off) is how many proxies in front of the app set
    `X-Forwarded-For`/`-Proto`/`-Host`/`-Port`; only that many values are believed, so a
    client cannot fake its address (the login limits count per address) or the scheme.
    HSTS (`APPEALS_HSTS_SECONDS`, default one year, 0 = off) is sent on HTTPS requests when the
    app is configured for HTTPS (`APPEALS_PREFERRED_URL_SCHEME=https`).
    """
    hops = _config_int(app, "PROXY_HOPS", 0, 0, 10)
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    hsts = _config_int(app, "HSTS_SECONDS", 31536000, 0, 63072000)
    if app.config.get("PREFERRED_URL_SCHEME") != "https" or not hsts:
        return

    @app.after_request
    def strict_transport_security(response: Response) -> Response:
        if request.is_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={hsts}; includeSubDomains"
            )
        return response


def _config_int(app: Flask, key: str, default: int, minimum: int, maximum: int) -> int:
    """`APPEALS_<key>` as loaded into the config (from_prefixed_env parses numbers)."""
    return whole_number(f"APPEALS_{key}", app.config.get(key), default, minimum, maximum)
