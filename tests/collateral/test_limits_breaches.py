"""The limit breaches list: ``GET /api/v1/limits/breaches/`` and the "Limit breaches" page.

Rita (risk) sees every counterparty's breaches; alice (trader for ACME) only ACME's; carl (compliance)
none. Filters by status, kind and counterparty code; the page shows figures in their unit, the CSV the
plain numbers.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from borrowdesk.operations.models import JobRun
from collateral.models import LimitBreach
from tests.collateral import valuation_helpers as h
from tests.collateral.limit_helpers import breach, limit

URL = "/api/v1/limits/breaches/"
FIELDS = {
    "id",
    "counterparty",
    "kind",
    "asset",
    "loan",
    "figure",
    "limit_value",
    "status",
    "opened_at",
    "last_seen_at",
    "resolved_at",
}


@pytest.fixture
def breaches(personas, acme, globex):
    """ACME: an open exposure breach, an open tenor breach of an open-ended loan, a resolved asset cap
    breach; GLOBEX: an open coverage breach."""
    btc = h.asset("BTC")
    now = timezone.now()
    acme_limit = limit(acme, 80000, max_tenor_days=30, caps={btc: "1.5"})
    loan = h.lend(acme, btc, 2)  # open-ended
    return {
        "exposure": breach(acme_limit, "exposure", "100000", "80000", opened_at=now - timedelta(hours=1)),
        "tenor": breach(acme_limit, "tenor", 12, 30, loan=loan, opened_at=now - timedelta(hours=2)),
        "cap": breach(acme_limit, "asset_cap", 2, "1.5", asset=btc, status="resolved", opened_at=now),
        "coverage": breach(limit(globex, 10**6, min_coverage_ratio="1.5"), "coverage", "1.35", "1.5"),
        "loan": loan,
        "btc": btc,
    }


# --- the API -------------------------------------------------------------------------------------


def test_risk_lists_every_breach_with_its_fields(api, rita, breaches):
    body = api.as_user(rita).get(URL).json()
    assert body["count"] == 4
    rows = {row["id"]: row for row in body["results"]}
    assert all(set(row) == FIELDS for row in rows.values())
    tenor = rows[breaches["tenor"].pk]
    assert {k: tenor[k] for k in FIELDS - {"id", "opened_at", "last_seen_at"}} == {
        "counterparty": "ACME",
        "kind": "tenor",
        "asset": None,
        "loan": breaches["loan"].pk,
        "figure": "12.000000000000000000",
        "limit_value": "30.000000000000000000",
        "status": "open",
        "resolved_at": None,
    }
    cap = rows[breaches["cap"].pk]
    assert (cap["asset"], cap["loan"], cap["status"], cap["figure"]) == (
        "BTC",
        None,
        "resolved",
        "2.000000000000000000",
    )
    assert cap["resolved_at"] is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", {"exposure", "tenor", "coverage"}),
        ("status=resolved", {"cap"}),
        ("kind=coverage", {"coverage"}),
        ("counterparty=ACME", {"exposure", "tenor", "cap"}),
        ("counterparty=ACME&status=open&kind=exposure", {"exposure"}),
        ("counterparty=NOPE", set()),  # an unknown code matches nothing
    ],
)
def test_the_list_filters(api, rita, breaches, query, expected):
    ids = {row["id"] for row in api.as_user(rita).get(f"{URL}?{query}").json()["results"]}
    assert ids == {breaches[name].pk for name in expected}


@pytest.mark.parametrize("query", ["status=broken", "kind=everything", "status=%00", "counterparty=A%00B"])
def test_a_bad_filter_is_a_400(api, rita, breaches, query):
    response = api.as_user(rita).get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response.json()["code"]


def test_a_trader_sees_only_the_counterparties_they_act_for(api, alice, tom, breaches):
    mine = {row["counterparty"] for row in api.as_user(alice).get(URL).json()["results"]}
    assert mine == {"ACME"}
    assert api.as_user(alice).get(f"{URL}?counterparty=GLOBEX").json()["count"] == 0
    assert {row["counterparty"] for row in api.as_user(tom).get(URL).json()["results"]} == {"GLOBEX"}


def test_compliance_and_anonymous_are_refused(api, carl, breaches):
    assert api.as_user(carl).get(URL).status_code == 403
    api.credentials()
    assert api.get(URL).status_code == 401


def test_the_api_runs_a_fixed_number_of_queries(api, rita, breaches, acme, django_assert_num_queries):
    client = api.as_user(rita)
    client.get(URL)
    # token and user, user's roles, count, page of breaches (counterparty, asset and loan joined)
    with django_assert_num_queries(4):
        client.get(URL)
    lim = limit(acme, 1)
    for i in range(5):
        breach(lim, "asset_cap", i + 2, 1, asset=h.asset(f"T{i}"))
    with django_assert_num_queries(4):
        assert client.get(URL).json()["count"] == 9


# --- the page ------------------------------------------------------------------------------------


def _text(response):
    return response.content.decode()


def test_the_page_lists_open_breaches_first_with_figures_in_their_unit(login, rita, breaches):
    response = login(rita).get(reverse("collateral:breaches"))
    assert response.status_code == 200
    text = _text(response)
    order = [
        text.index(f'data-id="{breaches[name].pk}"') for name in ("coverage", "exposure", "tenor", "cap")
    ]
    assert order == sorted(order)  # open ones (newest first), then resolved
    shown = re.sub(r"<[^>]+>", "", text)  # a figure's whole and fraction are two spans
    assert "$100,000.00" in shown and "$80,000.00" in shown  # exposure in USD
    assert "open-ended (12 days so far)" in shown and "30 days" in shown  # tenor of an open-ended loan
    assert "135.0%" in shown and "150.0%" in shown  # the coverage covenant (1.35 against 1.5)
    assert "2 BTC" in shown and "1.5 BTC" in shown  # the asset cap
    assert "Asset Cap" in shown and "asset_cap" not in shown  # labels, not codes (the filter's values aside)
    assert "The limit check has not run yet." in text


def test_the_page_filters_in_the_url_and_exports_csv_with_plain_numbers(login, rita, breaches):
    client = login(rita)
    text = _text(client.get(reverse("collateral:breaches"), {"status": "open", "counterparty": "ACME"}))
    assert f'data-id="{breaches["exposure"].pk}"' in text and f'data-id="{breaches["cap"].pk}"' not in text
    response = client.get(reverse("collateral:breaches"), {"kind": "exposure", "format": "csv"})
    lines = response.content.decode().splitlines()
    assert lines[0] == "#,Counterparty,Kind,Asset,Loan,Found,Limit,Status,Opened,Last seen,Resolved"
    row = lines[1].split(",")
    assert row[1:8] == ["ACME", "exposure", "", "", "100000", "80000", "open"]
    assert len(lines) == 2


def test_a_bad_filter_on_the_page_is_a_400_with_its_error(login, rita, breaches):
    response = login(rita).get(reverse("collateral:breaches"), {"kind": "everything"})
    assert response.status_code == 400
    assert 'data-field="kind"' in _text(response)


def test_the_page_shows_when_the_check_last_ran(login, rita, breaches):
    finished = timezone.now()
    JobRun.objects.create(
        job="collateral.check_limits",
        business_date=finished.date(),
        outcome="succeeded",
        finished_at=finished,
    )
    assert "Last checked " in _text(login(rita).get(reverse("collateral:breaches")))


def test_a_trader_sees_only_their_counterparties_on_the_page(login, alice, breaches):
    text = _text(login(alice).get(reverse("collateral:breaches")))
    assert f'data-id="{breaches["exposure"].pk}"' in text
    assert f'data-id="{breaches["coverage"].pk}"' not in text


def test_compliance_cannot_open_the_page_nor_find_it(login, carl, breaches):
    from borrowdesk.access.navigation import navigation_for

    assert login(carl).get(reverse("collateral:breaches")).status_code == 403
    assert "Limit breaches" not in [link["label"] for link in navigation_for(carl)]


def test_the_page_runs_a_fixed_number_of_queries(login, rita, breaches, acme, django_assert_num_queries):
    client = login(rita)
    client.get(reverse("collateral:breaches"))
    # session, user, user's roles, the last check's time, count, page of breaches (joined)
    with django_assert_num_queries(6):
        client.get(reverse("collateral:breaches"))
    lim = limit(acme, 1)
    for i in range(5):
        breach(lim, "asset_cap", i + 2, 1, asset=h.asset(f"T{i}"))
    with django_assert_num_queries(6):
        text = _text(client.get(reverse("collateral:breaches")))
    assert text.count("<tr data-id=") == LimitBreach.objects.count() == 9


def test_a_figure_reads_in_its_unit(breaches):
    from collateral.views.limits import figure_text

    exposure = breaches["exposure"]
    assert figure_text(exposure, Decimal("1234567.891"), found=True) == "$1,234,567.89"
    assert figure_text(breaches["tenor"], Decimal(30), found=False) == "30 days"
