"""POST /api/v1/collateral/stress/: API.md's fields, hostile input, who may run it, fixed queries.

The book is test_stress.py's (its docstring has the figures); here what the API says of it.
"""

from __future__ import annotations

import json

import pytest

from collateral.models import StressScenario
from tests.collateral import stress_helpers as s
from tests.collateral.test_stress import book  # noqa: F401 (the fixed book)
from tests.inventory.factories import ledger_state

URL = "/api/v1/collateral/stress/"


def _post(api, user, body):
    return api.as_user(user).post(URL, body, format="json")


def test_a_saved_scenario_by_name_answers_api_md_fields(api, rita, book):  # noqa: F811
    response = _post(api, rita, {"scenario": "crypto crash"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) >= {"results", "firm_shortfall_usd", "recall", "scenario", "notes"}
    first = data["results"][0]
    assert set(first) >= {
        "counterparty",
        "exposure_usd",
        "collateral_value_usd",
        "coverage_before",
        "coverage_after",
        "shortfall_usd",
    }
    # Marks now are the fixture's (5 minutes before its AT, which is in the past): stale now, so every
    # counterparty is under review while its figures are still the hand-computed ones.
    assert first["counterparty"] == "INITECH"
    assert (first["coverage_before"], first["coverage_after"]) == ("1.333333", "1.111111")
    assert (first["exposure_usd"], first["collateral_value_usd"], first["shortfall_usd"]) == (
        "18000",
        "20000",
        "7000",
    )
    assert data["firm_shortfall_usd"] == "7000"
    assert data["scenario"] == {
        "name": "crypto crash",
        "version": 1,
        "edited": False,
        "markdowns": {"BTC": "30", "ETH": "40"},
        "other_markdown_pct": "50",
        "stablecoin_markdown_pct": "2",
        "haircut_addon_pct": "0",
        "recall_fraction": "0",
    }
    assert data["recall"] == {"fraction": "0", "by_asset": [], "loans": []}


def test_the_lender_run_lists_the_gap_and_the_loans(api, rita, book):  # noqa: F811
    data = _post(api, rita, {"scenario": "lender run"}).json()
    by_asset = {a["asset"]: a for a in data["recall"]["by_asset"]}
    assert by_asset["ETH"] == {
        "asset": "ETH",
        "lenders_inventory": "40",
        "demand": "20",
        "available": "10",
        "in_flight": "0",
        "gap": "10",
        "recalled": "10",
        "gap_left": "0",
    }
    (loan,) = data["recall"]["loans"]
    assert (loan["loan"], loan["counterparty"], loan["quantity"]) == (
        book["loans"]["initech"].pk,
        "INITECH",
        "10",
    )
    assert loan["reasons"][0] == "rate 2.00 % (lowest of 2)"
    assert loan["parts"]["rate"] == "40"


def test_parameters_by_hand(api, rita, book):  # noqa: F811
    data = _post(api, rita, {"markdowns": {"BTC": 30}, "haircut_addon_pct": "0"}).json()
    acme = next(r for r in data["results"] if r["counterparty"] == "ACME")
    assert acme["collateral_value_usd"] == "63000"  # 2 x 35,000 x 0.90
    assert data["scenario"]["name"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"markdowns": {"BTC": "101"}}, "markdowns"),
        ({"markdowns": {"BTC": "-5"}}, "markdowns"),
        ({"markdowns": {"BTC": "1.00001"}}, "markdowns"),
        ({"markdowns": {"BTC": 1e300}}, "markdowns"),
        ({"markdowns": {"DOGE": "10"}}, "markdowns"),
        ({"markdowns": {"BTC\u0000": "10"}}, "non_field_errors"),  # the request hygiene's, first
        ({"markdowns": "BTC=30"}, "markdowns"),
        ({"markdowns": {"BTC": [30]}}, "markdowns"),
        ({"other_markdown_pct": "1000"}, "other_markdown_pct"),
        ({"stablecoin_markdown_pct": "2.123456"}, "stablecoin_markdown_pct"),
        ({"haircut_addon_pct": "-1"}, "haircut_addon_pct"),
        ({"recall_fraction": "2"}, "recall_fraction"),
        ({"recall_fraction": "Infinity"}, "recall_fraction"),
        ({"scenario": "x" * 200}, "scenario"),
        ({"scenario": "nobody's scenario"}, "scenario"),
        ({"scenario": "crypto crash", "scenario_version": 99}, "scenario"),
    ],
)
def test_hostile_input_is_a_400_naming_the_field_and_writes_nothing(api, rita, book, body, field):  # noqa: F811
    before = (ledger_state(), StressScenario.objects.count())
    response = _post(api, rita, body)
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] in ("invalid", "parse_error")
    assert field in data.get("fields", {}) or data["code"] == "parse_error"
    assert (ledger_state(), StressScenario.objects.count()) == before


def test_a_body_that_is_not_an_object_is_a_400(api, rita, book):  # noqa: F811
    response = api.as_user(rita).post(URL, json.dumps([1, 2]), content_type="application/json")
    assert response.status_code == 400
    response = api.as_user(rita).post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(("name", "status"), [("alice", 403), ("bob", 403), ("audrey", 403), ("mona", 200)])
def test_only_risk_and_managers_run_it(api, personas, book, name, status):  # noqa: F811
    assert _post(api, personas[name], {}).status_code == status


def test_anonymous_is_a_401(api, book):  # noqa: F811
    assert api.post(URL, {}, format="json").status_code == 401


def test_queries_do_not_grow_with_counterparties(api, rita, book, django_assert_num_queries):  # noqa: F811
    from tests.collateral import valuation_helpers as h
    from tests.refdata.factories import CounterpartyFactory

    user = api.as_user(rita)
    # 1-2. the token and the user's roles; 3. the active scenario by name; 4. every asset (by symbol);
    # 5. the coverage SQL (every counterparty, before and after; pghistory's context set in front of it);
    # 6. lenders' inventory per asset; 7. availability; 8. recalls in flight; 9. the assets' active loans
    with django_assert_num_queries(9):
        first = user.post(URL, {"scenario": "lender run"}, format="json")
    for i in range(6):
        cp = CounterpartyFactory(code=f"EXTRA{i}")
        h.pledge(h.collateral_account(cp), book["sol"], 10 + i)
        s.loan(cp, book["btc"], "0.01", rate_bps=100 + i)
    with django_assert_num_queries(9):
        second = user.post(URL, {"scenario": "lender run"}, format="json")
    assert len(second.json()["results"]) == len(first.json()["results"]) + 6
