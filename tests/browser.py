"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser).

The fixtures are registered once for the whole suite by tests/conftest.py, so every browser test
shares one session-scoped Playwright (a second one would start inside the first one's event loop).
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()


@pytest.fixture
def login_page(browser, live_server):
    """Open a fresh browser page logged in as ``username`` through the login form."""
    pages = []

    def _login(username, password):
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("dialog", lambda dialog: dialog.accept())  # confirm() before moving inventory
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")
        pages.append(page)
        return page

    yield _login
    for page in pages:
        page.close()


def shot(page, name):
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_from_menu(page, name, menu="Collateral"):
    """Open a page from a menu of the main navigation (the collateral pages are one menu), as a
    person would: the menu, then its entry."""
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name=menu).or_(nav.get_by_role("link", name=menu)).click()
    nav.get_by_role("link", name=name).click()
