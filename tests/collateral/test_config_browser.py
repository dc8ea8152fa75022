"""In Chromium: a loosening haircut proposed by one risk user and approved by another, from the pages;
ops books a pledge. Screenshots are kept under test-artifacts/e2e/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from borrowdesk.access.services import create_desk_user
from collateral.models import HaircutRule, Pledge
from tests.browser import open_from_menu, shot
from tests.collateral.factories import collateral_account, haircut
from tests.conftest import PASSWORD
from tests.inventory.factories import desk_asset

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_a_loosening_is_proposed_by_one_risk_user_and_approved_by_another(login_page, live_server, personas):
    btc = desk_asset("BTC", 8, "50000")
    haircut(btc, "20")
    create_desk_user(username="rhea", password=PASSWORD, roles=["risk"])

    rita = login_page("rita", PASSWORD)
    problems = _watch(rita)
    rita.set_viewport_size({"width": 1280, "height": 900})
    open_from_menu(rita, "Risk config")
    rita.select_option("#id_asset", "BTC")
    rita.fill("#id_haircut_pct", "15")
    rita.fill("#id_comment", "BTC liquidity is deep")
    rita.get_by_role("button", name="Propose").click()
    expect(rita.locator(".alert-success")).to_contain_text("a loosening, pending another risk user")
    shot(rita, "collateral-haircuts-proposed")
    rita.get_by_role("link", name="Pending approvals").click()
    expect(rita.locator('[data-testid="own"]')).to_be_visible()
    expect(rita.locator('[data-testid="approve"]')).to_have_count(0)
    assert problems == []

    rhea = login_page("rhea", PASSWORD)
    rhea.set_viewport_size({"width": 1280, "height": 900})
    rhea.goto(f"{live_server.url}/collateral/config/pending/")
    shot(rhea, "collateral-pending-approvals")
    rhea.locator('[data-testid="approve"] button').click()  # confirm() is accepted by the fixture
    expect(rhea.locator(".alert-success")).to_contain_text("approved: in force now")
    rule = HaircutRule.objects.get(haircut_pct=15)
    assert (rule.status, rule.approved_by.username) == ("effective", "rhea")


def test_ops_books_a_pledge_from_the_form(login_page, live_server, personas, acme):
    desk_asset("BTC", 8, "50000")
    collateral_account(acme)
    bob = login_page("bob", PASSWORD)
    problems = _watch(bob)
    bob.set_viewport_size({"width": 1280, "height": 900})
    open_from_menu(bob, "Pledges")
    bob.get_by_role("link", name="Book a pledge").click()
    bob.select_option("#id_counterparty", "ACME")
    bob.select_option("#id_asset", "BTC")
    bob.select_option("#id_account", "ACME-COLL")
    bob.fill("#id_quantity", "0.000000001")
    bob.get_by_role("button", name="Book pledge").click()
    expect(bob.locator('[data-field="quantity"]')).to_contain_text("at most 8 decimal places")
    bob.fill("#id_quantity", "2.5")
    bob.get_by_role("button", name="Book pledge").click()
    expect(bob.locator(".alert-success")).to_contain_text("booked: 2.5 BTC from ACME into ACME-COLL")
    shot(bob, "collateral-pledges")
    assert Pledge.objects.get().quantity == 2.5
    assert problems == []


PAGES = [
    "config/haircuts/",
    "config/limits/",
    "config/agreements/",
    "config/pending/",
    "scenarios/",
    "pledges/",
    "positions/",
]


def test_the_collateral_pages_fit_1280_pixels(login_page, live_server, personas, acme, globex):
    from decimal import Decimal

    from collateral.services.config import propose_limit, save_stress_scenario
    from tests.collateral.factories import agreement, limit, pledge

    btc, eth = desk_asset("BTC", 8, "50000"), desk_asset("ETH", 18, "3000")
    haircut(btc, "20", counterparty=acme)
    limit(
        acme, "25000000", max_tenor_days=90, min_coverage_ratio="1.25", asset_caps={btc: "150", eth: "2500"}
    )
    propose_limit(
        actor=personas["rita"],
        counterparty=acme,
        max_exposure_usd=Decimal("40000000.5"),
        comment="client asked",
    )
    agreement(globex, call_ratio="1.2", critical_ratio="1.1")
    save_stress_scenario(
        actor=personas["rita"], name="crypto crash", markdowns={"BTC": Decimal(30), "ETH": Decimal(40)}
    )
    pledge(acme, btc, "12.5", account=collateral_account(acme), reference="CALL-2026-0042")
    page = login_page("rita", PASSWORD)
    problems = _watch(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    too_wide = {}
    for path in PAGES:
        page.goto(f"{live_server.url}/collateral/{path}")
        shot(page, f"collateral-{path.strip('/').replace('/', '-')}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 1280:
            too_wide[path] = width
    assert too_wide == {}
    assert problems == []
