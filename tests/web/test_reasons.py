"""Reason groups: counts and dollars of open denials, each group linking to exactly its rows."""

from __future__ import annotations

from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from appeals.web.reasons import queue_args
from tests.web.conftest import World


def test_groups_link_to_the_queue_filtered_to_them(specialist: FlaskClient, world: World) -> None:
    page = BeautifulSoup(specialist.get("/reasons/").get_data(as_text=True), "html.parser")
    checked = 0
    for grouping in ("carc", "carc-rarc", "category"):
        table = page.select_one(f"table[data-grouping='{grouping}']")
        assert table is not None
        for row in table.select("tbody tr[data-key]"):
            count = int(row.select("td.num")[0].get_text().replace(",", ""))
            link = row.select_one("a")["href"]
            queue = BeautifulSoup(specialist.get(link).get_data(as_text=True), "html.parser")
            assert len(queue.select("tr[data-denial-id]")) == count, (grouping, link)
            checked += 1
    assert checked == 4 + 4 + 4  # four open denials in practice A, each grouping


def test_groups_count_only_the_users_practice(outsider: FlaskClient) -> None:
    page = BeautifulSoup(outsider.get("/reasons/").get_data(as_text=True), "html.parser")
    keys = [r["data-key"] for r in page.select("table[data-grouping='carc'] tr[data-key]")]
    assert keys == ["CO-50"]


def test_recovery_rate_comes_from_decided_denials(specialist: FlaskClient) -> None:
    page = BeautifulSoup(specialist.get("/reasons/").get_data(as_text=True), "html.parser")
    row = page.select_one("table[data-grouping='carc'] tr[data-key='CO-50']")
    assert row is not None
    assert row.select("td.num")[2].get_text() == "100%"  # the one decided CO-50 denial was won


def test_queue_args_for_group_keys() -> None:
    every = {"view": "all"}  # the groups count open denials whatever their deadline
    assert queue_args("carc", "CO-16") == {"group": "CO", "carc": "16", **every}
    assert queue_args("carc-rarc", "PR-96 + N130") == {
        "group": "PR",
        "carc": "96",
        "rarc": "N130",
        **every,
    }
    assert queue_args("carc-rarc", "CO-197") == {
        "group": "CO",
        "carc": "197",
        "rarc": "none",
        **every,
    }
    assert queue_args("category", "duplicate") == {"category": "duplicate", **every}
