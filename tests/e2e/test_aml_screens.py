"""AML monitoring in Chromium at 1280 × 800 on the demo desk: the alerts list (one per rule) opened
from the navigation, an alert with its evidence and a dismissal, and the rules page refusing a bad
parameter beside its field. Screenshots go to test-artifacts/e2e/aml-*.png."""

import pytest
from playwright.sync_api import expect

from tests.browser import open_from_menu, shot
from tests.e2e.test_screens import _no_horizontal_scroll, at_1280, demo  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_compliance_works_the_aml_alerts_in_the_browser(at_1280, demo):  # noqa: F811
    page = at_1280("compliance", "/")
    open_from_menu(page, "AML alerts", menu="Compliance")
    page.wait_for_load_state("networkidle")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    text = page.locator("table").inner_text()
    for finding in (
        "Request far above the 30-day average",
        "Borrow and return, repeated",
        "Settlement to a new address",
    ):
        assert finding in text
    assert "116,700 USD" in text and "$116,700.00" in text  # thousands separators, no padding zeros
    assert "_" not in page.locator("tbody").inner_text().replace("bc1qacme0settlement", "")
    assert any(zone in text for zone in ("GMT", "BST", "UTC"))
    _no_horizontal_scroll(page)
    shot(page, "aml-alerts")

    page.get_by_role("link", name="3 loans borrowed and returned within 24 hours in 7 days").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid=status]")).to_have_text("In a case")
    expect(page.locator("[data-testid=loans] tbody tr")).to_have_count(3)
    expect(page.locator("[data-testid=case]")).to_contain_text("Case")
    _no_horizontal_scroll(page)
    shot(page, "aml-alert")
    alert_url = page.url
    page.locator("[data-testid=case] a").click()  # the case the alert joined, which links back to it
    page.wait_for_load_state("networkidle")
    alert_id = alert_url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.get_by_role("link", name=f"AML alert {alert_id}").first).to_be_visible()
    page.goto(alert_url)
    page.get_by_role("button", name="Dismiss the alert").click()  # no reason: the browser asks for one
    page.fill("[data-testid=dismiss] textarea", "Treasury rebalancing agreed with the client; see case notes")
    page.get_by_role("button", name="Dismiss the alert").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid=status]")).to_have_text("Dismissed")
    shot(page, "aml-alert-dismissed")

    page.goto(page.url.split("/compliance/")[0] + "/compliance/aml/rules/")
    card = page.locator("[data-testid=rule-wash_pattern]")
    card.locator("input[name=min_loans]").fill("1")
    card.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-testid=rule-wash_pattern] .invalid-feedback")).to_contain_text(
        "Loans (at least) must be at least 2"
    )
    _no_horizontal_scroll(page)
    shot(page, "aml-rules-error")
