"""The home page for the risk desk: what needs a risk user now (margin calls due, counterparties in
cure or flagged for default, open breaches, needs review, loosenings waiting for them, expiring
collateral), and the desk's coverage in a few figures for the desk roles that watch it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from borrowdesk.business_day import business_date
from collateral.models import BreachKind, ConfigStatus
from tests.collateral import ui_helpers as h
from tests.inventory.factories import desk_asset
from tests.refdata.factories import CounterpartyFactory


def home(client):
    return client.get(reverse("home"))


def text_of(response) -> str:
    return " ".join(strip_tags(response.content.decode()).split())


def panel(response, key: str) -> dict:
    return next(p for p in response.context["risk_work"] if p["key"] == key)


@pytest.fixture
def ravi(personas):
    return h.second_risk_user()


@pytest.fixture
def desk(personas, acme, globex, ravi):
    """Work for risk: ACME on an overdue call and in cure, GLOBEX on a call due later and in needs
    review, INITECH flagged for default, an open breach, two loosenings (one rita's own), two pledges
    expiring (one within the warning window, one beyond it)."""
    rita, bob = personas["rita"], personas["bob"]
    initech = CounterpartyFactory(code="INITECH")
    btc = desk_asset("BTC", 8, "50000")
    now = timezone.now()
    h.risk_row(
        acme,
        state="critical",
        exposure="200000",
        collateral="180000",
        ratio="0.9",
        shortfall="120000",
        critical_since=now - timedelta(hours=20) + timedelta(seconds=30),  # default cure: 24 h → 4 h left
    )
    h.risk_row(
        globex,
        state="needs_review",
        exposure="1000",
        collateral="1300",
        ratio="1.3",
        review_reason="BTC sources disagree by 3%",
    )
    h.risk_row(
        initech,
        state="critical",
        exposure="5000",
        collateral="2000",
        ratio="0.4",
        shortfall="5500",
        critical_since=now - timedelta(days=3),
        default_flagged_at=now - timedelta(days=2),
    )
    h.margin_call(globex, "300", due_at=now + timedelta(hours=5))
    h.margin_call(acme, "120000", due_at=now - timedelta(hours=2), status="escalated")
    limit = h.limit(acme, "150000", proposed_by=rita)
    h.breach(acme, limit, BreachKind.EXPOSURE, figure="200000", allowed="150000")
    h.haircut(btc, "5", proposed_by=ravi, status=ConfigStatus.PENDING_APPROVAL)  # rita may approve
    h.limit(globex, "9000000", proposed_by=rita, status=ConfigStatus.PENDING_APPROVAL)  # her own: not hers
    account = h.collateral_account(acme)
    today = business_date()
    h.pledge(acme, btc, "2", actor=bob, account=account, expires_on=today + timedelta(days=3))
    h.pledge(acme, btc, "1", actor=bob, account=account, expires_on=today + timedelta(days=60))
    return {"initech": initech, "btc": btc}


def test_risk_sees_the_margin_calls_due_soonest_first_the_overdue_one_highlighted(login, rita, desk):
    response = home(login(rita))
    calls = panel(response, "calls")
    assert calls["count"] == 2
    assert [row["cells"][0]["value"] for row in calls["rows"]] == ["ACME", "GLOBEX"]
    assert [row["overdue"] for row in calls["rows"]] == [True, False]
    assert calls["rows"][0]["cells"][1]["value"] == "$120,000.00"
    assert calls["rows"][0]["cells"][2]["value"].startswith("overdue by 2 h")
    assert calls["rows"][1]["cells"][2]["value"].startswith("in 4 h")  # 4 h 59 min
    html = response.content.decode()
    assert html.count("data-overdue") >= 1
    assert reverse("collateral:counterparty_risk", args=["ACME"]) in html


def test_risk_sees_counterparties_in_cure_with_the_time_left_and_those_flagged_for_default(login, rita, desk):
    response = home(login(rita))
    cure = panel(response, "cure")
    assert cure["count"] == 1
    assert [c["value"] for c in cure["rows"][0]["cells"]] == ["ACME", "90.0%", "$120,000.00", "4 h left"]
    flagged = panel(response, "default")
    assert flagged["count"] == 1 and flagged["rows"][0]["cells"][0]["value"] == "INITECH"


def test_risk_sees_open_breaches_and_counterparties_needing_review_with_the_reason(login, rita, desk):
    response = home(login(rita))
    breaches = panel(response, "breaches")
    assert breaches["count"] == 1
    assert [c["value"] for c in breaches["rows"][0]["cells"]] == [
        "ACME",
        "Exposure",
        "$200,000.00",
        "$150,000.00",
    ]
    review = panel(response, "review")
    assert review["count"] == 1 and review["rows"][0]["cells"][1]["value"] == "BTC sources disagree by 3%"


def test_the_open_breaches_tile_links_to_the_breaches_page_not_the_limits_page(login, rita, desk):
    breaches = panel(home(login(rita)), "breaches")
    assert (breaches["link"]["label"], breaches["link"]["url"]) == (
        "Limit breaches",
        "/collateral/limits/breaches/",
    )


def test_risk_sees_the_loosenings_another_risk_user_proposed_not_their_own(login, rita, ravi, desk):
    pending = panel(home(login(rita)), "pending")
    assert pending["count"] == 1
    assert [c["value"] for c in pending["rows"][0]["cells"][:2]] == ["BTC haircut 5%", "ravi"]
    # ravi sees rita's limit, not his own haircut.
    theirs = panel(home(login(ravi)), "pending")
    assert theirs["count"] == 1 and theirs["rows"][0]["cells"][0]["value"] == "GLOBEX limit $9,000,000.00"


def test_risk_sees_collateral_expiring_within_the_warning_window(login, rita, desk, settings):
    expiring = panel(home(login(rita)), "expiring")
    assert expiring["count"] == 1  # the pledge expiring in 60 days is beyond the 14-day window
    day = (business_date() + timedelta(days=3)).isoformat()
    assert [c["value"] for c in expiring["rows"][0]["cells"]] == ["ACME", "2 BTC", f"{day} (in 3 d)"]
    settings.COLLATERAL_EXPIRY_WARNING_DAYS = 90
    assert panel(home(login(rita)), "expiring")["count"] == 2


def test_a_panel_shows_its_first_rows_and_says_how_many_more(login, rita, desk):
    for n in range(6):
        other = CounterpartyFactory(code=f"CP{n}")
        h.margin_call(other, "10", due_at=timezone.now() + timedelta(days=1, hours=n))
    calls = panel(home(login(rita)), "calls")
    assert calls["count"] == 8 and len(calls["rows"]) == 5 and calls["more"] == 3
    assert "and 3 more" in text_of(home(login(rita)))


def test_empty_panels_say_so(login, rita):
    text = text_of(home(login(rita)))
    assert "No margin call is open." in text and "No limit or covenant is broken." in text
    assert "No counterparty valued yet" in text


def test_links_go_only_to_pages_that_exist(login, rita, desk):
    # The queue pages are built elsewhere; until their URL names resolve, a panel has no page link.
    from django.urls import NoReverseMatch

    response = home(login(rita))
    for item in response.context["risk_work"]:
        if item["link"] is not None:
            assert item["link"]["url"].startswith("/")
    try:
        reverse("collateral:margin_calls")
    except NoReverseMatch:
        assert panel(response, "calls")["link"] is None


@pytest.mark.parametrize("who", ["bob", "olivia", "tess", "mona", "audrey", "adam"])
def test_desk_roles_that_see_collateral_get_the_coverage_summary_but_not_the_risk_work(
    login, personas, who, desk
):
    response = home(login(personas[who]))
    assert response.context["risk_work"] is None
    summary = response.context["coverage"]["summary"]
    # 200,000 + 1,000 + 5,000 of exposure; 120,000 + 0 + 5,500 short; two open calls: 120,000 + 300.
    assert (summary.counterparties, summary.by_state) == (3, {"critical": 2, "needs_review": 1})
    assert summary.open_calls == 2
    text = text_of(response)
    for figure in ("$206,000.00", "$183,300.00", "$125,500.00", "2 · $120,300.00"):
        assert figure in text, figure
    assert "needs review" in text and "needs_review" not in text


def test_risk_gets_both(login, rita, desk):
    response = home(login(rita))
    assert response.context["risk_work"] and response.context["coverage"]


@pytest.mark.parametrize("who", ["alice", "carl", "pete"])
def test_traders_compliance_and_the_feed_get_neither(login, personas, who, desk):
    response = home(login(personas[who]))
    assert response.context["risk_work"] is None and response.context["coverage"] is None
    assert "Needs risk now" not in text_of(response)


def test_the_risk_home_page_runs_a_fixed_number_of_queries(
    login, rita, ravi, desk, django_assert_num_queries
):
    client = login(rita)
    home(client)
    # 1 session, 2 user, 3 the user's roles, 4 counterparty count, 5 asset count; the risk work:
    # 6 calls, 7 in cure, 8 flagged, 9 breaches, 10 needs review, 11–13 pending haircuts / limits /
    # agreements, 14 expiring pledges; the coverage summary: 15 states and totals, 16 open calls.
    with django_assert_num_queries(16):
        home(client)
    for n in range(4):
        other = CounterpartyFactory(code=f"MORE{n}")
        h.risk_row(other, state="critical", critical_since=timezone.now())
        h.margin_call(other, "10", due_at=timezone.now())
        h.breach(other, h.limit(other, "1", proposed_by=ravi), figure="2", allowed="1")
        h.agreement(other, proposed_by=ravi, status=ConfigStatus.PENDING_APPROVAL)
    with django_assert_num_queries(16):
        home(client)


def test_the_cure_period_is_the_counterpartys_agreement_when_it_has_one(login, rita, ravi, globex):
    # GLOBEX's agreement gives 12 hours (the default is 24): below critical 5 hours ago → 7 hours left.
    h.agreement(globex, proposed_by=ravi, cure_period_hours=12)
    h.risk_row(
        globex, state="critical", ratio="1", critical_since=timezone.now() - timedelta(hours=5, seconds=-30)
    )
    cure = panel(home(login(rita)), "cure")
    assert cure["rows"][0]["cells"][-1]["value"] == "7 h left"
