"""The Reports pages: managers only, practice scope, filters with errors by field, CSV, htmx."""

from __future__ import annotations

import csv
import io

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlmodel import Session

from appeals.models import Practice
from tests.factories import make_payer
from tests.web.conftest import HTMX, World, add_denial

PAGES = ("/reports/", "/reports/sources", "/reports/kpis", "/reports/appeals", "/reports/team")
# Practice A's denials in the world: Mohs $900, excision $300, auth $150, cosmetic $75, won $500.
PRACTICE_A = "1925.00"


def figure(client: FlaskClient, url: str, key: str) -> str:
    soup = BeautifulSoup(client.get(url).get_data(as_text=True), "html.parser")
    node = soup.select_one(f"[data-figure={key}] .figure-value")
    assert node is not None, url
    return str(node["data-value"])


@pytest.mark.parametrize("url", PAGES)
def test_each_page_shows_figures_with_formulas_and_tables(manager: FlaskClient, url: str) -> None:
    response = manager.get(url)
    assert response.status_code == 200
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert soup.select("[data-figure]"), "headline figures"
    assert all(f.select_one(".formula") for f in soup.select("[data-figure]"))
    tables = soup.select("table[data-table]")
    assert tables
    for table in tables:
        link = soup.select_one(f"#table-{table['data-table']} a.csv-link")
        assert link is not None and "format=csv" in link["href"]
    assert soup.select_one("nav.report-tabs a[aria-current=page]") is not None


@pytest.mark.parametrize("url", PAGES)
def test_specialists_are_refused(specialist: FlaskClient, url: str) -> None:
    assert specialist.get(url).status_code == 403


def test_login_required(anonymous: FlaskClient, world: World) -> None:
    response = anonymous.get("/reports/kpis")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_nav_link_for_managers_only(manager: FlaskClient, specialist: FlaskClient) -> None:
    assert 'href="/reports/"' in manager.get("/queue").get_data(as_text=True)
    assert 'href="/reports/"' not in specialist.get("/queue").get_data(as_text=True)


def test_monthly_page_has_the_chart(manager: FlaskClient) -> None:
    soup = BeautifulSoup(manager.get("/reports/").get_data(as_text=True), "html.parser")
    svg = soup.select_one("#recovery-chart svg")
    assert svg is not None and svg.find("title").text == "Denied and recovered dollars by month"
    assert soup.select_one("table[data-table=by_payer]") is not None


def test_a_practice_manager_sees_only_their_practice(manager: FlaskClient, world: World) -> None:
    assert figure(manager, "/reports/", "denied") == PRACTICE_A
    # Asking for the other practice changes nothing, and there is no practice picker.
    assert figure(manager, f"/reports/?practice={world.practice_b}", "denied") == PRACTICE_A
    page = manager.get("/reports/").get_data(as_text=True)
    assert 'name="practice"' not in page and "Other Skin Clinic" not in page


def test_an_admin_rolls_up_or_picks_a_practice(admin: FlaskClient, world: World) -> None:
    assert figure(admin, "/reports/", "denied") == "2924.00"
    assert figure(admin, f"/reports/?practice={world.practice_b}", "denied") == "999.00"
    assert 'name="practice"' in admin.get("/reports/").get_data(as_text=True)


def test_filters_by_payer_and_breakdown(manager: FlaskClient, world: World) -> None:
    assert figure(manager, f"/reports/?payer={world.acme}", "denied") == "450.00"
    soup = BeautifulSoup(manager.get("/reports/?by=category").get_data(as_text=True), "html.parser")
    assert soup.select_one("table[data-table=by_category]") is not None


def test_bad_filter_values_are_errors_by_field_not_500(manager: FlaskClient) -> None:
    response = manager.get("/reports/?from=2026-02-30&to=soon&payer=acme&basis=x&by=nope")
    assert response.status_code == 422
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    for name in ("from", "to", "payer", "basis", "by"):
        assert soup.select_one(f"#{name}-error") is not None, name
    assert soup.select_one("[data-figure=denied]") is not None  # the default period still shows
    assert manager.get("/reports/?from=2027-01-01&to=2026-01-01").status_code == 422
    assert manager.get("/reports/kpis?to=x&format=csv").status_code == 400
    assert manager.get("/reports/?format=csv&table=nothing").status_code == 404


def test_csv_export_of_a_table(manager: FlaskClient, world: World, session: Session) -> None:
    payer = make_payer(session, "commercial", '=HYPERLINK("http://x")')
    practice = session.get(Practice, world.practice_a)
    add_denial(session, practice, payer, last="Formula", account="ACC900", amount="42.00")
    session.commit()
    response = manager.get("/reports/?format=csv&table=by_payer")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by_payer = {r["key"]: r for r in rows}
    assert by_payer["Medicare JK"]["denied"] == "1475.00"  # 900 + 75 + 500
    assert by_payer['\'=HYPERLINK("http://x")']["denied"] == "42.00"
    months = manager.get("/reports/?format=csv").get_data(as_text=True).splitlines()
    assert months[0].startswith("month,denials,denied,recovered,rate")


@pytest.mark.parametrize("url", PAGES)
def test_every_table_downloads(manager: FlaskClient, url: str) -> None:
    soup = BeautifulSoup(manager.get(url).get_data(as_text=True), "html.parser")
    for link in soup.select("a.csv-link"):
        response = manager.get(link["href"])
        assert response.status_code == 200 and response.mimetype == "text/csv"


def test_htmx_gets_the_report_fragment(manager: FlaskClient) -> None:
    response = manager.get("/reports/sources", headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]
