"""End to end in Chromium: trader submits → ops approves → ops_senior approves → settlement → the loan
is active in the trader's list. Screenshots of every step go to test-artifacts/e2e/."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser import shot

PASSWORD = "journey-password-42"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def desk(acme, desk_config):
    from borrowdesk.access.services import create_desk_user
    from compliance.models import KycProfile
    from tests.inventory.factories import desk_asset, firm_account, stock

    KycProfile.objects.create(
        counterparty=acme, status="approved", risk_rating="low", expires_on="2099-01-01"
    )
    btc = desk_asset("BTC", 8, "50000")
    stock(btc, firm_account(), "20")
    users = {}
    for name, role in [("tina", "trader"), ("oscar", "ops"), ("sam", "ops_senior"), ("tara", "treasury")]:
        users[name] = create_desk_user(
            username=name, password=PASSWORD, roles=[role], counterparties=[acme] if role == "trader" else []
        )
    return users


def _shot(page, name):
    shot(page, f"journey-{name}")


def test_trader_to_active_loan_through_two_approvals_and_settlement(login_page, live_server, desk):
    from inventory.models import Loan
    from requests_app.models import BorrowRequest

    # The trader asks for 6 BTC (≈ $300k: ops, then ops_senior).
    trader = login_page("tina", PASSWORD)
    trader.goto(f"{live_server.url}/requests/new/")
    trader.select_option("#id_counterparty", "ACME")
    trader.select_option("#id_asset", "BTC")
    trader.fill("#id_quantity", "6")
    trader.fill("#id_max_rate_bps", "600")
    expect(trader.locator("[data-testid=indicative-rate]")).to_contain_text("bps/yr")
    _shot(trader, "1-trader-new-request")
    trader.get_by_role("button", name="Submit request").click()
    expect(trader.locator("[data-testid=status]").first).to_have_text("Pending Approval")
    _shot(trader, "2-trader-submitted")
    request = BorrowRequest.objects.get()
    assert request.required_steps == ["ops", "ops_senior"]

    # Operations approve in turn, from their queues.
    for username, picture in [("oscar", "3-ops-queue"), ("sam", "4-ops-senior-queue")]:
        approver = login_page(username, PASSWORD)
        approver.goto(f"{live_server.url}/requests/queue/")
        row = approver.locator(f"tr[data-request='{request.pk}']")
        row.locator("input[name=rate_bps]").fill("450")
        _shot(approver, picture)
        row.get_by_role("button", name="Approve").click()
        approver.wait_for_load_state("networkidle")
    request.refresh_from_db()
    assert request.status == "approved" and request.loan.status == "pending_delivery"

    # Treasury settles the delivery from the settlement queue.
    treasury = login_page("tara", PASSWORD)
    treasury.goto(f"{live_server.url}/treasury/settlements/")
    _shot(treasury, "5-settlement-queue")
    treasury.locator("form[action*='/settle'] button").first.click()
    treasury.wait_for_load_state("networkidle")
    assert Loan.objects.get(pk=request.loan_id).status == "active"

    # The trader sees it live in their list.
    trader.goto(f"{live_server.url}/requests/mine/")
    expect(trader.locator(f"tr[data-request='{request.pk}']")).to_contain_text("loan active")
    _shot(trader, "6-trader-loan-active")
    assert Decimal(request.loan.quantity) == Decimal(6)
