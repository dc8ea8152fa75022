"""The pledges and collateral positions API: ops books, the desk reads, a trader reads only their own
counterparties (another counterparty is a 404, in a path or in ``?counterparty=``)."""

from datetime import timedelta

import pytest

from borrowdesk.business_day import business_date
from tests.collateral.factories import collateral_account, collateral_state, limit, pledge
from tests.inventory.factories import desk_asset

PLEDGES = "/api/v1/collateral/pledges/"
POSITIONS = "/api/v1/collateral/positions/"
LIMITS = "/api/v1/limits/"


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def accounts(acme, globex):
    return collateral_account(acme), collateral_account(globex)


def test_ops_books_a_pledge(api, bob, acme, btc, accounts):
    expiry = (business_date() + timedelta(days=10)).isoformat()
    body = {
        "counterparty": "ACME",
        "asset": "BTC",
        "account": "ACME-COLL",
        "quantity": "1.5",
        "expires_on": expiry,
    }
    response = api.as_user(bob).post(PLEDGES, {**body, "reference": "CALL-1"}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert {
        k: created[k] for k in ("counterparty", "asset", "account", "quantity", "expires_on", "reference")
    } == {
        "counterparty": "ACME",
        "asset": "BTC",
        "account": "ACME-COLL",
        "quantity": "1.500000000000000000",
        "expires_on": expiry,
        "reference": "CALL-1",
    }
    assert (created["created_by"], created["settlement"]) == ("bob", None) and created["journal"]
    assert api.as_user(bob).get(f"{PLEDGES}{created['id']}/").json() == created
    positions = api.as_user(bob).get(POSITIONS).json()["results"]
    assert positions == [
        {
            "counterparty": "ACME",
            "asset": "BTC",
            "account": "ACME-COLL",
            "venue": "CUST1",
            "quantity": "1.500000000000000000",
        }
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "0.000000001"}, "quantity"),
        ({"quantity": "1e400"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"asset": "DOGE"}, "asset"),
        ({"account": "NOWHERE"}, "account"),
        ({"account": "GLOBEX-COLL"}, "account"),  # another counterparty's account
        ({"counterparty": "NOBODY"}, "counterparty"),
        ({"expires_on": "2020-01-01"}, "expires_on"),
        ({"expires_on": "2026-02-30"}, "expires_on"),
        ({"reference": "x" * 121}, "reference"),
        ({"reference": "nul\u0000byte"}, "reference"),
    ],
)
def test_a_bad_pledge_is_a_400_naming_the_field_and_nothing_is_written(
    api, bob, acme, btc, accounts, body, field
):
    before = collateral_state()
    payload = {"counterparty": "ACME", "asset": "BTC", "account": "ACME-COLL", "quantity": "1", **body}
    response = api.as_user(bob).post(PLEDGES, payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"], response.json()
    assert collateral_state() == before


@pytest.mark.parametrize("who", ["rita", "alice", "tess", "mona", "carl", "audrey"])
def test_only_operations_book_pledges(api, personas, acme, btc, accounts, who):
    before = collateral_state()
    payload = {"counterparty": "ACME", "asset": "BTC", "account": "ACME-COLL", "quantity": "1"}
    assert api.as_user(personas[who]).post(PLEDGES, payload, format="json").status_code == 403
    assert collateral_state() == before


@pytest.fixture
def book(bob, acme, globex, btc, accounts):
    """ACME pledged 1 BTC, GLOBEX 3 BTC."""
    return pledge(acme, btc, "1", account=accounts[0], actor=bob), pledge(
        globex, btc, "3", account=accounts[1], actor=bob
    )


def test_a_trader_sees_only_their_counterparties_pledges_and_positions(api, alice, book):
    mine, theirs = book
    client = api.as_user(alice)
    assert [p["id"] for p in client.get(PLEDGES).json()["results"]] == [mine.pk]
    assert [p["counterparty"] for p in client.get(POSITIONS).json()["results"]] == ["ACME"]
    assert client.get(f"{PLEDGES}{mine.pk}/").status_code == 200
    assert client.get(f"{PLEDGES}{theirs.pk}/").status_code == 404
    for url in (PLEDGES, POSITIONS):
        assert client.get(url, {"counterparty": "ACME"}).status_code == 200
        other = client.get(url, {"counterparty": "GLOBEX"})
        assert (other.status_code, other.json()["code"]) == (404, "not_found")


def test_an_unknown_counterparty_is_404_to_everyone(api, rita, book):
    assert api.as_user(rita).get(POSITIONS, {"counterparty": "NOBODY"}).status_code == 404


def test_the_desk_filters_positions_by_counterparty(api, rita, book):
    rows = api.as_user(rita).get(POSITIONS, {"counterparty": "GLOBEX"}).json()["results"]
    assert [(r["counterparty"], r["quantity"]) for r in rows] == [("GLOBEX", "3.000000000000000000")]


def test_compliance_does_not_read_collateral(api, carl, book):
    assert api.as_user(carl).get(PLEDGES).status_code == 403
    assert api.as_user(carl).get(POSITIONS).status_code == 403


def test_lists_take_a_fixed_number_of_queries(api, rita, bob, acme, btc, accounts, django_assert_num_queries):
    client = api.as_user(rita)
    pledge(acme, btc, "1", account=accounts[0], actor=bob)
    limit(acme, "1000", asset_caps={btc: "1"})
    # token with its user, roles, count, page (each row with its references); limits: + their caps
    for url, queries in ((PLEDGES, 4), (POSITIONS, 4), (LIMITS, 5)):
        with django_assert_num_queries(queries):
            assert client.get(url).json()["count"] == 1
    eth = desk_asset("ETH", 18, "3000")
    for _ in range(3):
        pledge(acme, eth, "2", account=accounts[0], actor=bob)
        limit(acme, "900", asset_caps={btc: "1", eth: "5"})
    for url, queries in ((PLEDGES, 4), (POSITIONS, 4), (LIMITS, 5)):
        with django_assert_num_queries(queries):
            assert client.get(url).json()["count"] > 1
