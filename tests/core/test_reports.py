"""Reports on a small hand-built history whose every answer is worked out by hand below.

Practice A, six months (2026-01-01 to 2026-06-30, "today" 2026-06-30):
  c1  Acme, Dr A, DOS 01-05, paid 01-20: 11602 $200 paid $150 (CO-45 $50); 11602 $300 denied
      CO-50 → d1, appealed by spec1 02-01, partly won 03-02: $120.
  c5  Acme, Dr B, DOS 01-10, paid 01-20: 17311 $250 denied CO-197 → d5, never worked, deadline
      03-20: expired.
  c2  Medicare, Dr B, DOS 02-02, paid 02-16: 99213 $100 denied CO-16 N290 → d2; level 1 sent by
      spec1 03-01, lost 03-31; level 2 sent by spec2 04-10, won by a later 835 (c4, 05-20).
  c3  Acme, Dr A, DOS 03-02, paid 03-16: 11102 $400 paid $300 (CO-45 $100); reversed 04-13
      (c3r, all negative) and repaid the same day (c3b: paid $320, CO-45 $80).
  c4  Medicare, Dr B, paid 05-20: the repayment of c2's line, $100.
  c6  Medicare, Dr A, DOS 04-01, paid 05-20: 11102 $80 denied CO-97 → d6, written off by spec2.
  c7  Acme, Dr A, DOS 06-01, paid 06-22: 11602 $150 denied CO-50 → d7 (spec2, in progress,
      deadline 07-05); 99213 $100 paid $90 (CO-45 $10).
  c0  Acme, DOS 2025-11-15, paid 2025-12-10: 11602 $500 denied CO-50 → d0, lost (previous period).
Practice B: cb1 Acme, DOS 02-01, paid 02-20: 11602 $999 denied CO-50 → db1; 99213 $50 paid $50.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session

from appeals import reports
from appeals.models import (
    Adjustment,
    Appeal,
    Claim,
    Denial,
    DenialScore,
    Payer,
    Payment,
    Practice,
    RemittanceFile,
    ServiceLine,
    User,
)

TODAY = date(2026, 6, 30)
DR_A, DR_B = ("ADA DOCTOR", "1111111111"), ("BEN DOCTOR", "2222222222")


def d(text: str) -> date:
    return date.fromisoformat(text)


def money(text: str) -> Decimal:
    return Decimal(text)


@dataclass
class History:
    a: int = 0
    b: int = 0
    acme: int = 0
    medicare: int = 0
    spec1: int = 0
    spec2: int = 0
    denials: dict[str, Denial] = field(default_factory=dict)


class Builder:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.payments: dict[tuple[int, int, date], Payment] = {}

    def add(self, row: Any) -> Any:
        self.session.add(row)
        self.session.flush()
        return row

    def payment(self, practice: int, payer: int, day: date) -> Payment:
        key = (practice, payer, day)
        if key not in self.payments:
            file = self.add(RemittanceFile(name="t.835", sha256=uuid.uuid4().hex))
            self.payments[key] = self.add(
                Payment(
                    file_id=file.id,
                    practice_id=practice,
                    payer_id=payer,
                    dedupe_key=uuid.uuid4().hex,
                    payment_date=day,
                )
            )
        return self.payments[key]

    def claim(
        self,
        practice: int,
        payer: int,
        paid_on: str,
        account: str,
        service: str,
        provider: tuple[str, str],
        lines: list[tuple[str, str, str, list[tuple[str, str, str]]]],
        *,
        reversal: bool = False,
    ) -> tuple[Claim, list[ServiceLine]]:
        """lines: (procedure, charge, paid, [(group, reason, amount)])."""
        payment = self.payment(practice, payer, d(paid_on))
        claim = self.add(
            Claim(
                payment_id=payment.id,
                practice_id=practice,
                payer_id=payer,
                patient_control_number=account,
                status="22" if reversal else "1",
                charge=sum((money(c) for _, c, _, _ in lines), Decimal("0")),
                paid=sum((money(p) for _, _, p, _ in lines), Decimal("0")),
                rendering_provider_name=provider[0],
                rendering_provider_npi=provider[1],
                service_date=d(service),
                is_reversal=reversal,
            )
        )
        made = []
        for number, (code, charge, paid, adjustments) in enumerate(lines, start=1):
            line = self.add(
                ServiceLine(
                    claim_id=claim.id,
                    line_number=number,
                    procedure_code=code,
                    charge=money(charge),
                    paid=money(paid),
                    service_date=d(service),
                )
            )
            for group, reason, amount in adjustments:
                self.add(
                    Adjustment(
                        claim_id=claim.id,
                        line_id=line.id,
                        group_code=group,
                        reason=reason,
                        amount=money(amount),
                    )
                )
            made.append(line)
        return claim, made

    def deny(
        self,
        claim: Claim,
        line: ServiceLine,
        carc: str,
        *,
        rarc: str = "",
        category: str = "medical_necessity",
        status: str = "new",
        deadline: str = "2026-09-01",
        recovered: str = "0.00",
        assignee: int | None = None,
        closed_by: int | None = None,
        findings: str = "",
    ) -> Denial:
        payment = self.session.get(Payment, claim.payment_id)
        assert payment is not None
        closed = status in ("won", "partial", "lost", "written_off")
        denial = self.add(
            Denial(
                practice_id=claim.practice_id,
                payer_id=claim.payer_id,
                claim_id=claim.id,
                line_id=line.id,
                patient_control_number=claim.patient_control_number,
                procedure_code=line.procedure_code,
                service_date=line.service_date,
                denied_on=payment.payment_date,
                group_code="CO",
                carc=carc,
                carcs=carc,
                rarc=rarc,
                rarcs=rarc,
                category=category,
                action="appeal",
                denied_amount=line.charge,
                status=status,
                deadline=d(deadline),
                recovered_amount=money(recovered),
                assignee_id=assignee,
                # The importer stamps its own clock: reports must use the decision or payment date.
                closed_at=datetime(2026, 6, 29, 9, tzinfo=UTC) if closed else None,
                closed_by_claim_id=closed_by,
                findings=findings,
            )
        )
        self.add(DenialScore(id=denial.id))  # as the importer stores every denial's
        return denial

    def appeal(
        self,
        denial: Denial,
        level: int,
        sent: str,
        outcome: str,
        decided: str | None,
        by: int,
        recovered: str = "0.00",
        source: str = "app",
    ) -> Appeal:
        return self.add(
            Appeal(
                denial_id=denial.id,
                level=level,
                submitted_on=d(sent),
                method="portal",
                outcome=outcome,
                closed_on=d(decided) if decided else None,
                recovered_amount=money(recovered),
                source=source,
                sent_by_id=by,
            )
        )


@pytest.fixture
def history(session: Session) -> History:
    b = Builder(session)
    h = History()
    h.a = b.add(Practice(name="Practice A")).id
    h.b = b.add(Practice(name="Practice B")).id
    h.acme = b.add(Payer(identifier="ACME", name="Acme Health")).id
    h.medicare = b.add(Payer(identifier="MCR", name="Medicare JK", payer_type="medicare")).id
    h.spec1 = b.add(User(username="spec1", password_hash="x", practice_id=h.a)).id
    h.spec2 = b.add(User(username="spec2", password_hash="x", practice_id=h.a)).id
    a, acme, mcr = h.a, h.acme, h.medicare
    co45 = [("CO", "45", "50.00")]
    c1, (_, l1b) = b.claim(a, acme, "2026-01-20", "A1", "2026-01-05", DR_A, [
        ("11602", "200.00", "150.00", co45),
        ("11602", "300.00", "0.00", [("CO", "50", "300.00")]),
    ])  # fmt: skip
    xs = json.dumps([{"rule_id": "ncci_distinct", "message": "m", "action": "corrected_claim",
                      "suggested_change": "append modifier XS to 11602"}])  # fmt: skip
    h.denials["d1"] = d1 = b.deny(
        c1, l1b, "50", status="partial", recovered="120.00", assignee=h.spec1, findings=xs
    )
    b.appeal(d1, 1, "2026-02-01", "partial", "2026-03-02", h.spec1, "120.00")
    c5, (l5,) = b.claim(a, acme, "2026-01-20", "A5", "2026-01-10", DR_B, [
        ("17311", "250.00", "0.00", [("CO", "197", "250.00")]),
    ])  # fmt: skip
    h.denials["d5"] = b.deny(c5, l5, "197", category="authorization_precert", deadline="2026-03-20")
    c2, (l2,) = b.claim(a, mcr, "2026-02-16", "A2", "2026-02-02", DR_B, [
        ("99213", "100.00", "0.00", [("CO", "16", "100.00")]),
    ])  # fmt: skip
    c3, _ = b.claim(a, acme, "2026-03-16", "A3", "2026-03-02", DR_A, [
        ("11102", "400.00", "300.00", [("CO", "45", "100.00")]),
    ])  # fmt: skip
    b.claim(a, acme, "2026-04-13", "A3", "2026-03-02", DR_A, [
        ("11102", "-400.00", "-300.00", [("CO", "45", "-100.00")]),
    ], reversal=True)  # fmt: skip
    b.claim(a, acme, "2026-04-13", "A3", "2026-03-02", DR_A, [
        ("11102", "400.00", "320.00", [("CO", "45", "80.00")]),
    ])  # fmt: skip
    c4, _ = b.claim(a, mcr, "2026-05-20", "A2", "2026-02-02", DR_B, [
        ("99213", "100.00", "100.00", []),
    ])  # fmt: skip
    h.denials["d2"] = d2 = b.deny(
        c2, l2, "16", rarc="N290", category="missing_info", status="won", recovered="100.00",
        closed_by=c4.id,
    )  # fmt: skip
    d2.appeal_level = 2
    b.appeal(d2, 1, "2026-03-01", "lost", "2026-03-31", h.spec1)
    b.appeal(d2, 2, "2026-04-10", "won", "2026-05-20", h.spec2, "100.00", source="remittance")
    c6, (l6,) = b.claim(a, mcr, "2026-05-20", "A6", "2026-04-01", DR_A, [
        ("11102", "80.00", "0.00", [("CO", "97", "80.00")]),
    ])  # fmt: skip
    h.denials["d6"] = b.deny(
        c6, l6, "97", category="bundling_ncci", status="written_off", assignee=h.spec2
    )
    c7, (l7, _) = b.claim(a, acme, "2026-06-22", "A7", "2026-06-01", DR_A, [
        ("11602", "150.00", "0.00", [("CO", "50", "150.00")]),
        ("99213", "100.00", "90.00", [("CO", "45", "10.00")]),
    ])  # fmt: skip
    h.denials["d7"] = b.deny(
        c7, l7, "50", status="in_progress", deadline="2026-07-05", assignee=h.spec2
    )
    c0, (l0,) = b.claim(a, acme, "2025-12-10", "A0", "2025-11-15", DR_A, [
        ("11602", "500.00", "0.00", [("CO", "50", "500.00")]),
    ])  # fmt: skip
    h.denials["d0"] = d0 = b.deny(c0, l0, "50", status="lost")
    b.appeal(d0, 1, "2025-12-20", "lost", "2026-01-30", h.spec1)
    cb1, (lb1, _) = b.claim(h.b, acme, "2026-02-20", "B1", "2026-02-01", ("ZED", "3333333333"), [
        ("11602", "999.00", "0.00", [("CO", "50", "999.00")]),
        ("99213", "50.00", "50.00", []),
    ])  # fmt: skip
    h.denials["db1"] = b.deny(cb1, lb1, "50")
    session.commit()
    return h


def filters(h: History, scope: int | None = -1, **args: str) -> reports.ReportFilters:
    """Practice A's view of the first half of 2026 unless told otherwise."""
    values = {"from": "2026-01-01", "to": "2026-06-30", **args}
    f = reports.ReportFilters.parse(values, scope=h.a if scope == -1 else scope, today=TODAY)
    assert f.errors == {}
    return f


def rows(table: reports.Table | None) -> dict[str, dict[str, Any]]:
    assert table is not None
    return {str(r[table.columns[0].key]): r for r in table.as_dicts()}


def figures(report: reports.Report) -> dict[str, Any]:
    return {f.key: f.value for f in report.figures}


def test_monthly_recovery_by_month_of_denial(session: Session, history: History) -> None:
    report = reports.monthly(session, filters(history), TODAY)
    months = rows(report.table("months"))
    assert list(months) == ["2026-01", "2026-02", "2026-05", "2026-06"]
    jan = months["2026-01"]  # d1 (partial: $120 of $300) and d5 (expired, $250)
    assert (jan["denials"], jan["denied"], jan["recovered"]) == (2, money("550.00"), money("120"))
    assert jan["rate"] == pytest.approx(120 / 550)
    assert (jan["open"], jan["lost"], jan["expired"], jan["written_off"]) == (0, 0, 250, 0)
    feb = months["2026-02"]  # d2, won at level 2 through an 835
    assert (feb["denied"], feb["recovered"], feb["rate"]) == (100, 100, 1.0)
    assert months["2026-05"]["written_off"] == money("80.00")  # d6
    assert months["2026-06"]["open"] == money("150.00")  # d7, deadline still to come
    f = figures(report)
    assert (f["denied"], f["recovered"], f["open"], f["expired"]) == (880, 220, 150, 250)
    assert f["rate"] == pytest.approx(0.25)


def test_cohort_uses_the_decision_and_payment_dates_not_the_import_clock(
    session: Session, history: History
) -> None:
    report = reports.monthly(session, filters(history), TODAY)
    cohort = rows(report.table("cohort"))
    jan = cohort["2026-01"]  # d1's $120 came back 41 days after 01-20
    assert jan["within_30"] == 0
    assert jan["within_60"] == pytest.approx(120 / 550)
    assert jan["within_90"] == pytest.approx(120 / 550)
    assert jan["within_180"] is None  # January's denials are not all 180 days old on 06-30
    feb = cohort["2026-02"]  # d2's $100: decided 05-20, 93 days after 02-16
    assert (feb["within_30"], feb["within_60"], feb["within_90"]) == (0, 0, 0)
    assert feb["within_180"] is None and feb["to_date"] == 1.0
    returned = rows(report.table("returned"))
    assert {m: r["recovered"] for m, r in returned.items()} == {"2026-03": 120, "2026-05": 100}


def test_monthly_breakdowns(session: Session, history: History) -> None:
    by_payer = rows(reports.monthly(session, filters(history), TODAY).table("by_payer"))
    assert {k: (r["denials"], r["denied"], r["recovered"]) for k, r in by_payer.items()} == {
        "Acme Health": (3, 700, 120),
        "Medicare JK": (2, 180, 100),
    }
    family = reports.monthly(session, filters(history, by="family"), TODAY).table("by_family")
    assert {k: r["denied"] for k, r in rows(family).items()} == {
        "Excision malignant": 450,
        "Mohs": 250,
        "E/M": 100,
        "Biopsy": 80,
    }
    provider = reports.monthly(session, filters(history, by="provider"), TODAY)
    table = provider.table("by_provider")
    assert {k: r["denied"] for k, r in rows(table).items()} == {
        "ADA DOCTOR · 1111111111": 530,
        "BEN DOCTOR · 2222222222": 350,
    }
    assert table is not None and table.links == [
        {"provider": "1111111111"},
        {"provider": "2222222222"},
    ]
    carc = reports.monthly(session, filters(history, by="carc"), TODAY).table("by_carc")
    assert [r["denied"] for r in rows(carc).values()] == [450, 250, 100, 80]


def test_filters_narrow_by_provider_payer_and_service_date(
    session: Session, history: History
) -> None:
    dr_b = figures(reports.monthly(session, filters(history, provider="2222222222"), TODAY))
    assert dr_b["denied"] == 350  # d2 + d5
    medicare = filters(history, payer=str(history.medicare))
    assert figures(reports.monthly(session, medicare, TODAY))["denied"] == 180
    # By date of service: only d6 (04-01) and d7 (06-01) fall in April to June.
    spring = filters(history, basis="service", **{"from": "2026-04-01"})
    months = rows(reports.monthly(session, spring, TODAY).table("months"))
    assert {m: r["denied"] for m, r in months.items()} == {"2026-04": 80, "2026-06": 150}


def test_practice_scope_and_roll_up(session: Session, history: History) -> None:
    # A practice's viewer asking for the other practice still sees only their own.
    scoped = reports.ReportFilters.parse(
        {"from": "2026-01-01", "to": "2026-06-30", "practice": str(history.b)},
        scope=history.a,
        today=TODAY,
    )
    assert scoped.practice == history.a
    assert figures(reports.monthly(session, scoped, TODAY))["denied"] == 880
    assert figures(reports.monthly(session, filters(history, history.b), TODAY))["denied"] == 999
    everyone = filters(history, None)
    assert figures(reports.monthly(session, everyone, TODAY))["denied"] == 880 + 999
    one = filters(history, None, practice=str(history.b))
    assert figures(reports.monthly(session, one, TODAY))["denied"] == 999


def test_sources_against_the_previous_period(session: Session, history: History) -> None:
    report = reports.sources(session, filters(history), TODAY)
    f = figures(report)
    assert (f["count"], f["dollars"]) == (5, 880)
    assert f["change"] == pytest.approx((880 - 500) / 500)  # d0 in the previous 181 days
    payers = rows(report.table("by_payer"))
    acme = payers["Acme Health"]
    assert (acme["denials"], acme["denied"], acme["previous_denials"]) == (3, 700, 1)
    assert (acme["previous_denied"], acme["change"]) == (500, 200)
    assert acme["share"] == pytest.approx(700 / 880)
    assert payers["Medicare JK"]["previous_denied"] == 0
    assert set(rows(report.table("by_carc-rarc"))) == {"CO-50", "CO-197", "CO-16 + N290", "CO-97"}
    assert rows(report.table("by_category"))["Medical necessity"]["denied"] == 450
    assert rows(report.table("by_family"))["Excision malignant"]["previous_denied"] == 500
    assert rows(report.table("by_provider"))["BEN DOCTOR · 2222222222"]["denials"] == 2
    causes = report.table("root_causes")
    assert causes is not None
    assert [(r["key"], r["denied"]) for r in causes.as_dicts()] == [
        ("CO-50", 450),
        ("CO-197", 250),
        ("CO-16 + N290", 100),
        ("CO-97", 80),
    ]
    first = causes.as_dicts()[0]
    assert first["fix"] == "append modifier XS to 11602"
    assert first["fix_share"] == 0.5  # d1 has the finding, d7 none


def test_kpis_net_reversals_and_count_first_remittances(session: Session, history: History) -> None:
    report = reports.kpis(session, filters(history), TODAY)
    f = figures(report)
    # Paid 150+300−300+320+100+90; charges 500+250+100+400−400+400+100+80+250;
    # CO-45 50+100−100+80+10.
    assert f["net_collection"] == pytest.approx(660 / (1680 - 140))
    assert f["denial_rate_lines"] == pytest.approx(5 / 9)  # c3r's line takes one back
    assert f["denial_rate_dollars"] == pytest.approx(880 / 1680)
    # First remittances: c1, c5, c2, c3, c6, c7 (c3b and c4 came again); only c3 paid clean.
    assert f["first_pass"] == pytest.approx(1 / 6)
    assert f["days_to_payment"] == 21  # 14, 15, 21, 42, 107
    days = rows(report.table("days_to_payment"))
    assert [r["claims"] for r in days.values()] == [3, 1, 0, 1, 0]
    backlog = rows(report.table("backlog"))
    assert backlog["0–30 days"]["denied"] == 150  # d7
    assert backlog["91–180 days"]["denied"] == 250  # d5, 161 days old
    assert (f["due_soon"], f["expired"]) == (150, 250)
    # the totals' dollars and counts sit in their own typed columns (formatted on the page,
    # raw numbers in the CSV)
    totals = rows(report.table("remittance_totals"))
    assert (totals["Payments"]["dollars"], totals["Payments"]["count"]) == (660, None)
    assert (totals["Denied lines"]["dollars"], totals["Denied lines"]["count"]) == (None, 5)
    other = figures(reports.kpis(session, filters(history, history.b), TODAY))
    assert other["net_collection"] == pytest.approx(50 / 1049)


def test_appeals_overturn_rate_by_level_and_payer(session: Session, history: History) -> None:
    report = reports.appeals(session, filters(history), TODAY)
    levels = rows(report.table("by_level"))
    one, two = levels["Level 1"], levels["Level 2"]
    assert (one["sent"], one["decided"], one["overturned"]) == (2, 2, 1)  # d1 partial, d2 lost
    assert one["overturn_rate"] == 0.5 and one["median_days"] == 29.5  # 29 and 30 days
    assert one["dollar_rate"] == pytest.approx(120 / 400)
    assert (two["decided"], two["overturn_rate"], two["median_days"]) == (1, 1.0, 40)
    payers = rows(report.table("by_payer"))
    assert (payers["Medicare JK"]["sent"], payers["Medicare JK"]["median_days"]) == (2, 35)
    f = figures(report)
    assert f["overturn_rate"] == pytest.approx(2 / 3) and f["median_days"] == 30


def test_team_credits_835_wins_to_the_sender(session: Session, history: History) -> None:
    people = rows(reports.team(session, filters(history), TODAY).table("people"))
    spec1, spec2 = people["spec1"], people["spec2"]
    assert (spec1["worked"], spec1["sent"], spec1["recovered"], spec1["by_835"]) == (2, 2, 120, 0)
    assert spec1["median_days"] == 29.5
    # d2's level-2 win came through an 835; d6 and d7 were assigned and worked.
    assert (spec2["worked"], spec2["sent"], spec2["recovered"], spec2["by_835"]) == (3, 1, 100, 100)
    assert spec2["overturn_rate"] == 1.0 and spec2["median_days"] == 40


def test_bad_filter_values_are_explained_by_field() -> None:
    f = reports.ReportFilters.parse(
        {"from": "2026-13-01", "to": "x", "basis": "paid", "payer": "acme", "by": "zip"},
        scope=None,
        today=TODAY,
    )
    assert set(f.errors) == {"from", "to", "basis", "payer", "by"}
    assert (f.date_from, f.date_to, f.basis, f.payer) == (d("2025-07-01"), TODAY, "denied", None)
    backwards = reports.ReportFilters.parse(
        {"from": "2026-05-01", "to": "2026-04-01"}, scope=None, today=TODAY
    )
    assert "to" in backwards.errors


def test_median_of_a_histogram() -> None:
    assert reports.median_of({}) is None
    assert reports.median_of({3: 1, 10: 1, 50: 1}) == 10
    assert reports.median_of({2: 2, 8: 2}) == 5


def test_csv_rows_keep_text_from_running_as_formulas() -> None:
    table = reports.Table(
        "t",
        "T",
        (reports.Column("name", "Name"), reports.Column("denied", "Denied", "money")),
        [("=HYPERLINK(1)", Decimal("-5.00")), ("@sum", None)],
    )
    assert list(reports.csv_rows(table)) == [
        ["name", "denied"],
        ["'=HYPERLINK(1)", "-5.00"],
        ["'@sum", ""],
    ]
