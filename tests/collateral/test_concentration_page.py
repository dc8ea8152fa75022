"""The concentration and expiries page: its tables, CSVs, a trader's scope, fixed query counts.

The book is test_monitoring.py's (its docstring has the figures).
"""

from __future__ import annotations

import csv
import io

from tests.collateral import stress_helpers as s
from tests.collateral.test_monitoring import book  # noqa: F401 (the monitoring book)
from tests.refdata.factories import CounterpartyFactory

URL = "/collateral/concentration/"


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv"
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_risk_sees_the_three_tables_with_the_flags(login, rita, book):  # noqa: F811
    response = login(rita).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    for testid in ("concentration", "firm-concentration", "expiries"):
        assert f'data-testid="{testid}"' in body
    assert [(r.counterparty_code, r.asset_symbol) for r in response.context["concentrated"]][:2] == [
        ("GLOBEX", "ETH"),
        ("ACME", "BTC"),
    ]
    assert body.count('data-testid="over-limit"') == 2  # GLOBEX ETH 75 %, ACME BTC 62.5 %
    assert '<span class="badge state-warning" data-testid="firm-over-limit">68.8%</span>' in body
    assert [r.asset_symbol for r in response.context["expiring"]] == ["SOL", "BTC"]


def test_filters(login, rita, book):  # noqa: F811
    client = login(rita)
    flagged = client.get(URL, {"flagged": "on", "counterparty": "ACME"}).context["concentrated"]
    assert [(r.counterparty_code, r.asset_symbol) for r in flagged] == [("ACME", "BTC")]
    only_eth = client.get(URL, {"asset": "ETH"}).context["concentrated"]
    assert {r.asset_symbol for r in only_eth} == {"ETH"}
    later = client.get(URL, {"days": "30"}).context["expiring"]
    assert [r.asset_symbol for r in later] == ["SOL", "BTC", "ETH"]
    assert client.get(URL, {"days": "-1"}).status_code == 400
    assert client.get(URL, {"asset": "NOPE"}).status_code == 400


def test_the_csv_of_each_table(login, rita, book):  # noqa: F811
    client = login(rita)
    rows = _csv(client.get(URL, {"table": "counterparty", "format": "csv"}))
    assert rows[0][:3] == ["Counterparty", "Asset", "Quantity"]
    assert rows[1][:2] == ["GLOBEX", "ETH"] and rows[1][6] == "75"
    firm = _csv(client.get(URL, {"table": "firm", "format": "csv"}))
    assert firm[1][0] == "ETH" and firm[1][6] == "68.75"
    expiries = _csv(client.get(URL, {"table": "expiries", "format": "csv"}))
    assert [r[2] for r in expiries[1:]] == ["SOL", "BTC"]
    assert client.get(URL, {"table": "nope", "format": "csv"}).status_code == 404


def test_a_trader_sees_their_counterparties_and_not_the_firms_book(login, alice, book):  # noqa: F811
    client = login(alice)  # acts for ACME
    response = client.get(URL)
    assert response.status_code == 200
    assert {r.counterparty_code for r in response.context["concentrated"]} == {"ACME"}
    assert [r.counterparty_code for r in response.context["expiring"]] == ["ACME"]
    assert 'data-testid="firm-concentration"' not in response.content.decode()
    assert client.get(URL, {"counterparty": "GLOBEX"}).context["concentrated"] == []
    assert client.get(URL, {"table": "firm", "format": "csv"}).status_code == 404


def test_compliance_does_not_see_it(login, carl, book):  # noqa: F811
    assert login(carl).get(URL).status_code == 403


def test_the_expiries_link_lands_on_the_table(login, rita, book):  # noqa: F811
    response = login(rita).get("/collateral/expiries/")
    assert (response.status_code, response["Location"]) == (302, "/collateral/concentration/#expiries")


def test_the_page_takes_a_fixed_number_of_queries(login, rita, book, django_assert_num_queries):  # noqa: F811
    client = login(rita)
    client.get(URL)
    # 1. the session; 2. the user; 3. the user's roles; 4. (counterparty, asset) concentrations;
    # 5. pledges expiring; 6. the firm's book by asset; 7. the assets of the filter's select
    with django_assert_num_queries(7):
        client.get(URL)
    for i in range(5):
        cp = CounterpartyFactory(code=f"MORE{i}")
        s.pledge_expiring(cp, book["sol"], 10 + i, expires_on=book["today"])
        s.pledge_expiring(cp, book["eth"], 1, expires_on=None)
    with django_assert_num_queries(7):
        response = client.get(URL)
    assert len(response.context["concentrated"]) == 14
