"""The stress page: load a saved scenario, run it, read the results, the chart and the CSVs.

The book is test_stress.py's (its docstring has the figures). Its marks are stale now (they were taken
for a fixed instant in the past), so the page's run shows every counterparty under review, with the
same hand-computed figures.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

import pytest

from tests.collateral.test_stress import book  # noqa: F401 (the fixed book)

URL = "/collateral/stress/"


def _run_query(**params) -> str:
    return urlencode({"run": "1", **params})


def test_the_page_lists_the_saved_scenarios(login, rita, book):  # noqa: F811
    response = login(rita).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    for name in ("crypto crash", "stablecoin depeg", "lender run"):
        assert name in body
    assert 'data-testid="stress-form"' in body


def test_loading_a_scenario_fills_the_form(login, rita, book):  # noqa: F811
    response = login(rita).get(URL, {"scenario": "crypto crash"})
    form = response.context["form"]
    assert form.initial["markdowns"] == "BTC=30, ETH=40"
    assert (form.initial["other_markdown_pct"], form.initial["stablecoin_markdown_pct"]) == ("50", "2")
    assert "BTC=30, ETH=40" in response.content.decode()


def test_running_shows_the_results_by_shortfall_with_states_and_the_chart(login, rita, book):  # noqa: F811
    response = login(rita).post(
        URL,
        {
            "scenario": "crypto crash",
            "markdowns": "BTC=30, ETH=40",
            "other_markdown_pct": "50",
            "stablecoin_markdown_pct": "2",
            "haircut_addon_pct": "0",
            "recall_fraction": "0",
        },
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert result.parameters.label == "crypto crash v1"  # the same parameters: not an edit
    assert [r.counterparty for r in result.rows] == ["INITECH", "ACME", "GLOBEX"]
    body = response.content.decode()
    assert "$7,000.00" in body  # the firm's shortfall after: INITECH's 27,000 - 20,000
    assert "133.3%" in body and "111.1%" in body  # INITECH's coverage before and after
    assert 'data-testid="chart-stress-coverage"' in body
    assert 'id="chart-stress-coverage-data"' in body  # the chart's figures, as data (json_script)
    assert "<script>" not in body  # the Content-Security-Policy: no inline script


def test_a_bad_parameter_comes_back_on_its_field(login, rita, book):  # noqa: F811
    response = login(rita).post(URL, {"markdowns": "BTC=30, NOPE=10", "recall_fraction": "0"})
    assert response.status_code == 200  # the form re-rendered with what was typed
    assert response.context["result"] is None
    assert "Unknown asset 'NOPE'." in response.context["form"].errors["markdowns"]
    response = login(rita).post(URL, {"markdowns": "BTC 30"})
    assert "write SYMBOL=percent" in response.context["form"].errors["markdowns"][0]
    response = login(rita).post(URL, {"recall_fraction": "1.5"})
    assert "recall_fraction" in response.context["form"].errors


def test_the_lender_run_shows_the_recall_section(login, rita, book):  # noqa: F811
    response = login(rita).get(f"{URL}?{_run_query(scenario='lender run', recall_fraction='0.5')}")
    body = response.content.decode()
    assert 'data-testid="recall-by-asset"' in body
    assert 'data-testid="recall-loans"' in body
    assert f"#{book['loans']['initech'].pk}" in body
    assert "rate 2.00 % (lowest of 2)" in body


def test_the_csv_of_the_results_and_of_the_chart(login, rita, book):  # noqa: F811
    client = login(rita)
    query = _run_query(scenario="crypto crash", markdowns="BTC=30, ETH=40", other_markdown_pct="50")
    response = client.get(f"{URL}?{query}&format=csv&table=results")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Counterparty", "Exposure before (USD)", "Exposure after (USD)"]
    initech = next(r for r in rows if r[0] == "INITECH")
    assert initech[5:7] == ["1.333333", "1.111111"]  # numbers stay numbers
    assert initech[9:11] == ["5000", "7000"]
    chart = client.get(f"{URL}?{query}&chart=stress-coverage&format=csv")
    chart_rows = list(csv.reader(io.StringIO(chart.content.decode())))
    assert chart_rows[0] == [
        "Counterparty",
        "Coverage before",
        "Coverage after",
        "State after",
        "Shortfall after",
    ]
    assert chart_rows[1][:3] == ["INITECH", "1.333333", "1.111111"]  # the lowest coverage after first
    assert client.get(f"{URL}?{query}&format=csv&table=nope").status_code == 404


def test_the_chart_csv_link_keeps_the_runs_parameters(login, rita, book):  # noqa: F811
    response = login(rita).get(f"{URL}?{_run_query(scenario='stablecoin depeg', markdowns='USDT=10')}")
    chart = response.context["chart"]
    assert chart.csv_query.startswith("run=1&scenario=stablecoin+depeg&markdowns=USDT%3D10")
    assert chart.csv_query.endswith("&chart=stress-coverage&format=csv")


@pytest.mark.parametrize(
    ("name", "get", "run"), [("audrey", 200, 403), ("adam", 200, 403), ("mona", 200, 200)]
)
def test_who_may_look_and_who_may_run(login, personas, book, name, get, run):  # noqa: F811
    client = login(personas[name])
    assert client.get(URL).status_code == get
    assert client.get(f"{URL}?{_run_query(scenario='lender run')}").status_code == run
    assert client.post(URL, {"scenario": "lender run"}).status_code == run


def test_a_trader_and_operations_do_not_see_it(login, alice, bob, book):  # noqa: F811
    assert login(alice).get(URL).status_code == 403
    assert login(bob).get(URL).status_code == 403


def test_a_run_takes_a_fixed_number_of_queries(login, rita, book, django_assert_num_queries):  # noqa: F811
    client = login(rita)
    client.get(URL)  # the session is warm
    query = f"{URL}?{_run_query(scenario='lender run', recall_fraction='0.5')}"
    # 1. the session; 2. the user; 3. the user's roles; 4. the active scenarios (the one run among them);
    # 5. every asset; 6. the coverage SQL; 7. lenders' inventory; 8. availability; 9. recalls in flight;
    # 10. the assets' active loans
    with django_assert_num_queries(10):
        client.get(query)
    from tests.collateral import stress_helpers as s
    from tests.collateral import valuation_helpers as h
    from tests.refdata.factories import CounterpartyFactory

    for i in range(5):
        cp = CounterpartyFactory(code=f"MORE{i}")
        h.pledge(h.collateral_account(cp), book["sol"], 5)
        s.loan(cp, book["eth"], "0.5", rate_bps=150 + i)
    with django_assert_num_queries(10):
        client.get(query)
