"""The ledger API: receipts, adjustments, positions, availability, journals (API.md "Inventory and loans")."""

import json
from decimal import Decimal

import pytest

from inventory.models import Journal
from tests.inventory.factories import active_loan, ledger_state, stock
from tests.refdata.factories import CounterpartyFactory, CustodyAccountFactory

RECEIPTS = "/api/v1/inventory/receipts/"
ADJUSTMENTS = "/api/v1/inventory/adjustments/"
POSITIONS = "/api/v1/inventory/positions/"
AVAILABILITY = "/api/v1/inventory/availability/"
JOURNALS = "/api/v1/inventory/journals/"


def _receipt(api, user, **body):
    data = {"asset": "BTC", "account": "INV-MAIN", "quantity": "2.5", **body}
    return api.as_user(user).post(RECEIPTS, data, format="json")


def _raw_post(api, user, url, text):
    """POST a JSON body as written (numbers the test client would not produce, like 1e309)."""
    return api.as_user(user).post(url, data=text, content_type="application/json")


# --- receipts ----------------------------------------------------------------------------------------


def test_treasury_records_a_receipt_from_a_lender(api, tess, btc, account):
    CounterpartyFactory(code="LENDCO", kind="lender")
    response = _receipt(api, tess, source_counterparty="LENDCO", cost_rate_bps="120", reference="deal 7")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {
        k: body[k] for k in ("kind", "created_by", "source_counterparty", "cost_rate_bps", "reference")
    } == {
        "kind": "receipt",
        "created_by": "tess",
        "source_counterparty": "LENDCO",
        "cost_rate_bps": "120.0000",
        "reference": "deal 7",
    }
    assert sorted((e["account"], e["bucket"], e["quantity"]) for e in body["entries"]) == [
        ("INV-MAIN", "available", "2.500000000000000000"),
        ("INV-MAIN", "external", "-2.500000000000000000"),
    ]
    assert Journal.objects.get().pk == body["id"]


def test_a_receipt_quantity_may_be_a_json_number(api, bob, btc, account):
    response = _raw_post(api, bob, RECEIPTS, '{"asset": "BTC", "account": "INV-MAIN", "quantity": 0.1}')
    assert response.status_code == 201, response.json()
    assert response.json()["entries"][0]["quantity"] in ("0.100000000000000000", "-0.100000000000000000")


@pytest.mark.parametrize("who", ["bob", "olivia", "tess"])
def test_operations_and_treasury_record_receipts(api, personas, btc, account, who):
    assert _receipt(api, personas[who]).status_code == 201


@pytest.mark.parametrize("who", ["alice", "rita", "carl", "mona", "audrey"])
def test_other_roles_are_refused_receipts_with_403(api, personas, btc, account, who):
    before = ledger_state()
    response = _receipt(api, personas[who])
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert not Journal.objects.exists() and ledger_state() == before


def test_an_unauthenticated_receipt_is_401(api, btc, account):
    response = api.post(RECEIPTS, {"asset": "BTC", "account": "INV-MAIN", "quantity": "1"}, format="json")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert not Journal.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"asset": "NOPE"}, "asset"),
        ({"account": "NOPE"}, "account"),
        ({"source_counterparty": "NOPE"}, "source_counterparty"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "0.000000001"}, "quantity"),  # BTC has 8 decimals
        ({"quantity": "0.0000000000000000001"}, "quantity"),  # finer than any asset
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "Infinity"}, "quantity"),
        ({"quantity": "-Infinity"}, "quantity"),
        ({"quantity": "1e309"}, "quantity"),
        ({"quantity": "100000000000000000000"}, "quantity"),
        ({"quantity": "ten"}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"cost_rate_bps": "-1"}, "cost_rate_bps"),
        ({"cost_rate_bps": "100001"}, "cost_rate_bps"),
    ],
)
def test_a_bad_receipt_is_400_on_its_field_and_writes_nothing(api, tess, btc, account, body, field):
    response = _receipt(api, tess, **body)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid" and field in response.json()["fields"], response.json()
    assert not Journal.objects.exists()


@pytest.mark.parametrize(
    "text",
    [
        '{"asset": "BTC", "account": "INV-MAIN", "quantity": 1e309}',
        '{"asset": "BTC", "account": "INV-MAIN", "quantity": NaN}',
        '{"asset": "BTC", "account": "INV-MAIN", "quantity": Infinity}',
        '{"asset": "BTC", "account": ',
    ],
    ids=["1e309-number", "nan-literal", "infinity-literal", "truncated"],
)
def test_a_receipt_with_a_non_finite_json_number_is_400(api, tess, btc, account, text):
    response = _raw_post(api, tess, RECEIPTS, text)
    assert response.status_code == 400 and response.json()["code"] in ("invalid", "parse_error")
    assert not Journal.objects.exists()


def test_a_receipt_into_a_counterparty_account_is_400(api, tess, btc, acme):
    CustodyAccountFactory(code="ACME-WALLET", owner=acme)
    response = _receipt(api, tess, account="ACME-WALLET")
    assert response.status_code == 400 and "account" in response.json()["fields"]
    assert not Journal.objects.exists()


# --- adjustments -------------------------------------------------------------------------------------


def _adjust(api, user, **body):
    data = {"asset": "BTC", "account": "INV-MAIN", "quantity": "-0.5", "reason": "custodian count", **body}
    return api.as_user(user).post(ADJUSTMENTS, data, format="json")


def test_senior_operations_adjust_with_a_reason(api, olivia, stocked):
    response = _adjust(api, olivia)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["memo"], body["created_by"]) == ("adjustment", "custodian count", "olivia")
    assert sorted((e["bucket"], e["quantity"]) for e in body["entries"]) == [
        ("available", "-0.500000000000000000"),
        ("external", "0.500000000000000000"),
    ]


@pytest.mark.parametrize("who", ["bob", "tess", "adam", "alice", "audrey"])
def test_other_roles_are_refused_adjustments_with_403(api, personas, stocked, who):
    before = ledger_state()
    response = _adjust(api, personas[who])
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert ledger_state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "0.000000001"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"asset": "NOPE"}, "asset"),
        ({"account": "NOPE"}, "account"),
    ],
)
def test_a_bad_adjustment_is_400_and_writes_nothing(api, olivia, stocked, body, field):
    before = ledger_state()
    response = _adjust(api, olivia, **body)
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert ledger_state() == before


def test_an_adjustment_below_zero_is_409_insufficient_inventory(api, olivia, stocked):
    before = ledger_state()
    response = _adjust(api, olivia, quantity="-10.5")
    assert (response.status_code, response.json()["code"]) == (409, "insufficient_inventory")
    assert ledger_state() == before


# --- positions ---------------------------------------------------------------------------------------


def test_positions_pivot_the_buckets_per_asset_and_account(api, bob, loan):
    response = api.as_user(bob).get(POSITIONS)
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "asset": "BTC",
            "account": "INV-MAIN",
            "venue": "CUST1",
            "available": "6.000000000000000000",
            "allocated": "0.000000000000000000",
            "on_loan": "4.000000000000000000",
            "in_transit": "0.000000000000000000",
        }
    ]


def test_positions_filter_by_asset_and_account(api, bob, stocked, btc, tess):
    from tests.inventory.factories import desk_asset

    eth = desk_asset("ETH", 18, "3000")
    stock(eth, stocked, "5", actor=tess)
    stock(btc, CustodyAccountFactory(code="INV-2"), "1", actor=tess)
    client = api.as_user(bob)
    rows = client.get(POSITIONS, {"asset": "BTC"}).json()["results"]
    assert [(r["asset"], r["account"]) for r in rows] == [("BTC", "INV-2"), ("BTC", "INV-MAIN")]
    rows = client.get(POSITIONS, {"account": "INV-MAIN"}).json()["results"]
    assert [(r["asset"], r["account"]) for r in rows] == [("BTC", "INV-MAIN"), ("ETH", "INV-MAIN")]
    assert client.get(POSITIONS, {"asset": "NOPE"}).json()["count"] == 0


@pytest.mark.parametrize("who", ["alice", "tom"])
def test_traders_cannot_read_positions(api, personas, stocked, who):
    assert api.as_user(personas[who]).get(POSITIONS).status_code == 403


def test_positions_run_a_fixed_number_of_queries(api, bob, stocked, btc, tess, django_assert_num_queries):
    # token auth, user's roles, count of rows, page of rows (buckets summed per asset and account)
    client = api.as_user(bob)
    with django_assert_num_queries(4):
        assert client.get(POSITIONS).json()["count"] == 1
    for i in range(5):
        stock(btc, CustodyAccountFactory(code=f"INV-{i}"), "1", actor=tess)
    client = api.as_user(bob)
    with django_assert_num_queries(4):
        assert client.get(POSITIONS).json()["count"] == 6


# --- availability ------------------------------------------------------------------------------------


def test_availability_reports_utilization_per_asset(api, bob, loan, btc, stocked):
    from inventory.services import allocate

    allocate(asset=btc, account=stocked, quantity=Decimal(1))
    response = api.as_user(bob).get(AVAILABILITY)
    assert response.json()["results"] == [
        {
            "asset": "BTC",
            "available": "5.000000000000000000",
            "allocated": "1.000000000000000000",
            "on_loan": "4.000000000000000000",
            "utilization": "0.5000",
        }
    ]


def test_traders_see_availability(api, alice, stocked):
    response = api.as_user(alice).get(AVAILABILITY)
    assert response.status_code == 200 and response.json()["results"][0]["utilization"] == "0.0000"


def test_availability_requires_authentication(api, stocked):
    assert api.get(AVAILABILITY).status_code == 401


# --- journals ----------------------------------------------------------------------------------------


def test_journals_list_newest_first_with_entries(api, bob, loan):
    results = api.as_user(bob).get(JOURNALS).json()["results"]
    assert [j["kind"] for j in results] == ["delivery", "allocation", "receipt"]
    assert results[0]["loan"] == loan.pk and len(results[0]["entries"]) == 2


def test_journals_filter_by_kind_and_asset(api, bob, loan, tess, account):
    from tests.inventory.factories import desk_asset

    stock(desk_asset("ETH", 18, "3000"), account, "5", actor=tess)
    client = api.as_user(bob)
    assert [j["kind"] for j in client.get(JOURNALS, {"kind": "receipt"}).json()["results"]] == [
        "receipt",
        "receipt",
    ]
    eth = client.get(JOURNALS, {"asset": "ETH"}).json()
    assert eth["count"] == 1 and {e["asset"] for e in eth["results"][0]["entries"]} == {"ETH"}
    assert client.get(JOURNALS, {"asset": "BTC", "kind": "delivery"}).json()["count"] == 1


def test_an_unknown_journal_kind_is_400(api, bob, stocked):
    response = api.as_user(bob).get(JOURNALS, {"kind": "bogus"})
    assert response.status_code == 400 and "kind" in response.json()["fields"]


def test_one_journal_can_be_read_by_id(api, bob, stocked):
    journal = Journal.objects.get()
    response = api.as_user(bob).get(f"{JOURNALS}{journal.pk}/")
    assert response.status_code == 200 and response.json()["kind"] == "receipt"
    assert api.as_user(bob).get(f"{JOURNALS}999999/").status_code == 404


def test_traders_cannot_read_journals(api, alice, stocked):
    assert api.as_user(alice).get(JOURNALS).status_code == 403


def test_journals_run_a_fixed_number_of_queries(
    api, bob, stocked, btc, account, tess, django_assert_num_queries
):
    # token auth, user's roles, count, page of journals (creator, lender joined),
    # their entries (asset, account joined)
    client = api.as_user(bob)
    with django_assert_num_queries(5):
        client.get(JOURNALS)
    for _ in range(5):
        stock(btc, account, "1", actor=tess)
    client = api.as_user(bob)
    with django_assert_num_queries(5):
        assert client.get(JOURNALS).json()["count"] == 6


def test_the_page_size_is_capped_at_500(api, bob, stocked):
    body = api.as_user(bob).get(JOURNALS, {"page_size": 10000}).json()
    assert set(body) == {"count", "next", "previous", "results"}


def test_a_journal_response_is_json_decimal_strings(api, tess, btc, account):
    body = json.loads(_receipt(api, tess).content)
    assert all(isinstance(e["quantity"], str) for e in body["entries"])


def test_an_active_loan_is_reflected_in_positions_of_its_account(api, bob, stocked, btc, acme):
    active_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="2")
    row = api.as_user(bob).get(POSITIONS, {"asset": "BTC"}).json()["results"][0]
    assert (row["available"], row["on_loan"]) == ("8.000000000000000000", "2.000000000000000000")
