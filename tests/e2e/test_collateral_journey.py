"""In Chromium at 1280 × 800, the margin call's journey end to end: ACME is covered; the price feed posts
a fall in its collateral's price through the API; the revaluation that follows every new price (a real
Celery worker, through Redis) puts ACME on call; risk finds the call in the margin-call queue; ops books
a pledge in the browser; the next scheduled revaluation meets the call and ACME is back to ok on the
coverage page. Screenshots at each step: test-artifacts/e2e/collateral-journey-*.png.

The book (1 BTC lent to ACME, 100 SOL pledged at a 10 % haircut, ACME's levels the desk's defaults:
call 1.30, critical 1.15, required 1.50):
    SOL at 1,000:  100 × 1,000 × 0.9 = 90,000 against 1 × 50,000 → 1.80, ok
    SOL at 700:    100 × 700 × 0.9 = 63,000 → 1.26, on call for 1.5 × 50,000 − 63,000 = 12,000
    +20 SOL:       120 × 700 × 0.9 = 75,600 → 1.512, at the required level: the call is met
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from playwright.sync_api import expect

from borrowdesk.celery import app
from borrowdesk.operations.models import JobRun
from borrowdesk.refdata.services import record_price
from collateral.models import CounterpartyRisk, MarginCall, Pledge
from collateral.tasks import revalue_collateral
from tests.browser import open_from_menu, shot
from tests.collateral.factories import collateral_account, haircut, pledge
from tests.conftest import PASSWORD, ensure_desk_config
from tests.inventory.factories import active_loan, desk_asset, firm_account, stock

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTH, HEIGHT = 1280, 800


def _wait_for(predicate, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _revalued(window: str) -> bool:
    return JobRun.objects.filter(job="collateral.revalue", window=window, outcome="succeeded").exists()


@pytest.fixture
def worker():
    """A Celery worker on this checkout's queue (CELERY_QUEUE), emptied first: what the price signal
    and the schedule send runs here, as in production."""
    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        perform_ping_check=False,
        queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
        shutdown_timeout=30,
    ):
        yield


@pytest.fixture
def at_1280(browser, live_server):
    pages = []

    def _open(username):
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.on("dialog", lambda dialog: dialog.accept())  # confirm() before booking
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")
        pages.append(page)
        return page, problems

    yield _open
    for page in pages:
        page.close()


def _row(page, code: str):
    return page.locator("tbody tr").filter(has=page.get_by_role("cell", name=code, exact=True))


def _fits(page, selector: str = "html") -> None:
    width = page.locator(selector).evaluate("e => e.scrollWidth")
    assert width <= WIDTH, f"{page.url}: {selector} is {width} px wide"


def test_a_price_drop_puts_acme_on_call_and_a_pledge_clears_it(
    at_1280, live_server, browser, personas, acme, worker
):
    ensure_desk_config()
    pete, tess, bob = personas["pete"], personas["tess"], personas["bob"]
    btc, sol = desk_asset("BTC", 8, None), desk_asset("SOL", 9, None)
    inventory = firm_account()
    stock(btc, inventory, "5", actor=tess)
    haircut(sol, "10")
    account = collateral_account(acme)
    pledge(acme, sol, "100", account=account, actor=bob)
    active_loan(actor=bob, counterparty=acme, asset=btc, account=inventory, quantity="1")
    # The feed's first marks; the revaluation after the second leaves ACME covered.
    record_price(actor=pete, asset=btc, price_usd=Decimal("50000"), source="feed")
    first = record_price(actor=pete, asset=sol, price_usd=Decimal("1000"), source="feed")
    assert _wait_for(lambda: _revalued(f"price:{first.pk}"))
    assert CounterpartyRisk.objects.get(counterparty=acme).state == "ok"

    rita, rita_problems = at_1280("rita")
    rita.goto(f"{live_server.url}/collateral/coverage/")
    expect(_row(rita, "ACME").locator(".badge")).to_have_text("Ok")
    _fits(rita)
    shot(rita, "collateral-journey-1-covered")

    # The feed posts SOL at 700 through the API, as it does every minute.
    feed = browser.new_context(base_url=live_server.url).request
    token = feed.post("/api/v1/auth/token/", data={"username": "pete", "password": PASSWORD}).json()["token"]
    posted = feed.post(
        "/api/v1/prices/",
        data={"asset": "SOL", "price_usd": "700", "source": "feed"},
        headers={"Authorization": f"Token {token}"},
    )
    assert posted.status == 201, posted.text()
    # refdata announces the price after commit; collateral queues a revaluation of its own window,
    # which the worker runs.
    assert _wait_for(lambda: _revalued(f"price:{posted.json()['id']}"))
    call = MarginCall.objects.get(counterparty=acme)
    assert (call.status, call.amount_usd) == ("open", Decimal("12000"))

    rita.reload()
    expect(_row(rita, "ACME").locator(".badge")).to_have_text("Call")
    shot(rita, "collateral-journey-2-on-call")
    open_from_menu(rita, "Margin calls")
    row = _row(rita, "ACME")
    expect(row.locator(".badge")).to_have_text("Open")
    expect(row).to_contain_text("$12,000.00")
    _fits(rita)
    shot(rita, "collateral-journey-3-margin-call-queue")

    # Ops books ACME's top-up from the pledge form.
    ops, ops_problems = at_1280("bob")
    open_from_menu(ops, "Pledges")
    ops.get_by_role("link", name="Book a pledge").click()
    ops.select_option("#id_counterparty", "ACME")
    ops.select_option("#id_asset", "SOL")
    ops.select_option("#id_account", "ACME-COLL")
    ops.fill("#id_quantity", "20")
    ops.fill("#id_reference", f"MARGIN-CALL-{call.pk}")
    ops.get_by_role("button", name="Book pledge").click()
    expect(ops.locator(".alert-success")).to_contain_text("booked: 20 SOL from ACME into ACME-COLL")
    shot(ops, "collateral-journey-4-pledge-booked")
    _fits(ops)
    assert Pledge.objects.filter(counterparty=acme).count() == 2

    # A pledge waits for the next scheduled revaluation (every five minutes); beat would send this task,
    # the test sends it now, through the broker to the worker.
    sent = revalue_collateral.apply_async()
    assert _wait_for(lambda: JobRun.objects.filter(task_id=sent.id, outcome="succeeded").exists())
    call.refresh_from_db()
    assert (call.status, call.amount_usd) == ("met", Decimal("0"))
    assert CounterpartyRisk.objects.get(counterparty=acme).state == "ok"

    rita.reload()
    expect(_row(rita, "ACME").locator(".badge")).to_have_text("Met")
    shot(rita, "collateral-journey-5-call-met")
    open_from_menu(rita, "Coverage")
    expect(_row(rita, "ACME").locator(".badge")).to_have_text("Ok")
    expect(_row(rita, "ACME")).to_contain_text("$75,600.00")
    _fits(rita)
    shot(rita, "collateral-journey-6-covered-again")
    assert rita_problems == [] and ops_problems == []
