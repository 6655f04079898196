"""Upkeep without cron: the first request of a day recomputes every open priority, and a
successful save brings the report aggregates it made stale up to date.

Deadline urgency is part of the priority, so it goes stale as days pass; and when enough new
outcomes have arrived since the recovery model was last trained, it is trained again first.
The work runs in a background thread (the request that noticed the new day does not wait for
it); several workers may notice at once, and `ranking.claim_daily_rescore` lets only one of
them do it. Report cells a save marked stale are recomputed in the background too, one refresh
at a time per process, so the manager's next report view reads ready cells.
"""

from __future__ import annotations

import threading
from datetime import date

from flask import Flask, Response, current_app, request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appeals import ranking
from appeals.reports import aggregates
from appeals.web import get_engine
from appeals.web.errors import log_failure


def today() -> date:
    return date.today()


def rescore(engine: Engine, day: date) -> None:
    """Rescore once for `day` unless another worker or the cron command already has."""
    try:
        with Session(engine) as session:
            ranking.rescore_daily(session, day, retrain=True)
    except Exception as error:  # a failed rescore must not take the app down; tried tomorrow
        log_failure("daily rescore", error)
    refresh_reports(engine)


_refreshing = threading.Lock()


def refresh_reports(engine: Engine) -> None:
    """Recompute stale report cells unless this process is already doing it (that run, or the
    next save's, picks up what is marked meanwhile)."""
    if not _refreshing.acquire(blocking=False):
        return
    try:
        aggregates.refresh_stale(engine, today())
    except Exception as error:  # the next report view recomputes what is still stale
        log_failure("report refresh", error)
    finally:
        _refreshing.release()


# Saves here never touch what reports count (an upload job refreshes the cells at its end).
_NO_REPORT_DATA = frozenset({"auth", "admin", "imports"})


def _after_save(response: Response) -> Response:
    if (
        request.method == "POST"
        and response.status_code < 400
        and request.blueprint not in _NO_REPORT_DATA
        and not current_app.testing
    ):
        threading.Thread(target=refresh_reports, args=(get_engine(),), daemon=True).start()
    return response


def _check_day() -> None:
    day = today()
    state = current_app.extensions.setdefault("appeals.rescored_on", {"day": None})
    if state["day"] == day:
        return
    state["day"] = day
    engine = get_engine()
    if current_app.testing:
        rescore(engine, day)
    else:
        threading.Thread(target=rescore, args=(engine, day), daemon=True).start()


def init_app(app: Flask) -> None:
    app.before_request(_check_day)
    app.after_request(_after_save)
