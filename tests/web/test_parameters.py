"""Every GET route answers malformed query and path values with a 4xx, never a 5xx.

The parameters a route reads are discovered, not listed: the routes are first requested with
no arguments through a request class whose `args` records every key a view asks for (`get`,
`getlist`, `[]`, `in`), and each recorded key is then sent every malformed value below.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, Request, url_for
from flask.testing import FlaskClient
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

from tests.web.conftest import World, log_in

MALFORMED = (
    "99999999999999999999999",  # past every integer column
    "1e400",  # past every float; a Decimal that cannot be quantized
    "nan",
    "-1",
    "2026-02-30",  # a date that does not exist
    "9" * 400,  # past Python's own int() digit limit when doubled up
    "x" * 5000,
    "\x00' OR 1=1 --",
)
PATH_INTS = ("99999999999999999999999", "2147483648", "0")


class RecordingArgs(ImmutableMultiDict):  # type: ignore[type-arg]
    """Query arguments that remember which keys were asked for."""

    asked: set[str] = set()

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # noqa: A002
        RecordingArgs.asked.add(key)
        return super().get(key, default, type)

    def getlist(self, key: Any, type: Any = None) -> Any:  # noqa: A002
        RecordingArgs.asked.add(key)
        return super().getlist(key, type)

    def __getitem__(self, key: Any) -> Any:
        RecordingArgs.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        RecordingArgs.asked.add(str(key))
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = RecordingArgs


def _get_rules(app: Flask) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint != "static"
    ]


def _url(app: Flask, rule: Rule, **overrides: Any) -> str:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__
        values[name] = 1 if "Integer" in converter else "x"
    values.update(overrides)
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _parameters_read(
    app: Flask, client: FlaskClient, rule: Rule, query: dict[str, str] | None = None
) -> set[str]:
    RecordingArgs.asked = set()
    client.get(_url(app, rule), query_string=query or {})
    return set(RecordingArgs.asked) - {"next"}


@pytest.fixture
def recording_admin(app: Flask, world: World) -> FlaskClient:
    app.request_class = RecordingRequest
    app.config["PROPAGATE_EXCEPTIONS"] = False  # an exception becomes the 500 page, counted below
    return log_in(app.test_client(), "admin")


@pytest.mark.slow  # about a thousand requests
def test_every_get_route_answers_malformed_parameters_without_a_server_error(
    app: Flask, recording_admin: FlaskClient
) -> None:
    failures: list[tuple[str, int]] = []
    parameters_seen = 0
    for rule in _get_rules(app):
        base = _url(app, rule)
        names = _parameters_read(app, recording_admin, rule)
        # Some values are read only in one mode (a report's `table` with `format=csv`).
        modes = [{}, {"format": "csv"}] if "format" in names else [{}]
        for mode in modes:
            if mode:
                names |= _parameters_read(app, recording_admin, rule, mode) - set(mode)
            for name in sorted(names - set(mode)):
                parameters_seen += 1
                for value in MALFORMED:
                    response = recording_admin.get(base, query_string=mode | {name: value})
                    if response.status_code >= 500:
                        failures.append((f"{base}?{name}={value[:30]}", response.status_code))
        for name in rule.arguments:
            integer = "Integer" in type(rule._converters[name]).__name__
            for value in PATH_INTS if integer else ("x" * 5000, "-1", "%00"):
                url = _url(app, rule, **{name: int(value) if integer else value})
                response = recording_admin.get(url)
                if response.status_code >= 500:
                    failures.append((url[:120], response.status_code))
    assert parameters_seen >= 25  # the walk found the queue's, reports' and audit's filters
    assert not failures, "\n".join(f"{code} {url}" for url, code in failures)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/denials/99999999999999999999999", "denial_id"),
        ("/letters/2147483648.docx", "letter_id"),
        ("/admin/audit?before=99999999999999999999999", "before"),
        ("/admin/audit?user=-5", "user"),
        ("/settings/practice?practice=-99999999999999999999999", "practice"),
        ("/queue/export.csv?amount_min=1e400", "amount_min"),
        ("/queue/export.csv?due_within=99999999999999999999999", "due_within"),
    ],
)
def test_a_malformed_value_is_a_400_that_names_the_field(
    admin: FlaskClient, url: str, field: str
) -> None:
    response = admin.get(url)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert f"“{field}”" in text
    assert "99999999999999999999999" not in text and "Traceback" not in text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"amount_min": "1e400"}, "amount_min"),
        ({"amount_max": "99999999999999999999999"}, "amount_max"),
        ({"due_within": "99999999999999999999999"}, "due_within"),
        ({"payer": "99999999999999999999999"}, "payer"),
    ],
)
def test_the_queue_shows_a_malformed_filter_beside_its_field(
    admin: FlaskClient, query: dict[str, str], field: str
) -> None:
    response = admin.get("/queue", query_string=query)
    assert response.status_code == 200
    assert f'data-filter-error="{field}"' in response.get_data(as_text=True)


def test_a_huge_id_in_a_posted_form_is_ignored_not_a_crash(
    specialist: FlaskClient, world: World
) -> None:
    denial = world.denials["mohs"]
    response = specialist.post(
        f"/denials/{denial}/assign", data={"assignee": "99999999999999999999999"}
    )
    assert response.status_code < 500


def test_a_malformed_id_posted_for_the_letter_zip_is_a_400_that_names_it(
    admin: FlaskClient,
) -> None:
    response = admin.post("/letters/zip", data={"letter": "1e400"})
    assert response.status_code == 400
    assert "“letter”" in response.get_data(as_text=True)


def test_a_nul_character_in_a_query_or_form_value_is_refused_by_name(
    specialist: FlaskClient, world: World
) -> None:
    response = specialist.get("/queue", query_string={"q": "Alv\x00arez"})
    assert response.status_code == 400
    assert "“q”" in response.get_data(as_text=True)
    denial = world.denials["mohs"]
    response = specialist.post(f"/denials/{denial}/notes", data={"body": "called\x00payer"})
    assert response.status_code == 400
    assert "“body”" in response.get_data(as_text=True)
