"""The specialist's workbench in a real headless Chromium (Debian's `chromium` package).

A live server on a free port, the test database, and the flows a specialist uses every day:
log in, filter the queue, open a denial, edit documentation, change the status, upload an 835.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from appeals.models import Denial, DocumentationFact, RemittanceFile
from tests.browser.conftest import logged_in
from tests.web.conftest import World

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def page(live_server: str):  # type: ignore[no-untyped-def]
    with logged_in(live_server, "specialist", viewport={"width": 1440, "height": 900}) as page:
        yield page


def rows(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("tr[data-denial-id]").evaluate_all("rs => rs.map(r => r.dataset.denialId)")


def test_filter_and_search_the_queue(page, world: World) -> None:  # type: ignore[no-untyped-def]
    d = world.denials
    assert rows(page) == [str(d[n]) for n in ("mohs", "excision", "auth")]  # cosmetic: expired
    page.fill("#search", "bak")
    expect(page.locator("tr[data-denial-id]")).to_have_count(1)
    assert rows(page) == [str(d["excision"])]
    expect(page).to_have_url(re.compile(r"q=bak"))  # bookmarkable
    page.fill("#search", "")
    expect(page.locator("tr[data-denial-id]")).to_have_count(3)
    page.click(".more-filters summary")
    page.select_option("select[name=category]", "authorization_precert")
    expect(page.locator("tr[data-denial-id]")).to_have_count(1)
    assert rows(page) == [str(d["auth"])]
    expect(page).to_have_url(re.compile(r"category=authorization_precert"))
    assert "payer=" not in page.url  # empty fields stay out of the URL
    page.reload()
    assert rows(page) == [str(d["auth"])]
    assert page.locator(".queue-count [data-total]").get_attribute("data-total") == "1"


def test_open_a_denial_edit_documentation_send_and_record_a_partial_win(  # type: ignore[no-untyped-def]
    page, world: World, session: Session
) -> None:
    denial_id = world.denials["mohs"]
    page.click(f"tr[data-denial-id='{denial_id}'] a.patient")
    page.wait_for_url(f"**/denials/{denial_id}")
    assert page.locator("#claim-lines tr.this-denial").count() == 1

    size = page.locator("#doc-lesion_size_cm")
    size.fill("abc")
    size.dispatch_event("change")
    page.wait_for_selector("#doc-lesion_size_cm-error")
    size = page.locator("#doc-lesion_size_cm")
    size.fill("1.4")
    size.dispatch_event("change")
    page.wait_for_selector("[data-field=lesion_size_cm] .saved")
    fact = session.exec(select(DocumentationFact)).one()
    assert (fact.field, fact.value) == ("lesion_size_cm", "1.4")

    page.select_option("#send-form select[name=method]", "portal")
    page.fill("#send-form input[name=reference]", "PORTAL-123")
    page.click("#send-form button[type=submit]")
    expect(page.locator("#current-status")).to_have_text("Appealed")
    expect(page.locator("#deadline-box")).to_contain_text("sent")
    page.wait_for_selector("#history li[data-action=appeal_sent]")

    page.select_option("#decision-form select[name=outcome]", "partial")
    page.fill("#decision-form input[name=decided_on]", date.today().isoformat())
    page.click("#decision-form button[type=submit]")
    expect(page.locator("#amount-error")).to_have_text("A partial win needs the amount recovered.")
    page.fill("#decision-form input[name=amount]", "350.00")
    page.click("#decision-form button[type=submit]")
    expect(page.locator("#current-status")).to_have_text("Partially won")
    expect(page.locator("#deadline-box")).to_contain_text("$350.00 recovered")
    page.wait_for_selector("#history li[data-action=appeal_decided]")
    session.expire_all()
    denial = session.get(Denial, denial_id)
    assert denial is not None and denial.status == "partial"
    assert denial.recovered_amount == Decimal("350.00")


def test_bulk_assign_from_the_queue(page, world: World, session: Session) -> None:  # type: ignore[no-untyped-def]
    d = world.denials
    page.check(f"tr[data-denial-id='{d['auth']}'] input[name=ids]")
    page.check(f"tr[data-denial-id='{d['excision']}'] input[name=ids]")
    page.select_option("#bulk select[name=assignee]", "me")
    page.click("#bulk button[value=assign]")
    page.wait_for_selector("#flashes .flash-success")
    assert "Assigned 2 of 2" in page.locator("#flashes").inner_text()
    session.expire_all()
    mine = session.exec(
        select(Denial.id).where(Denial.assignee_id == world.users["specialist"])
    ).all()
    assert sorted(mine) == sorted([d["auth"], d["excision"]])


def test_upload_an_835_file(page, live_server: str, session: Session) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/imports/")
    page.set_input_files("input[name=files]", str(FIXTURES / "derm_initial.835"))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#import-job[data-done=true]", timeout=30_000)
    assert page.locator("tr[data-file-state=imported]").count() == 1
    page.wait_for_selector("#import-history-table td:text('derm_initial.835')")
    names = session.exec(select(RemittanceFile.name)).all()
    assert "derm_initial.835" in names
