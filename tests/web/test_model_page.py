"""The recovery model page: managers see the live ranker and its figures; training from it."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from classifiers import model as recovery_model
from tests.web.conftest import World


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_specialists_may_not_see_it(specialist: FlaskClient, world: World) -> None:
    assert specialist.get("/model/").status_code == 403
    assert specialist.post("/model/train").status_code == 403


def test_before_any_training_the_prior_ranks(manager: FlaskClient, world: World) -> None:
    queue = soup(manager.get("/queue"))
    assert queue.select_one("#ranked-by")["data-live"] == "prior"
    assert "smoothed prior" in queue.select_one("#ranked-by").get_text()
    page = soup(manager.get("/model/"))
    assert page.select_one("#live-ranker")["data-live"] == "prior"
    assert "are needed" in page.select_one("#model-status").get_text()


def test_training_with_too_few_outcomes_says_so(manager: FlaskClient, world: World) -> None:
    response = manager.post("/model/train")
    assert response.status_code == 303
    page = soup(manager.get("/model/"))
    assert "Not trained" in page.select_one("#flashes").get_text()


def test_a_saved_card_shows_its_figures_and_charts(
    manager: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = {
        "scores": {
            "model": {"auc": 0.78, "average_precision": 0.6, "brier": 0.18, "ece": 0.03,
                      "ece_floor": 0.021, "n": 400, "positives": 150},
            "prior": {"auc": 0.72, "average_precision": 0.5, "brier": 0.2, "ece": 0.05, "n": 400,
                      "positives": 150},
        },
        "by_payer_type": {"medicare": {"model": {"auc": 0.8, "ece": 0.04, "n": 90}}},
        "dollars": {"model": {"10%": 9000.0, "25%": 15000.0},
                    "oldest first": {"10%": 4000.0, "25%": 9000.0}},
        "calibration": {"model": [[0.2, 0.22, 100], [0.6, 0.58, 80]]},
        "gains": {"model": [0.0, 0.5, 1.0]},
    }  # fmt: skip
    card = recovery_model.Card(
        "2026-12-01T08:00:00+00:00", 1600, 0.37, [], "2026-06-01", {}, "model",
        "the model beat the smoothed prior", evaluation=report, calibration="5-fold isotonic",
    )  # fmt: skip
    monkeypatch.setattr(recovery_model, "latest_card", lambda folder: card)
    page = soup(manager.get("/model/"))
    assert page.select_one("#live-ranker")["data-live"] == "model"
    assert page.select_one("#calibration-method").get_text() == "calibrated by 5-fold isotonic"
    queue = soup(manager.get("/queue"))
    assert "trained recovery model, trained 2026-12-01" in queue.select_one("#ranked-by").get_text()
    cells = [td.get_text() for td in page.select("tr[data-ranker=model] td")]
    assert cells == ["Trained model", "0.780", "0.600", "0.180", "0.030", "0.021", "400"]
    # a card saved before the noise floor was measured shows a dash there
    assert [td.get_text() for td in page.select("tr[data-ranker=prior] td")][5] == "—"
    assert "2.25" in page.select_one("tr[data-order=model]").get_text()  # 9000 / 4000
    assert page.select_one("#calibration-chart svg title").get_text().startswith("Calibration")
    assert page.select_one("#lift-chart svg") is not None
