"""The recovery model page for managers: which ranker is live, its holdout figures and charts.

Everything shown comes from the card the last training saved (no recomputation on a visit);
an admin or manager can retrain from here, which takes seconds on a practice's history.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, Response, flash, redirect, url_for
from markupsafe import Markup

from appeals import audit, model_report, ranking
from appeals.web import get_session
from appeals.web.auth import me, role_required
from appeals.web.htmx import render_page_or_partial
from classifiers import model as recovery_model
from classifiers import recovery
from classifiers.features import SETTLE

bp = Blueprint("model", __name__, url_prefix="/model")


@bp.get("/")
@role_required("manager")
def index() -> Response:
    """The live ranker, when and on what it was trained, and how it did on the newest outcomes."""
    db = get_session()
    card = recovery_model.latest_card(ranking.model_folder(db))
    report = card.evaluation if card else {}
    return render_page_or_partial(
        "model/index.html",
        "model/index.html",
        card=card,
        outcomes=recovery.outcome_count(db, date.today()),
        needed=recovery_model.MIN_OUTCOMES,
        settle_days=SETTLE.days,
        metrics=model_report.metric_rows(report),
        by_type=model_report.payer_type_rows(report),
        dollars=model_report.dollar_rows(report),
        report=report,
        # Our own SVG: every label in it is XML-escaped by appeals.charts.
        calibration=Markup(model_report.calibration_svg(report)) if report else "",
        lift=Markup(model_report.gains_svg(report)) if report else "",
        label=model_report.label,
    )


@bp.post("/train")
@role_required("manager")
def train() -> Response:
    """Train now on every outcome known; the model goes live only if it beats the prior."""
    db = get_session()
    try:
        card, _ = recovery.train(db, ranking.model_folder(db), date.today())
    except recovery_model.NotEnoughData as error:
        flash(f"Not trained: {error}. The smoothed prior keeps ranking.", "warning")
        return redirect(url_for("model.index"), 303)
    ranking.forget_context()
    ranking.rescore_open(db, date.today())
    audit.record(
        db, me().id, "train", "model", None, {"outcomes": card.outcomes, "live": card.live}
    )
    db.commit()
    flash(
        f"Trained on {card.outcomes:,} outcomes. Live ranker: {model_report.label(card.live)}.",
        "success",
    )
    return redirect(url_for("model.index"), 303)


def live_ranker() -> dict[str, str]:
    """Which ranker orders the queue (read from the saved card: one small file)."""
    card = recovery_model.latest_card(ranking.model_folder(get_session()))
    if card is None:
        return {"live": "prior", "trained_at": ""}
    return {"live": card.live, "trained_at": card.trained_at[:10]}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["live_ranker"] = live_ranker
