"""The coding checks read claims set-wise and find exactly what the per-claim reading found.

The reference below is the former reading, one claim at a time through the ORM (about seven
queries per claim); the set-wise one (`findings.claims_facts`, `documentation_for_claims`)
must give equal facts, findings and actions on a synthetic practice with documentation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from appeals import db
from appeals.documentation import import_documentation_csv
from appeals.findings import (
    claims_facts,
    findings_for,
    findings_json,
    iter_findings,
    recommended_action,
    refresh_findings,
    refresh_findings_for_files,
)
from appeals.importer import expand_paths, import_file
from appeals.models import (
    Adjustment,
    Claim,
    Denial,
    DocumentationFact,
    Payer,
    Remark,
    ServiceLine,
)
from appeals.rules import ClaimFacts, LineFacts
from appeals.synth import generate


def reference_docs(
    session: Session, claim: Claim, lines: Iterable[ServiceLine]
) -> dict[int, dict[str, str]]:
    """The former `documentation.facts_for_lines`: one query per claim."""
    lines = list(lines)
    days = {line.service_date or claim.service_date for line in lines}
    rows = session.exec(
        select(DocumentationFact)
        .where(
            DocumentationFact.practice_id == claim.practice_id,
            DocumentationFact.patient_control_number == claim.patient_control_number,
            col(DocumentationFact.service_date).in_([d for d in days if d is not None]),
        )
        .order_by(col(DocumentationFact.procedure_code), col(DocumentationFact.field))
    ).all()
    result: dict[int, dict[str, str]] = {}
    for line in lines:
        day = line.service_date or claim.service_date
        codes = {line.procedure_code, line.original_procedure_code} - {""}
        merged: dict[str, str] = {}
        for fact in sorted(rows, key=lambda f: f.procedure_code != ""):
            if fact.service_date == day and (
                not fact.procedure_code or fact.procedure_code in codes
            ):
                merged[fact.field] = fact.value
        result[line.id or 0] = merged
    return result


def reference_claim_facts(session: Session, claim: Claim) -> tuple[ClaimFacts, list[int]]:
    """The former `findings.claim_facts`: the claim's rows read through the ORM."""
    lines = session.exec(
        select(ServiceLine)
        .where(ServiceLine.claim_id == claim.id)
        .order_by(col(ServiceLine.line_number), col(ServiceLine.id))
    ).all()
    adjustments = session.exec(
        select(Adjustment)
        .where(Adjustment.claim_id == claim.id)
        .order_by(col(Adjustment.position), col(Adjustment.id))
    ).all()
    remarks = session.exec(
        select(Remark).where(Remark.claim_id == claim.id).order_by(col(Remark.id))
    ).all()
    docs = reference_docs(session, claim, lines)
    claim_wide = reference_docs(session, claim, [ServiceLine(id=-1, procedure_code="")])[-1]
    payer = session.get(Payer, claim.payer_id)

    def cas(line_id: int | None) -> tuple[tuple[str, str, Decimal], ...]:
        return tuple(
            (a.group_code, a.reason, a.amount) for a in adjustments if a.line_id == line_id
        )

    def remark_codes(line_id: int | None) -> tuple[str, ...]:
        return tuple(r.code for r in remarks if r.line_id == line_id)

    facts = tuple(
        LineFacts(
            procedure=line.procedure_code,
            modifiers=tuple(line.modifiers.split()),
            units=line.units,
            charge=line.charge,
            paid=line.paid,
            original_procedure=line.original_procedure_code
            if line.original_procedure_code != line.procedure_code
            else "",
            service_date=line.service_date or claim.service_date,
            adjustments=cas(line.id),
            rarcs=remark_codes(line.id),
            number=line.line_number,
            docs=docs.get(line.id or 0, {}),
        )
        for line in lines
    )
    return (
        ClaimFacts(
            lines=facts,
            payer_type=payer.payer_type if payer else "commercial",
            filing_indicator=claim.filing_indicator,
            adjustments=cas(None),
            rarcs=remark_codes(None),
            docs=claim_wide,
        ),
        [line.id or 0 for line in lines],
    )


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("practice")
    generate(folder, seed=11, months=6, claims_per_month=120)
    return folder


@pytest.mark.parametrize("bulk_from", [2000, 1], ids=["executemany", "bulk-update"])
def test_setwise_checks_find_what_the_per_claim_reading_found(
    engine, practice: Path, bulk_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "BULK_UPDATE", bulk_from)  # the findings written either way
    files = expand_paths([practice])
    half = len(files) // 2
    for index, path in enumerate(files):
        result = import_file(engine, path)
        assert result.status == "imported", result.error
        refresh_findings_for_files(engine, [result.file_id])
        if index == half:  # documentation arrives midway: later files are checked with it
            with Session(engine) as session:
                report = import_documentation_csv(session, None, practice / "documentation.csv")
                session.commit()
            assert report.created and report.denials_refreshed
    with Session(engine) as session:
        denials = session.exec(select(Denial).order_by(col(Denial.claim_id), col(Denial.id))).all()
        claim_ids = sorted({d.claim_id for d in denials})
        setwise = claims_facts(session, claim_ids)
        reference = {i: reference_claim_facts(session, session.get(Claim, i)) for i in claim_ids}
        assert setwise == reference
        assert any(line.docs for facts, _ in reference.values() for line in facts.lines)
        found = 0
        for denial in denials:
            expected = findings_for(*reference[denial.claim_id], denial)
            old_json = json.dumps([f.to_dict() for f in expected], sort_keys=True)
            assert findings_json(expected) == old_json
            assert denial.findings == old_json, denial.id
            assert denial.action == recommended_action(denial, expected)
            found += bool(expected)
        assert found > 10
        # a claim-level denial is judged with its claim's date-wide facts: an authorization
        # number on file is cited, not asked for
        on_file = [
            denial
            for denial in denials
            if denial.line_id is None
            and reference[denial.claim_id][0].docs.get("authorization_number")
            and denial.category == "authorization_precert"
        ]
        assert on_file
        for denial in on_file:
            number = reference[denial.claim_id][0].docs["authorization_number"]
            [found] = [f for f in json.loads(denial.findings) if f["rule_id"] == "authorization"]
            assert found["cite"]["authorization_number"] == number, denial.id
            assert "authorization_number" not in found["missing"]
        listed = [(d.id, findings_json(f)) for d, f in iter_findings(session, denials, chunk=7)]
        assert listed == [(d.id, d.findings) for d in denials]
        assert refresh_findings(session, [d.id for d in denials if d.id]) == 0  # all current


def test_refresh_findings_updates_denials_the_session_holds(engine) -> None:
    from tests.factories import make_claim

    with Session(engine) as session:
        made = make_claim(
            session,
            [
                {"procedure": "99213", "adjustments": [("CO", "97", "120.00")], "rarcs": ["M15"]},
                {"procedure": "11102"},
            ],
        )
        denial = made.denials[0]
        assert denial.findings == ""
        assert refresh_findings(session, [denial.id]) == 1
        assert denial.findings.startswith("[") and json.loads(denial.findings)
        assert denial not in session.dirty
        session.commit()
        stored = session.exec(select(Denial.findings).where(Denial.id == denial.id)).one()
        assert stored == denial.findings
