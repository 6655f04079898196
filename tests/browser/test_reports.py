"""The monthly recovery report in a real headless Chromium: chart, a filter, the CSV link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import logged_in
from tests.web.conftest import World

pytestmark = pytest.mark.browser


@pytest.fixture
def manager_page(live_server: str) -> Iterator:  # type: ignore[type-arg]
    options = {"viewport": {"width": 1366, "height": 800}, "accept_downloads": True}
    with logged_in(live_server, "manager", **options) as page:
        yield page


def test_monthly_recovery_chart_filter_and_csv(manager_page, world: World) -> None:  # type: ignore[no-untyped-def]
    page = manager_page
    page.click("header.topbar a:text('Reports')")
    page.wait_for_url("**/reports/")
    chart = page.locator("#recovery-chart svg")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 400  # type: ignore[index]
    assert page.locator("#recovery-chart svg rect[fill='#1e3a8a']").count() >= 1  # recovered bars
    denied = page.locator("[data-figure=denied] .figure-value")
    expect(denied).to_have_attribute("data-value", "1925.00")

    page.select_option("#report-filters select[name=payer]", str(world.acme))
    page.click("#report-filters button[type=submit]")
    expect(page).to_have_url(re.compile(rf"payer={world.acme}"))
    expect(denied).to_have_attribute("data-value", "450.00")
    expect(page.locator("#recovery-chart svg")).to_be_visible()

    with page.expect_download() as download:
        page.click("#table-months a.csv-link")
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0].startswith("month,denials,denied,recovered,rate")
    assert sum(float(line.split(",")[2]) for line in text.splitlines()[1:]) == 450.0

    # on a laptop screen, a practice's eight-figure total stays on one line inside its card
    fits = page.eval_on_selector_all(
        ".figure-value",
        """els => els.map(e => {
            e.textContent = '$99,999,999.00';
            const size = parseFloat(getComputedStyle(e).fontSize);
            return e.getBoundingClientRect().height < 2 * size
                && e.getBoundingClientRect().right <= e.parentElement.getBoundingClientRect().right;
        })""",
    )
    assert fits and all(fits)
