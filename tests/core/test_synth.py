"""The synthetic practice: valid 835s (pyx12 and our reader agree), determinism, realistic mixes."""

from __future__ import annotations

import csv
import io
import logging
import random
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import pyx12.params
import pyx12.x12n_document

from appeals.denials import find_denials
from appeals.documentation import validate_field
from appeals.synth import generate, is_valid_npi, npi_check_digit
from appeals.synth.engine import Simulation, first_month
from appeals.synth.generator import APPEAL_COLUMNS, DOCUMENTATION_COLUMNS
from appeals.synth.params import PARAMS_FILE, load_params
from appeals.synth.people import make_providers
from appeals.x12 import read_payments

# Denial category groups and the shares data/synth/ASSUMPTIONS.md documents for them.
GROUPS = {
    "coding_modifier": "modifier_bundling",
    "bundling_ncci": "modifier_bundling",
    "medical_necessity": "necessity_cosmetic",
    "noncovered_cosmetic": "necessity_cosmetic",
    "missing_invalid_info": "information_registration",
    "coordination_of_benefits": "information_registration",
    "eligibility_coverage": "information_registration",
    "authorization_precert": "authorization",
    "duplicate": "duplicate",
    "timely_filing": "timely_filing",
}
GROUP_RANGES = {
    "modifier_bundling": (0.15, 0.35),
    "necessity_cosmetic": (0.17, 0.35),
    "information_registration": (0.25, 0.42),
    "authorization": (0.06, 0.16),
    "duplicate": (0.01, 0.10),
    "timely_filing": (0.0, 0.04),
    "other": (0.0, 0.08),
}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def pyx12_errors(path: Path) -> list[str]:
    """pyx12's validation errors for one file (empty when it accepts the file)."""
    handler = _Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(),
            src_file=str(path),
            fd_997=None,
            fd_html=None,
            fd_json=io.StringIO(),
        )
    finally:
        logger.removeHandler(handler)
    return handler.messages + ([] if ok else ["x12n_document returned False"])


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("synth")
    return generate(out, seed=11, months=5, claims_per_month=90)


def test_npi_check_digit_follows_the_luhn_rule() -> None:
    assert npi_check_digit("123456789") == "3"  # CMS's published example 1234567893
    assert is_valid_npi("1234567893")
    assert not is_valid_npi("1234567890")
    assert is_valid_npi(load_params().practice["npi"])


def test_every_file_passes_pyx12(small) -> None:  # type: ignore[no-untyped-def]
    files = sorted(small.out_dir.glob("*.835"))
    assert len(files) == small.files > 20
    failures = {f.name: errors for f in files if (errors := pyx12_errors(f))}
    assert failures == {}


def test_every_file_reads_without_warnings_and_balances(small) -> None:  # type: ignore[no-untyped-def]
    npis = set()
    statuses: Counter[str] = Counter()
    plb_reasons: Counter[str] = Counter()
    total = Decimal("0")
    for path in sorted(small.out_dir.glob("*.835")):
        payments = read_payments(path)
        assert len(payments) == 1
        payment = payments[0]
        assert payment.all_warnings == []
        assert payment.header.payee.identifier == "1293847566"
        paid = sum((c.paid for c in payment.claims), Decimal("0"))
        adjusted = sum((a.amount for a in payment.provider_adjustments), Decimal("0"))
        assert payment.header.payment_amount == paid - adjusted >= 0
        total += payment.header.payment_amount
        plb_reasons.update(a.reason for a in payment.provider_adjustments)
        for claim in payment.claims:
            statuses[claim.status] += 1
            if claim.rendering_provider:
                npis.add(claim.rendering_provider.identifier)
            for line in claim.lines:
                removed = sum((a.amount for a in line.adjustments), Decimal("0"))
                assert line.charge - removed == line.paid
    assert total == small.payments
    assert npis and all(is_valid_npi(n) for n in npis)
    assert {"1", "22"} <= set(statuses)
    assert "L6" in plb_reasons


def test_file_names_sort_in_arrival_order(small) -> None:  # type: ignore[no-untyped-def]
    names = [p.name for p in small.out_dir.glob("*.835")]
    by_name = sorted(names)
    assert [n.split("_")[0] for n in by_name] == sorted(n.split("_")[0] for n in names)
    assert [n.rsplit("_", 1)[1] for n in by_name] == sorted(n.rsplit("_", 1)[1] for n in names)


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", seed=5, months=2, claims_per_month=40)
    second = generate(tmp_path / "b", seed=5, months=2, claims_per_month=40)
    other = generate(tmp_path / "c", seed=6, months=2, claims_per_month=40)

    def contents(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    assert contents(first.out_dir) == contents(second.out_dir)
    assert contents(first.out_dir) != contents(other.out_dir)


def test_documentation_rows_are_valid_facts(small) -> None:  # type: ignore[no-untyped-def]
    with open(small.out_dir / "documentation.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == DOCUMENTATION_COLUMNS
        rows = list(reader)
    assert rows
    problems = [
        (r["field"], r["value"], error)
        for r in rows
        if (error := validate_field(r["field"], r["value"]))
    ]
    assert problems == []
    fields = {r["field"] for r in rows}
    assert {"diagnosis", "site", "symptoms", "clinical_summary"} <= fields


def test_won_appeals_are_paid_in_a_later_remittance(small) -> None:  # type: ignore[no-untyped-def]
    with open(small.out_dir / "appeals.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == APPEAL_COLUMNS
        rows = list(reader)
    won = [r for r in rows if r["outcome"] in ("won", "partial")]
    assert won, "a five-month run should win some appeals"
    # A won line comes back later under the same CLP01 and REF*6R with no denial on it (the money
    # may all be patient responsibility when the deductible takes it).
    later: dict[str, list[tuple[str, str, set[str]]]] = {}
    for path in sorted(small.out_dir.glob("*.835")):
        day = path.name.split("_")[0]
        for claim in read_payments(path)[0].claims:
            for line in claim.lines:
                reasons = {a.reason for a in line.adjustments}
                later.setdefault(claim.patient_control_number, []).append(
                    (day, line.control_number, reasons)
                )
    for row in won:
        repaid = [
            reasons
            for day, control, reasons in later[row["patient_control_number"]]
            if day > row["denial_date"] and control == row["line_control_number"]
        ]
        assert any(reasons <= {"45", "59", "253", "1", "2", "3"} for reasons in repaid), row
    assert sum(Decimal(r["amount_recovered"]) for r in won) > 0
    # The history format's outcomes (empty while pending); the simulation's own beside them.
    assert {r["outcome"] for r in rows} <= {"won", "partial", "lost", ""}
    assert {r["simulated_outcome"] for r in rows} <= {
        "won",
        "partial",
        "lost",
        "pending",
        "dismissed_untimely",
    }


def test_with_drift_a_late_payer_joins_and_takes_over_some_commercial_patients(
    tmp_path: Path,
) -> None:
    params = load_params()
    summary = generate(tmp_path, seed=3, months=12, claims_per_month=150, drift=True)
    joins = first_month(summary.end, params.drift.new_payer_months)
    late = [p for p in sorted(summary.out_dir.glob("*.835")) if "_keystone_" in p.name]
    assert late, "the late payer pays claims once it has joined"
    members: set[str] = set()
    for path in late:
        payment = read_payments(path)[0]
        assert payment.all_warnings == []
        assert payment.header.payer.name == "KEYSTONE CHOICE HEALTH"
        for claim in payment.claims:
            dates = [line.service_date for line in claim.lines] or [claim.statement_from]
            assert all(day and day >= joins for day in dates)
            person = claim.insured or claim.patient
            assert person is not None
            members.add(person.identifier)
    assert members and all(m.startswith("KSC") for m in members)
    assert not pyx12_errors(late[0])
    # a patient who moved is a new record: claims paid before the move keep the old member id
    others = [p for p in summary.out_dir.glob("*.835") if "_keystone_" not in p.name]
    assert not any(b"*MI*KSC" in path.read_bytes() for path in others)


def test_without_drift_the_late_payer_never_appears(small) -> None:  # type: ignore[no-untyped-def]
    assert not [p for p in small.out_dir.glob("*.835") if "_keystone_" in p.name]


def test_drift_moves_appeal_win_factors_from_the_start_to_the_end() -> None:
    params = load_params()
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    providers = make_providers(random.Random(1), params)
    sim = Simulation(random.Random(1), params, providers, [], start, end, params.drift)
    plain = Simulation(random.Random(1), params, providers, [], start, end)
    base = params.appeals["payer_win_factor"]
    for payer in params.payers:
        if payer.joins_late:
            assert sim.win_factor(payer, start) == pytest.approx(
                base[payer.kind] * params.drift.new_payer_win_factor
            )
            continue
        at_end = params.drift.win_factor_at_end[payer.kind]
        assert sim.win_factor(payer, start) == pytest.approx(base[payer.kind])
        assert sim.win_factor(payer, end) == pytest.approx(base[payer.kind] * at_end)
        assert plain.win_factor(payer, end) == pytest.approx(base[payer.kind])


def test_drift_must_name_a_commercial_payer_that_joins_late(tmp_path: Path) -> None:
    text = PARAMS_FILE.read_text()
    assert 'new_payer = "keystone"' in text
    wrong = tmp_path / "params.toml"
    wrong.write_text(text.replace('new_payer = "keystone"', 'new_payer = "cobalt"'))
    with pytest.raises(ValueError, match="joins_late"):
        load_params(wrong)


def test_the_cli_writes_a_practice(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    result = cli("synth", "--out", out, "--months", "2", "--claims-per-month", "15", "--seed", "4")
    assert result.exit_code == 0, result.output
    assert "files in" in result.output
    assert list(out.glob("*.835"))
    assert (out / "appeals.csv").exists()
    assert (out / "documentation.csv").exists()


@pytest.mark.slow
def test_a_year_has_realistic_denial_rate_category_and_payer_mix(tmp_path: Path) -> None:
    params = load_params()
    summary = generate(tmp_path, seed=3, months=12)
    kinds = {p.name: p.kind for p in params.payers}
    lines = denied = 0
    groups: Counter[str] = Counter()
    payer_kinds: Counter[str] = Counter()
    seen: set[str] = set()
    for path in sorted(tmp_path.glob("*.835")):
        payment = read_payments(path)[0]
        for claim in payment.claims:
            drafts = find_denials(claim)
            groups.update(GROUPS.get(d.category, "other") for d in drafts)
            if claim.status == "22" or claim.patient_control_number in seen:
                continue
            seen.add(claim.patient_control_number)  # first adjudication of each claim
            payer_kinds[kinds[payment.header.payer.name]] += 1
            count = len(claim.lines) or 1
            lines += count
            denied += sum(1 if d.line_index is not None else count for d in drafts)
    assert 0.10 <= denied / lines <= 0.15
    assert 0.10 <= summary.line_denial_rate <= 0.15
    total = sum(groups.values())
    shares = {g: groups[g] / total for g in GROUP_RANGES}
    for group, (low, high) in GROUP_RANGES.items():
        assert low <= shares[group] <= high, (group, shares)
    claims = sum(payer_kinds.values())
    for kind, share in params.payer_mix.items():
        assert abs(payer_kinds[kind] / claims - share) < 0.08, (kind, payer_kinds)
