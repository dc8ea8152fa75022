"""Stress, recall suggestions and concentration in Chromium at 1280 × 800: a risk user loads "crypto
crash", runs it and reads the results and the chart (drawn under the Content-Security-Policy with no
violation, its table right below); operations recall a suggested loan in one confirmed click; the
concentration page shows its tables. No horizontal scroll. Screenshots: test-artifacts/e2e/stress-*.png.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from borrowdesk.business_day import business_date
from inventory.models import Recall
from tests.browser import shot
from tests.collateral import stress_helpers as s
from tests.collateral import valuation_helpers as h
from tests.e2e.test_risk_screens import _drawn, _no_horizontal_scroll, at_1280  # noqa: F401
from tests.refdata.factories import CounterpartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def stress_desk(personas, acme, globex):
    """test_stress.py's book with marks now (fresh), and a few more borrowers."""
    s.seed_scenarios()
    initech = CounterpartyFactory(code="INITECH", legal_name="Initech Inc")
    lendco = s.lender("LENDCO")
    btc, eth, sol = h.asset("BTC"), h.asset("ETH"), h.asset("SOL")
    usdt = h.asset("USDT", decimals=6, stablecoin=True)
    for a, p in ((btc, 50000), (eth, 3000), (sol, 100), (usdt, 1)):
        h.price(a, p)
    h.haircut(btc, 10)
    h.haircut(sol, 20)
    h.haircut(usdt, 5)
    s.receive_from(eth, 40, source=lendco)
    s.receive_from(btc, 2, source=lendco)
    s.receive_from(btc, 1)
    s.loan(acme, eth, 20, rate_bps=500)
    s.loan(initech, eth, 10, rate_bps=200, term_days=30)
    s.loan(globex, btc, "1.25", rate_bps=300)
    today = business_date()
    s.pledge_expiring(acme, btc, 2, expires_on=today + timedelta(days=4))
    s.pledge_expiring(globex, usdt, 100000, expires_on=None)
    s.pledge_expiring(initech, sol, 500, expires_on=today + timedelta(days=10))
    return {"eth": eth, "initech": initech}


def _clean(page, problems):
    assert page.evaluate("window.__csp") == [] and problems == [], (page.evaluate("window.__csp"), problems)
    _no_horizontal_scroll(page)


def test_a_risk_user_runs_crypto_crash_and_reads_the_results(at_1280, stress_desk):  # noqa: F811
    page, problems = at_1280("rita", "/collateral/stress/")
    page.select_option("#load-scenario", "crypto crash")  # loads it (the select submits itself)
    page.wait_for_load_state("networkidle")
    expect(page.locator("#id_markdowns")).to_have_value("BTC=30, ETH=40")
    page.locator("[data-testid=run]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid=scenario-label]")).to_have_text("crypto crash v1")
    expect(page.locator("[data-testid=firm-shortfall]")).to_have_text("$7,000.00")
    expect(page.locator("[data-testid=stress-results] tbody tr").first).to_contain_text("INITECH")
    expect(page.locator("[data-testid=stress-results] tbody tr").first).to_contain_text("Critical")
    drawn = _drawn(page, "stress-coverage")
    assert drawn["chart"] and drawn["datasets"] == 4  # before, after, required and call lines
    assert drawn["painted"] > 2000, drawn
    expect(page.locator("[data-testid=chart-stress-coverage-table]")).to_contain_text("111.1%")
    assert "_" not in page.locator("main").inner_text().replace("chart_", "")
    _clean(page, problems)
    shot(page, "stress-crypto-crash")


def test_the_lender_run_shows_the_gap_and_the_loans(at_1280, stress_desk):  # noqa: F811
    page, problems = at_1280("rita", "/collateral/stress/?scenario=lender+run")
    page.locator("[data-testid=run]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid=recall-by-asset] tr[data-id=ETH]")).to_contain_text("10")
    expect(page.locator("[data-testid=recall-loans]")).to_contain_text("INITECH")
    expect(page.locator("[data-testid=recall-loans]")).to_contain_text("rate 2.00 % (lowest of 2)")
    _clean(page, problems)
    shot(page, "stress-lender-run")


def test_operations_recall_a_suggested_loan_in_one_confirmed_click(at_1280, stress_desk):  # noqa: F811
    page, problems = at_1280("bob", "/collateral/recalls/?asset=ETH&quantity=20")
    first = page.locator("[data-testid=suggestions] tbody tr").first
    expect(first).to_contain_text("INITECH")
    expect(page.locator("[data-testid=gap]")).to_have_text("10")  # 20 needed - 10 available
    _clean(page, problems)
    shot(page, "stress-recalls")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    first.get_by_role("button", name="Recall").click()
    page.wait_for_load_state("networkidle")
    assert dialogs and "Recall this quantity" in dialogs[0]
    (recall,) = Recall.objects.all()
    assert (recall.loan.counterparty.code, recall.quantity) == ("INITECH", Decimal("10"))
    assert "/inventory/loans/" in page.url  # the loan's own page, with its recall


def test_the_concentration_page_fits(at_1280, stress_desk):  # noqa: F811
    page, problems = at_1280("rita", "/collateral/concentration/")
    expect(page.locator("[data-testid=concentration] tbody tr")).to_have_count(3)
    expect(page.locator("[data-testid=expiries] tbody tr")).to_have_count(2)
    expect(page.locator("[data-testid=firm-concentration]")).to_contain_text("USDT")
    _clean(page, problems)
    shot(page, "stress-concentration")
