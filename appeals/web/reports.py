"""Reports for managers: monthly recovery (the headline, with its chart), sources, KPIs,
appeals and the team. One shared GET filter form (bookmarkable); every table as CSV.

A practice's manager sees only that practice; an admin for all practices rolls every practice
up or picks one. Figures come from `appeals.reports`, read from its monthly aggregates (the
cells a write made stale are recomputed first, so they always equal a count from scratch).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, request, url_for
from markupsafe import Markup

from appeals import charts, reports
from appeals.formatting import money
from appeals.web import get_session
from appeals.web.auth import me, role_required
from appeals.web.htmx import render_page_or_partial

bp = Blueprint("reports", __name__, url_prefix="/reports")


def today() -> date:
    return date.today()


def report_url(endpoint: str, filters: reports.ReportFilters, **extra: str) -> str:
    """A link to a report page (or its CSV) with these filters."""
    query = urlencode(filters.to_args() + list(extra.items()))
    return url_for(endpoint) + (f"?{query}" if query else "")


def narrow_url(endpoint: str, filters: reports.ReportFilters, link: dict[str, str]) -> str:
    """A link to the same report narrowed to one row (a payer, a provider)."""
    pairs = [(k, v) for k, v in filters.to_args() if k not in link] + list(link.items())
    return url_for(endpoint) + "?" + urlencode(pairs)


def _csv(report: reports.Report, key: str | None) -> Response:
    """One table of the report as CSV: raw numbers, text cells kept from running as formulas."""
    table = report.table(key or "") if key else report.tables[0]
    if table is None:
        abort(404)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(reports.csv_rows(table))
    response = Response(buffer.getvalue(), mimetype="text/csv")
    name = f"{report.key}-{table.key}-{report.filters.date_from}-{report.filters.date_to}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _chart(report: reports.Report) -> Markup | str:
    """Denied and recovered dollars per month with the recovery rate (our own escaped SVG)."""
    months = report.table("months")
    if months is None or not months.rows:
        return ""
    labels = [str(r[0]) for r in months.rows]
    denied = charts.Series("Denied", [(i, float(r[2])) for i, r in enumerate(months.rows)])
    back = charts.Series("Recovered", [(i, float(r[3])) for i, r in enumerate(months.rows)])
    line = charts.Series("Recovery rate", [(i, r[4] or 0.0) for i, r in enumerate(months.rows)])
    svg = charts.bars_and_line_chart(
        "Denied and recovered dollars by month", labels, [denied, back], line
    )
    return Markup(svg)  # every label is XML-escaped by appeals.charts


def _page(name: str) -> Response:
    """Parse the filters, build report `name`, answer with the page or one table as CSV."""
    db = get_session()
    user = me()
    filters = reports.ReportFilters.parse(request.args, scope=user.practice_id, today=today())
    report = reports.build(db, name, filters, today())
    if request.args.get("format") == "csv":
        if filters.errors:
            abort(400)
        return _csv(report, request.args.get("table"))
    return render_page_or_partial(
        "reports/page.html",
        "reports/_report.html",
        status=422 if filters.errors else 200,
        report=report,
        filters=filters,
        chart=_chart(report) if name == "monthly" else "",
        pages=reports.REPORTS,
        endpoint=f"reports.{name}",
        report_url=report_url,
        narrow_url=narrow_url,
        bases=reports.BASES,
        breakdowns=reports.BREAKDOWNS,
        payers=reports.payers(db, filters.practice),
        practices=reports.practices(db) if user.practice_id is None else [],
    )


@bp.get("/")
@role_required("manager")
def monthly() -> Response:
    """Monthly recovery: per month of denial, with the chart and a breakdown."""
    return _page("monthly")


@bp.get("/sources")
@role_required("manager")
def sources() -> Response:
    """Where denials come from, against the previous period; top root causes."""
    return _page("sources")


@bp.get("/kpis")
@role_required("manager")
def kpis() -> Response:
    """Key figures from the remittances."""
    return _page("kpis")


@bp.get("/appeals")
@role_required("manager")
def appeals() -> Response:
    """Overturn rate and days to decision by level and payer."""
    return _page("appeals")


@bp.get("/team")
@role_required("manager")
def team() -> Response:
    """Per person: denials worked, appeals sent, dollars recovered."""
    return _page("team")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.template_filter("report_value")
    def report_value(value: Any, kind: str) -> str:
        """A report cell for the page: money, rate, count or days."""
        if value is None:
            return "—"
        if kind == "money":
            return money(value)
        if kind == "rate":
            return f"{value:.1%}"
        if kind == "count":
            return f"{value:,}"
        if kind == "days":
            return f"{value:,.0f} d" if float(value).is_integer() else f"{value:,.1f} d"
        return str(value)
