"""A counterparty's risk page: its coverage as the revaluation stored it, its loans and collateral
(chart and table, CSV), its coverage history against its levels, calls, limits, breaches and every
version of its risk configuration. Desk roles see every counterparty; a trader only their own."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from borrowdesk.access.services import create_desk_user
from borrowdesk.business_day import business_date
from collateral.models import BreachKind, ConfigStatus
from tests.collateral import ui_helpers as h
from tests.inventory.factories import active_loan, desk_asset, firm_account, stock

URL = "collateral:counterparty_risk"


def page(client, code="ACME", **query):
    return client.get(reverse(URL, args=[code]), query)


def text_of(response) -> str:
    return " ".join(strip_tags(response.content.decode()).split())


@pytest.fixture
def ravi(personas):
    return h.second_risk_user()


@pytest.fixture
def book(personas, acme, ravi):
    """ACME: 4 BTC on loan at $50,000 (exposure $200,000); 100 ETH pledged at $2,000 with an ACME
    haircut of 10 % (the asset-wide 20 % is less specific) and 50,000 USDC with no rule (not
    eligible); stored coverage 90 % (critical, in cure for 7 more hours under its 12-hour agreement)."""
    rita, bob = personas["rita"], personas["bob"]
    btc, eth, usdc = desk_asset("BTC", 8, "50000"), desk_asset("ETH", 18, "2000"), desk_asset("USDC", 6, "1")
    inventory = firm_account()
    stock(btc, inventory, "10", actor=personas["tess"])
    loan = active_loan(actor=bob, counterparty=acme, asset=btc, account=inventory, quantity="4")
    account = h.collateral_account(acme)
    today = business_date()
    h.pledge(acme, eth, "100", actor=bob, account=account, expires_on=today + timedelta(days=30))
    h.pledge(acme, usdc, "50000", actor=bob, account=account)
    h.haircut(eth, "20", proposed_by=rita)
    h.haircut(eth, "10", proposed_by=rita, approved_by=ravi, counterparty=acme, comment="strong name")
    h.haircut(eth, "5", proposed_by=rita, counterparty=acme, status=ConfigStatus.PENDING_APPROVAL)
    h.agreement(acme, proposed_by=rita, levels={"required_ratio": "1.6", "call_ratio": "1.35"})
    now = timezone.now()
    h.risk_row(
        acme,
        state="critical",
        exposure="200000",
        collateral="180000",
        ratio="0.9",
        shortfall="140000",  # 200,000 × 1.6 − 180,000
        critical_since=now - timedelta(hours=5) + timedelta(seconds=30),
    )
    for days_ago, ratio, state in ((2, "1.7", "ok"), (1, "1.4", "warning"), (0, "0.9", "critical")):
        h.snapshot(acme, today - timedelta(days=days_ago), ratio, exposure="200000", state=state)
    h.margin_call(acme, "140000", due_at=now - timedelta(hours=1), initial="100000")
    h.margin_call(
        acme,
        "20000",
        due_at=now - timedelta(days=9),
        status="met",
        issued_at=now - timedelta(days=10),
        closed_at=now - timedelta(days=9),
    )
    old = h.limit(acme, "400000", proposed_by=rita, effective_from=now - timedelta(days=20))
    current = h.limit(
        acme,
        "500000",
        proposed_by=rita,
        approved_by=ravi,
        caps={btc: "10"},
        min_coverage_ratio="1.2",
        effective_from=now - timedelta(days=2),
    )
    h.breach(acme, old, figure="450000", allowed="400000", status="resolved")
    h.breach(acme, current, BreachKind.COVERAGE, figure="0.9", allowed="1.2")
    return {"loan": loan, "btc": btc, "eth": eth, "usdc": usdc, "account": account}


# --- what the page shows -------------------------------------------------------------------------


def test_the_header_shows_the_stored_coverage_state_and_levels(login, rita, book):
    response = page(login(rita))
    assert response.status_code == 200
    text = text_of(response)
    for figure in ("$200,000.00", "$180,000.00", "90.0%", "$140,000.00"):
        assert figure in text, figure
    assert "Critical" in text and "critical_" not in text
    # Its agreement's levels (required 160 %, call 135 %, cure 12 h), not the desk's defaults.
    assert "160.0%" in text and "135.0%" in text and "its agreement" in text
    assert "the cure period ends" in text and "7 h left" in text


def test_the_composition_chart_has_its_table_with_the_same_figures(login, rita, book):
    response = page(login(rita))
    html = response.content.decode()
    assert 'data-chart="chart-composition-data"' in html
    assert 'id="chart-composition-data" type="application/json"' in html  # json_script: data, not code
    spec = response.context["composition_chart"].spec()
    # Sorted by market value: ETH 100 × $2,000 = $200,000, USDC 50,000 × $1 = $50,000.
    assert spec["labels"] == ["ETH", "USDC"]
    assert spec["datasets"] == [
        {"label": "Market value", "data": ["200000", "50000"]},
        # ETH after its ACME haircut of 10 %: 200,000 × 0.9; USDC has no rule: not eligible, 0.
        {"label": "After haircut", "data": ["180000", "0"]},
    ]
    rows = [row["cells"] for row in response.context["composition_chart"].rows]
    assert [c["value"] for c in rows[0]] == [
        "100",
        "$2,000.00",
        "$200,000.00",
        "10%",
        "$180,000.00",
        "80%",
        (business_date() + timedelta(days=30)).isoformat(),
    ]
    assert [c["value"] for c in rows[1]] == [
        "50,000",
        "$1.00",
        "$50,000.00",
        "not eligible",
        "$0.00",
        "20%",
        "—",
    ]
    assert "not eligible" in text_of(response)


def test_the_composition_csv_holds_the_same_figures_as_numbers(login, rita, book):
    response = page(login(rita), chart="composition", format="csv")
    assert response["Content-Type"] == "text/csv"
    lines = response.content.decode().splitlines()
    assert lines[0] == "Asset,Pledged,Mark,Market value,Haircut,After haircut,Share,Expires"
    expiry = (business_date() + timedelta(days=30)).isoformat()
    assert lines[1] == f"ETH,100,2000,200000,10,180000,80,{expiry}"
    assert lines[2] == "USDC,50000,1,50000,not eligible,0,20,"


def test_the_coverage_history_chart_draws_coverage_against_the_required_and_call_levels(login, rita, book):
    response = page(login(rita))
    chart = response.context["history_chart"]
    spec = chart.spec()
    today = business_date()
    assert spec["labels"] == [(today - timedelta(days=d)).isoformat() for d in (2, 1, 0)]
    assert spec["datasets"] == [{"label": "Coverage", "data": ["170", "140", "90"]}]  # percent
    assert spec["levels"] == [
        {"label": "Required", "value": "160", "tone": "ok"},
        {"label": "Call", "value": "135", "tone": "call"},
    ]
    text = text_of(response)
    assert "Dashed lines: Required 160.0% · Call 135.0%" in text
    # The table lists the newest date first, with the same figures.
    assert [row["cells"][0]["value"] for row in chart.rows] == ["90.0%", "140.0%", "170.0%"]
    csv = page(login(rita), chart="coverage-history", format="csv").content.decode().splitlines()
    assert csv[0] == "Business date,Coverage,Exposure,Collateral value,State"
    assert csv[1] == f"{today.isoformat()},0.9,200000,180000,critical"


def test_a_csv_of_a_chart_the_page_does_not_have_is_404(login, rita, book):
    assert page(login(rita), chart="nope", format="csv").status_code == 404


def test_loans_calls_limit_and_breaches_are_listed(login, rita, book):
    response = page(login(rita))
    html = response.content.decode()
    text = text_of(response)
    assert f'data-id="{book["loan"].pk}"' in html
    assert "$50,000.00" in text  # the BTC mark
    # Calls: the open one first, overdue, with its first amount; then the met one.
    calls = [c.status for c in response.context["calls"]]
    assert calls == ["open", "met"]
    assert "overdue" in text and "first $100,000.00" in text
    assert "$500,000.00 · 40.0% used" in text  # 200,000 / 500,000
    assert "10 BTC" in text and "120.0%" in text
    breaches = [item["breach"].status for item in response.context["breaches"]]
    assert breaches == ["open", "resolved"]
    assert "at least 120.0%" in text and "$450,000.00" in text


def test_the_configuration_history_shows_every_version_with_its_four_eyes(login, rita, book):
    response = page(login(rita))
    history = response.context["history"]
    # Only the rules narrowed to ACME; the newest proposal first.
    assert [(r.haircut_pct, r.status, r.is_in_force) for r in history.haircuts] == [
        (Decimal("5.0000"), "pending_approval", False),
        (Decimal("10.0000"), "effective", True),
    ]
    assert [(r.max_exposure_usd, r.is_in_force) for r in history.limits] == [
        (Decimal("500000.00000000"), True),
        (Decimal("400000.00000000"), False),
    ]
    assert [a.is_in_force for a in history.agreements] == [True]
    text = text_of(response)
    assert "waiting for another risk user" in text and "ravi" in text and "strong name" in text
    assert "Pending approval" in text and "pending_approval" not in text


def test_a_counterparty_not_yet_valued_says_so(login, rita, globex):
    text = text_of(page(login(rita), "GLOBEX"))
    assert "Not valued yet" in text
    assert "No collateral pledged" in text and "No history yet" in text
    assert "the desk's defaults" in text and "150.0%" in text  # COLLATERAL_LEVELS


def test_needs_review_shows_its_reason_and_a_default_flag_shows(login, rita, globex):
    h.risk_row(
        globex,
        state="needs_review",
        review_reason="BTC mark is 3 hours old",
        exposure="1000",
        collateral="1200",
        ratio="1.2",
        default_flagged_at=timezone.now(),
    )
    text = text_of(page(login(rita), "GLOBEX"))
    assert "Needs review: BTC mark is 3 hours old" in text
    assert "Flagged for default handling" in text


# --- who may see it ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["bob", "olivia", "rita", "tess", "mona", "audrey", "adam"])
def test_desk_roles_may_open_it(login, personas, who, book):
    assert page(login(personas[who])).status_code == 200


def test_compliance_may_not(login, carl, book):
    assert page(login(carl)).status_code == 403


def test_it_asks_for_a_login(client, acme):
    response = page(client)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_trader_sees_their_counterparty_without_its_risk_configuration(login, alice, book):
    response = page(login(alice))
    assert response.status_code == 200
    text = text_of(response)
    assert "$200,000.00" in text and "Collateral by asset" in text
    assert "Configuration history" not in text and "Limit in force" not in text
    assert "history" not in response.context and "breaches" not in response.context


def test_another_counterparty_is_404_to_a_trader(login, tom, book):
    assert page(login(tom)).status_code == 404
    assert page(login(tom), chart="composition", format="csv").status_code == 404  # nor its CSV


def test_an_unknown_counterparty_is_404(login, rita):
    assert page(login(rita), "NOPE").status_code == 404


def test_the_page_only_reads(login, rita, book):
    assert login(rita).post(reverse(URL, args=["ACME"])).status_code == 405


# --- a fixed number of queries -------------------------------------------------------------------


def _grow(acme, book, rita):
    """More of every kind of row the page lists."""
    bob = create_desk_user(username="bob2", password="ops-password-123", roles=["ops"])
    stock(book["btc"], firm_account(), "5", actor=bob)
    active_loan(actor=bob, counterparty=acme, asset=book["btc"], account=firm_account(), quantity="1")
    other = h.collateral_account(acme, venue_code="CUST2")
    h.pledge(acme, book["eth"], "3", actor=bob, account=other)
    h.pledge(acme, book["btc"], "1", actor=bob, account=other, expires_on=business_date())
    for day in range(3, 8):
        h.snapshot(acme, business_date() - timedelta(days=day), "1.5")
    h.margin_call(acme, "5", due_at=timezone.now(), status="cancelled")
    limit_row = h.limit(acme, "300000", proposed_by=rita)
    h.breach(
        acme, limit_row, BreachKind.ASSET_CAP, figure="5", allowed="4", asset=book["btc"], status="resolved"
    )
    h.haircut(book["btc"], "30", proposed_by=rita, counterparty=acme)
    h.agreement(acme, proposed_by=rita)


def test_the_page_runs_a_fixed_number_of_queries(login, rita, acme, book, django_assert_num_queries):
    client = login(rita)
    page(client)  # warm up: the session and the user's roles are cached alike below
    # 1 session, 2 user, 3 the user's roles (the decorator's policy check), 4 counterparty,
    # 5 marks, 6 agreement in force, 7 pledged positions, 8 haircut rules, 9 expiries, 10 history,
    # 11 stored risk, 12 open loans, 13 margin calls, 14 limit in force, 15 its asset caps,
    # 16 breaches, 17 haircut versions, 18 limit versions, 19 their caps, 20 agreement versions.
    with django_assert_num_queries(20):
        page(client)
    _grow(acme, book, rita)
    with django_assert_num_queries(20):
        page(client)


# --- default handling: the close-out order -----------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "words", "expected"),
    [
        # exposures: 4 BTC × $50,000 = $200,000; 30 ETH × $2,000 = $60,000; 1 BTC = $50,000
        ("exposure_desc", "largest exposure first", ["big", "eth", "small"]),
        # rates: 300, 900 and 500 bps
        ("rate_desc", "highest rate first", ["eth", "small", "big"]),
        ("oldest_first", "oldest first", ["big", "eth", "small"]),
    ],
)
def test_a_counterparty_flagged_for_default_lists_its_loans_in_the_configured_close_out_order(
    login, rita, personas, acme, settings, order, words, expected
):
    bob = personas["bob"]
    btc, eth = desk_asset("BTC", 8, "50000"), desk_asset("ETH", 18, "2000")
    inventory = firm_account()
    stock(btc, inventory, "10", actor=personas["tess"])
    stock(eth, inventory, "100", actor=personas["tess"])
    loans = {
        "big": active_loan(
            actor=bob, counterparty=acme, asset=btc, account=inventory, quantity="4", rate_bps="300"
        ),
        "eth": active_loan(
            actor=bob, counterparty=acme, asset=eth, account=inventory, quantity="30", rate_bps="900"
        ),
        "small": active_loan(
            actor=bob, counterparty=acme, asset=btc, account=inventory, quantity="1", rate_bps="500"
        ),
    }
    h.risk_row(
        acme,
        state="critical",
        exposure="310000",
        collateral="0",
        ratio="0",
        default_flagged_at=timezone.now(),
    )
    settings.COLLATERAL_LIQUIDATION_ORDER = order
    response = page(login(rita))
    html = response.content.decode()
    assert f"in close-out order: {words}" in text_of(response)
    positions = [html.index(f'data-id="{loans[name].pk}"') for name in expected]
    assert positions == sorted(positions)


def test_a_counterparty_not_flagged_shows_no_close_out_order(login, rita, book):
    assert 'data-testid="liquidation-order"' not in page(login(rita)).content.decode()
