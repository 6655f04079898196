"""The monthly recovery report in a real headless Chromium: chart, a filter, the CSV link."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_workbench import ARGS, CHROMIUM, live_server  # noqa: F401
from tests.web.conftest import PASSWORD, World

pytestmark = pytest.mark.browser


@pytest.fixture
def manager_page(live_server: str) -> Iterator:  # type: ignore[type-arg]  # noqa: F811
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            viewport={"width": 1366, "height": 800}, accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{live_server}/auth/login")
        page.fill("input[name=username]", "manager")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/queue")
        yield page
        context.close()
        browser.close()
        assert problems == []


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
