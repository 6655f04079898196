"""Appeal letters: template choice, context, rendering, storage, batch zip and template checks."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from docxtpl import DocxTemplate
from sqlmodel import Session, select

from appeals import codes, fields, letters, lifecycle
from appeals.models import (
    Adjustment,
    Appeal,
    AuditEvent,
    Claim,
    Denial,
    DenialScore,
    DocumentationFact,
    Letter,
    Payer,
    PayerAppealAddress,
    Payment,
    Practice,
    RemittanceFile,
    ServiceLine,
)

TODAY = date(2026, 4, 2)

# Documentation that satisfies every template's requirements.
FULL_DOC = {
    "diagnosis": "L82.0",
    "clinical_summary": "6 mm erythematous, crusted papule on the left cheek; bleeds when shaving.",
    "site": "cheek",
    "laterality": "left",
    "lesion_size_cm": "0.6",
    "symptoms": "Bleeding and itching for 3 months",
    "modifier": "25",
    "modifier_rationale": "The E/M addressed worsening psoriasis, separate from the biopsy.",
    "em_reason": "plaque psoriasis flare needing a change of therapy",
    "urgency_reason": "Rapidly growing lesion suspicious for squamous cell carcinoma.",
    "distinct_sites": "11102 on the left cheek; 17000 on the right temple.",
    "original_submission_date": "01/20/2026",
    "submission_proof": "Clearinghouse acceptance report batch 55120 dated 01/20/2026",
    "distinguishing_facts": "Second biopsy of a separate lesion on the back.",
    "prior_appeal_date": "02/10/2026",
    "prior_decision": "Upheld: documentation did not support necessity.",
}


@dataclass
class World:
    practice: Practice
    payer: Payer
    claim: Claim
    lines: list[ServiceLine]
    denials: list[Denial]


def make_world(
    session: Session,
    *,
    first_name: str = "Jane",
    last_name: str = "Doe",
    category: str = "medical_necessity",
    carc: str = "50",
    rarcs: str = "N115",
    appeal_level: int = 1,
    findings: str = "",
    filing_indicator: str = "MB",
    logo: bytes | None = None,
    claim_number: str = "ICN-2026-0001",
    action: str = "appeal",
    deadline: date | None = None,
    status: str = "new",
) -> World:
    """A practice, Medicare payer with an appeal address, a claim with two denied lines.

    The appeal deadline is 120 days from today unless given.
    """
    practice = session.exec(select(Practice)).first() or Practice(
        name="Lakeside Dermatology",
        npi="1234567893",
        tax_id="12-3456789",
        address_line1="100 Main St",
        address_line2="Suite 2",
        city="Columbus",
        state="OH",
        postal_code="43004",
        phone="614-555-0100",
        signer_name="Ana Ruiz",
        signer_title="Billing Manager",
        logo=logo,
    )
    known = session.exec(select(Payer)).first()
    payer = known or Payer(identifier="15004", name="CGS Medicare J15", payer_type="medicare")
    session.add_all([practice, payer])
    session.flush()
    if known is None:
        session.add(
            PayerAppealAddress(
                payer_id=payer.id,
                product_line="medicare",
                department="Redeterminations",
                address_line1="PO Box 20018",
                city="Nashville",
                state="TN",
                postal_code="37202",
                fax="615-555-0199",
            )
        )
    remittance = RemittanceFile(name="era.835", sha256=f"sha-{claim_number}")
    session.add(remittance)
    session.flush()
    payment = Payment(
        file_id=remittance.id,
        practice_id=practice.id,
        payer_id=payer.id,
        dedupe_key=f"p-{claim_number}",
        amount=Decimal("0.00"),
        payment_date=date(2026, 3, 20),
    )
    session.add(payment)
    session.flush()
    claim = Claim(
        payment_id=payment.id,
        practice_id=practice.id,
        payer_id=payer.id,
        patient_control_number=f"PCN-{claim_number}",
        payer_claim_control_number=claim_number,
        status="4",
        charge=Decimal("385.00"),
        paid=Decimal("0.00"),
        filing_indicator=filing_indicator,
        patient_first_name=first_name,
        patient_last_name=last_name,
        member_id="1EG4TE5MK73",
        rendering_provider_name="Dr. Maya Chen",
        rendering_provider_npi="1098765432",
        service_date=date(2026, 3, 2),
    )
    session.add(claim)
    session.flush()
    lines = [
        ServiceLine(
            claim_id=claim.id,
            line_number=1,
            procedure_code="99213",
            charge=Decimal("135.00"),
            service_date=date(2026, 3, 2),
        ),
        ServiceLine(
            claim_id=claim.id,
            line_number=2,
            procedure_code="11102",
            modifiers="59",
            charge=Decimal("250.00"),
            service_date=date(2026, 3, 2),
        ),
    ]
    session.add_all(lines)
    session.flush()
    denials = []
    for line in lines:
        session.add(
            Adjustment(
                claim_id=claim.id, line_id=line.id, group_code="CO", reason=carc, amount=line.charge
            )
        )
        denial = Denial(
            practice_id=practice.id,
            payer_id=payer.id,
            claim_id=claim.id,
            line_id=line.id,
            patient_control_number=claim.patient_control_number,
            procedure_code=line.procedure_code,
            service_date=line.service_date,
            denied_on=date(2026, 3, 20),
            group_code="CO",
            carc=carc,
            carcs=carc,
            rarcs=rarcs,
            category=category,
            action=action,
            status=status,
            denied_amount=line.charge,
            appeal_level=appeal_level,
            deadline=deadline or date.today() + timedelta(days=120),
            findings=findings,
        )
        session.add(denial)
        denials.append(denial)
    session.flush()
    session.add_all(DenialScore(id=d.id or 0) for d in denials)  # as the importer stores them
    session.commit()
    return World(practice, payer, claim, lines, denials)


def add_facts(session: Session, world: World, facts: dict[str, str], procedure: str = "") -> None:
    for field, value in facts.items():
        session.add(
            DocumentationFact(
                practice_id=world.practice.id,
                patient_control_number=world.claim.patient_control_number,
                service_date=world.claim.service_date,
                procedure_code=procedure,
                field=field,
                value=value,
            )
        )
    session.commit()


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    for section in document.sections:
        parts.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(parts)


# --- templates and choice ------------------------------------------------------------------


def test_every_letter_kind_has_a_template_and_metadata() -> None:
    names = set(letters.available_templates())
    assert {
        "medical_necessity",
        "modifier_correction",
        "cosmetic_vs_medical",
        "prior_authorization",
        "bundling",
        "timely_filing",
        "duplicate",
        "second_level",
    } <= names


def test_the_built_in_templates_pass_the_check() -> None:
    assert letters.check_templates() == []


def test_every_template_field_is_in_the_documented_schema() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "letter-context.md").read_text()
    for info in letters.available_templates().values():
        assert info.path is not None
        variables = DocxTemplate(str(info.path)).get_undeclared_template_variables()
        tops = {key.split(".")[0].split("[")[0] for key in letters.CONTEXT_SCHEMA}
        assert variables <= tops, (info.name, variables - tops)
        for path in letters.used_fields(letters.template_source(info.path)):
            assert path in letters.CONTEXT_SCHEMA or any(
                k.startswith(path + ".") or k.startswith(path + "[]")
                for k in letters.CONTEXT_SCHEMA
            ), (info.name, path)
    for key in letters.CONTEXT_SCHEMA:
        assert f"`{key}`" in doc, f"{key} is not documented in docs/letter-context.md"


@pytest.mark.parametrize(
    ("category", "level", "findings", "expected"),
    [
        ("medical_necessity", 1, "", "medical_necessity"),
        ("coding_modifier", 1, "", "modifier_correction"),
        ("noncovered_cosmetic", 1, "", "cosmetic_vs_medical"),
        ("authorization_precert", 1, "", "prior_authorization"),
        ("bundling_ncci", 1, "", "bundling"),
        ("timely_filing", 1, "", "timely_filing"),
        ("duplicate", 1, "", "duplicate"),
        ("coordination_of_benefits", 1, "", "medical_necessity"),
        ("medical_necessity", 2, "", "second_level"),
        ("medical_necessity", 1, json.dumps([{"letter": "bundling"}]), "bundling"),
        ("medical_necessity", 1, json.dumps({"letter": "nonexistent"}), "medical_necessity"),
    ],
)
def test_it_chooses_the_template_from_level_findings_and_category(
    category: str, level: int, findings: str, expected: str
) -> None:
    denial = Denial(
        practice_id=1,
        payer_id=1,
        claim_id=1,
        patient_control_number="X",
        category=category,
        action="appeal",
        appeal_level=level,
        findings=findings,
    )
    assert letters.choose_template(denial) == expected


# --- context -------------------------------------------------------------------------------


def test_context_holds_the_claim_lines_codes_and_documentation(session: Session) -> None:
    cite = {"procedure": "11102", "bundled_with": "17000", "site_of_denied_line": "left cheek"}
    world = make_world(session, findings=json.dumps([{"rule_id": "ncci", "cite": cite}]))
    add_facts(session, world, {"diagnosis": "L82.1", "symptoms": "itching"})
    add_facts(
        session, world, {"diagnosis": "D48.5", "site": "cheek", "laterality": "left"}, "11102"
    )
    ids = [d.id for d in world.denials]
    context = letters.build_context(session, ids, {"doc.symptoms": "bleeding"}, today=TODAY)
    assert context["today"] == "April 2, 2026"
    assert context["claim"]["number"] == "ICN-2026-0001"
    assert context["claim"]["dates_of_service"] == "03/02/2026"
    assert [line["procedure_code"] for line in context["lines"]] == ["99213", "11102"]
    assert context["lines"][1]["modifiers"] == "59"
    assert context["lines"][1]["denied"] == "$250.00"
    assert context["total_denied"] == "$385.00"
    assert context["reasons"] == [
        {
            "label": "CO-50",
            "code": "50",
            "group": "CO",
            "description": "These are non-covered services because this is not deemed a "
            "'medical necessity' by the payer.",
        }
    ]
    assert "Usage" in codes.describe_carc("50")  # the X12 note is in the list, not the letter
    assert context["remarks"][0]["code"] == "N115"
    assert context["remarks"][0]["description"]
    assert context["doc"]["diagnosis"] == "L82.1; D48.5"
    assert context["lines"][0]["diagnosis"] == "L82.1 (other seborrheic keratosis)"
    assert context["lines"][1]["location"] == "left cheek"
    assert context["lesion"]["location"] == "left cheek"
    assert context["doc"]["symptoms"] == "bleeding"
    assert context["payer"]["is_medicare"] is True
    assert context["appeal"]["request"] == "a redetermination"
    assert context["appeal_address"]["address_line1"] == "PO Box 20018"
    assert "Bundled with: 17000" in context["citations"]
    assert not any(c.startswith("Procedure") for c in context["citations"])
    assert context["signer"]["name"] == "Ana Ruiz"
    json.dumps(context)  # plain values only


def test_a_letter_covers_lines_of_one_claim_only(session: Session) -> None:
    first = make_world(session, claim_number="A1")
    second = make_world(session, claim_number="B2")
    with pytest.raises(letters.LetterError, match="one claim"):
        letters.build_context(session, [first.denials[0].id, second.denials[0].id])
    with pytest.raises(letters.LetterError, match="no denial"):
        letters.build_context(session, [999_999])


def test_the_modifier_correction_names_the_corrected_line(session: Session) -> None:
    world = make_world(session, category="coding_modifier", carc="4")
    context = letters.build_context(session, [world.denials[0].id], {"modifier": "25"})
    assert context["correction"]["billed_line"] == "99213 (no modifier)"
    assert context["correction"]["corrected_line"] == "99213-25"
    assert "separately identifiable" in context["correction"]["guidance"]


def test_alert_remarks_are_not_quoted_as_the_reason(session: Session) -> None:
    """MA01 tells the provider how to appeal; it is not why the line was denied."""
    assert codes.is_alert("MA01") and not codes.is_alert("N115")
    world = make_world(session, rarcs="MA01 N115")
    context = letters.build_context(session, [d.id or 0 for d in world.denials], FULL_DOC)
    assert [r["code"] for r in context["remarks"]] == ["N115"]
    assert [line["reason_codes"] for line in context["lines"]] == ["CO-50 N115", "CO-50 N115"]
    text = docx_text(letters.render("medical_necessity", context))
    assert "MA01" not in text and "Alert:" not in text and "Remark N115" in text


def test_the_carc_is_quoted_without_the_x12_notes() -> None:
    assert codes.carc_reason("96") == "Non-covered charge(s)."
    assert codes.carc_reason("16") == (
        "Claim/service lacks information or has submission/billing error(s)."
    )
    assert codes.carc_reason("A1") == "Claim/Service denied."
    for code in ("50", "96", "97", "197", "204"):
        assert "Usage" not in codes.carc_reason(code) and codes.carc_reason(code)


def test_diagnosis_codes_carry_their_icd10_descriptions() -> None:
    assert letters.diagnosis_text("C44.311 z940, D48.5") == (
        "C44.311 (basal cell carcinoma of skin of nose); z940 (kidney transplant status); "
        "D48.5 (neoplasm of uncertain behavior of skin)"
    )
    assert letters.diagnosis_text("L98.9") == "L98.9"  # not in the list: no guessed meaning
    assert codes.describe_icd10("L82.0") == "Inflamed seborrheic keratosis"


MOHS_FINDING = {
    "rule_id": "mohs-appropriate-use",
    "action": "appeal",
    "letter": "medical_necessity",
    "cite": {
        "procedure": "17311",
        "denial_codes": "CO-50",
        "tumor_type": "basal cell carcinoma, nodular",
        "site": "nose",
        "lesion_size_cm": "0.9",
        "recurrent": "no",
        "immunosuppressed": "yes",
        "diagnosis": "C44.311 Z94.0",
        "auc_area": "H",
    },
}


def test_cited_facts_have_labels_and_the_letter_names_what_they_meet(session: Session) -> None:
    world = make_world(session, findings=json.dumps([MOHS_FINDING]))
    doc = dict(FULL_DOC, diagnosis="C44.311 Z94.0", site="nose")
    context = letters.build_context(session, [world.denials[0].id or 0], doc, today=TODAY)
    assert context["citations"] == [
        "Tumour type and subtype: basal cell carcinoma, nodular",
        "Recurrent tumour: no",
        "Patient immunosuppressed: yes",
        "Mohs AUC area: H (high-risk area: the central face, eyelids, eyebrows, nose, lips, "
        "chin, ears, temples, genitalia, hands, feet, nail units, ankles and nipples)",
    ]  # diagnosis, site and size are in the letter's own paragraphs, not repeated
    assert context["authorities"] == [
        "The appropriate use criteria for Mohs micrographic surgery (AAD, ACMS, ASDSA and ASMS; "
        "J Am Acad Dermatol 2012;67:531-550)",
        "The Medicare contractor's local coverage determination (LCD) for Mohs micrographic "
        "surgery, which adopts those criteria",
    ]
    text = docx_text(letters.render("medical_necessity", context))
    assert "Mohs AUC area: H" in text and "Auc area" not in text
    assert "The rules and criteria this appeal relies on:" in text
    assert "appropriate use criteria for Mohs micrographic surgery" in text
    assert text.count("C44.311") == 1  # once, with its description


NCCI_FINDING = {
    "rule_id": "ncci-pair",
    "action": "appeal",
    "letter": "bundling",
    "cite": {
        "procedure": "11102",
        "bundled_with": "17000",
        "lesion_id": "A",
        "site_of_denied_line": "site not documented (lesion A)",
        "site_of_other_line": "right temple (lesion B)",
    },
}


def test_a_distinct_sites_letter_is_refused_rather_than_say_site_not_documented(
    session: Session,
) -> None:
    world = make_world(
        session, category="bundling_ncci", carc="97", findings=json.dumps([NCCI_FINDING])
    )
    ids = [world.denials[1].id or 0]
    argued = {"distinct_sites": "11102 on lesion A; 17000 on lesion B, a different lesion."}
    context = letters.build_context(session, ids, argued, today=TODAY)
    assert not any("not documented" in c for c in context["citations"])
    assert "Bundled with: 17000" not in context["citations"]  # the letter states the sites
    with pytest.raises(letters.MissingFields) as caught:
        letters.generate_letter(session, ids, overrides=argued, today=TODAY)
    assert caught.value.fields == ["doc.site"]
    assert caught.value.words == "needs anatomic site"
    placed = dict(argued, site="cheek", laterality="left")
    letter = letters.generate_letter(session, ids, overrides=placed, today=TODAY)
    text = docx_text(letter.docx)
    assert "not documented" not in text
    assert "11102 on 03/02/2026: left cheek" in text
    assert "NCCI) procedure-to-procedure edits" in text


# --- rendering -----------------------------------------------------------------------------


@pytest.mark.parametrize("template", sorted(letters.available_templates()))
def test_each_template_renders_a_word_document_with_the_claim_facts(
    session: Session, template: str
) -> None:
    world = make_world(session)
    context = letters.build_context(session, [d.id for d in world.denials], FULL_DOC, today=TODAY)
    assert letters.missing_fields(template, context) == []
    text = docx_text(letters.render(template, context))
    assert "ICN-2026-0001" in text
    assert codes.carc_reason("50") in text and "Usage:" not in text
    assert "$385.00" in text and "$250.00" in text and "$135.00" in text
    assert "Lakeside Dermatology" in text and "Jane Doe" in text and "1EG4TE5MK73" in text
    assert "PO Box 20018" in text
    assert "{{" not in text and "{%" not in text


def test_user_text_is_escaped_and_shown_as_typed(session: Session) -> None:
    world = make_world(session, first_name="Liam", last_name="O'Brien & <Sons>")
    note = "Patient said {{ 7*7 }} and {% if x %}; size <1 cm & growing"
    doc = dict(FULL_DOC, clinical_summary=note, symptoms="bleeds\nitches")
    context = letters.build_context(session, [world.denials[0].id], doc, today=TODAY)
    data = letters.render("medical_necessity", context)
    text = docx_text(data)
    assert "Liam O'Brien & <Sons>" in text
    assert note in text
    assert "49" not in text.replace("1234567893", "")
    assert "bleeds\nitches" in text  # a newline becomes a line break


def test_a_letter_with_a_logo_embeds_the_image(session: Session) -> None:
    png = (Path(__file__).resolve().parents[2] / "appeals" / "web" / "static").glob("*.png")
    logo = next(iter(png), None)
    data = logo.read_bytes() if logo else _tiny_png()
    world = make_world(session, logo=data)
    letter = letters.generate_letter(session, [world.denials[0].id], overrides=FULL_DOC)
    with zipfile.ZipFile(io.BytesIO(letter.docx)) as archive:
        assert any(name.startswith("word/media/") for name in archive.namelist())


def _tiny_png() -> bytes:
    import base64

    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )


def test_missing_required_fields_are_listed(session: Session) -> None:
    world = make_world(session, category="noncovered_cosmetic", carc="96")
    with pytest.raises(letters.MissingFields) as caught:
        letters.generate_letter(session, [world.denials[0].id])
    assert caught.value.template == "cosmetic_vs_medical"
    assert caught.value.fields == ["doc.diagnosis", "doc.site", "doc.symptoms"]
    assert "doc.symptoms (Symptoms and signs" in str(caught.value)
    assert session.exec(select(Letter)).all() == []


# --- storage -------------------------------------------------------------------------------


def test_generating_stores_versions_with_a_snapshot_and_an_appeal(session: Session) -> None:
    world = make_world(session)
    add_facts(
        session,
        world,
        {"diagnosis": "C44.311", "clinical_summary": "Biopsy-proven BCC"},
    )
    ids = [d.id for d in world.denials]
    first = letters.generate_letter(session, ids, user_id=None, today=TODAY)
    second = letters.generate_letter(session, ids, user_id=None, today=TODAY)
    other = letters.generate_letter(session, ids, "duplicate", overrides=FULL_DOC)
    session.commit()
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.template == "medical_necessity" and first.denial_id == ids[0]
    snapshot = json.loads(first.context)
    assert snapshot["total_denied"] == "$385.00"
    assert snapshot["claim"]["number"] == "ICN-2026-0001"
    appeals = session.exec(select(Appeal)).all()
    assert sorted(a.denial_id for a in appeals) == sorted(ids)
    assert {a.level for a in appeals} == {1}
    assert first.appeal_id == second.appeal_id == other.appeal_id
    assert len(session.exec(select(Letter)).all()) == 3
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "letter")).all()
    assert len(events) == 6
    assert "Doe" not in "".join(e.detail for e in events)
    docx.Document(io.BytesIO(second.docx))


def test_a_two_line_letter_credits_both_denials(session: Session) -> None:
    world = make_world(session)
    ids = [d.id or 0 for d in world.denials]
    letter = letters.generate_letter(session, ids, overrides=FULL_DOC, today=TODAY)
    session.commit()
    for denial in world.denials:
        session.refresh(denial)
        assert denial.status == "in_progress"
        appeal = lifecycle.open_appeal(session, denial)
        assert appeal is not None
        assert [x.id for x in lifecycle.letters_of_appeal(session, appeal.id or 0)] == [letter.id]
        assert [x.id for x in lifecycle.letters_for(session, [denial.id or 0])] == [letter.id]
    sending = lifecycle.Sending(TODAY, "mail", "CERT-1", None)
    lifecycle.send_appeal(session, world.denials, sending, None)
    assert {d.status for d in world.denials} == {"appealed"}


def test_a_second_level_letter_is_prefilled_from_the_first_appeal(session: Session) -> None:
    world = make_world(session)
    denial = world.denials[0]
    denial.payer_type = "medicare"
    lifecycle.send_appeal(
        session, [denial], lifecycle.Sending(date(2026, 4, 1), "mail", "R-55", None), None
    )
    lost = lifecycle.Decision("lost", date(2026, 5, 20), Decimal("0"), True)
    lifecycle.record_decision(session, denial, lost, None, today=TODAY)
    assert denial.appeal_level == 2
    assert letters.choose_template(denial) == "second_level"
    context = letters.build_context(session, [denial.id or 0], today=TODAY)
    assert context["doc"]["prior_appeal_date"] == "2026-04-01"
    assert context["doc"]["prior_appeal_reference"] == "R-55"
    assert context["doc"]["prior_decision"] == "Lost on 05/20/2026"


def test_a_second_level_denial_gets_a_second_level_appeal(session: Session) -> None:
    world = make_world(session, appeal_level=2)
    letter = letters.generate_letter(session, [world.denials[0].id], overrides=FULL_DOC)
    assert letter.template == "second_level"
    appeal = session.get(Appeal, letter.appeal_id)
    assert appeal is not None and appeal.level == 2
    text = docx_text(letter.docx)
    assert "Qualified Independent Contractor" in text
    assert "02/10/2026" in text


def _index(data: bytes) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return list(csv.DictReader(io.StringIO(archive.read(letters.INDEX_FILE).decode())))


def test_the_batch_zip_skips_and_lists_denials_with_missing_fields(session: Session) -> None:
    ready = make_world(session, claim_number="READY-1")
    add_facts(session, ready, {"diagnosis": "L57.0", "clinical_summary": "Hyperkeratotic AKs"})
    lacking = make_world(session, claim_number="LACK-2", category="timely_filing", carc="29")
    ids = [d.id for d in ready.denials] + [lacking.denials[0].id]
    data, skipped = letters.render_batch_zip(session, ids, None, today=TODAY)
    [left_out] = skipped
    assert left_out.denial_id == lacking.denials[0].id
    assert left_out.fields == ("doc.original_submission_date", "doc.submission_proof")
    assert left_out.reason == "needs date first submitted and proof of timely submission"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        letter_names = [n for n in names if n.endswith(".docx")]
        assert len(letter_names) == 1
        assert letter_names[0].startswith("READY-1-medical_necessity-")
        assert "Doe" not in "".join(names)
        text = docx_text(archive.read(letter_names[0]))
    assert "READY-1" in text and "99213" in text and "11102" in text
    index = _index(data)
    assert [(r["result"], r["denial_id"], r["procedure"]) for r in index] == [
        ("written", str(ready.denials[0].id), "99213"),
        ("written", str(ready.denials[1].id), "11102"),
        ("skipped", str(lacking.denials[0].id), "99213"),
    ]
    assert index[0]["file"] == letter_names[0] and index[0]["denied"] == "$135.00"
    assert index[2]["claim_number"] == "LACK-2" and index[2]["reason"] == left_out.reason
    assert "Doe" not in json.dumps(index)


def test_a_batch_writes_only_appeals_within_their_deadline(session: Session) -> None:
    """Corrected claims, reopenings, expired and already appealed denials are skipped, with the
    reason in plain words; the index lists them."""
    doc = {"diagnosis": "L57.0", "clinical_summary": "Hyperkeratotic AKs"}
    worlds = {
        "appeal": make_world(session, claim_number="C-APPEAL"),
        "corrected": make_world(session, claim_number="C-CORR", action="corrected_claim"),
        "reopening": make_world(session, claim_number="C-REOPEN", action="reopening"),
        "expired": make_world(session, claim_number="C-LATE", deadline=TODAY - timedelta(days=1)),
        "appealed": make_world(session, claim_number="C-SENT", status="appealed"),
        "level2": make_world(
            session, claim_number="C-L2", action="corrected_claim", appeal_level=2
        ),
    }
    for world in worlds.values():
        add_facts(session, world, {**doc, "prior_appeal_date": "2026-02-10"})
        add_facts(session, world, {"prior_decision": "Upheld"})
    ids = [world.denials[0].id or 0 for world in worlds.values()]
    data, skipped = letters.render_batch_zip(session, ids, None, today=TODAY)
    reasons = {s.claim_number: s.reason for s in skipped}
    assert reasons == {
        "C-CORR": "recommended route: Corrected claim, not an appeal",
        "C-REOPEN": "recommended route: Reopening (clerical error), not an appeal",
        "C-LATE": "the appeal deadline passed on 04/01/2026",
        "C-SENT": "status is Appealed: no appeal is due",
    }
    written = [r for r in _index(data) if r["result"] == "written"]
    assert [(r["claim_number"], r["template"]) for r in written] == [
        ("C-APPEAL", "medical_necessity"),
        ("C-L2", "second_level"),  # every later level is an appeal
    ]
    skipped_rows = [r for r in _index(data) if r["result"] == "skipped"]
    assert {r["claim_number"]: r["reason"] for r in skipped_rows} == reasons
    assert all("doc." not in r["reason"] for r in skipped_rows)


def test_a_skipped_letter_says_what_is_missing_in_plain_words(session: Session) -> None:
    world = make_world(session, category="coding_modifier", carc="4")
    [skipped] = letters.generate_batch(session, [world.denials[0].id or 0], today=TODAY)[1]
    assert skipped.reason == "needs modifier that applies and why the modifier applies"
    assert skipped.fields == ("doc.modifier", "doc.modifier_rationale")
    again = letters.explain_skipped(session, [world.denials[0].id or 0], today=TODAY)
    assert again == [skipped]


# --- checking templates --------------------------------------------------------------------


def _edited_copy(source: Path, target: Path, old: str, new: str) -> None:
    """Copy a template, replacing text in its body (as a practice would in Word)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode()
                assert old in text
                data = text.replace(old, new, 1).encode()
            dst.writestr(item, data)


def test_the_check_finds_unknown_fields_and_syntax_errors(tmp_path: Path) -> None:
    builtin = letters.BUILTIN_FOLDER
    _edited_copy(
        builtin / "duplicate.docx",
        tmp_path / "duplicate.docx",
        "{{ doc.distinguishing_facts }}",
        "{{ doc.distinguishing_facts }} {{ patient.favourite_colour }}",
    )
    _edited_copy(
        builtin / "bundling.docx",
        tmp_path / "bundling.docx",
        "{{ doc.distinct_sites }}",
        "{{ doc.distinct_sites }} {% if doc.modifier %}",
    )
    shutil.copy(builtin / "timely_filing.docx", tmp_path / "my_custom.docx")
    problems = {
        (p.template, p.field, p.message.split(" (")[0]) for p in letters.check_templates(tmp_path)
    }
    assert ("duplicate", "patient.favourite_colour", "unknown field") in problems
    assert any(t == "bundling" and m.startswith("Jinja syntax error") for t, _, m in problems)
    assert ("my_custom", "", "not declared in templates.json") in problems
    assert not any(t == "duplicate" and f != "patient.favourite_colour" for t, f, _ in problems)


def test_the_check_reports_required_fields_that_are_unknown_or_unused(tmp_path: Path) -> None:
    shutil.copy(letters.BUILTIN_FOLDER / "duplicate.docx", tmp_path / "duplicate.docx")
    (tmp_path / "templates.json").write_text(
        json.dumps(
            {
                "templates": [
                    {
                        "name": "duplicate",
                        "title": "Duplicate",
                        "categories": ["duplicate"],
                        "required": ["doc.no_such_field", "doc.pathology"],
                    }
                ]
            }
        )
    )
    problems = {(p.field, p.message) for p in letters.check_templates(tmp_path)}
    assert ("doc.no_such_field", "required field is not in the context schema") in problems
    assert ("doc.pathology", "required field is not used by the template") in problems


def test_a_practice_copy_overrides_the_default_by_name(session: Session, tmp_path: Path) -> None:
    _edited_copy(
        letters.BUILTIN_FOLDER / "medical_necessity.docx",
        tmp_path / "medical_necessity.docx",
        "To the appeals reviewer:",
        "Dear colleagues at the plan:",
    )
    world = make_world(session)
    folders = letters.template_folders(tmp_path)
    letter = letters.generate_letter(
        session, [world.denials[0].id], overrides=FULL_DOC, folders=folders
    )
    assert "Dear colleagues at the plan:" in docx_text(letter.docx)
    assert letters.template_info("medical_necessity", folders).required == (
        "doc.diagnosis",
        "doc.clinical_summary",
    )


# --- PDF through LibreOffice ---------------------------------------------------------------


def _libreoffice() -> tuple[str, Path]:
    """soffice and LibreOffice's own PDF reader (`xpdfimport`, shipped beside it, poppler-based).

    Skipped when LibreOffice is missing, except in CI, where it must be installed.
    """
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    reader = Path(os.path.realpath(soffice)).parent / "xpdfimport" if soffice else None
    if soffice is None or reader is None or not reader.exists():
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice and its xpdfimport) must be installed in CI")
        pytest.skip("LibreOffice is not installed: the letters are not converted to PDF")
    return soffice, reader


def _to_pdf(soffice: str, sources: list[Path], folder: Path) -> list[Path]:
    """The .docx files converted to PDF by one LibreOffice run."""
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return [folder / f"{source.stem}.pdf" for source in sources]


def pdf_pages(reader: Path, pdf: Path) -> list[list[str]]:
    """Each page's lines of text, top to bottom, as a reader sees them.

    `xpdfimport` prints every character it draws with its box (`drawChar x1 y1 x2 y2 ...
    size char`); characters on one baseline make a line, and a gap wider than a space between
    two of them (a table's cell border) becomes one space.
    """
    out = subprocess.run([str(reader), str(pdf)], capture_output=True, check=True, timeout=60)
    pages: list[dict[float, list[tuple[float, float, str]]]] = []
    for raw in out.stdout.split(b"\n"):
        if raw.startswith(b"startPage"):
            pages.append({})
        elif raw.startswith(b"drawChar ") and pages:
            parts = raw.split(b" ", 10)
            x1, y, x2 = float(parts[1]), float(parts[2]), float(parts[3])
            char = parts[10].decode() if len(parts) > 10 else " "
            pages[-1].setdefault(round(y, 1), []).append((x1, x2, char))
    result = []
    for rows in pages:
        lines = []
        for y in sorted(rows, reverse=True):  # PDF y grows upwards
            text, end = "", None
            for x1, x2, char in sorted(rows[y]):
                if end is not None and x1 - end > 2.5 and not text.endswith(" "):
                    text += " "
                text, end = text + char, x2
            lines.append(text.strip())
        result.append(lines)
    return result


@pytest.mark.slow
def test_a_two_line_letter_reads_well_as_a_pdf(session: Session, tmp_path: Path) -> None:
    """What a payer's reviewer reads: the medical-necessity letter for two lines as a PDF.

    The date of each line is whole on its row, the CARC is quoted without X12's usage note,
    alerts are not quoted, the diagnosis carries its description, the date of birth and page
    numbers are printed, and the signature never stands alone on a page whatever the length
    of the letter (the same letter padded by a few lines at a time is converted as well).
    """
    soffice, reader = _libreoffice()
    world = make_world(session, last_name="O'Brien & <Sons>", rarcs="N115 MA01")
    ids = [d.id or 0 for d in world.denials]
    doc = dict(FULL_DOC, diagnosis="L82.0 Z94.0", patient_dob="1948-05-17")
    sources = []
    for padding in range(0, 60, 4):  # a page and more, a few lines at a time
        notes = " ".join(["The lesion was examined and documented in detail."] * padding)
        context = letters.build_context(
            session, ids, dict(doc, additional_notes=notes), today=TODAY
        )
        source = tmp_path / f"letter-{padding:02d}.docx"
        source.write_bytes(letters.render("medical_necessity", context))
        sources.append(source)
    pdfs = _to_pdf(soffice, sources, tmp_path)

    pages = pdf_pages(reader, pdfs[0])
    lines = [line for page in pages for line in page]
    text = " ".join(lines)
    rows = [line for line in lines if line.startswith("03/02/")]
    assert rows == [
        "03/02/2026 99213 1 $135.00 $0.00 $135.00 CO-50 N115",
        "03/02/2026 11102 59 1 $250.00 $0.00 $250.00 CO-50 N115",
    ]
    assert "6" not in lines and "Usage:" not in text and "Refer to the 835" not in text
    assert "CO-50: “These are non-covered services because this is not deemed a 'medical" in text
    assert "MA01" not in text and "Alert:" not in text
    assert "L82.0 (inflamed seborrheic keratosis); Z94.0 (kidney transplant status)" in text
    assert "Date of birth: 05/17/1948" in text and "Patient: Jane O'Brien & <Sons>" in text
    assert pages[0][-1].endswith(f"Page 1 of {len(pages)}")

    page_counts = set()
    for pdf in pdfs:
        pages = pdf_pages(reader, pdf)
        page_counts.add(len(pages))
        [signed] = [page for page in pages if "Ana Ruiz" in page]
        assert "Sincerely," in signed, pdf.name
        assert any(line.startswith("For these reasons, we ask") for line in signed), pdf.name
    assert len(page_counts) > 1  # the padding moved the signature across a page break


def test_each_documentation_field_is_defined_once() -> None:
    checks = {f.name: f for f in fields.FIELDS}
    assert not {f.name for f in fields.LETTER_FIELDS} & set(checks)
    assert letters.CONTEXT_SCHEMA["doc.diagnosis"].startswith(checks["diagnosis"].label)
    assert fields.fields() is fields.fields()
