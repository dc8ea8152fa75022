from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from borrowdesk.access.models import User
from borrowdesk.refdata.models import Price
from collateral.models import (
    BorrowerLimit,
    CollateralAgreement,
    CounterpartyRisk,
    CoverageSnapshot,
    HaircutRule,
    LimitBreach,
    MarginCall,
    MarkPolicy,
    Pledge,
)
from compliance.aml.models import AmlAlert
from inventory.models import Journal, Loan
from requests_app.models import BorrowRequest


@pytest.fixture(autouse=True)
def _kyc_documents_in_a_temporary_folder(settings, tmp_path):
    settings.KYC_DOCUMENT_DIR = tmp_path / "kyc-documents"  # the demo keeps a KYC document


def _counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (
            User,
            BorrowRequest,
            Journal,
            Loan,
            Price,
            Pledge,
            HaircutRule,
            CollateralAgreement,
            BorrowerLimit,
            MarkPolicy,
            MarginCall,
            LimitBreach,
            CounterpartyRisk,
            CoverageSnapshot,
        )
    )


def test_seed_demo_loads_every_request_state_and_is_idempotent(db):
    call_command("seed_demo")
    counts = _counts()
    statuses = set(BorrowRequest.objects.values_list("status", flat=True))
    assert statuses == {
        "pending_approval",
        "pending_second_approval",
        "compliance_hold",
        "offered",
        "approved",
        "rejected",
        "declined",
        "cancelled",
        "expired",
    }
    assert set(Loan.objects.values_list("status", flat=True)) == {"pending_delivery", "active", "closed"}
    # AML monitoring: one alert of each rule, each in an AML case of its counterparty.
    alerts = {a.rule.code: a for a in AmlAlert.objects.select_related("rule", "counterparty", "case")}
    assert set(alerts) == {"large_request", "wash_pattern", "new_address"}
    assert {a.counterparty.code for a in alerts.values()} == {"ACME", "BLUEFIN"}
    assert all(a.status == "in_case" and a.case.kind == "aml" for a in alerts.values())
    call_command("seed_demo")
    assert AmlAlert.objects.count() == 3
    assert _counts() == counts  # the collateral desk included: no pledge, version, price or call twice


def test_every_role_has_a_demo_user_who_can_log_in(db, settings):
    call_command("seed_demo")
    for role in (
        "trader",
        "ops",
        "ops_senior",
        "risk",
        "compliance",
        "treasury",
        "manager",
        "auditor",
        "admin",
        "pricing",
    ):
        user = User.objects.get(username=role)
        assert user.check_password(settings.DEMO_PASSWORD)
        assert user.groups.filter(name=role).exists()
    # A second risk user: risk configuration is approved by someone other than its proposer.
    risk2 = User.objects.get(username="risk2")
    assert risk2.check_password(settings.DEMO_PASSWORD)
    assert list(risk2.groups.values_list("name", flat=True)) == ["risk"]


def test_the_demo_marks_come_from_the_feed_and_the_ratings_from_the_kyc(db):
    from borrowdesk.refdata.models import Counterparty, Price
    from compliance.models import KycProfile

    call_command("seed_demo")
    assert set(Price.objects.values_list("posted_by__username", "status")) == {("pricing", "applied")}
    for counterparty in Counterparty.objects.all():
        assert counterparty.risk_rating == KycProfile.objects.get(counterparty=counterparty).risk_rating
    assert Counterparty.objects.get(code="HIGHTIDE").risk_rating == "high"


def test_the_collateral_desk_shows_every_state(db, settings):
    """After seeding, each coverage state has a counterparty, with the figures and the history behind it
    (tests/../seed_demo.py's table of the collateral desk)."""
    from collateral.models import ConfigStatus
    from collateral.selectors.monitoring import expiry_rows
    from collateral.selectors.risk_views import critical_in_cure, pending_approvals_for

    call_command("seed_demo")
    now = timezone.now()
    risk = {r.counterparty.code: r for r in CounterpartyRisk.objects.select_related("counterparty")}
    states = {code: r.state for code, r in risk.items()}
    assert states == {
        "ACME": "ok",
        "BLUEFIN": "warning",
        "GLOBEX": "call",
        "CORAL": "breach",
        "DRIFTWOOD": "critical",
        "EMBER": "needs_review",
        "FJORD": "needs_review",
    }
    # Covered: 4.5 BTC owed at 97,250 = 437,625; 6 BTC at 8 % + 400,000 USDC at 0.9999 less 2 %.
    assert risk["ACME"].exposure_usd == 437625
    usdc = 400000 * Decimal("0.9999") * Decimal("0.98")
    assert risk["ACME"].collateral_value_usd == 6 * 97250 * Decimal("0.92") + usdc
    # On call: issued now, due in GLOBEX's 12 hours, for the top-up to 1.5 × exposure.
    calls = {c.counterparty.code: c for c in MarginCall.objects.select_related("counterparty")}
    globex = calls["GLOBEX"]
    assert globex.status == "open" and globex.due_at == globex.issued_at + timedelta(hours=12) > now
    assert (
        globex.amount_usd == Decimal("1.5") * 9000 * Decimal("182.35") - risk["GLOBEX"].collateral_value_usd
    )
    # In breach: CORAL's call was issued two days ago and escalated once past due.
    coral = calls["CORAL"]
    assert coral.status == "escalated" and coral.issued_at < coral.due_at < now
    assert coral.issued_at < now - timedelta(days=2)
    # Critical, in its cure period of 48 hours (its agreement), not flagged for default.
    drift = risk["DRIFTWOOD"]
    assert drift.default_flagged_at is None and now - timedelta(hours=48) < drift.critical_since < now
    cure = critical_in_cure()
    assert [r.counterparty.code for r in cure.rows] == ["DRIFTWOOD"] and cure.rows[0].cure_ends_at > now
    # Under review: a stale mark, and two sources that disagree.
    assert "LINK: mark stale" in risk["EMBER"].review_reason
    assert "USDT: sources disagree" in risk["FJORD"].review_reason
    assert set(calls) == {"GLOBEX", "CORAL", "DRIFTWOOD"}  # no call on a price under review
    # Collateral expiring within the warning window.
    assert [(r.counterparty_code, r.asset_symbol) for r in expiry_rows()] == [("ACME", "USDC")]
    # A loosening proposed by risk2, waiting for risk; the other versions approved by another risk user.
    risk_user = User.objects.get(username="risk")
    pending = pending_approvals_for(risk_user)
    assert pending.count == 1 and pending.rows[0].row.proposed_by.username == "risk2"
    for rule in HaircutRule.objects.exclude(status=ConfigStatus.PENDING_APPROVAL):
        assert rule.is_loosening and (rule.proposed_by.username, rule.approved_by.username) == (
            "risk",
            "risk2",
        )
    # BLUEFIN's limit is close to its exposure; CORAL's covenant is broken, and the limit check says so.
    bluefin = BorrowerLimit.objects.get(counterparty__code="BLUEFIN")
    assert Decimal("0.9") < risk["BLUEFIN"].exposure_usd / bluefin.max_exposure_usd < 1
    breaches = LimitBreach.objects.filter(status="open")
    assert [(b.counterparty.code, b.kind) for b in breaches] == [("CORAL", "coverage")]
    # A week of coverage history for each, and the revaluation job's run for the pages.
    assert CoverageSnapshot.objects.filter(counterparty__code="GLOBEX").count() == 7
    history = CoverageSnapshot.objects.filter(counterparty__code="GLOBEX").order_by("business_date")
    assert [s.state for s in history] == ["ok", "ok", "warning", "warning", "warning", "warning", "call"]


def test_a_demo_reopened_the_next_day_gets_fresh_marks_from_the_feed(db, monkeypatch):
    """The demo feed posts when the demo is loaded: seeded again later, the marks past half their
    allowed age are posted again, both USDT sources among them, so FJORD still needs review for them
    and nobody else for staleness; LINK stays quiet."""
    call_command("seed_demo")
    prices = Price.objects.count()
    later = timezone.now() + timedelta(hours=13)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    call_command("seed_demo")
    assert Price.objects.count() == prices + 6  # BTC, ETH, SOL, USDC and both USDT sources
    reasons = dict(CounterpartyRisk.objects.values_list("counterparty__code", "review_reason"))
    assert "USDT: sources disagree" in reasons["FJORD"] and "stale" not in reasons["FJORD"]
    assert "LINK: mark stale" in reasons["EMBER"]
    assert [code for code, reason in reasons.items() if reason] == ["EMBER", "FJORD"]
    # GLOBEX's call was due 12 hours after it was issued: escalated now.
    assert MarginCall.objects.get(counterparty__code="GLOBEX").status == "escalated"


def test_the_demo_has_kyc_in_every_state(db, settings):
    from compliance.cases.models import Case
    from compliance.models import KycDocument, KycProfile

    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    states = dict(KycProfile.objects.values_list("counterparty__code", "status"))
    assert {"pending", "approved", "rejected", "expired"} <= set(states.values())
    assert (states["KESTREL"], states["MARLIN"], states["NORTHWIND"]) == ("rejected", "expired", "approved")
    northwind = KycProfile.objects.get(counterparty__code="NORTHWIND")
    assert northwind.review_due_on <= northwind.approved_on + timedelta(days=settings.KYC_REVIEW_LEAD_DAYS)
    # The job's review cases: the expired one and the one expiring soon, once each.
    for code in ("MARLIN", "NORTHWIND"):
        profile = KycProfile.objects.get(counterparty__code=code)
        assert Case.objects.filter(kind="kyc", counterparty__code=code).count() == 1
        assert profile.review_case.counterparty.code == code
    assert KycDocument.objects.filter(profile__counterparty__code="ACME").count() == 1


def test_the_demo_has_a_sanctions_match_and_open_cases_of_each_kind(db, django_capture_on_commit_callbacks):
    """Issue 10 (cases): the 17-entry OFAC subset in force, SUEXOTC a potential match with its request
    held, and open cases of every kind; a second run opens nothing more."""
    from compliance.cases.models import Case, CaseEvent
    from compliance.models import SanctionsListVersion, SanctionsMatch

    with django_capture_on_commit_callbacks(execute=True):  # the rescreen's notices, as after a commit
        call_command("seed_demo")
    assert SanctionsListVersion.objects.get(is_active=True).entry_count == 17
    match = SanctionsMatch.objects.get(counterparty__code="SUEXOTC")
    assert match.status == "potential"
    assert BorrowRequest.objects.get(counterparty__code="SUEXOTC").status == "compliance_hold"
    open_kinds = set(Case.objects.exclude(status="closed").values_list("kind", flat=True))
    assert open_kinds == {"kyc", "aml", "sanctions", "travel_rule"}
    sanctions = Case.objects.get(kind="sanctions")
    assert CaseEvent.objects.filter(
        case=sanctions, evidence_type="sanctions_match", evidence_id=match.pk
    ).exists()
    assert Case.objects.filter(status="escalated").exists()
    assert User.objects.get(username="compliance2").groups.filter(name="compliance").exists()
    counts = (Case.objects.count(), CaseEvent.objects.count())
    call_command("seed_demo")
    assert (Case.objects.count(), CaseEvent.objects.count()) == counts
