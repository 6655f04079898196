"""The queue: order, practice scope, filters, search, sorting, paging, bulk actions, export,
and the views of open denials by deadline (current, expired, any)."""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals import queue as queue_core
from appeals import ranking
from appeals.models import AuditEvent, Denial, Letter, Payer, Practice
from appeals.web.queue import EXPORT_INCOMPLETE
from tests.web.conftest import HTMX, TODAY, World, add_denial


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return [int(tr["data-denial-id"]) for tr in soup.select("tr[data-denial-id]")]


def test_it_lists_open_denials_by_priority(specialist: FlaskClient, world: World) -> None:
    response = specialist.get("/queue")
    assert response.status_code == 200
    d = world.denials
    assert ids(response) == [d["mohs"], d["excision"], d["auth"]]  # cosmetic has expired
    note = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(
        ".priority-note"
    )
    assert note is not None and "what the payer usually pays" in note.get_text()  # not the charge


def test_rows_show_the_queue_columns(specialist: FlaskClient, world: World) -> None:
    soup = BeautifulSoup(specialist.get("/queue").get_data(as_text=True), "html.parser")
    row = soup.select_one(f'tr[data-denial-id="{world.denials["excision"]}"]')
    assert row is not None
    text = row.get_text(" ", strip=True)
    for expected in (
        "Baker, Synthetic",
        "ACC200",
        "Acme Health",
        "11602 XS",
        "Bundling / NCCI",
        "Appeal",
        "$300.00",
        "90 days left",
        "New",
    ):
        assert expected in text, expected
    carc = row.select_one("abbr[title]")
    assert (
        carc is not None
        and carc["title"].startswith("The procedure or service is inconsistent") is False
    )
    assert carc["title"]  # CARC description on hover
    assert re.search(r"\b\d+%", text)  # the recovery probability (rescored once a day)
    rarc = row.select_one("abbr.rarc")
    assert rarc is not None and rarc.get_text() == "M15" and rarc["title"]


def test_other_practices_denials_are_invisible(outsider: FlaskClient, world: World) -> None:
    assert ids(outsider.get("/queue")) == [world.denials["other_practice"]]
    assert ids(outsider.get("/queue?q=ACC100")) == []


def test_admins_see_every_practice(admin: FlaskClient, world: World) -> None:
    d = world.denials
    assert set(ids(admin.get("/queue"))) == {
        d["mohs"],
        d["excision"],
        d["auth"],
        d["other_practice"],
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=bundling_ncci", ["excision"]),
        ("carc=50", ["mohs"]),
        ("carc=CO-197,96", ["auth"]),
        ("carc=CO-197,96&view=all", ["auth", "cosmetic"]),
        ("group=PR&view=expired", ["cosmetic"]),
        ("rarc=N130&view=all", ["cosmetic"]),
        ("rarc=none", ["auth"]),
        ("procedure=17311", ["mohs"]),
        ("status=in_progress", []),
        ("status=in_progress&view=expired", ["cosmetic"]),
        ("status=won", ["won"]),
        ("status=won&view=expired", []),  # only open denials expire
        ("due_within=14", ["mohs"]),  # not the expired cosmetic one
        ("due_within=14&view=all", ["mohs"]),
        ("amount_min=100&amount_max=300", ["excision", "auth"]),
        ("q=bak", ["excision"]),
        ("q=Chen, da", ["auth"]),
        ("q=acc30", ["auth"]),
        ("q=CLM900100", ["mohs"]),
        ("category=medical_necessity&procedure=17311&due_within=30", ["mohs"]),
        ("category=medical_necessity&procedure=11602", []),
    ],
)
def test_filters_combine(
    specialist: FlaskClient, world: World, query: str, expected: list[str]
) -> None:
    assert ids(specialist.get(f"/queue?{query}")) == [world.denials[n] for n in expected]


def test_payer_and_date_filters(specialist: FlaskClient, world: World, session: Session) -> None:
    d = world.denials
    assert ids(specialist.get(f"/queue?payer={world.medicare}")) == [d["mohs"]]
    assert ids(specialist.get(f"/queue?payer={world.medicare}&view=all")) == [
        d["mohs"],
        d["cosmetic"],
    ]
    later = session.get(Denial, d["auth"])
    assert later is not None
    later.service_date = TODAY - timedelta(days=2)
    session.add(later)
    session.commit()
    since = (TODAY - timedelta(days=5)).isoformat()
    assert ids(specialist.get(f"/queue?date_from={since}")) == [d["auth"]]
    assert d["auth"] not in ids(specialist.get(f"/queue?date_to={since}"))


def test_my_queue_and_unassigned(specialist: FlaskClient, world: World, session: Session) -> None:
    denial = session.get(Denial, world.denials["auth"])
    assert denial is not None
    denial.assignee_id = world.users["specialist"]
    session.add(denial)
    session.commit()
    assert ids(specialist.get("/queue?assignee=me")) == [world.denials["auth"]]
    assert world.denials["auth"] not in ids(specialist.get("/queue?assignee=none"))


def test_bad_filter_values_are_explained_not_fatal(specialist: FlaskClient) -> None:
    response = specialist.get("/queue?amount_min=abc&date_from=yesterday&due_within=-2")
    assert response.status_code == 200
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    flagged = {s["data-filter-error"] for s in soup.select("[data-filter-error]")}
    assert flagged == {"amount_min", "date_from", "due_within"}
    assert soup.select_one("#amount_min-error") is not None  # beside the field too
    assert len(ids(response)) == 3


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("deadline", ["cosmetic", "mohs", "excision", "auth"]),  # no deadline last
        ("amount", ["mohs", "excision", "auth", "cosmetic"]),
        ("age", ["excision", "mohs", "cosmetic", "auth"]),  # oldest denial first
    ],
)
def test_sorting(specialist: FlaskClient, world: World, sort: str, expected: list[str]) -> None:
    response = specialist.get(f"/queue?sort={sort}&view=all")
    assert ids(response) == [world.denials[n] for n in expected]


def test_htmx_gets_the_results_fragment_and_the_page_gets_everything(
    specialist: FlaskClient,
) -> None:
    page = specialist.get("/queue?category=duplicate")
    assert "<html" in page.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"]
    fragment = specialist.get("/queue?category=duplicate", headers=HTMX)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'id="bulk"' in body
    assert 'hx-swap-oob="true"' in body
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = specialist.get("/queue", headers=HTMX | {"HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_filter_state_round_trips_through_the_url(specialist: FlaskClient) -> None:
    soup = BeautifulSoup(
        specialist.get("/queue?category=bundling_ncci&sort=amount&carc=97").get_data(as_text=True),
        "html.parser",
    )
    form = soup.select_one("#filters")
    assert form is not None
    assert form.select_one("select[name=category] option[selected]")["value"] == "bundling_ncci"
    assert form.select_one("select[name=sort] option[selected]")["value"] == "amount"
    assert form.select_one("input[name=carc]")["value"] == "97"
    export = soup.select_one("a.export")
    assert export is not None and "category=bundling_ncci" in export["href"]


def test_count_fragment(specialist: FlaskClient) -> None:
    response = specialist.get("/queue/count?category=medical_necessity", headers=HTMX)
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert soup.select_one("[data-total]")["data-total"] == "1"
    assert "$900.00" in response.get_data(as_text=True)


def test_keyset_pages_cover_every_row_once(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    practice = session.get(Practice, world.practice_a)
    payer = session.get(Payer, world.acme)
    # 90 more: 18 without a deadline, 32 expired (1 to 39 days ago), 40 due today or later.
    for number in range(90):
        add_denial(
            session,
            practice,
            payer,
            last=f"Page{number:02d}",
            account=f"PG{number:03d}",
            priority=float(number % 7),
            deadline_days=None if number % 5 == 0 else number - 40,
            denied_days_ago=number % 4,
        )
    session.commit()
    expected = {"": [25, 25, 11], "expired": [25, 8], "all": [25, 25, 25, 19]}
    for sort, view in itertools.product(("priority", "deadline", "amount", "age"), expected):
        response = specialist.get(f"/queue?sort={sort}&size=25&view={view}")
        pages = [ids(response)]
        while True:
            soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
            link = soup.select_one("a[rel=next]")
            if link is None:
                break
            assert f"view={view}" in link["href"] or not view
            response = specialist.get(link["href"])
            pages.append(ids(response))
        seen = [i for p in pages for i in p]
        assert len(seen) == len(set(seen)) == sum(expected[view]), (sort, view)
        assert [len(p) for p in pages] == expected[view], (sort, view)
        # And back again from the last page.
        back = soup.select_one("a[rel=prev]")
        assert back is not None
        assert ids(specialist.get(back["href"])) == pages[-2], (sort, view)


def test_bulk_assign_and_status_change_are_audited(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    d = world.denials
    chosen = [d["mohs"], d["excision"], d["other_practice"]]
    response = specialist.post(
        "/queue/bulk",
        data={
            "ids": chosen,
            "operation": "assign",
            "assignee": str(world.users["colleague"]),
            "view": "category=medical_necessity",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Assigned 2 of 2" in response.get_data(as_text=True)
    assert ids(response) == [d["mohs"]]  # the same filtered view comes back
    assert "queue-changed" in response.headers["HX-Trigger"]
    session.expire_all()
    assigned = session.exec(
        select(Denial.id).where(Denial.assignee_id == world.users["colleague"])
    ).all()
    assert sorted(assigned) == sorted([d["mohs"], d["excision"]])  # not the other practice's
    response = specialist.post(
        "/queue/bulk",
        data={"ids": [d["mohs"], d["won"]], "operation": "status", "status": "written_off"},
    )
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Denial, d["mohs"]).status == "written_off"  # type: ignore[union-attr]
    assert session.get(Denial, d["won"]).status == "won"  # type: ignore[union-attr]  # refused move
    events = session.exec(select(AuditEvent).where(AuditEvent.entity == "denial")).all()
    assert {(e.action, e.entity_id) for e in events} >= {
        ("assign", d["mohs"]),
        ("assign", d["excision"]),
        ("status", d["mohs"]),
    }
    assert ("status", d["won"]) not in {(e.action, e.entity_id) for e in events}


def test_bulk_without_selection_says_so(specialist: FlaskClient) -> None:
    response = specialist.post(
        "/queue/bulk", data={"operation": "assign", "assignee": "me"}, headers=HTMX
    )
    assert "Select at least one denial" in response.get_data(as_text=True)


def test_bulk_assign_to_another_practices_user_is_refused(
    specialist: FlaskClient, world: World
) -> None:
    response = specialist.post(
        "/queue/bulk",
        data={
            "ids": [world.denials["mohs"]],
            "operation": "assign",
            "assignee": str(world.users["outsider"]),
        },
    )
    assert response.status_code == 400


def test_admin_without_practice_cannot_bulk_assign_across_practices(
    admin: FlaskClient, world: World, session: Session
) -> None:
    d = world.denials
    response = admin.post(
        "/queue/bulk",
        data={
            "ids": [d["mohs"], d["other_practice"]],
            "operation": "assign",
            "assignee": str(world.users["outsider"]),  # practice B; mohs is practice A
        },
    )
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Denial, d["mohs"]).assignee_id is None  # type: ignore[union-attr]
    assert session.get(Denial, d["other_practice"]).assignee_id is None  # type: ignore[union-attr]


def test_export_has_exactly_the_filtered_rows_across_pages(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    practice = session.get(Practice, world.practice_a)
    payer = session.get(Payer, world.medicare)
    for number in range(30):
        add_denial(
            session,
            practice,
            payer,
            last=f"Export{number}",
            account=f"EX{number:03d}",
            category="timely_filing",
            carc="29",
            amount="10.00",
            priority=float(number),
        )
    session.commit()
    response = specialist.get("/queue/export.csv?category=timely_filing&size=25")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 30
    assert {r["category"] for r in rows} == {"Timely filing"}
    assert rows[0]["patient"] == "Export29, Synthetic" and rows[0]["denied_amount"] == "10.00"
    whole = list(
        csv.DictReader(io.StringIO(specialist.get("/queue/export.csv").get_data(as_text=True)))
    )
    assert len(whole) == 33  # the view's rows: not the expired cosmetic denial
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert len(events) == 2 and not any("Export" in e.detail for e in events)


def test_export_of_a_name_search_does_not_log_the_name(
    specialist: FlaskClient, session: Session
) -> None:
    specialist.get("/queue/export.csv?q=Alvarez")
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert "Alvarez" not in event.detail and '"search": true' in event.detail


def test_an_export_that_fails_midway_says_so_and_logs_no_patient_data(
    specialist: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_rows = queue_core.export_rows
    # The stack quotes source lines: the message is built away from the line that raises.
    message = "lost the connection while reading ALVAREZ, Synthetic"

    def failing_rows(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from itertools.islice(real_rows(*args, **kwargs), 1)
        raise RuntimeError(message)

    monkeypatch.setattr(queue_core, "export_rows", failing_rows)
    with caplog.at_level(logging.ERROR):
        response = specialist.get("/queue/export.csv?q=Alvarez&status=all")
        lines = response.get_data(as_text=True).splitlines()
    assert response.status_code == 200
    assert len(lines) == 3 and lines[-1] == EXPORT_INCOMPLETE
    assert "CSV export failed: RuntimeError" in caplog.text
    assert "ALVAREZ" not in caplog.text and "Alvarez" not in caplog.text


def test_home_redirects_to_the_queue(specialist: FlaskClient) -> None:
    assert specialist.get("/").headers["Location"] == "/queue"


def test_the_home_page_keeps_the_filters_of_a_shared_link(specialist: FlaskClient) -> None:
    response = specialist.get("/?category=noncovered_cosmetic&sort=deadline&payer=1&payer=2")
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "/queue?category=noncovered_cosmetic&sort=deadline&payer=1&payer=2"
    )


# --- views by deadline ----------------------------------------------------------------------


def test_the_expired_view_lists_open_denials_past_their_deadline(
    specialist: FlaskClient, world: World
) -> None:
    d = world.denials
    assert d["cosmetic"] not in ids(specialist.get("/queue"))
    response = specialist.get("/queue?view=expired")
    assert ids(response) == [d["cosmetic"]]
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    row = soup.select_one(f'tr[data-denial-id="{d["cosmetic"]}"]')
    assert row is not None
    action = row.select_one("td[data-expired]")
    assert action is not None and action.get_text(strip=True) == "Good cause or write off"
    assert "405.942(b)" in action["title"]
    assert soup.select_one("#expired-note") is not None
    assert ids(specialist.get("/queue?view=all")) == [
        d["mohs"],
        d["excision"],
        d["auth"],
        d["cosmetic"],
    ]
    assert ids(specialist.get("/queue?view=nonsense")) == ids(specialist.get("/queue"))


def test_a_deadline_today_is_current_and_yesterday_expired(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    practice = session.get(Practice, world.practice_a)
    payer = session.get(Payer, world.acme)
    today_ = add_denial(session, practice, payer, last="Today", account="T1", deadline_days=0)
    yesterday = add_denial(session, practice, payer, last="Late", account="T2", deadline_days=-1)
    session.commit()
    current, expired = ids(specialist.get("/queue")), ids(specialist.get("/queue?view=expired"))
    assert today_.id in current and today_.id not in expired
    assert yesterday.id in expired and yesterday.id not in current
    assert ids(specialist.get("/queue?due_within=0")) == [today_.id]
    assert ids(specialist.get("/queue?due_within=0&view=expired")) == []


def test_closed_and_pending_denials_are_never_split_by_deadline(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    practice = session.get(Practice, world.practice_a)
    payer = session.get(Payer, world.acme)
    appealed = add_denial(
        session, practice, payer, last="Sent", account="S1", deadline_days=-30, status="appealed"
    )
    session.commit()
    assert appealed.id in ids(specialist.get("/queue?status=appealed"))
    assert appealed.id in ids(specialist.get("/queue?status=all"))
    assert world.denials["cosmetic"] not in ids(specialist.get("/queue?status=all"))
    assert ids(specialist.get("/queue?status=appealed&view=expired")) == []


def test_the_tabs_carry_the_filters_and_the_expired_count(
    specialist: FlaskClient, world: World
) -> None:
    soup = BeautifulSoup(
        specialist.get("/queue?carc=96&sort=amount").get_data(as_text=True), "html.parser"
    )
    tabs = soup.select_one("header.queue-head nav#queue-tabs")
    assert tabs is not None
    current = tabs.select_one('a[data-view="current"]')
    expired = tabs.select_one('a[data-view="expired"]')
    assert current is not None and current.get("aria-current") == "page"
    assert expired is not None and "view=expired" in expired["href"]
    assert "carc=96" in expired["href"] and "sort=amount" in expired["href"]
    counter = expired.select_one("[hx-get]")
    assert counter is not None and "view=expired" in counter["hx-get"]
    assert "carc=96" in counter["hx-get"]
    count = BeautifulSoup(specialist.get(counter["hx-get"], headers=HTMX).get_data(), "html.parser")
    assert count.select_one("[data-view-total]")["data-view-total"] == "1"
    none = specialist.get("/queue/view-count?view=expired&carc=97", headers=HTMX)
    assert 'data-view-total="0"' in none.get_data(as_text=True)
    # The view is a hidden field of the filter form, so filter changes stay in it.
    page = BeautifulSoup(
        specialist.get("/queue?view=expired").get_data(as_text=True), "html.parser"
    )
    assert page.select_one("#filters input[name=view]")["value"] == "expired"
    assert page.select_one('#queue-tabs a[data-view="expired"]')["aria-current"] == "page"


def test_htmx_results_refresh_the_tabs_out_of_band(specialist: FlaskClient) -> None:
    body = specialist.get("/queue?category=noncovered_cosmetic", headers=HTMX).get_data(
        as_text=True
    )
    tabs = BeautifulSoup(body, "html.parser").select_one("#queue-tabs")
    assert tabs is not None and tabs["hx-swap-oob"] == "true"
    assert "category=noncovered_cosmetic" in tabs.select_one('a[data-view="expired"]')["href"]


def test_the_counters_follow_the_view(specialist: FlaskClient) -> None:
    def counted(query: str) -> tuple[str, str]:
        response = specialist.get(f"/queue/count?{query}", headers=HTMX)
        soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        return soup.select_one("[data-total]")["data-total"], soup.get_text(" ", strip=True)

    total, text = counted("")
    assert total == "3" and "$1,350.00" in text
    total, text = counted("view=expired")
    assert total == "1" and "$75.00" in text
    assert counted("view=all")[0] == "4"


def test_the_export_follows_the_view(specialist: FlaskClient, world: World) -> None:
    text = specialist.get("/queue/export.csv?view=expired").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["denial_id"] for r in rows] == [str(world.denials["cosmetic"])]
    assert rows[0]["recommended_action"] == "Good cause or write off"
    assert rows[0]["days_left"] == "-3"
    current = list(
        csv.DictReader(io.StringIO(specialist.get("/queue/export.csv").get_data(as_text=True)))
    )
    assert str(world.denials["cosmetic"]) not in {r["denial_id"] for r in current}
    assert {r["recommended_action"] for r in current} == {"Appeal"}


def test_bulk_status_offers_only_the_moves_a_person_makes(specialist: FlaskClient) -> None:
    soup = BeautifulSoup(specialist.get("/queue").get_data(as_text=True), "html.parser")
    offered = {o["value"] for o in soup.select("#bulk select[name=status] option")}
    assert "written_off" in offered and "in_progress" in offered
    assert not offered & {"appealed", "corrected_claim_sent", "won", "partial", "lost"}


def test_a_bulk_action_in_the_expired_view_returns_to_it(
    specialist: FlaskClient, world: World
) -> None:
    cosmetic = world.denials["cosmetic"]
    response = specialist.post(
        "/queue/bulk",
        data={"ids": [cosmetic], "operation": "assign", "assignee": "me", "view": "view=expired"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/queue?view=expired"


def test_denial_date_filter(specialist: FlaskClient, world: World) -> None:
    d = world.denials
    # Denied 10 (mohs), 30 (excision) and 5 (auth) days ago.
    since = (TODAY - timedelta(days=12)).isoformat()
    assert ids(specialist.get(f"/queue?denied_from={since}")) == [d["mohs"], d["auth"]]
    until = (TODAY - timedelta(days=20)).isoformat()
    assert ids(specialist.get(f"/queue?denied_to={until}")) == [d["excision"]]
    response = specialist.get(f"/queue?denied_from={since}&denied_to={until}")
    assert ids(response) == [d["mohs"], d["auth"]]  # the end before the start is dropped
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert soup.select_one("#denied_to-error") is not None
    bad = BeautifulSoup(specialist.get("/queue?denied_from=May").get_data(), "html.parser")
    assert bad.select_one("input[name=denied_from][aria-invalid=true]") is not None
    assert ("denied_from", since) in queue_core.QueueFilters.from_args(
        specialist.application.test_request_context(f"/?denied_from={since}").request.args
    ).to_args()


def test_export_has_denial_date_recovery_closing_and_level(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    won = session.get(Denial, world.denials["won"])
    assert won is not None
    won.recovered_amount = Decimal("450.00")
    won.closed_at = datetime(2026, 5, 4, 15, 30, tzinfo=UTC)
    won.appeal_level = 2
    session.add(won)
    session.commit()
    text = specialist.get("/queue/export.csv?status=won").get_data(as_text=True)
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["denial_date"] == (TODAY - timedelta(days=10)).isoformat()
    assert (row["recovered_amount"], row["closed_on"], row["appeal_level"]) == (
        "450.00",
        "2026-05-04",
        "2",
    )


# --- issue 14: names typed either way, every matching denial, letters marked ---------------


def test_search_takes_first_last_as_well_as_last_first(
    specialist: FlaskClient, world: World
) -> None:
    auth = [world.denials["auth"]]
    assert ids(specialist.get("/queue?q=Chen, Dana")) == auth
    assert ids(specialist.get("/queue?q=dana chen")) == auth
    assert ids(specialist.get("/queue?q=Chen Da")) == auth  # last first
    assert ids(specialist.get("/queue?q=Dana Baker")) == []


def test_name_readings() -> None:
    assert queue_core.name_splits("Chen, Dana") == [("Chen", "Dana")]
    assert queue_core.name_splits("Dana Chen") == [
        ("Dana Chen", ""),
        ("Chen", "Dana"),
        ("Dana", "Chen"),
    ]
    assert queue_core.name_splits("de la Cruz")[0] == ("de la Cruz", "")
    assert queue_core.name_splits("  ") == []


def test_bulk_can_take_every_denial_matching_the_filters(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    d = world.denials
    # Nothing checked, but "every denial matching": both Acme denials of practice A (the other
    # practice's and the expired ones stay out).
    response = specialist.post(
        "/queue/bulk",
        data={
            "all_matching": "1",
            "operation": "assign",
            "assignee": "me",
            "view": f"payer={world.acme}",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Assigned 2 of 2" in response.get_data(as_text=True)
    session.expire_all()
    mine = session.exec(select(Denial.id).where(Denial.assignee_id == world.users["specialist"]))
    assert sorted(mine.all()) == sorted([d["excision"], d["auth"]])


def test_every_matching_id_in_queue_order(session: Session, world: World) -> None:
    viewer = queue_core.Viewer(world.users["specialist"], world.practice_a)
    filters = queue_core.QueueFilters()
    d = world.denials
    assert queue_core.matching_ids(session, filters, viewer, TODAY, 10) == [
        d["mohs"],
        d["excision"],
        d["auth"],
    ]
    assert queue_core.matching_ids(session, filters, viewer, TODAY, 2) == [d["mohs"], d["excision"]]
    deadline = queue_core.QueueFilters(sort="deadline")  # nullable: the no-deadline row last
    assert queue_core.matching_ids(session, deadline, viewer, TODAY, 10)[-1] == d["auth"]


def test_the_select_all_matching_box_shows_when_there_are_more_pages(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    page = BeautifulSoup(specialist.get("/queue").get_data(as_text=True), "html.parser")
    assert page.select_one("#all-matching") is None  # one page: the header box is enough
    practice = session.get(Practice, world.practice_a)
    payer = session.get(Payer, world.acme)
    for i in range(25):
        add_denial(session, practice, payer, last=f"Young{i}", account=f"YY{i:03d}")
    session.commit()
    page = BeautifulSoup(specialist.get("/queue?size=25").get_data(as_text=True), "html.parser")
    box = page.select_one("#all-matching")
    assert box is not None and box["name"] == "all_matching"
    assert "up to 1,000" in page.select_one("label.all-matching").get_text()


def test_rows_mark_denials_that_have_letters(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    d = world.denials
    session.add(Letter(denial_id=d["excision"], template="bundling", docx=b"PK"))
    session.add(Letter(denial_id=d["excision"], template="bundling", version=2, docx=b"PK"))
    session.commit()
    page = BeautifulSoup(specialist.get("/queue").get_data(as_text=True), "html.parser")
    marks = {
        int(tr["data-denial-id"]): tr.select_one(".letter-mark")
        for tr in page.select("tr[data-denial-id]")
    }
    assert marks[d["mohs"]] is None
    mark = marks[d["excision"]]
    assert mark is not None and mark.get_text() == "2 letters written"
    assert queue_core.letter_counts(session, [d["excision"], d["auth"]]) == {d["excision"]: 2}


def test_rows_link_to_the_denial_with_the_queue_view(specialist: FlaskClient, world: World) -> None:
    page = BeautifulSoup(
        specialist.get(f"/queue?payer={world.acme}&sort=amount").get_data(as_text=True),
        "html.parser",
    )
    link = page.select_one(f"tr[data-denial-id='{world.denials['excision']}'] a.patient")
    assert link["href"] == (
        f"/denials/{world.denials['excision']}?queue=payer%3D{world.acme}%26sort%3Damount"
    )
    plain = BeautifulSoup(specialist.get("/queue").get_data(as_text=True), "html.parser")
    link = plain.select_one(f"tr[data-denial-id='{world.denials['mohs']}'] a.patient")
    assert link["href"] == f"/denials/{world.denials['mohs']}"
    # The sorted column says so on its header cell (aria-sort belongs there, not on the link).
    assert page.select_one("th[aria-sort=descending] a.sorted").get_text() == "Denied"


def test_batch_letters_can_take_every_denial_matching_the_filters(
    specialist: FlaskClient, world: World
) -> None:
    response = specialist.post(
        "/letters/batch", data={"all_matching": "1", "view": f"payer={world.acme}"}, headers=HTMX
    )
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    taken = {int(li["data-denial-id"]) for li in page.select("#letter-skipped li")}
    assert taken == {world.denials["excision"], world.denials["auth"]}  # none could be written


def test_every_matching_denial_is_refused_for_filters_with_errors(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    response = specialist.post(
        "/queue/bulk",
        data={
            "all_matching": "1",
            "operation": "assign",
            "assignee": "me",
            "view": "amount_min=lots",
        },
    )
    assert response.status_code == 400
    session.expire_all()
    assigned = session.exec(select(Denial.id).where(Denial.assignee_id.is_not(None)))  # type: ignore[union-attr]
    assert assigned.all() == []


def test_neighbours_in_a_view_with_a_nullable_sort(session: Session, world: World) -> None:
    viewer = queue_core.Viewer(world.users["specialist"], world.practice_a)
    d = world.denials
    by_deadline = queue_core.QueueFilters(sort="deadline")  # mohs 10 days, excision 90, auth none
    auth = session.get(Denial, d["auth"])
    mohs = session.get(Denial, d["mohs"])
    assert auth is not None and mohs is not None
    scores = {i: ranking.score_of(session, i) for i in (d["auth"], d["mohs"])}
    assert queue_core.neighbours(session, by_deadline, viewer, TODAY, auth, scores[d["auth"]]) == (
        d["excision"],
        None,
    )
    assert queue_core.neighbours(session, by_deadline, viewer, TODAY, mohs, scores[d["mohs"]]) == (
        None,
        d["excision"],
    )


def test_an_export_row_has_every_cell_as_the_queue_reads_it(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    # Money, dates and days left are formatted from what the driver returns (integer cents
    # and ISO text on SQLite, Decimal and dates on PostgreSQL): every cell of one row, exactly.
    practice = session.get(Practice, world.practice_a)
    payer = session.get(Payer, world.medicare)
    denial = add_denial(
        session,
        practice,
        payer,
        last="=Cells",
        first="Every",
        account="-EC1",
        claim_number="CN-9",
        modifiers="59 RT",
        amount="1000.05",
        deadline_days=-3,
        status="in_progress",
        service_date=TODAY - timedelta(days=41),
    )
    score = ranking.score_of(session, denial.id or 0)
    score.probability = 0.4567
    score.priority = 1234.5
    denial.recovered_amount = Decimal("0.07")
    denial.carcs = "50 16"
    denial.rarcs = "N115 M15"
    session.add_all([denial, score])
    session.commit()
    text = specialist.get("/queue/export.csv?view=expired&q=-EC1").get_data(as_text=True)
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row == {
        "denial_id": str(denial.id),
        "patient": "'=Cells, Every",
        "account": "'-EC1",
        "payer_claim_number": "CN-9",
        "date_of_service": (TODAY - timedelta(days=41)).isoformat(),
        "denial_date": (TODAY - timedelta(days=10)).isoformat(),
        "payer": payer.name,  # type: ignore[union-attr]
        "procedure": "11602 59 RT",
        "carc": "50 16",
        "rarcs": "N115 M15",
        "category": "Medical necessity",
        "recommended_action": queue_core.EXPIRED_ACTION,
        "denied_amount": "1000.05",
        "probability": "0.457",
        "expected_recovery": "500.02",
        "priority": "1234.50",
        "deadline": (TODAY - timedelta(days=3)).isoformat(),
        "days_left": "-3",
        "status": "In progress",
        "recovered_amount": "0.07",
        "closed_on": "",
        "appeal_level": "1",
        "assignee": "",
    }


@pytest.mark.parametrize(
    "amount", ["-1234.56", "-0.07", "0.00", "0.05", "999999999999.99"], ids=str
)
def test_exported_money_is_the_stored_amount_to_the_cent(
    specialist: FlaskClient, world: World, session: Session, amount: str
) -> None:
    # The database writes money as text (SQLite from integer cents): signs, small and large.
    denial = add_denial(
        session,
        session.get(Practice, world.practice_a),
        session.get(Payer, world.medicare),
        last="Money",
        account="MONEY-1",
    )
    denial.denied_amount = Decimal(amount)
    score = ranking.score_of(session, denial.id or 0)
    score.expected_recovery = None
    session.add_all([denial, score])
    session.commit()
    text = specialist.get("/queue/export.csv?view=all&q=MONEY-1").get_data(as_text=True)
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert (row["denied_amount"], row["expected_recovery"]) == (amount, "")
