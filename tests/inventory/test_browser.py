"""In Chromium: operations work the borrow book (a partial return, confirmed, then a recall), the
borrower's trader accepts a rerate, senior operations adjust a balance. Screenshots of every inventory
page go to test-artifacts/e2e/inventory-*.png."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser import shot

PASSWORD = "inventory-password-42"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def desk(acme, desk_config):
    from borrowdesk.access.services import create_desk_user
    from borrowdesk.business_day import business_date
    from inventory.models import Recall
    from inventory.services import recall_loan
    from tests.inventory.factories import accrue, active_loan, desk_asset, firm_account, stock

    users = {
        name: create_desk_user(
            username=name, password=PASSWORD, roles=[role], counterparties=[acme] if role == "trader" else []
        )
        for name, role in [("tina", "trader"), ("oscar", "ops"), ("sam", "ops_senior"), ("tara", "treasury")]
    }
    btc, eth = desk_asset("BTC", 8, "50000"), desk_asset("ETH", 18, "3000")
    account = firm_account()
    stock(btc, account, "20", actor=users["tara"])
    stock(eth, account, "300", actor=users["tara"])
    loan = active_loan(
        actor=users["oscar"], counterparty=acme, asset=btc, account=account, quantity="6", term_days=30
    )
    late = active_loan(actor=users["oscar"], counterparty=acme, asset=eth, account=account, quantity="120")
    recall = recall_loan(
        actor=users["oscar"], loan=late, quantity=Decimal(40), due_at=timezone.now() + timedelta(hours=1)
    )
    Recall.objects.filter(pk=recall.pk).update(due_at=timezone.now() - timedelta(hours=2))
    accrue(business_date())
    return users, loan


def test_operations_and_the_trader_work_the_borrow_book(login_page, live_server, desk):
    from inventory.models import Journal, Loan

    users, loan = desk
    ops = login_page("oscar", PASSWORD)
    ops.goto(f"{live_server.url}/inventory/loans/")
    expect(ops.locator("[data-testid=flags]").first).to_contain_text("buy-in")
    shot(ops, "inventory-1-borrow-book")

    ops.goto(f"{live_server.url}/inventory/loans/{loan.pk}/")
    ops.fill("#id_return-quantity", "2")
    ops.get_by_role("button", name="Record return").click()  # confirm() accepted by the fixture
    expect(ops.locator("[data-testid=open-quantity]")).to_contain_text("4 BTC")
    ops.fill("#id_return-quantity", "9")
    ops.get_by_role("button", name="Record return").click()
    expect(ops.locator("[data-field='return-quantity']")).to_contain_text("At most 4")
    ops.fill("#id_rerate-rate_bps", "500")
    ops.fill("#id_rerate-effective_date", (timezone.localdate() + timedelta(days=1)).isoformat())
    ops.get_by_role("button", name="Propose").click()
    shot(ops, "inventory-2-loan-after-return-and-rerate")
    assert Loan.objects.get(pk=loan.pk).open_quantity == Decimal(4)

    trader = login_page("tina", PASSWORD)
    trader.goto(f"{live_server.url}/inventory/loans/{loan.pk}/")
    trader.get_by_role("button", name="Accept").click()
    expect(trader.locator(".alert-success")).to_contain_text("accepted")
    shot(trader, "inventory-3-trader-accepted-rerate")

    for path, name in [
        ("positions/", "4-positions"),
        ("availability/", "5-availability"),
        ("journals/?kind=return", "6-journals"),
    ]:
        ops.goto(f"{live_server.url}/inventory/{path}")
        shot(ops, f"inventory-{name}")

    senior = login_page("sam", PASSWORD)
    senior.goto(f"{live_server.url}/inventory/adjustments/new/")
    senior.select_option("#id_asset", "BTC")
    senior.select_option("#id_account", "INV-MAIN")
    senior.fill("#id_quantity", "-0.5")
    senior.fill("#id_reason", "Custodian count differs by 0.5 BTC")
    shot(senior, "inventory-7-adjustment-form")
    senior.get_by_role("button", name="Post adjustment").click()
    expect(senior.locator(".alert-success")).to_contain_text("Adjustment recorded")
    assert Journal.objects.filter(kind="adjustment").count() == 1

    treasury = login_page("tara", PASSWORD)
    treasury.goto(f"{live_server.url}/inventory/receipts/new/")
    shot(treasury, "inventory-8-receipt-form")
