"""The letter pages: template choice, fields with errors beside them, preview, versions, batch."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import docx
import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from appeals import letters
from appeals.letters import choosing, templates
from appeals.models import Claim, Denial, DocumentationFact, Letter, Payer, Practice
from appeals.web.letters import letters_of
from tests.web.conftest import HTMX, World

DOC = {"diagnosis": "C44.311", "clinical_summary": "Biopsy-proven nodular BCC, 9 mm, left ala."}


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def ready(session: Session, world: World, key: str = "mohs") -> Denial:
    """Give the denial's claim a member ID and the practice a signer (the 835 basics)."""
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


def post(client: FlaskClient, denial: Denial, action: str, **fields: str):  # type: ignore[no-untyped-def]
    data = {"template": "medical_necessity", "ids": str(denial.id), "action": action, **fields}
    return client.post(f"/denials/{denial.id}/letter", data=data)


def test_the_page_shows_the_template_and_its_required_fields(
    specialist: FlaskClient, world: World
) -> None:
    response = specialist.get(f"/denials/{world.denials['mohs']}/letter")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("#letter-template option[selected]")["value"] == "medical_necessity"
    fields = page.select("#letter-fields [data-field]")
    assert [f["data-field"] for f in fields][:2] == ["diagnosis", "clinical_summary"]
    assert "required for this letter" in fields[0].get_text()
    missing = [s["data-missing"] for s in page.select("#missing-other [data-missing]")]
    assert missing == ["patient.member_id", "signer.name"]


def test_changing_the_template_swaps_the_form(specialist: FlaskClient, world: World) -> None:
    url = f"/denials/{world.denials['excision']}/letter?template=bundling"
    response = specialist.get(url, headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="letter-form"' in html
    assert soup(response).select_one('[data-field="distinct_sites"] abbr') is not None
    assert specialist.get(url.replace("bundling", "no_such")).status_code == 404


def test_preview_renders_the_letter_escaped_without_storing_it(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial = ready(session, world)
    note = "O'Brien & <Sons> said {{ 7*7 }}"
    response = post(specialist, denial, "preview", diagnosis="C44.311", clinical_summary=note)
    assert response.status_code == 200
    preview = soup(response).select_one("#letter-preview .letter-preview")
    assert preview is not None
    text = preview.get_text()
    assert note in text and "CLM900100" in text and "$900.00" in text
    assert "C44.311" in text and "<script" not in str(preview)
    assert session.exec(select(Letter)).all() == []
    assert session.exec(select(DocumentationFact)).all() == []


def test_invalid_fields_are_shown_beside_the_field(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial = ready(session, world)
    response = post(specialist, denial, "generate", diagnosis="not-a-code", clinical_summary="x")
    assert response.status_code == 422
    box = soup(response).select_one('#letter-fields [data-field="diagnosis"]')
    assert "has-error" in box["class"]
    assert "not an ICD-10-CM code" in box.select_one(".field-error").get_text()
    assert box.select_one("input")["value"] == "not-a-code"
    assert session.exec(select(Letter)).all() == []


def test_generating_stores_versions_and_downloads_the_docx(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial = ready(session, world)
    response = post(specialist, denial, "generate", **DOC)
    assert response.status_code == 303
    assert post(specialist, denial, "generate", **DOC).status_code == 303
    session.expire_all()
    written = session.exec(select(Letter).order_by(Letter.id)).all()
    assert [w.version for w in written] == [1, 2]
    facts = {f.field: f.value for f in session.exec(select(DocumentationFact))}
    assert facts["diagnosis"] == "C44.311"
    page = soup(specialist.get(f"/denials/{denial.id}/letter"))
    assert len(page.select("#versions [data-letter-id]")) == 2
    download = specialist.get(f"/letters/{written[0].id}.docx")
    assert download.status_code == 200
    assert download.headers["Content-Type"].endswith("wordprocessingml.document")
    assert "CLM900100" in download.headers["Content-Disposition"]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(download.data)).paragraphs)
    assert "Biopsy-proven nodular BCC" in text
    shown = specialist.get(f"/letters/{written[1].id}")
    assert shown.status_code == 200 and "Biopsy-proven nodular BCC" in shown.get_data(as_text=True)
    detail = soup(specialist.get(f"/denials/{denial.id}"))
    assert len(detail.select("#letters-panel [data-letter-id]")) == 2


def test_missing_fields_block_generation(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial = ready(session, world)
    response = post(specialist, denial, "generate", diagnosis="C44.311", clinical_summary="")
    assert response.status_code == 422
    box = soup(response).select_one('#letter-fields [data-field="clinical_summary"]')
    assert "required for this letter" in box.get_text()


def test_other_practices_cannot_see_or_download_letters(
    specialist: FlaskClient, outsider: FlaskClient, world: World, session: Session
) -> None:
    denial = ready(session, world)
    post(specialist, denial, "generate", **DOC)
    letter = session.exec(select(Letter)).one()
    assert outsider.get(f"/denials/{denial.id}/letter").status_code == 404
    assert outsider.get(f"/letters/{letter.id}.docx").status_code == 404
    assert outsider.post("/letters/zip", data={"letter": letter.id}).status_code == 404


def test_anonymous_users_are_sent_to_log_in(anonymous: FlaskClient, world: World) -> None:
    response = anonymous.get(f"/denials/{world.denials['mohs']}/letter")
    assert response.status_code in (302, 303)
    assert "/auth/login" in response.headers["Location"]


def test_the_queue_writes_letters_and_lists_the_skipped(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial = ready(session, world)
    post(specialist, denial, "generate", **DOC)  # stores the documentation facts
    ids = [world.denials["mohs"], world.denials["auth"]]
    response = specialist.post("/letters/batch", data={"ids": ids}, headers=HTMX)
    assert response.status_code == 200
    page = soup(response)
    skipped = [li["data-denial-id"] for li in page.select("#letter-skipped li")]
    assert skipped == [str(world.denials["auth"])]
    reason = page.select_one("#letter-skipped").get_text()
    assert "needs the patient's member ID, why it could not wait and clinical findings" in reason
    assert "doc." not in reason
    download = page.select_one("#letter-batch form[action='/letters/zip']")
    fields = [(i["name"], i["value"]) for i in download.select("input[type=hidden]")]
    assert [name for name, _ in fields].count("letter") == 1
    body = MultiDict(fields)
    archive = zipfile.ZipFile(io.BytesIO(specialist.post("/letters/zip", data=body).data))
    assert [n for n in archive.namelist() if n.startswith("CLM900100-medical_necessity")]
    index = archive.read(letters.INDEX_FILE).decode().splitlines()
    assert index[0].startswith("file,result,denial_id,claim_number")
    assert [line.split(",")[1] for line in index[1:]] == ["written", "skipped"]
    assert "why it could not wait" in index[2]
    queue = soup(specialist.get("/queue"))
    assert queue.select_one('#bulk button[formaction="/letters/batch"]') is not None


def test_the_queue_batch_leaves_out_expired_and_corrected_claim_denials(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    excision = session.get(Denial, world.denials["excision"])
    assert excision is not None
    excision.action = "corrected_claim"
    session.add(excision)
    session.commit()
    ids = [world.denials["cosmetic"], world.denials["excision"]]
    response = specialist.post("/letters/batch", data={"ids": ids}, headers=HTMX)
    assert response.status_code == 422  # nothing written
    items = {
        li["data-denial-id"]: li.get_text() for li in soup(response).select("#letter-skipped li")
    }
    assert "the appeal deadline passed on" in items[str(world.denials["cosmetic"])]
    assert (
        "recommended route: Corrected claim, not an appeal" in items[str(world.denials["excision"])]
    )
    assert session.exec(select(Letter)).all() == []


def test_version_lists_do_not_load_the_docx(
    app: Flask, specialist: FlaskClient, world: World, session: Session
) -> None:
    denial = ready(session, world)
    assert post(specialist, denial, "generate", **DOC).status_code == 303
    with app.test_request_context():
        [listed] = letters_of(denial.id or 0)
        assert "docx" in sa.inspect(listed).unloaded
        assert listed.docx.startswith(b"PK")  # still there when asked for


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts per request: template folder scans, contexts built, same-claim denial queries."""
    calls: Counter[str] = Counter()

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    scan = counting("templates", templates.available_templates)
    for module in (templates, choosing, letters):
        monkeypatch.setattr(module, "available_templates", scan)
    monkeypatch.setattr(letters, "build_context", counting("context", letters.build_context))

    def statement(conn, cursor, sql: str, *args: Any) -> None:  # type: ignore[no-untyped-def]
        if re.search(r"FROM denial\s+WHERE denial\.claim_id =", sql):
            calls["claim_denials"] += 1

    sa.event.listen(sa.Engine, "before_cursor_execute", statement)
    yield calls
    sa.event.remove(sa.Engine, "before_cursor_execute", statement)


def test_a_letter_page_looks_things_up_once(
    specialist: FlaskClient, world: World, session: Session, counted: Counter[str]
) -> None:
    denial = ready(session, world)
    assert specialist.get(f"/denials/{denial.id}/letter").status_code == 200
    assert counted == {"templates": 1, "context": 1, "claim_denials": 1}
    counted.clear()
    assert post(specialist, denial, "preview", **DOC).status_code == 200
    assert counted == {"templates": 1, "context": 1, "claim_denials": 1}


def test_the_preview_shows_the_practice_logo_like_the_letter(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    denial = ready(session, world)
    practice = session.get(Practice, denial.practice_id)
    assert practice is not None
    practice.logo = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    practice.logo_mime = "image/png"
    session.add(practice)
    session.commit()
    preview = soup(post(specialist, denial, "preview", **DOC)).select_one("#letter-preview")
    assert preview is not None and preview.select(".letter-image")


def test_a_letter_checks_every_denied_line_its_template_covers(
    specialist: FlaskClient, world: World, session: Session
) -> None:
    from tests.factories import make_claim

    practice = session.get(Practice, world.practice_a)
    payer = session.get(Payer, world.medicare)
    denied = {"adjustments": [("CO", "50", "120.00")], "rarcs": ["N115"]}
    made = make_claim(
        session,
        [{"procedure": "11102", **denied}, {"procedure": "11104", **denied}],
        practice=practice,
        payer=payer,
        category="medical_necessity",
    )
    for denial in made.denials:
        denial.carc, denial.rarcs, denial.payer_type = "50", "N115", "medicare"
        session.add(denial)
    session.commit()
    first, second = (d.id for d in made.denials)
    page = BeautifulSoup(
        specialist.get(f"/denials/{first}/letter").get_data(as_text=True), "html.parser"
    )
    checked = {int(box["value"]) for box in page.select("#letter-lines input[checked]")}
    assert checked == {first, second}
