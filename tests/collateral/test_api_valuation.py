"""The coverage, margin call and release API (API.md "Collateral, limits, stress")."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from collateral.models import MarginCall, Release
from collateral.services.valuation import revalue
from tests.collateral import valuation_helpers as h
from tests.inventory.factories import ledger_state
from tests.refdata.factories import CounterpartyFactory

D = Decimal


@pytest.fixture
def book(desk_config, acme, globex):
    """ACME owes 1 BTC (50,000) against 100 SOL at 900 (coverage 1.80). GLOBEX owes 1 BTC against
    100 SOL at 900 with a 50 haircut (45,000: 0.90, critical)."""
    btc, sol = h.asset("BTC"), h.asset("SOL", decimals=4)
    now = timezone.now()
    h.price(btc, 50000, as_of=now - timedelta(minutes=1))
    h.price(sol, 900, as_of=now - timedelta(minutes=1))
    h.haircut(sol, 0)
    h.haircut(sol, 50, counterparty=globex)
    accounts = {}
    for cp in (acme, globex):
        accounts[cp.code] = h.collateral_account(cp)
        h.pledge(accounts[cp.code], sol, 100)
        h.lend(cp, btc, 1)
    return {"btc": btc, "sol": sol, "accounts": accounts}


def test_coverage_of_one_counterparty(api, book, rita):
    response = api.as_user(rita).get("/api/v1/collateral/coverage/?counterparty=ACME")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert {
        k: row[k] for k in ("counterparty", "exposure_usd", "collateral_value_usd", "coverage_ratio")
    } == {
        "counterparty": "ACME",
        "exposure_usd": "50000.00000000",  # 1 BTC x 50,000
        "collateral_value_usd": "90000.00000000",  # 100 SOL x 900
        "coverage_ratio": "1.800000",
    }
    assert (row["required_ratio"], row["call_ratio"], row["shortfall_usd"]) == (
        "1.500000",
        "1.300000",
        "0.00000000",
    )
    assert row["status"] == "ok"
    assert row["excess_usd"] == "15000.00000000"  # 1.80 > 1.75: 90,000 - 1.5 x 50,000


def test_status_joins_the_open_call(api, book, rita, globex):
    revalue()  # GLOBEX: 45,000 / 50,000 = 0.90 < 1.15: critical, called for 75,000 - 45,000
    response = api.as_user(rita).get("/api/v1/collateral/coverage/?counterparty=GLOBEX")
    (row,) = response.json()["results"]
    call = MarginCall.objects.get(counterparty=globex)
    assert (row["status"], row["margin_call"], row["shortfall_usd"]) == (
        "critical",
        call.pk,
        "30000.00000000",
    )
    assert row["default_flagged"] is False


def test_trader_sees_only_their_counterparties(api, book, alice):
    client = api.as_user(alice)
    assert [r["counterparty"] for r in client.get("/api/v1/collateral/coverage/").json()["results"]] == [
        "ACME"
    ]
    response = client.get("/api/v1/collateral/coverage/?counterparty=GLOBEX")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_unknown_counterparty_is_404(api, book, rita):
    assert api.as_user(rita).get("/api/v1/collateral/coverage/?counterparty=NOPE").status_code == 404


@pytest.mark.parametrize("count", [2, 20])
def test_coverage_api_query_count_is_fixed(api, book, rita, django_assert_num_queries, count):
    for i in range(count):
        cp = CounterpartyFactory(code=f"EXTRA{i}")
        h.pledge(h.collateral_account(cp), book["sol"], 1)
    client = api.as_user(rita)
    client.get("/api/v1/collateral/coverage/")  # warm the token and role caches of this client
    # token (1) + user's roles (1), page count (1), page of counterparties (1), the coverage statement
    # (1), the open calls (1), the stored risk rows (1)
    with django_assert_num_queries(7):
        response = client.get("/api/v1/collateral/coverage/?page_size=500")
    assert response.json()["count"] == count + 2


# --- margin calls ---------------------------------------------------------------------------------


@pytest.fixture
def called(book, globex):
    revalue()
    return MarginCall.objects.get(counterparty=globex)


def test_margin_calls_list_and_filter(api, called, rita):
    client = api.as_user(rita)
    (row,) = client.get("/api/v1/collateral/margin-calls/?status=open").json()["results"]
    assert (row["id"], row["counterparty"], row["amount_usd"], row["status"]) == (
        called.pk,
        "GLOBEX",
        "30000.00000000",
        "open",
    )
    assert client.get("/api/v1/collateral/margin-calls/?status=met").json()["results"] == []
    assert client.get("/api/v1/collateral/margin-calls/?status=nonsense").status_code == 400


def test_trader_cannot_see_another_counterpartys_call(api, called, alice, tom):
    assert api.as_user(alice).get(f"/api/v1/collateral/margin-calls/{called.pk}/").status_code == 404
    assert api.as_user(tom).get(f"/api/v1/collateral/margin-calls/{called.pk}/").status_code == 200
    assert api.as_user(alice).get("/api/v1/collateral/margin-calls/").json()["results"] == []


def test_risk_notes_escalates_and_cancels(api, called, rita):
    client = api.as_user(rita)
    url = f"/api/v1/collateral/margin-calls/{called.pk}"
    response = client.post(f"{url}/note/", {"text": "Called the treasurer"}, format="json")
    assert (response.status_code, response.json()["note"]) == (200, "Called the treasurer")
    response = client.post(f"{url}/escalate/", {}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "escalated")
    response = client.post(f"{url}/escalate/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    assert client.post(f"{url}/cancel/", {}, format="json").status_code == 400  # a reason is required
    response = client.post(f"{url}/cancel/", {"reason": "Settled bilaterally"}, format="json")
    assert (response.status_code, response.json()["status"], response.json()["closed_by"]) == (
        200,
        "cancelled",
        "rita",
    )


def test_ops_cannot_work_margin_calls(api, called, bob):
    response = api.as_user(bob).post(f"/api/v1/collateral/margin-calls/{called.pk}/cancel/", {"reason": "x"})
    assert response.status_code == 403


# --- releases -------------------------------------------------------------------------------------


def _release(client, **body):
    payload = {"counterparty": "ACME", "asset": "SOL", "account": "COLL-ACME-CUST1", "quantity": "10", **body}
    return client.post("/api/v1/collateral/releases/", payload, format="json")


def test_release_is_created(api, book, bob):
    response = _release(api.as_user(bob), quantity="16", reference="R-1")
    assert response.status_code == 201
    body = response.json()
    assert {
        k: body[k] for k in ("counterparty", "asset", "account", "quantity", "reference", "coverage_after")
    } == {
        "counterparty": "ACME",
        "asset": "SOL",
        "account": "COLL-ACME-CUST1",
        "quantity": "16.000000000000000000",
        "reference": "R-1",
        "coverage_after": "1.512000",  # 84 x 900 / 50,000
    }


def test_release_below_required_is_409_and_writes_nothing(api, book, bob):
    before = (ledger_state(), list(Release.objects.values_list("id")))
    response = _release(api.as_user(bob), quantity="17")
    assert response.status_code == 409
    assert response.json()["code"] == "coverage_breach"
    assert "below the required 1.50" in response.json()["detail"]
    assert (ledger_state(), list(Release.objects.values_list("id"))) == before


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"quantity": "0"}, 400, "quantity"),
        ({"quantity": "-5"}, 400, "quantity"),
        ({"quantity": "1.00001"}, 400, "quantity"),  # SOL has 4 places
        ({"quantity": "1e40"}, 400, "quantity"),
        ({"quantity": "NaN"}, 400, "quantity"),
        ({"asset": "NOPE"}, 400, "asset"),
        ({"account": "NOPE"}, 400, "account"),
        ({"counterparty": "NOPE"}, 400, "counterparty"),
        ({"account": "COLL-GLOBEX-CUST1"}, 400, "account"),  # not ACME's
        ({"reference": "x\x00y"}, 400, "reference"),
        ({"quantity": "1000"}, 409, None),  # more than is pledged
    ],
)
def test_hostile_release_input_is_refused_with_nothing_written(api, book, bob, body, status, field):
    before = ledger_state()
    response = _release(api.as_user(bob), **body)
    assert response.status_code == status, response.json()
    if field:
        assert field in response.json()["fields"]
    assert ledger_state() == before


def test_only_ops_release(api, book, rita, alice):
    assert _release(api.as_user(rita)).status_code == 403
    assert _release(api.as_user(alice)).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/collateral/coverage/?counterparty=%00",
        "/api/v1/collateral/coverage/?counterparty=" + "A" * 5000,
        "/api/v1/collateral/coverage/?page=99999999999999999999",
        "/api/v1/collateral/margin-calls/?status=%00",
        "/api/v1/collateral/margin-calls/?counterparty=%00",
        "/api/v1/collateral/margin-calls/99999999999999999999999/",
    ],
)
def test_hostile_reads_answer_4xx(api, book, rita, url):
    assert api.as_user(rita).get(url).status_code in (400, 404)
