"""The risk desk's screens in Chromium at 1280 × 800: a counterparty's risk page draws its two charts
(the vendored Chart.js, fetched by static/js/charts.js, under the Content-Security-Policy with no
violation) above tables of the same figures, and the risk home page lists what needs risk now; no
horizontal scroll. Screenshots: test-artifacts/e2e/risk-*.png."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from borrowdesk.business_day import business_date
from collateral.models import BreachKind, ConfigStatus
from tests.browser import ARTIFACTS, shot
from tests.collateral import ui_helpers as h
from tests.conftest import PASSWORD
from tests.inventory.factories import active_loan, desk_asset, firm_account, stock
from tests.refdata.factories import CounterpartyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTH, HEIGHT = 1280, 800

# Records every Content-Security-Policy violation the page reports (injected before any page script).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || ""));
});
"""


@pytest.fixture
def risk_desk(personas, acme, globex):
    """ACME with loans, collateral in three assets, ten days of coverage history falling through its
    levels, an overdue call, a limit with a breach and configuration versions; GLOBEX needing review."""
    rita, bob = personas["rita"], personas["bob"]
    ravi = h.second_risk_user()
    btc, eth = desk_asset("BTC", 8, "50000"), desk_asset("ETH", 18, "2000")
    usdc, sol = desk_asset("USDC", 6, "1"), desk_asset("SOL", 9, "150")
    inventory = firm_account()
    stock(btc, inventory, "10", actor=personas["tess"])
    stock(eth, inventory, "500", actor=personas["tess"])
    active_loan(actor=bob, counterparty=acme, asset=btc, account=inventory, quantity="4")
    active_loan(actor=bob, counterparty=acme, asset=eth, account=inventory, quantity="120", term_days=30)
    account = h.collateral_account(acme)
    today = business_date()
    h.pledge(acme, eth, "100", actor=bob, account=account, expires_on=today + timedelta(days=5))
    h.pledge(acme, usdc, "150000", actor=bob, account=account)
    h.pledge(acme, sol, "400", actor=bob, account=account)
    h.haircut(eth, "15", proposed_by=rita)
    h.haircut(usdc, "2", proposed_by=rita)
    h.haircut(eth, "10", proposed_by=rita, approved_by=ravi, counterparty=acme, comment="long relationship")
    h.haircut(eth, "5", proposed_by=ravi, counterparty=acme, status=ConfigStatus.PENDING_APPROVAL)
    h.agreement(acme, proposed_by=rita)
    now = timezone.now()
    # Exposure 4 × 50,000 + 120 × 2,000 = 440,000; collateral 180,000 + 147,000 + 0 (SOL not eligible).
    h.risk_row(
        acme,
        state="critical",
        exposure="440000",
        collateral="327000",
        ratio="0.743182",
        shortfall="377000",  # 440,000 × 160 % − 327,000
        critical_since=now - timedelta(hours=3),
        state_since=now - timedelta(hours=3),
    )
    h.risk_row(globex, state="needs_review", review_reason="ETH mark is 95 minutes old (limit 60)")
    ratios = ["1.92", "1.88", "1.81", "1.7", "1.62", "1.55", "1.44", "1.31", "1.02", "0.743182"]
    states = ["ok"] * 6 + ["warning", "call", "critical", "critical"]
    for i, (ratio, state) in enumerate(zip(ratios, states, strict=True)):
        h.snapshot(acme, today - timedelta(days=9 - i), ratio, exposure="440000", state=state)
    h.margin_call(
        acme,
        "377000",
        due_at=now - timedelta(hours=1),
        initial="120000",
        status="escalated",
        exposure="440000",
        collateral="327000",
        ratio="0.743182",
        required="1.6",
    )
    limit = h.limit(acme, "600000", proposed_by=rita, caps={btc: "8"}, min_coverage_ratio="1.2")
    h.breach(acme, limit, BreachKind.COVERAGE, figure="0.743182", allowed="1.2")
    # A loosening awaiting rita, proposed with a comment far longer than a column (one "word" of 120).
    h.haircut(
        usdc,
        "1",
        proposed_by=ravi,
        status=ConfigStatus.PENDING_APPROVAL,
        comment="Treasury asked for this after the quarterly review of stablecoin reserves; " * 5 + "x" * 120,
    )
    return {"rita": rita}


@pytest.fixture
def at_1280(browser, live_server):
    pages = []

    def _open(username, path):
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.add_init_script(WATCH_CSP)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        pages.append(page)
        return page, problems

    yield _open
    for page in pages:
        page.close()


def _no_horizontal_scroll(page):
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths[0]} px wide in {widths[1]} px"


def _drawn(page, key: str) -> dict:
    """What the chart's canvas holds: a Chart.js chart, its size, and how many pixels are painted."""
    canvas = page.locator(f"[data-testid=chart-{key}] canvas")
    expect(canvas).to_have_attribute("data-drawn", "true")
    return canvas.evaluate(
        """c => {
          const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
          const chart = window.Chart.getChart(c);
          return {chart: !!chart, datasets: chart ? chart.data.datasets.length : 0,
                  width: c.getBoundingClientRect().width, painted};
        }"""
    )


def test_the_counterparty_risk_page_draws_its_charts_and_fits(at_1280, risk_desk):
    page, problems = at_1280("rita", "/collateral/counterparties/ACME/")
    expect(page.locator("[data-testid=risk-state]")).to_have_text("Critical")
    composition = _drawn(page, "composition")
    history = _drawn(page, "coverage-history")
    assert composition["chart"] and composition["datasets"] == 2  # market value, after haircut
    assert history["chart"] and history["datasets"] == 3  # coverage, required and call lines
    for drawn in (composition, history):
        assert drawn["painted"] > 2000, drawn  # bars, lines and axes, not an empty canvas
        assert 400 < drawn["width"] <= WIDTH * 0.6, drawn  # side by side at 1280 px
    # Each chart has its table of the same figures and a CSV link right below.
    expect(page.locator("[data-testid=chart-composition-table]")).to_contain_text("$180,000.00")
    expect(page.locator("[data-testid=chart-composition-table]")).to_contain_text("not eligible")
    expect(page.locator("[data-testid=chart-coverage-history-table] tbody tr").first).to_contain_text("74.3%")
    assert page.locator("[data-testid=chart-csv]").count() == 2
    text = page.locator("main").inner_text()
    assert "_" not in text.replace("chart_", ""), "a stored code shown as snake_case"
    assert "$440,000.00" in text and "$377,000.00" in text
    assert page.evaluate("window.__csp") == [] and problems == [], (page.evaluate("window.__csp"), problems)
    _no_horizontal_scroll(page)
    shot(page, "risk-counterparty")
    page.screenshot(path=str(ARTIFACTS / "risk-counterparty-top.png"))


def test_the_csv_link_under_a_chart_downloads_its_figures(at_1280, risk_desk):
    page, _ = at_1280("rita", "/collateral/counterparties/ACME/")
    with page.expect_download() as download:
        page.locator("[data-testid=chart-composition] [data-testid=chart-csv]").click()
    body = open(download.value.path()).read().splitlines()  # noqa: SIM115 — a temporary file Playwright owns
    assert body[0].startswith("Asset,Pledged,Mark,Market value")
    assert body[1].startswith("ETH,100,2000,200000,10,180000")


def test_a_trader_sees_the_charts_of_their_counterparty(at_1280, risk_desk):
    page, problems = at_1280("alice", "/collateral/counterparties/ACME/")
    assert _drawn(page, "composition")["chart"]
    expect(page.locator("text=Configuration history")).to_have_count(0)
    assert page.evaluate("window.__csp") == [] and problems == []
    _no_horizontal_scroll(page)
    shot(page, "risk-counterparty-trader")


def test_the_risk_home_page_shows_what_needs_risk_now_and_fits(at_1280, risk_desk):
    page, problems = at_1280("rita", "/")
    work = page.locator("[data-testid=risk-work]")
    expect(work).to_be_visible()
    expect(page.locator("[data-testid=count-calls]")).to_have_text("1")
    expect(page.locator("[data-panel=calls] tr[data-overdue]")).to_contain_text("ACME")
    expect(page.locator("[data-panel=cure]")).to_contain_text("left")
    expect(page.locator("[data-panel=review]")).to_contain_text("95 minutes old")
    expect(page.locator("[data-panel=pending]")).to_contain_text("ETH haircut 5% for ACME")
    expect(page.locator("[data-panel=expiring]")).to_contain_text("100 ETH")
    expect(page.locator("[data-testid=coverage-summary]")).to_contain_text("$440,000.00")
    assert "_" not in work.inner_text()
    page.locator("[data-panel=calls] a", has_text="ACME").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/collateral/counterparties/ACME/")
    page.go_back()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__csp") == [] and problems == []
    _no_horizontal_scroll(page)
    shot(page, "risk-home")


@pytest.fixture
def big_book(risk_desk):
    """A counterparty with figures in the tens of millions, on call and flagged for default: the widest
    row the coverage table and the margin call queue have to fit."""
    now = timezone.now()
    big = CounterpartyFactory(code="NORTHWIND")
    h.risk_row(
        big,
        state="critical",
        exposure="48250000",
        collateral="30125000",
        ratio="0.624352",
        shortfall="47075000",
        default_flagged_at=now - timedelta(hours=1),
        review_reason="",
    )
    h.margin_call(
        big,
        "47075000",
        due_at=now + timedelta(hours=20),
        initial="12500000",
        exposure="48250000",
        collateral="30125000",
        ratio="0.624352",
        required="1.6",
        note="Counterparty's treasury confirmed a transfer of USDC from their custodian this afternoon.",
    )
    return risk_desk


def test_the_coverage_page_shows_percentages_links_to_the_risk_page_and_fits(at_1280, big_book):
    page, problems = at_1280("rita", "/collateral/coverage/")
    row = page.locator("tbody tr", has_text="ACME")
    expect(row).to_contain_text("74.3%")  # 0.743182
    expect(row).to_contain_text("160.0%")  # required 1.6 (the desk's default)
    assert "0.743182" not in row.inner_text()
    due = row.locator("td").nth(8)  # Call due: one line (date, time and zone)
    assert due.evaluate("td => getComputedStyle(td).whiteSpace") == "nowrap"
    assert due.evaluate("td => td.getClientRects()[0].height") < 40
    shot(page, "risk-coverage")
    _no_horizontal_scroll(page)
    row.get_by_role("link", name="ACME").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/collateral/counterparties/ACME/")
    assert problems == []


def test_the_margin_call_queue_shows_percentages_links_counterparties_and_fits(at_1280, big_book):
    page, problems = at_1280("rita", "/collateral/margin-calls/")
    row = page.locator("tbody tr", has_text="ACME")
    expect(row).to_contain_text("74.3%")
    expect(row).to_contain_text("160.0%")
    shot(page, "risk-margin-calls")
    _no_horizontal_scroll(page)
    row.get_by_role("link", name="ACME").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/collateral/counterparties/ACME/")
    assert problems == []


def test_the_pending_approvals_queue_fits_1280_with_a_long_comment(at_1280, risk_desk):
    page, problems = at_1280("rita", "/collateral/config/pending/")
    comment = page.locator("[data-testid=comment]").filter(has_text="Treasury asked")
    expect(comment).to_contain_text("…")  # cut in the row, whole in its title
    assert comment.get_attribute("title").endswith("x" * 120)
    expect(page.locator("[data-testid=approve]").first).to_be_visible()
    _no_horizontal_scroll(page)
    table = page.locator("table.queue")
    assert table.evaluate("t => t.getBoundingClientRect().right") <= WIDTH
    shot(page, "risk-pending")
    assert problems == []


def test_the_open_breaches_tile_opens_the_breaches_page(at_1280, risk_desk):
    page, _ = at_1280("rita", "/")
    page.locator("[data-panel=breaches] .card-header a").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/collateral/limits/breaches/")
    expect(page.locator("main")).to_contain_text("ACME")
