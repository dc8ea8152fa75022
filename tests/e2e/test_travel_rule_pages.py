"""Travel rule and regulator requests in Chromium: treasury's settle is refused for a leg whose message
fails validation; compliance opens it from the Compliance menu, sees the field named, fixes the data
on file, rebuilds and marks it sent; the leg then settles. The regulator log flags an overdue request.
Screenshots kept; the tables fit 1280 px."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from compliance.regulator.services import log_request
from compliance.travel_rule.models import TravelRuleMessage, TravelRuleParty
from compliance.travel_rule.services import set_party_data
from tests.browser import open_from_menu, shot
from tests.conftest import PASSWORD
from treasury.models import SettlementInstruction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _fits(page, width=1280) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than {width}px"


def _leg(personas, acme) -> SettlementInstruction:
    from compliance.models import KycProfile
    from requests_app.services import approve_request, submit_request
    from tests.inventory.factories import desk_asset, firm_account, stock

    btc = desk_asset("BTC", 8, "97250")
    stock(btc, firm_account(), "10")
    KycProfile.objects.create(
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=timezone.now().date() + timedelta(days=90),
    )
    request = submit_request(actor=personas["alice"], counterparty=acme, asset=btc, quantity=Decimal("2.5"))
    approved = approve_request(actor=personas["bob"], request=request, rate_bps=Decimal("400"))
    return SettlementInstruction.objects.get(loan=approved.loan)


def test_a_leg_blocked_by_its_travel_rule_message_settles_once_compliance_fixes_it(
    login_page, live_server, personas, acme, settings, tmp_path
):
    settings.REGULATOR_EVIDENCE_DIR = tmp_path
    leg = _leg(personas, acme)
    TravelRuleParty.objects.create(counterparty=acme, street="Main Street", building_number="1", country="GB")
    now = timezone.now()
    log_request(
        actor=personas["carl"],
        regulator="FCA",
        reference="FCA/SUP/2026/0412",
        subject="Travel-rule data for transfers over 1,000 USD",
        received_at=now - timedelta(days=16),
        due_at=now - timedelta(days=2),
        owner=personas["carl"],
    )
    log_request(
        actor=personas["carl"],
        regulator="FCA (drill)",
        subject="Rehearsal: screening evidence",
        received_at=now,
        due_at=now + timedelta(days=4),
        is_drill=True,
    )

    # Treasury tries to settle: refused, with the reason.
    treasury = login_page("tess", PASSWORD)
    treasury.goto(f"{live_server.url}/treasury/settlements/")
    treasury.get_by_role("button", name="Settle").first.click()
    expect(treasury.locator(".alert-danger, .alert-warning, .alert")).to_contain_text("travel-rule message")
    shot(treasury, "travel-rule-settle-refused")
    leg.refresh_from_db()
    assert leg.status == "pending"

    # Compliance finds the message from the menu, with the field named.
    page = login_page("carl", PASSWORD)
    open_from_menu(page, "Travel rule", menu="Compliance")
    expect(page.locator("tbody")).to_contain_text("ACME")
    _fits(page)
    shot(page, "travel-rule-list")
    page.locator("tbody a").first.click()
    expect(page.get_by_test_id("validity")).to_have_text("Fails IVMS101 validation")
    expect(page.get_by_test_id("errors")).to_contain_text("geographicAddress[0].townName")
    _fits(page)
    shot(page, "travel-rule-message-invalid")

    set_party_data(actor=personas["carl"], counterparty=acme, town="London")
    page.get_by_role("button", name="Rebuild from data on file").click()
    expect(page.get_by_test_id("validity")).to_have_text("Valid IVMS101")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("status")).to_have_text("Sent")
    shot(page, "travel-rule-message-sent")
    assert TravelRuleMessage.objects.get(is_current=True).status == "sent"

    treasury.goto(f"{live_server.url}/treasury/settlements/")
    treasury.get_by_role("button", name="Settle").first.click()
    treasury.wait_for_load_state("networkidle")
    leg.refresh_from_db()
    assert leg.status == "settled"

    # The regulator log: the overdue request flagged, the drill marked; the home page counts it.
    open_from_menu(page, "Regulator requests", menu="Compliance")
    expect(page.locator("tbody")).to_contain_text("Overdue")
    _fits(page)
    shot(page, "regulator-requests")
    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("regulator-overdue")).to_contain_text("1 overdue")
    shot(page, "home-regulator-flags")
