"""The letter context schema: every field a letter template may use, with its meaning.

Documented for people in docs/letter-context.md (a test keeps the two in step). Templates read
dotted paths such as `practice.name`; `lines[].denied` is a field of each item of `lines`;
`doc.<field>` are the documentation fields (`appeals.fields`) a letter argues from.
"""

from __future__ import annotations

from collections.abc import Sequence

from appeals.fields import FIELDS, LETTER_FIELDS, fields

# Every field a template may use. Dotted paths; `lines[].x` is a field of each item of `lines`.
CONTEXT_SCHEMA: dict[str, str] = {
    "today": "Date of the letter, e.g. 'March 3, 2026'",
    "logo": "Practice logo image (InlineImage) or empty when the practice has none",
    "practice.name": "Practice (billing entity) name",
    "practice.npi": "Practice group NPI",
    "practice.tax_id": "Practice tax identification number",
    "practice.address_line1": "Street address",
    "practice.address_line2": "Suite or second address line",
    "practice.city_state_zip": "City, state and ZIP on one line",
    "practice.phone": "Practice phone",
    "practice.fax": "Practice fax",
    "practice.email": "Practice e-mail",
    "provider.name": "Rendering provider name (from the claim)",
    "provider.npi": "Rendering provider NPI",
    "provider.credentials": "Rendering provider credentials (doc.provider_credentials)",
    "signer.name": "Who signs the letter (practice signer, else the rendering provider)",
    "signer.title": "Signer's title",
    "payer.name": "Payer name",
    "payer.identifier": "Payer identifier",
    "payer.type": "medicare | medicare_advantage | medicaid | commercial | other",
    "payer.is_medicare": "True for Medicare fee-for-service",
    "appeal_address.product_line": "Product line the address applies to ('all' by default)",
    "appeal_address.department": "Department or attention line",
    "appeal_address.address_line1": "Appeal mailing address, first line",
    "appeal_address.address_line2": "Appeal mailing address, second line",
    "appeal_address.city_state_zip": "Appeal address city, state and ZIP",
    "appeal_address.fax": "Appeals fax number",
    "appeal_address.portal_url": "Appeals portal address",
    "patient.name": "Patient name, first then last",
    "patient.first_name": "Patient first name",
    "patient.last_name": "Patient last name",
    "patient.dob": "Date of birth, MM/DD/YYYY (doc.patient_dob)",
    "patient.member_id": "Member (subscriber) ID",
    "patient.group_number": "Group number (doc.group_number)",
    "claim.number": "Payer claim control number (ICN, CLP07)",
    "claim.patient_control_number": "The practice's claim / account number (CLP01)",
    "claim.dates_of_service": "Dates of service of the denied lines, e.g. '03/14/2026'",
    "claim.denied_on": "Date of the remittance that denied the lines",
    "claim.charge": "Total billed on the claim",
    "claim.paid": "Total paid on the claim",
    "lines": "The denied service lines (list)",
    "lines[].line_number": "Line number within the claim",
    "lines[].date": "Date of service of the line",
    "lines[].procedure_code": "CPT/HCPCS code",
    "lines[].modifiers": "Modifiers as billed, e.g. '25' or '59 RT' (empty when none)",
    "lines[].units": "Units billed",
    "lines[].description": "Procedure description when the remittance gives one",
    "lines[].charge": "Billed amount",
    "lines[].allowed": "Allowed amount (empty when not given)",
    "lines[].paid": "Paid amount",
    "lines[].denied": "Denied amount under appeal",
    "lines[].reason_codes": "Denial reason codes on the line, e.g. 'CO-50 N115' (no alerts)",
    "total_denied": "Sum of the denied amounts under appeal",
    "total_billed": "Sum of the billed amounts of the denied lines",
    "reasons": "Denial reasons (CARC) quoted with descriptions (list)",
    "reasons[].label": "Group and code, e.g. 'CO-50'",
    "reasons[].code": "CARC code",
    "reasons[].group": "Group code (CO, PR, OA, PI)",
    "reasons[].description": "CARC reason from the official list, without X12's usage notes",
    "remarks": "Remark codes (RARC) with descriptions (list); alerts are left out",
    "remarks[].code": "RARC code",
    "remarks[].description": "RARC description from the official list",
    "category": "Denial category key, e.g. medical_necessity",
    "denial_ids": "Ids of the denials (lines) this letter covers",
    "appeal.level": "Appeal level (1, 2, ...)",
    "appeal.level_name": "Name of the level for this payer, e.g. 'Redetermination'",
    "appeal.request": "What the letter asks for, e.g. 'a redetermination'",
    "appeal.deadline": "Last day to file at this level (empty when unknown)",
    "correction.billed_line": "The denied line as billed, e.g. '99213 (no modifier)'",
    "correction.corrected_line": "The line with the modifier applied, e.g. '99213-25'",
    "correction.guidance": "The CPT/NCCI rule for doc.modifier",
    "lines[].location": "Laterality and site of the line's lesion, e.g. 'left cheek'",
    "lines[].diagnosis": "The line's diagnosis codes with their ICD-10-CM descriptions",
    "lesion.location": "Laterality and site of the lesion(s), e.g. 'left cheek' (doc.site)",
    "lesion.size": "Diameter, e.g. '0.6 cm (excised diameter 1.0 cm)' (doc.lesion_size_cm)",
    "diagnosis_text": "doc.diagnosis codes with their ICD-10-CM descriptions, e.g. 'L82.0 "
    "(inflamed seborrheic keratosis)'",
    "citations": "Facts the coding checks cite for this denial, as 'label: value', without those "
    "the template shows elsewhere (list)",
    "citations[]": "One cited fact (text)",
    "enclosures": "Enclosures (list): doc.enclosures, else a default list from the facts given",
    "enclosures[]": "One enclosure (text)",
    "authorities": "The rules and criteria the coding checks' facts meet, named (list): the "
    "Mohs appropriate-use criteria, the LCD, NCCI, CPT guidance",
    "authorities[]": "One rule or criterion (text)",
    **{
        f"doc.{f.name}": f"{f.label}{f' ({f.help})' if f.help else ''}"
        for f in (*FIELDS, *LETTER_FIELDS)
    },
}

# Derived fields and the documentation fields they are made from: a template that shows
# `lesion.location` uses `doc.site`, so a template may require `doc.site` and show the former.
# A missing derived field is reported as the first documentation field it is made from.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "lesion.location": ("doc.site", "doc.laterality"),
    "lines[].location": ("doc.site", "doc.laterality"),
    "lines[].diagnosis": ("doc.diagnosis",),
    "lesion.size": ("doc.lesion_size_cm", "doc.excised_diameter_cm"),
    "diagnosis_text": ("doc.diagnosis",),
    "patient.dob": ("doc.patient_dob",),
    "patient.group_number": ("doc.group_number",),
    "provider.credentials": ("doc.provider_credentials",),
}


# Fields every letter needs whatever its template says. A required `lines[].x` must have a value
# on every line of the letter.
COMMON_REQUIRED: tuple[str, ...] = (
    "practice.name",
    "patient.name",
    "patient.member_id",
    "claim.number",
    "signer.name",
)


MODIFIER_GUIDANCE: dict[str, str] = {
    "25": "Modifier 25 identifies a significant, separately identifiable evaluation and "
    "management service by the same physician on the day of a procedure. A minor procedure's "
    "payment includes the decision to perform it and routine pre- and post-procedure care; an "
    "E/M service beyond that work is separately payable under CPT and the NCCI Policy Manual, "
    "and a different diagnosis is not required.",
    "59": "Modifier 59 identifies a procedure distinct or independent from another performed the "
    "same day: a different session, a different procedure or surgery, a different site or organ "
    "system, a separate incision or excision, or a separate lesion. NCCI allows the column-two "
    "code of an edit pair with modifier indicator 1 to be paid when 59 applies.",
    "XS": "Modifier XS (separate structure) identifies a service performed on a separate organ or "
    "structure, such as a different lesion or anatomic site. It is the more specific form of "
    "modifier 59 that CMS introduced for this situation and overrides the NCCI edit in the same "
    "way.",
    "XE": "Modifier XE (separate encounter) identifies a service performed at a separate encounter "
    "on the same date. It is the more specific form of modifier 59 for separate sessions.",
    "XP": "Modifier XP (separate practitioner) identifies a service performed by a different "
    "practitioner. It is the more specific form of modifier 59 for that situation.",
    "XU": "Modifier XU (unusual non-overlapping service) identifies a service that does not "
    "overlap the usual components of the main service. It is the more specific form of "
    "modifier 59.",
    "RT": "Modifier RT identifies the right side of the body. Laterality modifiers show that "
    "services on the left and right are different procedures and are preferred to 59 where they "
    "apply.",
    "LT": "Modifier LT identifies the left side of the body. Laterality modifiers show that "
    "services on the left and right are different procedures and are preferred to 59 where they "
    "apply.",
    "76": "Modifier 76 reports a repeat procedure by the same physician on the same day. It tells "
    "the claim system that the second service is a separate, necessary repetition and not a "
    "duplicate submission.",
    "77": "Modifier 77 reports a repeat procedure by another physician on the same day.",
    "79": "Modifier 79 reports a procedure unrelated to an earlier procedure whose global period "
    "is still running. The unrelated procedure is not part of the earlier global package and is "
    "paid in full; a new global period begins.",
    "58": "Modifier 58 reports a staged or related procedure in the global period: planned at the "
    "time of the first procedure, more extensive than it, or therapy following a diagnostic "
    "procedure, such as re-excision for a positive margin.",
    "24": "Modifier 24 reports an E/M service during a postoperative period that is unrelated to "
    "the original procedure, and so outside its global package.",
}


# What a person fixes for the required fields that are not documentation, in plain words.
PLAIN_WORDS: dict[str, str] = {
    "practice.name": "the practice's name (letter settings)",
    "signer.name": "who signs the letter (letter settings)",
    "patient.name": "the patient's name",
    "patient.member_id": "the patient's member ID",
    "claim.number": "the payer's claim number",
    "lines": "a denied line",
}


def field_label(path: str) -> str:
    """The schema's description of a context field (the path itself when unknown)."""
    return CONTEXT_SCHEMA.get(path, path)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def plain_words(paths: Sequence[str]) -> str:
    """Missing fields as a person says them: 'modifier that applies and why the modifier
    applies', from the documentation fields' labels."""
    known = fields()
    words = []
    for path in paths:
        name = path.removeprefix("doc.")
        if path.startswith("doc.") and name in known:
            words.append(_lower_first(known[name].label))
        else:
            words.append(PLAIN_WORDS.get(path, path))
    words = list(dict.fromkeys(words))
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)
