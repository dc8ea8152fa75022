"""Each role logs in through the login page and lands on its home page (screenshots kept)."""

import pytest
from playwright.sync_api import expect

from tests.browser import shot
from tests.conftest import PASSWORD, ROLE_PERSONA

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_every_role_lands_on_its_home_page(login_page, live_server, personas):
    for role, username in ROLE_PERSONA.items():
        page = login_page(username, PASSWORD)
        assert page.url == f"{live_server.url}/"
        expect(page.locator(f".role-panel[data-role='{role}']")).to_be_visible()
        expect(page.locator("[data-testid=whoami]")).to_have_text(username)
        # The vendored stylesheet really loaded: the navbar has the desk's dark background.
        background = page.locator("nav.navbar").evaluate("el => getComputedStyle(el).backgroundColor")
        assert background == "rgb(15, 28, 46)"
        shot(page, f"home-{role}")


def test_a_wrong_password_shows_an_error_and_stays_on_the_login_page(browser, live_server, personas):
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", "not-his-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".alert-danger")).to_contain_text("correct username and password")
    assert "/accounts/login/" in page.url
    shot(page, "login-error")
    page.close()


def test_every_roles_navigation_fits_1280_px_with_no_label_broken_in_two(login_page, personas):
    """A role with many pages (ops_senior, admin) gets its links on rows of whole items: no label on
    two lines, the Log out button on one, and no sideways scroll at 1280 px."""
    for username in ROLE_PERSONA.values():
        page = login_page(username, PASSWORD)
        page.set_viewport_size({"width": 1280, "height": 900})
        broken = page.evaluate(
            """() => [...document.querySelectorAll('.navbar-desk .nav-link, .navbar-desk .btn')]
                 .filter(el => el.offsetHeight > 1.6 * parseFloat(getComputedStyle(el).lineHeight))
                 .map(el => el.textContent.trim())"""
        )
        assert broken == [], f"{username}: {broken}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, username
