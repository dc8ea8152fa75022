"""In Chromium, under the Content-Security-Policy: no page of any role reports a violation, htmx and
Bootstrap still work, confirmations still ask, and Swagger UI still renders at /api/docs/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inventory.models import Journal
from tests.browser import shot
from tests.conftest import PASSWORD, ROLE_PERSONA
from tests.inventory.factories import desk_asset, firm_account, stock

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _watch(page) -> list[str]:
    """Collect console errors and page errors (a CSP refusal is logged as a console error)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


@pytest.fixture
def stocked_desk(personas):
    btc = desk_asset("BTC", 8, "50000")
    account = firm_account()
    stock(btc, account, "10", actor=personas["tess"])
    return btc, account


def test_every_page_in_every_roles_navigation_runs_without_a_csp_violation(
    login_page, live_server, personas, stocked_desk
):
    visited = 0
    for role, persona in ROLE_PERSONA.items():
        if role == "pricing":  # a price feed's service account: the API only, no pages
            continue
        page = login_page(persona, PASSWORD)
        problems = _watch(page)
        links = page.locator(
            "#desk-nav a.nav-link:not(.dropdown-toggle), #desk-nav a.dropdown-item"
        ).evaluate_all("els => els.map(e => e.href)")
        assert links, role
        for url in dict.fromkeys([f"{live_server.url}/", *links]):
            page.goto(url)  # waits for the load event: every script and stylesheet has run or been refused
            # and the fragments htmx loads on page load (hx-trigger="load") have come back
            page.wait_for_function("() => !document.querySelector('.htmx-request')")
            visited += 1
        page.wait_for_timeout(100)  # console events still in flight
        assert problems == [], (role, problems)
    assert visited > 60  # every role's navigation, not a login page


def test_the_utilization_bar_is_sized_by_the_script_not_an_inline_style(
    login_page, live_server, stocked_desk
):
    page = login_page("bob", PASSWORD)
    problems = _watch(page)
    page.goto(f"{live_server.url}/inventory/availability/")
    bar = page.locator(".progress-bar").first
    expect(bar).to_have_attribute("data-width", "0")
    assert bar.evaluate("el => el.style.width") == "0%"
    assert page.locator(".progress").first.evaluate("el => getComputedStyle(el).height") == "8px"
    assert problems == []


def test_a_dismissed_confirmation_posts_nothing(browser, live_server, stocked_desk):
    btc, account = stocked_desk
    # Not the login_page fixture: it accepts every dialog.
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "tess")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    problems = _watch(page)
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    before = Journal.objects.count()
    page.goto(f"{live_server.url}/inventory/receipts/new/")
    page.select_option("#id_asset", "BTC")
    page.select_option("#id_account", account.code)
    page.fill("#id_quantity", "1")
    page.get_by_role("button", name="Record receipt").click()
    page.wait_for_timeout(300)
    assert asked == ["Record this receipt in the ledger?"]
    assert "/inventory/receipts/new/" in page.url
    assert Journal.objects.count() == before
    assert problems == []
    page.close()


def test_swagger_ui_renders_at_the_api_docs_under_the_policy(login_page, live_server, personas):
    page = login_page("bob", PASSWORD)
    problems = _watch(page)
    page.goto(f"{live_server.url}/api/docs/")
    # The schema is generated on the first request: slow on a loaded machine.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("BorrowDesk API", timeout=60_000)
    expect(page.locator(".opblock").first).to_be_visible()
    shot(page, "api-docs-csp")
    assert problems == []
