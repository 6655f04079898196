"""Reason groups: open denials by CARC, CARC + RARC and category, each linking to the queue."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, Flask, Response, url_for

from appeals.grouping import Group, reason_groups
from appeals.web import get_session
from appeals.web.auth import me
from appeals.web.htmx import render_page_or_partial

bp = Blueprint("reasons", __name__, url_prefix="/reasons")

VIEWS = {"carc": "By CARC", "carc-rarc": "By CARC + RARC", "category": "By category"}


@dataclass(frozen=True)
class GroupRow:
    group: Group
    recovery_rate: float | None  # over every denial of the group ever decided, not just open ones
    url: str


def queue_args(by: str, key: str) -> dict[str, str]:
    """The queue filters that show exactly one group ("CO-16 + N350" → group, carc and rarc).

    The groups count open denials whatever their deadline, so the link shows every deadline.
    """
    if by == "category":
        return {"category": key, "view": "all"}
    reason, _, remark = key.partition(" + ")
    group_code, _, carc = reason.partition("-")
    args = {"group": group_code, "carc": carc, "view": "all"}
    if by == "carc-rarc":
        args["rarc"] = remark or "none"
    return args


def rows() -> dict[str, list[GroupRow]]:
    """Each view's open groups with their all-time recovery rate, from the report aggregates."""
    groups = reason_groups(get_session(), practice_id=me().practice_id)
    return {
        by: [
            GroupRow(
                r.group, r.recovery_rate, url_for("queue.index", **queue_args(by, r.group.key))
            )
            for r in groups[by]
        ]
        for by in VIEWS
    }


@bp.get("/")
def index() -> Response:
    """Open denials grouped three ways, with count, dollars and historical recovery rate."""
    groups = rows()
    totals = {
        by: (sum(r.group.count for r in items), sum((r.group.denied for r in items), Decimal("0")))
        for by, items in groups.items()
    }
    return render_page_or_partial(
        "reasons/index.html", "reasons/index.html", groups=groups, views=VIEWS, totals=totals
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
