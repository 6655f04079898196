"""Denial detail: the case, practice scope, status and assignee, notes, documentation, history."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlmodel import Session, select

from appeals.models import AuditEvent, Denial, DocumentationFact, Note, ServiceLine
from tests.web.conftest import HTMX, TODAY, World


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_detail_shows_the_claim_lines_payment_and_recommendation(
    specialist: FlaskClient, world: World
) -> None:
    response = specialist.get(f"/denials/{world.denials['excision']}")
    assert response.status_code == 200
    page = soup(response)
    lines = page.select("#claim-lines tbody tr[data-line-id]")
    assert len(lines) == 2  # the denied line and the paid one
    assert "this-denial" in lines[0]["class"] and "paid" in lines[1]["class"]
    assert "CO-97" in lines[0].get_text() and "M15" in lines[0].get_text()
    assert lines[0].select_one("abbr")["title"]  # code descriptions
    assert "Acme Health" in page.select_one("#payment").get_text()
    assert "Recommended action: Appeal" in page.select_one("#recommendation").get_text()
    assert page.select_one("#documentation") is not None
    assert page.select_one("#workflow") is not None


def test_viewing_is_audited_without_patient_data(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    specialist.get(f"/denials/{world.denials['mohs']}")
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "view")).one()
    assert event.entity == "denial" and event.entity_id == world.denials["mohs"]
    assert event.user_id == world.users["specialist"]
    assert "Alvarez" not in event.detail and "ACC100" not in event.detail


def test_another_practices_denial_is_not_found(specialist: FlaskClient, world: World) -> None:
    other = world.denials["other_practice"]
    assert specialist.get(f"/denials/{other}").status_code == 404
    assert (
        specialist.post(f"/denials/{other}/status", data={"status": "in_progress"}).status_code
        == 404
    )
    assert specialist.post(f"/denials/{other}/notes", data={"body": "x"}).status_code == 404
    assert specialist.get(f"/denials/{other}/history").status_code == 404
    assert (
        specialist.post(
            f"/denials/{other}/documentation/diagnosis", data={"diagnosis": "L82.0"}
        ).status_code
        == 404
    )
    assert specialist.get("/denials/999999").status_code == 404


def test_error_pages_and_fragments(specialist: FlaskClient) -> None:
    page = specialist.get("/denials/999999")
    assert "<html" in page.get_data(as_text=True) and "Not found" in page.get_data(as_text=True)
    fragment = specialist.get("/denials/999999", headers=HTMX)
    assert fragment.status_code == 404
    assert "<html" not in fragment.get_data(as_text=True)
    assert soup(fragment).select_one("[data-error-code='404']") is not None


def test_status_change_follows_the_workflow(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    url = f"/denials/{world.denials['mohs']}/status"
    response = specialist.post(url, data={"status": "written_off"}, headers=HTMX)
    assert response.status_code == 200
    assert soup(response).select_one("#current-status").get_text() == "Written off"
    assert "denial-changed" in response.headers["HX-Trigger"]
    refused = specialist.post(url, data={"status": "new"}, headers=HTMX)
    assert refused.status_code == 422
    error = soup(refused).select_one("#status-error").get_text()
    assert error.startswith("A denial that is written off")
    reopened = specialist.post(url, data={"status": "in_progress"}, headers=HTMX)
    assert reopened.status_code == 200
    # Sent and decided statuses need what they stand for: the Appeal panel records them.
    for status, hint in (("appealed", "sending"), ("won", "decision")):
        lifecycle_only = specialist.post(url, data={"status": status}, headers=HTMX)
        assert lifecycle_only.status_code == 422
        assert hint in soup(lifecycle_only).select_one("#status-error").get_text()
    options = [o["value"] for o in soup(reopened).select("select[name=status] option")]
    assert options[0] == "" and "won" not in options and "appealed" not in options
    session.expire_all()
    denial = session.get(Denial, world.denials["mohs"])
    assert denial is not None and denial.status == "in_progress" and denial.closed_at is None
    history = soup(specialist.get(f"/denials/{world.denials['mohs']}/history", headers=HTMX))
    assert [li["data-action"] for li in history.select("li[data-action]")] == ["status", "status"]


def test_assigning_to_a_colleague(specialist: FlaskClient, world: World, session: Session) -> None:
    url = f"/denials/{world.denials['auth']}/assign"
    response = specialist.post(url, data={"assignee": str(world.users["colleague"])}, headers=HTMX)
    assert response.status_code == 200
    session.expire_all()
    assert session.get(Denial, world.denials["auth"]).assignee_id == world.users["colleague"]  # type: ignore[union-attr]
    outsider = specialist.post(url, data={"assignee": str(world.users["outsider"])})
    assert outsider.status_code == 400


def test_notes_and_call_logs(specialist: FlaskClient, world: World, session: Session) -> None:
    url = f"/denials/{world.denials['mohs']}/notes"
    bad = specialist.post(url, data={"kind": "call", "body": ""}, headers=HTMX)
    assert bad.status_code == 422
    errors = {e["id"] for e in soup(bad).select(".field-error")}
    assert errors == {"body-error", "call_date-error", "call_person-error"}
    ok = specialist.post(
        url,
        data={
            "kind": "call",
            "body": "Rep says resubmit with notes",
            "call_date": TODAY.isoformat(),
            "call_person": "Pat (provider line)",
            "call_reference": "REF-778",
        },
        headers=HTMX,
    )
    assert ok.status_code == 200
    assert "REF-778" in ok.get_data(as_text=True)
    note = session.exec(select(Note)).one()
    assert note.kind == "call" and note.call_person == "Pat (provider line)"
    plain = specialist.post(url, data={"kind": "note", "body": "Asked the surgeon for the op note"})
    assert plain.status_code == 303
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "call")).one()
    assert "REF-778" not in event.detail and "Rep says" not in event.detail


def test_documentation_field_saves_inline_with_validation(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    base = f"/denials/{world.denials['mohs']}/documentation"
    bad = specialist.post(f"{base}/lesion_size_cm", data={"lesion_size_cm": "-2"}, headers=HTMX)
    assert bad.status_code == 422
    field = soup(bad).select_one("[data-field=lesion_size_cm]")
    assert field is not None and field.select_one(".field-error") is not None
    assert field.select_one("input")["aria-invalid"] == "true"
    ok = specialist.post(f"{base}/lesion_size_cm", data={"lesion_size_cm": "1.2"}, headers=HTMX)
    assert ok.status_code == 200
    assert soup(ok).select_one(".saved") is not None
    fact = session.exec(select(DocumentationFact)).one()
    assert (fact.field, fact.value, fact.procedure_code) == ("lesion_size_cm", "1.2", "17311")
    diagnosis = specialist.post(f"{base}/diagnosis", data={"diagnosis": "c44.311"}, headers=HTMX)
    assert diagnosis.status_code == 200
    stored = session.exec(
        select(DocumentationFact).where(DocumentationFact.field == "diagnosis")
    ).one()
    assert stored.procedure_code == "" and stored.value == "C44.311"
    page = soup(specialist.get(f"/denials/{world.denials['mohs']}"))
    assert page.select_one("#doc-lesion_size_cm")["value"] == "1.2"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "update")).all()
    assert [e.detail for e in event] == [
        '{"fields": ["lesion_size_cm"]}',
        '{"fields": ["diagnosis"]}',
    ]
    assert specialist.post(f"{base}/no_such_field", data={}).status_code == 404


def test_documentation_form_without_javascript(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    base = f"/denials/{world.denials['excision']}/documentation"
    response = specialist.post(base, data={"symptoms": "bleeding, itching", "laterality": "upside"})
    assert response.status_code == 422
    page = soup(response)
    assert "<html" in response.get_data(as_text=True)
    assert page.select_one("#doc-laterality-error") is not None
    assert page.select_one("#doc-laterality")  # the invalid value is shown for correction
    facts = session.exec(select(DocumentationFact)).all()
    assert [(f.field, f.value) for f in facts] == [("symptoms", "bleeding, itching")]
    again = specialist.post(base, data={"laterality": "left"})
    assert again.status_code == 303


def test_other_denials_and_remittances_of_the_claim_are_linked(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    from appeals.models import Payer, Practice
    from tests.factories import make_claim

    later = make_claim(
        session,
        [{"procedure": "17311", "charge": "900.00", "paid": "700.00"}],
        practice=session.get(Practice, world.practice_a),
        payer=session.get(Payer, world.medicare),
        patient_control_number="ACC100",
    )
    session.commit()
    related = soup(specialist.get(f"/denials/{world.denials['mohs']}")).select_one("#related")
    assert related is not None
    rows = related.select("tbody tr")
    assert len(rows) == 1 and "Medicare JK" in rows[0].get_text()
    assert later.claim.payment_id != session.get(Denial, world.denials["mohs"]).claim_id  # type: ignore[union-attr]


def test_saving_several_fields_refreshes_the_findings_once(
    specialist: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appeals import findings

    real = findings.refresh_findings_for_claims
    calls: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> int:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(findings, "refresh_findings_for_claims", counting)
    base = f"/denials/{world.denials['excision']}/documentation"
    data = {"symptoms": "bleeding", "laterality": "left", "site": "nose"}
    assert specialist.post(base, data=data).status_code == 303
    assert len(calls) == 1


# --- issue 14: plain words, documentation per line, the queue around a denial -------------


def bundling_finding(session: Session, denial_id: int) -> tuple[Denial, list[ServiceLine]]:
    """A stored check that compares the denied line with line 2 and asks for both sites."""
    denial = session.get(Denial, denial_id)
    assert denial is not None
    lines = list(
        session.exec(
            select(ServiceLine)
            .where(ServiceLine.claim_id == denial.claim_id)
            .order_by(ServiceLine.line_number)
        )
    )
    message = "line 1 (11602) and line 2 (99213) bundle on the same date; document each site."
    finding = {
        "rule_id": "ncci-pair",
        "message": message,
        "action": "corrected_claim",
        "missing": ["site", "lesion_id"],
        "badge": "add XS/59",
    }
    denial.findings = json.dumps([finding])
    session.add(denial)
    session.commit()
    return denial, lines


def test_missing_documentation_names_its_line_and_is_filled_for_that_line(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial, (first, second) = bundling_finding(session, world.denials["excision"])
    page = soup(specialist.get(f"/denials/{denial.id}"))
    missing = [li.get_text(" ", strip=True) for li in page.select(".missing-facts li")]
    assert missing == [
        "Anatomic site for line 1 (11602), this denial's line",
        "Anatomic site for line 2 (99213)",
        "Lesion label for line 1 (11602), this denial's line",
        "Lesion label for line 2 (99213)",
    ]
    assert "lesion_id" not in page.select_one("#recommendation").get_text()
    other = page.select_one(f"#doc-site-line-{second.id}")
    assert other is not None and other["name"] == f"line{second.id}-site"
    assert "line 2 (99213)" in page.select_one(f"label[for=doc-site-line-{second.id}]").get_text()
    url = f"/denials/{denial.id}/documentation/site?line={second.id}"
    saved = specialist.post(url, data={f"line{second.id}-site": "upper arm"}, headers=HTMX)
    assert saved.status_code == 200
    assert soup(saved).select_one(f"#doc-site-line-{second.id}")["value"] == "upper arm"
    fact = session.exec(select(DocumentationFact)).one()
    assert (fact.procedure_code, fact.field, fact.value) == ("99213", "site", "upper_arm")
    history = soup(specialist.get(f"/denials/{denial.id}/history", headers=HTMX)).get_text()
    assert "recorded Anatomic site for line 2" in history
    # A line of another claim is not this denial's to fill.
    other_claim = session.get(Denial, world.denials["mohs"])
    assert other_claim is not None and other_claim.line_id is not None
    wrong = f"/denials/{denial.id}/documentation/site?line={other_claim.line_id}"
    assert specialist.post(wrong, data={}, headers=HTMX).status_code == 404


def test_other_lines_facts_save_without_javascript(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial, (first, second) = bundling_finding(session, world.denials["excision"])
    response = specialist.post(
        f"/denials/{denial.id}/documentation", data={f"line{second.id}-lesion_id": "B"}
    )
    assert response.status_code == 303
    fact = session.exec(select(DocumentationFact)).one()
    assert (fact.procedure_code, fact.field, fact.value) == ("99213", "lesion_id", "B")


def test_a_line_number_no_table_holds_in_a_documentation_form_is_a_400(
    specialist: FlaskClient, world: World
) -> None:
    key = "line99999999999999999999999-lesion_id"
    response = specialist.post(
        f"/denials/{world.denials['excision']}/documentation", data={key: "B"}
    )
    assert response.status_code == 400
    assert f"“{key}”" in response.get_data(as_text=True)


def test_the_status_control_never_moves_by_default(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    url = f"/denials/{world.denials['mohs']}/status"
    page = soup(specialist.get(f"/denials/{world.denials['mohs']}"))
    chosen = page.select_one("#workflow select[name=status] option[selected]")
    assert chosen["value"] == "" and chosen.has_attr("disabled")
    response = specialist.post(url, data={}, headers=HTMX)
    assert response.status_code == 422
    assert "Choose the status" in soup(response).select_one("#status-error").get_text()
    session.expire_all()
    assert session.get(Denial, world.denials["mohs"]).status == "new"  # type: ignore[union-attr]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "status")).all() == []


def test_the_breadcrumb_keeps_the_queue_filters_and_steps_through_them(
    specialist: FlaskClient, world: World
) -> None:
    d = world.denials
    view = f"payer%3D{world.acme}%26sort%3Damount"
    page = soup(specialist.get(f"/denials/{d['excision']}?queue={view}"))
    assert page.select_one("#back-to-queue")["href"] == f"/queue?payer={world.acme}&sort=amount"
    assert page.select_one("#prev-denial") is None
    assert page.select_one("#next-denial")["href"] == f"/denials/{d['auth']}?queue={view}"
    last = soup(specialist.get(f"/denials/{d['auth']}?queue={view}"))
    assert last.select_one("#prev-denial")["href"] == f"/denials/{d['excision']}?queue={view}"
    assert last.select_one("#next-denial") is None
    # Without a view: the default queue (by priority) around the denial.
    plain = soup(specialist.get(f"/denials/{d['excision']}"))
    assert plain.select_one("#back-to-queue")["href"] == "/queue"
    assert plain.select_one("#prev-denial")["href"] == f"/denials/{d['mohs']}"
    assert plain.select_one("#next-denial")["href"] == f"/denials/{d['auth']}"


def test_history_lines_say_what_happened(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial_id = world.denials["auth"]
    specialist.post(
        f"/denials/{denial_id}/assign", data={"assignee": str(world.users["colleague"])}
    )
    specialist.post(f"/denials/{denial_id}/status", data={"status": "in_progress"})
    base = f"/denials/{denial_id}/documentation"
    specialist.post(f"{base}/authorization_number", data={"authorization_number": "A-1"})
    items = [
        li.get_text(" ", strip=True)
        for li in soup(specialist.get(f"/denials/{denial_id}/history", headers=HTMX)).select(
            "li[data-action]"
        )
    ]
    text = " | ".join(items)
    assert "assigned it to colleague" in text
    assert "moved it from New to In progress" in text
    assert "recorded Authorization number" in text
    assert "authorization_number" not in text and "user #" not in text


def test_saving_a_field_unchanged_adds_no_history_line(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    base = f"/denials/{world.denials['mohs']}/documentation"
    for text in ("1.2", "1.2", "1.20"):
        response = specialist.post(f"{base}/lesion_size_cm", data={"lesion_size_cm": text})
        assert response.status_code == 200
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "update")).all()
    assert len(events) == 1


def test_a_near_deadline_is_a_reason_as_of_today_on_the_page_and_in_the_queue(
    specialist: FlaskClient, world: World
) -> None:
    """Stored reasons hold no deadline words; the page and the queue add them for today."""
    page = soup(specialist.get(f"/denials/{world.denials['mohs']}"))  # 10 days left
    factors = [li.get_text() for li in page.select("#recommendation ul.factors > li")]
    assert factors[:2] == [
        "Medical necessity: 50% recovered (category prior)",
        "deadline in 10 days",
    ]
    far = soup(specialist.get(f"/denials/{world.denials['excision']}"))
    assert "deadline in" not in far.select_one("#recommendation ul.factors").get_text()
    queue = soup(specialist.get("/queue"))
    cell = queue.select_one(f"tr[data-denial-id='{world.denials['mohs']}'] td.num")
    assert (
        cell["title"] == "Medical necessity: 50% recovered (category prior) · deadline in 10 days"
    )
