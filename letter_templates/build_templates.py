"""Regenerate the default appeal letter templates (.docx with docxtpl tags).

The .docx files in this folder are the source of truth a practice opens and edits in Word; this
script only rebuilds the defaults. Every `{{ field }}` used here must be listed in
`appeals.letters.CONTEXT_SCHEMA` (documented in docs/letter-context.md), and every template's
required documentation fields are declared in `templates.json`. Check with `appeals letters check`.

Read as a payer's reviewer reads them (printed or as PDF): the line table has fixed column widths
wide enough for a date and an amount in any sans-serif font, so a date never wraps; its header
repeats on each page and no row splits; the closing paragraph, the signature and the signer's
name keep together, so the signature never stands alone on a page; the footer numbers the pages
("Page 1 of 2").

Run: python letter_templates/build_templates.py [OUTPUT_FOLDER]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

HERE = Path(__file__).resolve().parent
ACCENT = RGBColor(0x1F, 0x3A, 0x5F)


@dataclass(frozen=True)
class Bullet:
    """A bulleted paragraph of (text, bold) runs."""

    runs: list[tuple[str, bool]]


# A paragraph is either plain text (may hold {{ }} and inline {% %} tags), or a list of
# (text, bold) runs, or a bullet, or a docxtpl paragraph tag such as "{%p if doc.pathology %}".
Para = str | list[tuple[str, bool]] | Bullet


@dataclass(frozen=True)
class Letter:
    name: str
    heading: str
    opening: list[Para]
    argument: list[Para]
    request: list[Para] = field(default_factory=list)


def _no_borders(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _add(document: DocumentObject, para: Para, style: str | None = None) -> Paragraph:
    if isinstance(para, Bullet):
        para, style = para.runs, "List Bullet"
    paragraph = document.add_paragraph(style=style)
    if isinstance(para, str):
        paragraph.add_run(para)
        return paragraph
    for text, bold in para:
        paragraph.add_run(text).bold = bold
    return paragraph


def _heading(document: DocumentObject, text: str) -> None:
    """A short line that introduces a list: never left alone at the foot of a page."""
    _add(document, text).paragraph_format.keep_with_next = True


def _setup(document: DocumentObject) -> None:
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    for section in document.sections:
        section.top_margin = Cm(2)
        section.bottom_margin = Cm(2)
        section.left_margin = Cm(2.2)
        section.right_margin = Cm(2.2)


def _letterhead(document: DocumentObject) -> None:
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    logo_cell, text_cell = table.rows[0].cells
    logo_cell.width = Cm(4)
    text_cell.width = Cm(12.6)
    logo_cell.paragraphs[0].add_run("{% if logo %}{{ logo }}{% endif %}")
    name = text_cell.paragraphs[0]
    name.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = name.add_run("{{ practice.name }}")
    run.bold = True
    run.font.size = Pt(15)
    run.font.color.rgb = ACCENT
    for line in (
        "{{ practice.address_line1 }}{% if practice.address_line2 %}, "
        "{{ practice.address_line2 }}{% endif %}",
        "{{ practice.city_state_zip }}",
        "{% if practice.phone %}Phone {{ practice.phone }}{% endif %}"
        "{% if practice.fax %} · Fax {{ practice.fax }}{% endif %}",
        "NPI {{ practice.npi }} · TIN {{ practice.tax_id }}",
    ):
        paragraph = text_cell.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(line).font.size = Pt(9)
    document.add_paragraph()


def _addressee(document: DocumentObject) -> None:
    document.add_paragraph("{{ today }}")
    _add(
        document,
        "{%p if appeal_address.fax %}",
    )
    _add(document, [("Sent by fax to ", False), ("{{ appeal_address.fax }}", True)])
    _add(document, "{%p endif %}")
    block = [
        "{{ payer.name }}",
        "{{ appeal_address.department }}",
        "{%p if appeal_address.address_line1 %}",
        "{{ appeal_address.address_line1 }}",
        "{%p endif %}",
        "{%p if appeal_address.address_line2 %}",
        "{{ appeal_address.address_line2 }}",
        "{%p endif %}",
        "{%p if appeal_address.city_state_zip %}",
        "{{ appeal_address.city_state_zip }}",
        "{%p endif %}",
    ]
    for text in block:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(text)
    document.add_paragraph()


def _reference_block(document: DocumentObject) -> None:
    rows: list[Para] = [
        [("Patient: ", True), ("{{ patient.name }}", False)],
        "{%p if patient.dob %}",
        [("Date of birth: ", True), ("{{ patient.dob }}", False)],
        "{%p endif %}",
        [("Member ID: ", True), ("{{ patient.member_id }}", False)],
        "{%p if patient.group_number %}",
        [("Group number: ", True), ("{{ patient.group_number }}", False)],
        "{%p endif %}",
        [("Claim number: ", True), ("{{ claim.number }}", False)],
        [("Patient account: ", True), ("{{ claim.patient_control_number }}", False)],
        [("Date(s) of service: ", True), ("{{ claim.dates_of_service }}", False)],
        [("Date of denial: ", True), ("{{ claim.denied_on }}", False)],
        [
            ("Rendering provider: ", True),
            ("{{ provider.name }}{% if provider.npi %} (NPI {{ provider.npi }}){% endif %}", False),
        ],
        [("Amount in dispute: ", True), ("{{ total_denied }}", False)],
        [("Appeal level: ", True), ("{{ appeal.level_name }}", False)],
    ]
    for row in rows:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.paragraph_format.left_indent = Cm(0.6)
        if isinstance(row, str):
            paragraph.add_run(row)
        else:
            for text, bold in row:
                paragraph.add_run(text).bold = bold
    document.add_paragraph()


# The line table's columns: header, cell, width (cm) and whether the value is an amount (right
# aligned). The widths hold "07/13/2026" and "$12,345.00" at 9 pt in wide fonts (DejaVu Sans,
# which LibreOffice uses where Calibri is missing) and add up to the 17.2 cm between the margins.
COLUMNS: tuple[tuple[str, str, float, bool], ...] = (
    ("Date", "{{ line.date }}", 2.4, False),
    ("CPT", "{{ line.procedure_code }}", 1.5, False),
    ("Modifiers", "{{ line.modifiers }}", 2.1, False),
    ("Units", "{{ line.units }}", 1.4, True),
    ("Billed", "{{ line.charge }}", 2.2, True),
    ("Paid", "{{ line.paid }}", 2.2, True),
    ("Denied", "{{ line.denied }}", 2.2, True),
    ("Reason", "{{ line.reason_codes }}", 3.1, False),
)


def _row_properties(row_element: OxmlElement, header: bool) -> None:
    """A row never splits across pages; the header row repeats on each page."""
    properties = row_element.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))
    if header:
        properties.append(OxmlElement("w:tblHeader"))


def _lines_table(document: DocumentObject) -> None:
    table = document.add_table(rows=4, cols=len(COLUMNS))
    table.style = document.styles["Table Grid"]
    table.autofit = False  # fixed layout: the widths below, whatever the text
    for index, (header, text, width, amount) in enumerate(COLUMNS):
        table.columns[index].width = Cm(width)
        for row in table.rows:
            cell = row.cells[index]
            cell.width = Cm(width)
            if index == 0:
                cell._tc.get_or_add_tcPr().append(OxmlElement("w:noWrap"))
        for row_index, value in ((0, header), (2, text)):
            paragraph = table.rows[row_index].cells[index].paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            if amount:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            run = paragraph.add_run(value)
            run.bold = row_index == 0
            run.font.size = Pt(9)
    _row_properties(table.rows[0]._tr, header=True)
    _row_properties(table.rows[2]._tr, header=False)
    table.rows[1].cells[0].paragraphs[0].add_run("{%tr for line in lines %}")
    table.rows[3].cells[0].paragraphs[0].add_run("{%tr endfor %}")
    document.add_paragraph()


def _reasons(document: DocumentObject) -> None:
    _heading(
        document,
        "The remittance advice dated {{ claim.denied_on }} gives the following reason for the "
        "denial, quoted as the payer stated it:",
    )
    _add(document, "{%p for reason in reasons %}")
    _add(
        document,
        [("{{ reason.label }}: ", True), ("“{{ reason.description }}”", False)],
        "List Bullet",
    )
    _add(document, "{%p endfor %}")
    _add(document, "{%p for remark in remarks %}")
    _add(
        document,
        [("Remark {{ remark.code }}: ", True), ("“{{ remark.description }}”", False)],
        "List Bullet",
    )
    _add(document, "{%p endfor %}")


def _citations(document: DocumentObject) -> None:
    _add(document, "{%p if citations %}")
    _heading(document, "Facts from the record that bear on this denial:")
    _add(document, "{%p for cite in citations %}")
    _add(document, "{{ cite }}", "List Bullet")
    _add(document, "{%p endfor %}")
    _add(document, "{%p endif %}")
    _add(document, "{%p if authorities %}")
    _heading(document, "The rules and criteria this appeal relies on:")
    _add(document, "{%p for rule in authorities %}")
    _add(document, "{{ rule }}", "List Bullet")
    _add(document, "{%p endfor %}")
    _add(document, "{%p endif %}")
    _add(document, "{%p if doc.additional_notes %}")
    _add(document, "{{ doc.additional_notes }}")
    _add(document, "{%p endif %}")


def _closing(document: DocumentObject, request: list[Para]) -> None:
    """The request and the enclosures, then the closing paragraph with the signature kept with
    it: the signature never stands alone on a page, and the letter ends with it.

    Keep chains stay short: LibreOffice does not move a long chain of kept paragraphs as one.
    """
    for para in request:
        _add(document, para)
    _add(document, "{%p if enclosures %}")
    _heading(document, "Enclosed with this letter:")
    _add(document, "{%p for item in enclosures %}")
    _add(document, "{{ item }}", "List Bullet")
    _add(document, "{%p endfor %}")
    _add(document, "{%p endif %}")
    closing = _add(
        document,
        "For these reasons, we ask {{ payer.name }} to reverse the denial and pay "
        "{{ total_denied }} for the service(s) listed above. If any further information would "
        "help your review, please contact {{ signer.name }} at {{ practice.phone }}"
        "{% if practice.email %} or {{ practice.email }}{% endif %}. We look forward to a "
        "decision within the time allowed by "
        "{% if payer.is_medicare %}Medicare rules{% else %}the plan and applicable law{% endif %}.",
    )
    closing.paragraph_format.keep_together = True
    closing.paragraph_format.keep_with_next = True
    sincerely = _add(document, "Sincerely,")
    sincerely.paragraph_format.space_before = Pt(12)
    sincerely.paragraph_format.space_after = Pt(36)  # room for the handwritten signature
    sincerely.paragraph_format.keep_with_next = True
    for text, last in (
        ("{{ signer.name }}", False),
        ("{{ signer.title }}", False),
        ("{{ practice.name }}", True),
    ):
        paragraph = _add(document, text)
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.paragraph_format.keep_with_next = not last


def _field(paragraph: Paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word and LibreOffice fill in when laying out pages."""
    for kind, text in (("begin", ""), ("", instruction), ("separate", ""), ("", "1"), ("end", "")):
        run = paragraph.add_run()
        run.font.size = Pt(8)
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text == instruction:
            code = OxmlElement("w:instrText")
            code.set(qn("xml:space"), "preserve")
            code.text = f" {instruction} "
            run._r.append(code)
        else:
            run.add_text(text)


def _footer(document: DocumentObject) -> None:
    footer = document.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = footer.add_run(
        "{{ patient.name }} · Member ID {{ patient.member_id }} · Claim {{ claim.number }} · Page "
    )
    run.font.size = Pt(8)
    _field(footer, "PAGE")
    footer.add_run(" of ").font.size = Pt(8)
    _field(footer, "NUMPAGES")


def build(letter: Letter) -> DocumentObject:
    """One letter template as a python-docx Document."""
    document = Document()
    _setup(document)
    _letterhead(document)
    _addressee(document)
    _reference_block(document)
    title = document.add_paragraph()
    title.paragraph_format.keep_with_next = True
    run = title.add_run(letter.heading)
    run.bold = True
    run.font.size = Pt(12)
    run.font.color.rgb = ACCENT
    _add(document, "To the appeals reviewer:")
    for para in letter.opening:
        _add(document, para)
    _heading(document, "The denied service(s):")
    _lines_table(document)
    _reasons(document)
    for para in letter.argument:
        _add(document, para)
    _citations(document)
    _closing(document, letter.request)
    _footer(document)
    return document


REQUEST = (
    "{{ practice.name }} respectfully requests {{ appeal.request }} of the denial of the "
    "service(s) below, provided to {{ patient.name }} on {{ claim.dates_of_service }}, "
    "and payment of {{ total_denied }}."
)

TREATING = "{{ provider.name }}{% if provider.credentials %}, {{ provider.credentials }}{% endif %}"

LETTERS: tuple[Letter, ...] = (
    Letter(
        name="medical_necessity",
        heading="Request for {{ appeal.request }}: the service was medically necessary",
        opening=[REQUEST],
        argument=[
            "The service was reasonable and necessary for the diagnosis and treatment of the "
            "patient's condition, and the record for the date of service documents why. "
            f"{TREATING} recorded:",
            [("Diagnosis: ", True), ("{{ diagnosis_text }}", False)],
            [("Clinical findings: ", True), ("{{ doc.clinical_summary }}", False)],
            "{%p if lesion.location or lesion.size or doc.lesion_count %}",
            [
                ("Lesion: ", True),
                (
                    "{{ lesion.location }}{% if lesion.size %}, {{ lesion.size }}"
                    "{% endif %}{% if doc.lesion_count %}, {{ doc.lesion_count }} lesion(s)"
                    "{% endif %}",
                    False,
                ),
            ],
            "{%p endif %}",
            "{%p if doc.symptoms %}",
            [("Symptoms and signs: ", True), ("{{ doc.symptoms }}", False)],
            "{%p endif %}",
            "{%p if doc.duration %}",
            [("Duration and change: ", True), ("{{ doc.duration }}", False)],
            "{%p endif %}",
            "{%p if doc.prior_treatment %}",
            [("Prior treatment: ", True), ("{{ doc.prior_treatment }}", False)],
            "{%p endif %}",
            "{%p if doc.pathology %}",
            [("Pathology: ", True), ("{{ doc.pathology }}", False)],
            "{%p endif %}",
            "{% if payer.is_medicare %}Medicare pays for services that are reasonable and "
            "necessary for the diagnosis or treatment of illness or injury (Social Security Act "
            "§1862(a)(1)(A)).{% else %}The plan covers services that are clinically appropriate "
            "for the diagnosis and consistent with generally accepted standards of medical "
            "practice.{% endif %} "
            "{% if doc.policy_reference %}The documented findings meet the coverage criteria of "
            "{{ doc.policy_reference }}, point by point, as set out above.{% else %}Each "
            "finding above is a recognised indication for the service billed, and the diagnosis "
            "is coded to the level of specificity the record supports.{% endif %}",
            "{%p if doc.risk_if_untreated %}",
            "Withholding the service would not have been safe: {{ doc.risk_if_untreated }}",
            "{%p endif %}",
            "The enclosed records answer the reason given. We ask that a reviewer read them "
            "against the coverage criteria rather than rely on an automated edit.",
        ],
    ),
    Letter(
        name="modifier_correction",
        heading="Request for {{ appeal.request }}: modifier {{ doc.modifier }} applies",
        opening=[
            REQUEST,
            "The denial concerns the modifier on {{ correction.billed_line }}. The service was "
            "performed and documented as billed; with modifier {{ doc.modifier }} the line reads "
            "{{ correction.corrected_line }}, and we ask that it be processed that way.",
        ],
        argument=[
            [
                ("Why modifier {{ doc.modifier }} applies. ", True),
                ("{{ correction.guidance }}", False),
            ],
            [("What the record shows. ", True), ("{{ doc.modifier_rationale }}", False)],
            "{%p if doc.em_reason %}",
            [
                ("Separately identifiable problem. ", True),
                (
                    "At the same visit {{ provider.name }} evaluated and managed "
                    "{{ doc.em_reason }}. The work of deciding on and preparing for the "
                    "procedure is part of the procedure's payment and was not counted toward "
                    "the E/M level; the E/M service billed stands on its own without it. A "
                    "different diagnosis is not required for modifier 25, but here the problems "
                    "differ as well.",
                    False,
                ),
            ],
            "{%p endif %}",
            "{%p if doc.distinct_sites %}",
            [("Distinct lesions and sites. ", True), ("{{ doc.distinct_sites }}", False)],
            "{%p endif %}",
            "{%p if doc.global_period %}",
            [("Global period. ", True), ("{{ doc.global_period }}", False)],
            "{%p endif %}",
            "{%p if doc.diagnosis %}",
            [("Diagnosis for the line. ", True), ("{{ diagnosis_text }}", False)],
            "{%p endif %}",
            "The corrected line is {{ correction.corrected_line }}. If {{ payer.name }} requires "
            "this correction as a corrected claim (frequency code 7) or a reopening rather than "
            "an appeal, please treat this letter as that request or tell us, and we will send "
            "the corrected claim at once; we write now to preserve the appeal deadline.",
        ],
    ),
    Letter(
        name="cosmetic_vs_medical",
        heading="Request for {{ appeal.request }}: the removal was medically necessary, "
        "not cosmetic",
        opening=[
            REQUEST,
            "The service was denied as cosmetic. It was not: the lesion was removed because of "
            "{% if doc.malignancy_concern or doc.suspicion_of_malignancy == 'yes' %}clinical "
            "concern for malignancy and {% endif %}the "
            "symptoms documented below, not to change the patient's appearance.",
        ],
        argument=[
            "Benign-lesion coverage policies, including the Medicare local coverage "
            "determinations for removal of benign skin lesions and the major commercial "
            "policies, cover removal when a lesion bleeds, is painful or intensely itchy, is "
            "inflamed or irritated, is subject to recurrent trauma from its location, obstructs "
            "vision or an orifice, has changed, or looks suspicious for malignancy. "
            "{% if doc.policy_reference %}{{ doc.policy_reference }} lists these criteria. "
            "{% endif %}The record for this lesion meets them:",
            [("Diagnosis: ", True), ("{{ diagnosis_text }}", False)],
            [
                ("Location: ", True),
                (
                    "{{ lesion.location }}{% if lesion.size %}, measuring "
                    "{{ lesion.size }}{% endif %}",
                    False,
                ),
            ],
            [("Symptoms and signs: ", True), ("{{ doc.symptoms }}", False)],
            "{%p if doc.duration or doc.growth_or_change == 'yes' %}",
            [
                ("Duration and change: ", True),
                (
                    "{{ doc.duration }}{% if doc.growth_or_change == 'yes' %}"
                    "{% if doc.duration %}; {% endif %}the lesion had recently grown or changed"
                    "{% endif %}",
                    False,
                ),
            ],
            "{%p endif %}",
            "{%p if doc.functional_impairment %}",
            [("Functional impairment: ", True), ("{{ doc.functional_impairment }}", False)],
            "{%p endif %}",
            "{%p if doc.malignancy_concern or doc.suspicion_of_malignancy == 'yes' %}",
            [
                ("Concern for malignancy: ", True),
                (
                    "{{ doc.malignancy_concern or 'the lesion was clinically suspicious for "
                    "malignancy' }}",
                    False,
                ),
            ],
            "{%p endif %}",
            "{%p if doc.pathology %}",
            [("Pathology: ", True), ("{{ doc.pathology }}", False)],
            "{%p endif %}",
            "{%p if doc.prior_treatment %}",
            [("Prior treatment: ", True), ("{{ doc.prior_treatment }}", False)],
            "{%p endif %}",
            "{%p if doc.photos %}",
            [("Photographs: ", True), ("{{ doc.photos }}", False)],
            "{%p endif %}",
            "The note documents the symptoms of this lesion specifically"
            "{% if 'L82.0' in doc.diagnosis %}, and the diagnosis, L82.0 (inflamed seborrheic "
            "keratosis), records its symptomatic state{% endif %}. A removal that meets the "
            "policy's medical criteria is a covered service even though the lesion is benign; "
            "the cosmetic exclusion applies only to removal for appearance.",
        ],
    ),
    Letter(
        name="prior_authorization",
        heading="Request for {{ appeal.request }}: authorization for an urgent service",
        opening=[
            REQUEST,
            "The service was denied for lack of prior authorization. "
            "{% if doc.authorization_number %}Authorization {{ doc.authorization_number }} "
            "covers this service; the denial appears to have been issued without matching it "
            "to the claim.{% else %}It could not safely wait for the authorization process, and "
            "we ask that you authorize it retrospectively.{% endif %}",
        ],
        argument=[
            [("Why the service could not wait. ", True), ("{{ doc.urgency_reason }}", False)],
            [("Clinical findings. ", True), ("{{ doc.clinical_summary }}", False)],
            "{%p if doc.diagnosis %}",
            [("Diagnosis. ", True), ("{{ diagnosis_text }}", False)],
            "{%p endif %}",
            "{%p if doc.pathology %}",
            [("Pathology. ", True), ("{{ doc.pathology }}", False)],
            "{%p endif %}",
            "{%p if doc.retro_requested_on %}",
            "We asked for retrospective authorization on {{ doc.retro_requested_on }}"
            "{% if doc.authorization_number %} (reference {{ doc.authorization_number }})"
            "{% endif %}, as soon as the need was known.",
            "{%p endif %}",
            "Prior authorization exists to confirm that a service is medically necessary, not to "
            "deny payment for a necessary service that could not be delayed. Plans allow "
            "retrospective review for urgent and unscheduled care, and the enclosed record shows "
            "that the service would have been approved had it been requested in advance. We ask "
            "that you review it on its clinical merits and pay the claim.",
        ],
    ),
    Letter(
        name="bundling",
        heading="Request for {{ appeal.request }}: the services were distinct and separately "
        "payable",
        opening=[
            REQUEST,
            "The service was denied as included in another service billed for the same date. "
            "The edit does not apply here, because the procedures were performed on different "
            "lesions at separate anatomic sites.",
        ],
        argument=[
            [("Distinct lesions and sites. ", True), ("{{ doc.distinct_sites }}", False)],
            "Where each denied service was performed, as the note documents it:",
            "{%p for line in lines %}",
            Bullet(
                [
                    ("{{ line.procedure_code }}", True),
                    (" on {{ line.date }}: {{ line.location }}", False),
                ]
            ),
            "{%p endfor %}",
            "{%p if doc.clinical_summary %}",
            [("Clinical findings. ", True), ("{{ doc.clinical_summary }}", False)],
            "{%p endif %}",
            "{%p if doc.diagnosis %}",
            [("Diagnoses. ", True), ("{{ diagnosis_text }}", False)],
            "{%p endif %}",
            "National Correct Coding Initiative procedure-to-procedure edits bundle two codes "
            "only when both are performed on the same lesion or anatomic site. When the "
            "column-two procedure is performed on a separate lesion, a separate anatomic site or "
            "in a separate session, the NCCI Policy Manual allows it to be paid with modifier 59 "
            "or the more specific XS, XE, XP or XU"
            "{% if doc.modifier %}; the line is reported with modifier {{ doc.modifier }}"
            "{% endif %}. In dermatology, for example, destruction of an actinic keratosis and a "
            "biopsy of a different lesion are distinct services, and a biopsy followed by "
            "destruction is bundled only when the same lesion is involved.",
            "{%p if doc.modifier_rationale %}",
            "{{ doc.modifier_rationale }}",
            "{%p endif %}",
            "Each procedure required its own work, was documented separately in the note, and "
            "would have been billed the same way had it been done on another day. We ask that "
            "the line be paid in addition to the column-one service.",
        ],
    ),
    Letter(
        name="timely_filing",
        heading="Request for {{ appeal.request }}: the claim was filed on time",
        opening=[
            REQUEST,
            "The claim was denied as filed after the filing limit. It was filed on time: the "
            "original claim was submitted on {{ doc.original_submission_date }}"
            "{% if doc.filing_limit %}, within the filing limit of {{ doc.filing_limit }}"
            "{% endif %}.",
        ],
        argument=[
            [("Proof of timely submission. ", True), ("{{ doc.submission_proof }}", False)],
            "{%p if doc.original_claim_number %}",
            "The original submission was assigned claim number {{ doc.original_claim_number }}.",
            "{%p endif %}",
            "{% if payer.is_medicare %}Medicare requires a claim to be filed within one calendar "
            "year after the date of service (42 CFR 424.44). {% endif %}The filing limit is met "
            "by the date the payer first received the claim, and the enclosed report shows that "
            "date. Later processing, reprocessing or a corrected claim does not restart the "
            "measurement against the original submission.",
            "{%p if doc.delay_reason %}",
            [("Circumstances. ", True), ("{{ doc.delay_reason }}", False)],
            "{%p endif %}",
            "We ask that the denial be reversed and the claim processed on its merits.",
        ],
    ),
    Letter(
        name="duplicate",
        heading="Request for {{ appeal.request }}: the service is not a duplicate",
        opening=[
            REQUEST,
            "The service was denied as a duplicate of a service already submitted. It is not a "
            "duplicate: it is a separate service, and the record shows how it differs.",
        ],
        argument=[
            [("How the services differ. ", True), ("{{ doc.distinguishing_facts }}", False)],
            "{%p if doc.original_claim_number %}",
            "The claim the edit appears to have matched, {{ doc.original_claim_number }}, "
            "covers a different service.",
            "{%p endif %}",
            "{%p if doc.modifier %}",
            "The repeated service is identified with modifier {{ doc.modifier }}, which tells "
            "the claim system that the service is distinct from the first.",
            "{%p endif %}",
            "{%p if lesion.location %}",
            [("Sites treated. ", True), ("{{ lesion.location }}", False)],
            "{%p endif %}",
            "A duplicate edit compares the patient, date, code and amount; it cannot see that "
            "the same code was performed on a different lesion, at a different site or at a "
            "different time. The enclosed note documents each service separately. We ask that "
            "you pay the line.",
        ],
    ),
    Letter(
        name="second_level",
        heading="{{ appeal.level_name }}: request for independent review of the upheld denial",
        opening=[
            REQUEST,
            "This is a second-level appeal. Our first appeal, submitted on "
            "{{ doc.prior_appeal_date }}{% if doc.prior_appeal_reference %} (reference "
            "{{ doc.prior_appeal_reference }}){% endif %}, was decided against us. We ask for a "
            "fresh review by a reviewer who did not take part in the earlier decision"
            "{% if payer.is_medicare %}, by the Qualified Independent Contractor{% endif %}.",
        ],
        argument=[
            [("The earlier decision. ", True), ("{{ doc.prior_decision }}", False)],
            [("Why it should be reversed. ", True), ("{{ doc.clinical_summary }}", False)],
            "{%p if doc.diagnosis %}",
            [("Diagnosis. ", True), ("{{ diagnosis_text }}", False)],
            "{%p endif %}",
            "{%p if doc.new_evidence %}",
            [("Additional evidence. ", True), ("{{ doc.new_evidence }}", False)],
            "{%p endif %}",
            "{%p if doc.policy_reference %}",
            "The service meets the criteria of {{ doc.policy_reference }}, and the earlier "
            "decision did not explain which criterion it found unmet.",
            "{%p endif %}",
            "{% if payer.is_medicare %}We include all of the evidence now, because evidence not "
            "presented at reconsideration may be excluded at later levels without good cause. "
            "{% endif %}The enclosed record, read against the denial reason, supports payment.",
        ],
    ),
)


def write_all(folder: Path, letters: tuple[Letter, ...] = LETTERS) -> list[Path]:
    """Write every default template into `folder` and return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for letter in letters:
        path = folder / f"{letter.name}.docx"
        document = build(letter)
        document.core_properties.title = letter.name.replace("_", " ")
        document.core_properties.author = "Derm Appeals"
        document.save(str(path))
        written.append(path)
    return written


def main(argv: list[str], out: Callable[[str], None] = print) -> int:
    folder = Path(argv[0]) if argv else HERE
    for path in write_all(folder):
        out(f"wrote {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
