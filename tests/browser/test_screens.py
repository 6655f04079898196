"""The screens at a desktop width (1280 px) and a phone's (390 px): the queue, a denial, a letter
and a batch of letters, each without a script or console error (a Content-Security-Policy
violation is one) and with no serious or critical axe-core finding; the reports page too."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from appeals.models import Claim, Denial, Letter, Payer, Practice
from tests.browser.conftest import PHONE, WIDE, check_accessibility, logged_in, page_width
from tests.web.conftest import World, add_denial

pytestmark = pytest.mark.browser

SIZES = [pytest.param(WIDE, id="1280px"), pytest.param(PHONE, id="390px")]
DOC = {"diagnosis": "C44.311", "clinical_summary": "Biopsy-proven nodular BCC, 9 mm, left ala."}


@pytest.fixture(params=SIZES)
def viewport(request: pytest.FixtureRequest) -> dict[str, int]:
    return dict(request.param)


@pytest.fixture
def page(live_server: str, viewport: dict[str, int]) -> Iterator[Any]:
    with logged_in(live_server, "specialist", viewport=viewport) as page:
        yield page


def fits(page: Any, viewport: dict[str, int]) -> None:
    """The page is no wider than the screen (wide tables scroll inside their own box)."""
    assert page_width(page) <= viewport["width"], f"{page.url} is {page_width(page)} px wide"


def ready(session: Session, world: World, key: str = "mohs") -> Denial:
    """The 835 basics a letter needs: the member ID and the practice's signer."""
    denial = session.get(Denial, world.denials[key])
    assert denial is not None
    claim = session.get(Claim, denial.claim_id)
    practice = session.get(Practice, denial.practice_id)
    assert claim is not None and practice is not None
    claim.member_id = "1EG4TE5MK73"
    practice.signer_name = "Ana Ruiz"
    session.add_all([claim, practice])
    session.commit()
    return denial


def test_the_queue(page: Any, viewport: dict[str, int], world: World) -> None:
    fits(page, viewport)
    check_accessibility(page)
    # htmx adds no <style> of its own (the CSP allows none): its indicator rules are in app.css.
    assert page.evaluate("() => document.querySelectorAll('style').length") == 0
    # The first Tab reaches the skip link, which moves focus to the main content.
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # a visible focus indicator
    # The user menu and Sign out are on the screen at every width.
    page.click("header.topbar details.dropdown summary")
    sign_out = page.locator("header.topbar button:text('Sign out')").first
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    # Badges and pills are at least 12 px.
    sizes = page.locator(".status, mark.badge").evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes and min(sizes) >= 12
    # "first last" finds the patient as "last, first" does.
    page.keyboard.press("Escape")
    page.fill("#search", "Synthetic Alvarez")
    expect(page.locator("tr[data-denial-id]")).to_have_count(1)
    assert page.locator("tr[data-denial-id]").get_attribute("data-denial-id") == str(
        world.denials["mohs"]
    )
    fits(page, viewport)


def test_a_denial(page: Any, viewport: dict[str, int], world: World, live_server: str) -> None:
    d = world.denials
    page.goto(f"{live_server}/queue?payer={world.acme}&sort=amount")
    expect(page.locator("tr[data-denial-id]")).to_have_count(2)
    first = page.locator("tr[data-denial-id]").first.get_attribute("data-denial-id")
    assert first == str(d["excision"])
    page.locator("tr[data-denial-id] a.patient").first.click()
    page.wait_for_url(re.compile(rf"/denials/{first}\?queue="))
    fits(page, viewport)
    check_accessibility(page)
    # Status, letter and notes come before the documentation on a phone as on a desktop.
    top = {
        name: page.locator(selector).bounding_box()["y"]  # type: ignore[index]
        for name, selector in (
            ("status", "#workflow"),
            ("letter", "#letters-panel"),
            ("notes", "#notes"),
            ("documentation", "#documentation"),
        )
    }
    if viewport["width"] < 800:
        assert top["status"] < top["letter"] < top["notes"] < top["documentation"]
    # The claim's lines scroll inside their own box.
    wrap = page.locator("#claim-lines").locator("xpath=..")
    assert wrap.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    # Change with no move chosen changes nothing.
    page.click("#workflow form button[type=submit] >> text=Change")
    expect(page.locator("#current-status")).to_have_text("New")
    page.select_option("#workflow select[name=status]", "in_progress")
    page.click("#workflow form button[type=submit] >> text=Change")
    expect(page.locator("#current-status")).to_have_text("In progress")
    expect(page.locator("#history li[data-action=status]").first).to_contain_text(
        "moved it from New to In progress"
    )
    # Next denial in the same queue (one payer, by amount), then back to that queue.
    second = page.locator("#next-denial")
    expect(second).to_be_visible()
    second.click()
    page.wait_for_url(re.compile(rf"/denials/{d['auth']}\?queue="))
    assert page.locator("#case-header").get_attribute("data-denial-id") == str(d["auth"])
    expect(page.locator("#prev-denial")).to_be_visible()
    assert page.locator("#next-denial").count() == 0
    page.click("#back-to-queue")
    page.wait_for_url(re.compile(rf"/queue\?.*payer={world.acme}"))
    assert "sort=amount" in page.url
    expect(page.locator("tr[data-denial-id]")).to_have_count(2)
    check_accessibility(page)


def test_a_letter(
    page: Any, viewport: dict[str, int], world: World, live_server: str, session: Session
) -> None:
    denial = ready(session, world)
    page.goto(f"{live_server}/denials/{denial.id}")
    page.click("#letters-panel a:text('Write a letter')")
    page.wait_for_url(f"**/denials/{denial.id}/letter")
    fits(page, viewport)
    check_accessibility(page)
    for name, value in DOC.items():
        page.fill(f"#letter-{name}", value)
    page.click("#letter-form button[value=generate]")
    page.wait_for_selector("#versions [data-letter-id]")
    fits(page, viewport)
    check_accessibility(page)
    letter = session.exec(select(Letter)).one()
    page.goto(f"{live_server}/letters/{letter.id}")
    expect(page.locator("body")).to_contain_text("Biopsy-proven nodular BCC")
    fits(page, viewport)
    check_accessibility(page)
    # The queue marks the denial that has a letter.
    page.goto(f"{live_server}/queue")
    mark = page.locator(f"tr[data-denial-id='{denial.id}'] .letter-mark")
    expect(mark).to_have_text("Letter written")
    assert page.locator("tr[data-denial-id] .letter-mark").count() == 1


def test_a_batch_of_every_denial_matching_the_filter(
    page: Any, viewport: dict[str, int], world: World, live_server: str, session: Session
) -> None:
    practice = session.get(Practice, world.practice_a)
    payer = session.get(Payer, world.acme)
    extra = [
        add_denial(session, practice, payer, last=f"Zeta{i:02d}", account=f"ZZ{i:03d}", priority=1)
        for i in range(26)
    ]
    session.commit()
    # One denial has what its letter needs (its facts entered on its letter page).
    mohs = ready(session, world)
    page.goto(f"{live_server}/denials/{mohs.id}/letter")
    for name, value in DOC.items():
        page.fill(f"#letter-{name}", value)
    page.click("#letter-form button[value=generate]")
    page.wait_for_selector("#versions [data-letter-id]")
    page.goto(f"{live_server}/queue?size=25")
    expect(page.locator("tr[data-denial-id]")).to_have_count(25)
    page.check("#all-matching")
    page.click("#bulk button:text('Write letters')")
    page.wait_for_selector("#letter-batch")
    fits(page, viewport)
    check_accessibility(page)
    skipped = page.locator("#letter-skipped li").evaluate_all(
        "items => items.map(i => Number(i.dataset.denialId))"
    )
    # Every matching denial was taken, those on the second page too (the others cannot be
    # written: the member ID and the clinical facts are missing, so they are listed with why).
    assert set(skipped) >= {d.id for d in extra}
    assert len(set(skipped)) == 28 and mohs.id not in skipped
    # The download posts the batch's ids (a 1,000-letter batch does not fit in a URL).
    with page.expect_download() as download:
        page.click("#letter-batch button:text('Download all as .zip')")
    archive = zipfile.ZipFile(download.value.path())
    index = archive.read("index.csv").decode().splitlines()
    assert [line.split(",")[1] for line in index[1:]].count("skipped") == 28


def test_the_reports(live_server: str, viewport: dict[str, int], world: World) -> None:
    with logged_in(live_server, "manager", viewport=viewport) as page:
        page.click("header.topbar a:text('Reports')")
        page.wait_for_url("**/reports/")
        expect(page.locator("#recovery-chart svg")).to_be_visible()
        fits(page, viewport)
        check_accessibility(page)
