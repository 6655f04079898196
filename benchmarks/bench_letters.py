"""Letter speed: one letter (context + render + store) and a batch of letters into a zip.

    python benchmarks/bench_letters.py [--batch 500] [--repeat 40] [--database URL]

Builds a synthetic practice in a fresh SQLite file (or the given database URL): one claim per
letter with two denied lines and their documentation facts. Prints the median and 90th
percentile milliseconds of `generate_letter` for one denial (targets: median under 150 ms),
then the seconds for `render_batch_zip` over `--batch` denials on distinct claims (target:
500 in under 60 s) and the zip size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from appeals import db, letters  # noqa: E402
from appeals.models import (  # noqa: E402
    Adjustment,
    Claim,
    Denial,
    DenialScore,
    DocumentationFact,
    Payer,
    PayerAppealAddress,
    Payment,
    Practice,
    RemittanceFile,
    ServiceLine,
)

FACTS = {
    "diagnosis": "L82.0",
    "clinical_summary": "Inflamed, crusted seborrheic keratosis that bleeds with friction.",
    "symptoms": "bleeding, itching",
    "site": "back",
    "laterality": "left",
    "lesion_size_cm": "0.8",
}


def populate(session: Session, claims: int) -> list[int]:
    """`claims` claims of two denied lines each; returns the first denial id of each claim."""
    practice = Practice(
        name="Bench Dermatology", npi="1234567893", phone="555-0100", signer_name="A. Signer"
    )
    payer = Payer(identifier="BENCH", name="Bench Health Plan", payer_type="commercial")
    session.add_all([practice, payer])
    session.flush()
    session.add(PayerAppealAddress(payer_id=payer.id, address_line1="PO Box 1", city="Town"))
    remittance = RemittanceFile(name="bench.835", sha256="bench")
    session.add(remittance)
    session.flush()
    payment = Payment(
        file_id=remittance.id, practice_id=practice.id, payer_id=payer.id, dedupe_key="bench"
    )
    session.add(payment)
    session.flush()
    first_ids = []
    for number in range(claims):
        claim = Claim(
            payment_id=payment.id,
            practice_id=practice.id,
            payer_id=payer.id,
            patient_control_number=f"B{number:06d}",
            payer_claim_control_number=f"ICN{number:09d}",
            status="4",
            charge=Decimal("385.00"),
            patient_first_name="Pat",
            patient_last_name=f"Synthetic{number}",
            member_id=f"M{number:08d}",
            rendering_provider_name="Dr. Bench",
            service_date=date(2026, 3, 2),
            filing_indicator="CI",
        )
        session.add(claim)
        session.flush()
        for line_number, (code, charge) in enumerate((("11102", "135.00"), ("17110", "250.00"))):
            line = ServiceLine(
                claim_id=claim.id,
                line_number=line_number + 1,
                procedure_code=code,
                charge=Decimal(charge),
                service_date=claim.service_date,
            )
            session.add(line)
            session.flush()
            session.add(
                Adjustment(
                    claim_id=claim.id,
                    line_id=line.id,
                    group_code="CO",
                    reason="50",
                    amount=line.charge,
                )
            )
            denial = Denial(
                practice_id=practice.id,
                payer_id=payer.id,
                claim_id=claim.id,
                line_id=line.id,
                patient_control_number=claim.patient_control_number,
                procedure_code=code,
                service_date=claim.service_date,
                denied_on=date(2026, 3, 20),
                group_code="CO",
                carc="50",
                carcs="50",
                rarcs="N115",
                category="medical_necessity",
                action="appeal",
                denied_amount=line.charge,
            )
            session.add(denial)
            session.flush()
            session.add(DenialScore(id=denial.id))
            if line_number == 0:
                first_ids.append(denial.id)
        for field, value in FACTS.items():
            session.add(
                DocumentationFact(
                    practice_id=practice.id,
                    patient_control_number=claim.patient_control_number,
                    service_date=claim.service_date,
                    field=field,
                    value=value,
                )
            )
    session.commit()
    return first_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = db.get_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            started = time.perf_counter()
            ids = populate(session, args.batch + 1)
            print(f"setup: {args.batch + 1} claims in {time.perf_counter() - started:.1f} s")
            single = ids[-1]
            letters.generate_letter(session, [single])  # warm caches (templates, code tables)
            timings = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                letters.generate_letter(session, [single])
                session.commit()
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p90 = timings[int(len(timings) * 0.9) - 1]
            print(
                f"one letter: median {statistics.median(timings):.1f} ms, p90 {p90:.1f} ms "
                f"over {args.repeat} runs (target: median < 150 ms)"
            )
            started = time.perf_counter()
            data, skipped = letters.render_batch_zip(session, ids[: args.batch])
            session.commit()
            seconds = time.perf_counter() - started
            print(
                f"batch: {args.batch} letters into a zip in {seconds:.1f} s "
                f"({seconds / args.batch * 1000:.0f} ms each; zip {len(data) / 1e6:.1f} MB; "
                f"{len(skipped)} skipped) (target: 500 < 60 s)"
            )
        db.dispose_engine(url)


if __name__ == "__main__":
    main()
