"""Documentation fields and their stored values: below documentation, findings and letters.

A field is defined once here: the coding checks' structured fields (`FIELDS`: diagnosis, site,
lesion size, ...) and the letters' free-text ones (`LETTER_FIELDS`: clinical summary, modifier,
...). `appeals.documentation` validates and stores facts, `appeals.findings` and the letters read
them per service line with `facts_for_lines` / `documentation_for_claims`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from appeals.models import Claim, DocumentationFact, ServiceLine

ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.?[0-9A-TV-Z]{1,4})?$")


@dataclass(frozen=True)
class FieldDef:
    """One documentation field: how it is labelled, what values it takes."""

    name: str
    label: str
    kind: str  # text | decimal | integer | yes_no | choice | site | icd10 | date | procedure
    help: str = ""
    choices: tuple[str, ...] = ()
    above: Decimal | None = None  # decimals and integers must be greater than this
    at_least: Decimal | None = None  # ... or at least this
    below: Decimal | None = None  # ... and less than this
    per_line: bool = False  # usually differs per procedure (site, size) rather than per date


FIELDS: tuple[FieldDef, ...] = (
    FieldDef("diagnosis", "Diagnosis (ICD-10-CM)", "icd10", "one or more codes, e.g. L82.0"),
    FieldDef(
        "symptoms",
        "Symptoms and signs",
        "text",
        "bleeding, itching, pain, inflammation, …",
        per_line=True,
    ),
    FieldDef("functional_impairment", "Functional impairment", "text", per_line=True),
    FieldDef("suspicion_of_malignancy", "Malignancy suspected", "yes_no", per_line=True),
    FieldDef("growth_or_change", "Recent growth or change", "yes_no", per_line=True),
    FieldDef("site", "Anatomic site", "site", "from the site list", per_line=True),
    FieldDef(
        "laterality",
        "Laterality",
        "choice",
        choices=("left", "right", "bilateral", "midline"),
        per_line=True,
    ),
    FieldDef(
        "lesion_id", "Lesion label", "text", "e.g. A, B or 1, 2 as in the note", per_line=True
    ),
    FieldDef(
        "lesion_size_cm",
        "Lesion diameter (cm)",
        "decimal",
        "greatest clinical diameter before excision",
        above=Decimal(0),
        below=Decimal(30),
        per_line=True,
    ),
    FieldDef(
        "margin_cm",
        "Narrowest margin (cm)",
        "decimal",
        at_least=Decimal(0),
        below=Decimal(10),
        per_line=True,
    ),
    FieldDef(
        "excised_diameter_cm",
        "Excised diameter (cm)",
        "decimal",
        "lesion plus twice the narrowest margin",
        above=Decimal(0),
        below=Decimal(30),
        per_line=True,
    ),
    FieldDef(
        "pathology",
        "Pathology result",
        "text",
        "e.g. 'basal cell carcinoma, nodular; S26-1234'",
        per_line=True,
    ),
    FieldDef(
        "lesion_count",
        "Number of lesions",
        "integer",
        above=Decimal(0),
        below=Decimal(1000),
        per_line=True,
    ),
    FieldDef(
        "repair_length_cm",
        "Repair length (cm)",
        "decimal",
        above=Decimal(0),
        below=Decimal(100),
        per_line=True,
    ),
    FieldDef("abn_on_file", "ABN or waiver signed", "yes_no"),
    FieldDef("separate_em", "E/M separately identifiable", "yes_no", "for modifier 25"),
    FieldDef("em_reason", "Problem the E/M addressed", "text", "beyond the procedure decision"),
    FieldDef("tumor_type", "Tumour type and subtype", "text", per_line=True),
    FieldDef("recurrent", "Recurrent tumour", "yes_no", per_line=True),
    FieldDef("immunosuppressed", "Patient immunosuppressed", "yes_no"),
    FieldDef("mohs_surgeon_is_pathologist", "Mohs surgeon read the slides", "yes_no"),
    FieldDef(
        "mohs_stages", "Mohs stages", "integer", above=Decimal(0), below=Decimal(20), per_line=True
    ),
    FieldDef(
        "mohs_blocks",
        "Mohs tissue blocks",
        "integer",
        above=Decimal(0),
        below=Decimal(100),
        per_line=True,
    ),
    FieldDef("prior_procedure_date", "Earlier procedure date", "date", "YYYY-MM-DD", per_line=True),
    FieldDef("prior_procedure_code", "Earlier procedure code", "procedure", per_line=True),
    FieldDef(
        "relationship_to_prior",
        "Relationship to the earlier procedure",
        "choice",
        choices=("staged", "unrelated", "repeat", "complication"),
        per_line=True,
    ),
    FieldDef(
        "same_physician_as_prior",
        "Same physician as the earlier procedure",
        "yes_no",
        per_line=True,
    ),
    FieldDef("authorization_number", "Authorization number", "text"),
)


# The letters' own free-text fields (and the patient's date of birth). None of these names is in
# `FIELDS`; all are stored as DocumentationFact rows like the checks' fields.
LETTER_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("patient_dob", "Patient's date of birth", "date", "YYYY-MM-DD; not in the 835"),
    FieldDef("group_number", "Insurance group number", "text"),
    FieldDef("provider_credentials", "Provider's credentials", "text", "e.g. MD, FAAD"),
    FieldDef(
        "clinical_summary",
        "Clinical findings",
        "text",
        "findings from the visit note that justify the service",
    ),
    FieldDef(
        "duration",
        "Duration and change",
        "text",
        "how long the lesion has been present and how it changed",
    ),
    FieldDef("malignancy_concern", "Why malignancy was suspected", "text", "features, history"),
    FieldDef(
        "prior_treatment",
        "Prior treatment",
        "text",
        "treatment tried before this service and its result",
    ),
    FieldDef("photos", "Photographs", "text", "taken and enclosed: what they show"),
    FieldDef("risk_if_untreated", "Risk if untreated", "text", "consequence of not treating"),
    FieldDef(
        "policy_reference",
        "Coverage policy met",
        "text",
        "the payer policy or LCD the service meets, e.g. LCD L34200",
    ),
    FieldDef("modifier", "Modifier that applies", "text", "to the denied line, e.g. 25, XS, RT"),
    FieldDef("modifier_rationale", "Why the modifier applies", "text", "from the note"),
    FieldDef(
        "distinct_sites",
        "Distinct lesions or sites",
        "text",
        "each procedure with its own lesion or site (bundling, modifier 59/XS)",
    ),
    FieldDef(
        "global_period",
        "Earlier procedure and its global period",
        "text",
        "for modifiers 24/58/79",
    ),
    FieldDef(
        "urgency_reason",
        "Why it could not wait",
        "text",
        "why the service could not wait for prior authorization",
    ),
    FieldDef("retro_requested_on", "Date retro-authorization was asked for", "text"),
    FieldDef(
        "original_submission_date",
        "Date first submitted",
        "text",
        "when the claim was first submitted",
    ),
    FieldDef(
        "submission_proof",
        "Proof of timely submission",
        "text",
        "clearinghouse or payer acceptance report",
    ),
    FieldDef(
        "filing_limit", "Payer's filing limit", "text", "e.g. 90 days from the date of service"
    ),
    FieldDef("delay_reason", "Reason for any delay", "text", "circumstances (good cause)"),
    FieldDef(
        "distinguishing_facts",
        "Why it is not a duplicate",
        "text",
        "how it differs: site, lesion, time or date",
    ),
    FieldDef(
        "original_claim_number",
        "Original claim number",
        "text",
        "the earlier claim the payer matched, or the one filed first",
    ),
    FieldDef(
        "prior_appeal_date",
        "Date of the first appeal",
        "text",
        "when the first-level appeal was submitted",
    ),
    FieldDef(
        "prior_appeal_reference",
        "First appeal reference",
        "text",
        "reference number of the first-level decision",
    ),
    FieldDef("prior_decision", "First-level decision", "text", "what the decision said"),
    FieldDef("new_evidence", "New evidence", "text", "evidence added for this level"),
    FieldDef("enclosures", "Enclosures", "text", "one per line; replaces the default list"),
    FieldDef(
        "additional_notes",
        "Additional paragraph",
        "text",
        "any further paragraph to include before the closing",
    ),
)


@functools.cache
def fields() -> dict[str, FieldDef]:
    """Every documentation field by name: the checks' fields first, then the letters' ones.

    Computed once; callers only read the dict.
    """
    return {f.name: f for f in (*FIELDS, *LETTER_FIELDS)}


# --- reading facts -------------------------------------------------------------------------


def _line_date(claim: Claim, line: ServiceLine) -> date | None:
    return line.service_date or claim.service_date


FACT_CHUNK = 500  # patient control numbers whose facts are read together


def facts_for_lines(
    session: Session, claim: Claim, lines: Iterable[ServiceLine]
) -> dict[int, dict[str, str]]:
    """Merged facts for each line id: the date's facts, overridden by the procedure's own."""
    return documentation_for_claims(session, [(claim, list(lines))])


def documentation_for_claims(
    session: Session, claims: Sequence[tuple[Any, Sequence[Any]]]
) -> dict[int, dict[str, str]]:
    """`facts_for_lines` for many claims at once: one query per 500 patient control numbers.

    `claims` pairs a claim with its lines (ORM objects or rows with the same attribute names:
    `practice_id`, `patient_control_number`, `service_date`; `id`, `service_date`,
    `procedure_code`, `original_procedure_code`). A line gets its date's facts, then its
    procedure's (SVC01 or SVC06) in procedure order, a later one overriding an earlier field.
    """
    table = DocumentationFact.__table__  # type: ignore[attr-defined]
    pcns = sorted({claim.patient_control_number for claim, _ in claims})
    if session.autoflush:
        session.flush()  # as an ORM query would: the facts just saved count
    stored: dict[tuple[int, str, date], list[tuple[str, str, str]]] = {}
    for start in range(0, len(pcns), FACT_CHUNK):
        # Only the patient control number goes to the database: with the practice as well,
        # SQLite may plan on the practice index and read every fact of the practice.
        query = (
            sa.select(
                table.c.practice_id,
                table.c.patient_control_number,
                table.c.service_date,
                table.c.procedure_code,
                table.c.field,
                table.c.value,
            )
            .where(table.c.patient_control_number.in_(pcns[start : start + FACT_CHUNK]))
            .order_by(table.c.procedure_code, table.c.field, table.c.id)
        )
        for fact in session.execute(query):
            key = (fact.practice_id, fact.patient_control_number, fact.service_date)
            stored.setdefault(key, []).append((fact.procedure_code, fact.field, fact.value))
    result: dict[int, dict[str, str]] = {}
    for claim, lines in claims:
        for line in lines:
            day = _line_date(claim, line)
            merged: dict[str, str] = {}
            if day is not None:
                codes = {line.procedure_code, line.original_procedure_code}
                for procedure, name, value in stored.get(
                    (claim.practice_id, claim.patient_control_number, day), ()
                ):
                    if not procedure or procedure in codes:
                        merged[name] = value
            result[line.id or 0] = merged
    return result


def facts_for_line(session: Session, claim: Claim, line: ServiceLine) -> dict[str, str]:
    """Merged documentation facts for one service line."""
    return facts_for_lines(session, claim, [line])[line.id or 0]


def facts_for_date(
    session: Session, practice_id: int, patient_control_number: str, service_date: date
) -> list[DocumentationFact]:
    """Every stored fact of one patient control number and date, date-wide facts first."""
    return list(
        session.exec(
            select(DocumentationFact)
            .where(
                DocumentationFact.practice_id == practice_id,
                DocumentationFact.patient_control_number == patient_control_number,
                DocumentationFact.service_date == service_date,
            )
            .order_by(col(DocumentationFact.procedure_code), col(DocumentationFact.field))
        ).all()
    )
