"""The prioritized denial queue: filters in the URL, keyset pages, bulk actions, CSV export.

Open denials come in views by deadline (current, expired, any): tabs beside the title, each
keeping the other filters; the expired tab's count loads after the page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    request,
    url_for,
)
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from appeals import audit, queue, workflow
from appeals.denials import ACTIONS, CATEGORIES
from appeals.models import Payer, Payment, User
from appeals.web import get_engine, get_session, params
from appeals.web.auth import me
from appeals.web.errors import log_failure
from appeals.web.htmx import is_htmx, render_page_or_partial, trigger

bp = Blueprint("queue", __name__)

EXPORT_INCOMPLETE = "EXPORT INCOMPLETE: an error stopped the export here; export again"


def today() -> date:
    return date.today()


def queue_url(
    filters: queue.QueueFilters,
    endpoint: str = "queue.index",
    extra: dict[str, str] | None = None,
    **changes: Any,
) -> str:
    """A URL for these filters (the bookmarkable state of the view), plus `extra` arguments."""
    query = urlencode(filters.to_args(**changes) + list((extra or {}).items()))
    return url_for(endpoint) + (f"?{query}" if query else "")


# "Every denial matching the filters" takes at most this many at once (a batch of letters
# or a bulk change); the user is told when more matched.
MAX_SELECTED = 1000


def view_filters(text: str) -> queue.QueueFilters:
    """The queue filters kept as a query string (a form's `view`, a denial page's `queue`)."""
    return queue.QueueFilters.from_args(MultiDict(parse_qsl(text or "")))


def view_query(filters: queue.QueueFilters) -> str:
    """`queue=<the view's own query string>` for links to denial pages (once per page: a page
    links 50 denials to the same view)."""
    view = urlencode(filters.to_args())
    return urlencode({"queue": view}) if view else ""


def denial_url(denial_id: int, view: str = "") -> str:
    """A denial's page, carrying the queue view it was opened from (`view_query`: back link,
    next / previous)."""
    page = url_for("denials.detail", denial_id=denial_id)
    return f"{page}?{view}" if view else page


def selected_ids(form: MultiDict[str, str]) -> tuple[list[int], bool]:
    """The denial ids a bulk form chose: the checked rows, or with `all_matching` every denial
    the form's view matches (at most MAX_SELECTED). The flag says whether more matched."""
    if form.get("all_matching") == "1":
        filters = view_filters(form.get("view", ""))
        params.refuse_errors(filters.errors)  # never more denials than the filters asked for
        ids = queue.matching_ids(
            get_session(), filters, me().viewer, today(), limit=MAX_SELECTED + 1
        )
        return ids[:MAX_SELECTED], len(ids) > MAX_SELECTED
    return [int(i) for i in form.getlist("ids") if params.is_id(i)], False


def choices() -> dict[str, Any]:
    """Options for the filter and bulk-action controls, limited to the user's practice."""
    db = get_session()
    viewer = me().viewer
    payers = select(Payer.id, Payer.name).order_by(Payer.name)
    people = select(User.id, User.username).where(User.active).order_by(User.username)
    if viewer.practice_id is not None:
        # Payments are few (one per check or EFT); denials may be millions.
        payer_ids = select(Payment.payer_id).where(Payment.practice_id == viewer.practice_id)
        payers = payers.where(Payer.id.in_(payer_ids))  # type: ignore[union-attr]
        people = people.where(
            sa.or_(User.practice_id == viewer.practice_id, User.practice_id.is_(None))  # type: ignore[union-attr]
        )
    return {
        "payers": db.exec(payers).all(),
        "people": db.exec(people).all(),
        "categories": CATEGORIES,
        "actions": ACTIONS,
        "statuses": workflow.STATUSES,
        # Sent and decided statuses come from the Appeal panel, which records what they stand for.
        "bulk_statuses": {
            k: v for k, v in workflow.STATUSES.items() if k not in workflow.LIFECYCLE_HINTS
        },
        "views": queue.VIEWS,
        "sorts": queue.SORTS,
        "page_sizes": queue.PAGE_SIZES,
    }


def _render(filters: queue.QueueFilters, status: int = 200) -> Response:
    db = get_session()
    result = queue.page(
        db,
        filters,
        me().viewer,
        today(),
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    rows = queue.rows_for(db, result.ids)
    return render_page_or_partial(
        "queue/index.html",
        "queue/_results.html",
        status=status,
        filters=filters,
        rows=rows,
        page=result,
        today=today(),
        expired_advice=queue.EXPIRED_ADVICE,
        queue_url=queue_url,
        denial_url=denial_url,
        view_query=view_query,
        max_selected=MAX_SELECTED,
        **choices(),
    )


@bp.get("/")
def home() -> Response:
    """The queue is the home page (a filtered link to / keeps its filters)."""
    return redirect(url_for("queue.index", **request.args.to_dict(flat=False)))


@bp.get("/queue")
def index() -> Response:
    """The queue page, or its results table for htmx (filters, search, paging)."""
    return _render(queue.QueueFilters.from_args(request.args))


@bp.get("/queue/count")
def count() -> Response:
    """How many denials and dollars match the filters (loaded after the table)."""
    db = get_session()
    filters = queue.QueueFilters.from_args(request.args)
    viewer = me().viewer
    return render_page_or_partial(
        "queue/_count.html",
        "queue/_count.html",
        total=queue.count(db, filters, viewer, today()),
        dollars=queue.total_denied(db, filters, viewer, today()),
    )


@bp.get("/queue/view-count")
def view_count() -> Response:
    """How many denials match the filters in another view (the count on a view's tab)."""
    filters = queue.QueueFilters.from_args(request.args)
    total = queue.count(get_session(), filters, me().viewer, today())
    return render_page_or_partial("queue/_view_count.html", "queue/_view_count.html", total=total)


@bp.get("/queue/export.csv")
def export() -> Response:
    """Exactly the filtered rows (every page), as CSV."""
    db = get_session()
    filters = queue.QueueFilters.from_args(request.args)
    params.refuse_errors(filters.errors)  # never a file of more rows than the filters asked
    viewer = me().viewer
    detail = {
        "filters": sorted({k for k, _ in filters.to_args()} - {"q"}),
        "search": bool(filters.q),
    }
    audit.record(db, viewer.user_id, "export", "queue", None, detail)
    db.commit()
    day = today()
    engine = get_engine()

    def lines() -> Iterator[str]:
        # The rows stream after the view returns: a session of its own, closed at the end. An
        # error past this point cannot become an error page (the 200 is sent) and would reach
        # werkzeug's log with its message, so it is logged here without one and the file ends
        # with a line that says it is incomplete.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(queue.CSV_HEADER)
        try:
            with Session(engine) as stream:
                for cells in queue.export_rows(stream, filters, viewer, day):
                    writer.writerow(cells)
                    if buffer.tell() > 64 * 1024:
                        yield buffer.getvalue()
                        buffer.seek(0)
                        buffer.truncate()
        except Exception as error:
            log_failure("CSV export failed", error)
            writer.writerow([EXPORT_INCOMPLETE])
        yield buffer.getvalue()

    response = Response(lines(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="denials-{day}.csv"'
    return response


@bp.post("/queue/bulk")
def bulk() -> Response:
    """Assign or change the status of the checked denials, then show the same view again."""
    db = get_session()
    user = me()
    filters = view_filters(request.form.get("view", ""))
    ids, more = selected_ids(request.form)
    denials = queue.scoped_denials(db, user.viewer, ids)
    if more:
        flash(f"Only the first {MAX_SELECTED:,} matching denials were taken.", "warning")
    operation = request.form.get("operation", "")
    if not denials:
        flash("Select at least one denial first.", "warning")
    elif operation == "assign":
        assignee = _assignee(request.form.get("assignee", ""))
        try:
            changed = sum(workflow.assign(db, d, assignee, user.id) for d in denials)
        except workflow.AssignError:
            db.rollback()
            abort(400)
        flash(f"Assigned {changed} of {len(denials)} selected denials.", "success")
    elif operation == "status":
        new_status = request.form.get("status", "")
        if new_status not in workflow.STATUSES:
            abort(400)
        changed, refused = workflow.bulk_change_status(db, denials, new_status, user.id)
        label = workflow.label(new_status).lower()
        flash(f"Marked {changed} of {len(denials)} selected denials {label}.", "success")
        for message in refused[:5]:
            flash(message, "warning")
    else:
        abort(400)
    db.commit()
    if not is_htmx():
        return redirect(queue_url(filters), 303)
    return trigger(_render(filters), "queue-changed")


def _assignee(value: str) -> User | None:
    """The user to assign to: 'me', 'none', or a user id (workflow.assign checks who may be)."""
    if value == "none":
        return None
    ident = me().id if value == "me" else int(value) if params.is_id(value) else None
    user = get_session().get(User, ident) if ident is not None else None
    if user is None:
        abort(400)
    return user


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
