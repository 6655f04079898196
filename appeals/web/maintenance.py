"""Daily upkeep without cron: the first request of a day recomputes every open priority.

Deadline urgency is part of the priority, so it goes stale as days pass; and when enough new
outcomes have arrived since the recovery model was last trained, it is trained again first.
The work runs in a background thread (the request that noticed the new day does not wait for
it); several workers may notice at once, and `ranking.claim_daily_rescore` lets only one of
them do it.
"""

from __future__ import annotations

import threading
from datetime import date

from flask import Flask, current_app
from sqlalchemy.engine import Engine
from sqlmodel import Session

from appeals import ranking
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
