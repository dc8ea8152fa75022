"""In Chromium: the break queue, a break resolved from its page, the statistics chart, the pre-open gate
and a reconciled statement, at 1280 px. Screenshots are kept under test-artifacts/e2e/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reconciliation.models_runs import Break
from tests.browser import open_from_menu, shot
from tests.conftest import PASSWORD
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.reconciliation.run_helpers import run, statement
from tests.refdata.factories import CustodyAccountFactory, VenueFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width} px wide"


def test_breaks_are_worked_from_the_pages(login_page, live_server, personas, settings):
    settings.RECONCILIATION_GATE = True
    btc, eth, sol = desk_asset("BTC", 8), desk_asset("ETH", 18, "3000"), desk_asset("SOL", 9, "150")
    main = firm_account("INV-FORTIS-BTC")
    stock(btc, main, "1250.5")
    stock(eth, main, "18000")
    cold = CustodyAccountFactory(code="INV-COLD", venue=VenueFactory(code="CUST2"), purpose="inventory")
    stock(btc, cold, "3")
    statement(main, {btc: "1250.45", sol: "12000"})
    run()

    bob = login_page("bob", PASSWORD)
    problems = _watch(bob)
    bob.set_viewport_size({"width": 1280, "height": 900})
    open_from_menu(bob, "Breaks", menu="Reconciliation")
    expect(bob.locator('[data-testid="pre-open-status"]')).to_contain_text("ran, finished")
    expect(bob.locator("tbody tr")).to_have_count(4)
    expect(bob.locator("tbody")).to_contain_text("1,250.45")
    _fits(bob)
    shot(bob, "reconciliation-break-queue")

    mismatch = Break.objects.get(kind="mismatch")
    bob.locator(f'tr[data-id="{mismatch.pk}"] a').first.click()
    bob.select_option("#id_assign-owner", label="tess")
    bob.locator('[data-testid="form-assign"] button').click()
    expect(bob.locator('[data-testid="break-status"]')).to_have_text("Assigned")
    bob.fill("#id_resolve-text", "Network fee of the last withdrawal")
    bob.select_option("#id_resolve-reason", "fee")
    bob.locator('[data-testid="form-resolve"] button').click()
    expect(bob.locator('[data-testid="break-status"]')).to_have_text("Resolved")
    expect(bob.locator('[data-testid="timeline"]')).to_contain_text("Fee: Network fee")
    _fits(bob)
    shot(bob, "reconciliation-break-resolved")

    open_from_menu(bob, "Break statistics", menu="Reconciliation")
    expect(bob.locator('[data-testid="chart-breaks-per-account"] canvas')).to_be_visible()
    _fits(bob)
    shot(bob, "reconciliation-statistics")

    bob.goto(
        f"{live_server.url}/reconciliation/reconciled/?account=INV-FORTIS-BTC&business_date={mismatch.run.business_date}"
    )
    expect(bob.locator('[data-testid="reconciled-table"]')).to_contain_text("Fee: Network fee")
    _fits(bob)
    shot(bob, "reconciliation-reconciled-statement")
    assert problems == []

    olivia = login_page("olivia", PASSWORD)
    olivia.set_viewport_size({"width": 1280, "height": 900})
    Break.objects.filter(status="open").update(opened_at=mismatch.opened_at.replace(year=2020))
    olivia.goto(f"{live_server.url}/reconciliation/gate/")
    expect(olivia.locator('[data-testid="gate-notice"]')).to_contain_text("INV-COLD")
    olivia.select_option("#id_account", "INV-COLD")
    olivia.fill("#id_reason", "Cold wallet balance checked on chain by two people")
    olivia.locator('[data-testid="override-form"] button').click()
    expect(olivia.locator('[data-testid="gate-notice"]')).to_contain_text("overridden by olivia")
    _fits(olivia)
    shot(olivia, "reconciliation-gate")
