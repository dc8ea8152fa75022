"""/api/v1/networks/ and /api/v1/venues/: list, detail by code, create, update, bad input."""

import pytest

from borrowdesk.refdata.models import Network, Venue
from tests.refdata.factories import VenueFactory
from tests.refdata.helpers import assert_error, refdata_state, send

NETWORKS = "/api/v1/networks/"
VENUES = "/api/v1/venues/"


# --- networks -------------------------------------------------------------------------------------


def test_any_user_lists_networks(api, alice, ethereum):
    body = api.as_user(alice).get(NETWORKS).json()
    assert body["results"] == [{"code": "ethereum", "name": "Ethereum", "is_active": True}]


def test_a_network_detail_is_found_by_its_lower_case_code(api, alice, ethereum):
    assert api.as_user(alice).get(f"{NETWORKS}ethereum/").json()["name"] == "Ethereum"


def test_ops_creates_a_network(api, bob):
    response = send(api.as_user(bob), "post", NETWORKS, {"code": "solana", "name": "Solana"})
    assert (response.status_code, response.json()) == (
        201,
        {"code": "solana", "name": "Solana", "is_active": True},
    )
    assert Network.objects.filter(code="solana").exists()


def test_ops_renames_a_network_with_put(api, bob, ethereum):
    response = send(api.as_user(bob), "put", f"{NETWORKS}ethereum/", {"name": "Ethereum mainnet"})
    assert (response.status_code, response.json()["name"]) == (200, "Ethereum mainnet")
    assert Network.objects.get(code="ethereum").name == "Ethereum mainnet"


def test_ops_deactivates_a_network_with_patch(api, bob, ethereum):
    response = send(api.as_user(bob), "patch", f"{NETWORKS}ethereum/", {"is_active": False})
    assert (response.status_code, response.json()["is_active"]) == (200, False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "ethereum", "name": "Again"}, "code"),  # taken
        ({"code": "Solana", "name": "Solana"}, "code"),  # upper case
        ({"code": "SOLANA", "name": "Solana"}, "code"),
        ({"code": "sol ana", "name": "Solana"}, "code"),
        ({"code": "sol.ana", "name": "Solana"}, "code"),
        ({"code": "s" * 33, "name": "Solana"}, "code"),
        ({"code": "solana", "name": "x" * 101}, "name"),
        ({"code": "solana"}, "name"),
    ],
)
def test_a_bad_network_is_400_and_writes_nothing(api, bob, ethereum, body, field):
    before = refdata_state()
    assert_error(send(api.as_user(bob), "post", NETWORKS, body), 400, "invalid", field)
    assert refdata_state() == before


def test_a_network_code_cannot_change(api, bob, ethereum):
    before = refdata_state()
    assert_error(
        send(api.as_user(bob), "patch", f"{NETWORKS}ethereum/", {"code": "eth"}), 400, "invalid", "code"
    )
    assert refdata_state() == before


def test_compliance_cannot_create_a_network(api, carl):
    before = refdata_state()
    assert_error(
        send(api.as_user(carl), "post", NETWORKS, {"code": "tron", "name": "Tron"}), 403, "permission_denied"
    )
    assert refdata_state() == before


# --- venues ---------------------------------------------------------------------------------------


def test_any_user_lists_venues(api, alice, coinvault):
    body = api.as_user(alice).get(VENUES).json()
    assert body["results"] == [
        {"code": "COINVAULT", "name": "CoinVault Custody", "kind": "custodian", "is_active": True}
    ]


def test_venues_filter_by_kind(api, alice, coinvault):
    VenueFactory(code="KRAKEN", kind="exchange")
    body = api.as_user(alice).get(f"{VENUES}?kind=exchange").json()
    assert [v["code"] for v in body["results"]] == ["KRAKEN"]


def test_ops_creates_a_venue(api, bob):
    body = {"code": "KRAKEN", "name": "Kraken", "kind": "exchange"}
    response = send(api.as_user(bob), "post", VENUES, body)
    assert (response.status_code, response.json()) == (201, {**body, "is_active": True})
    assert Venue.objects.filter(code="KRAKEN", kind="exchange").exists()


def test_ops_replaces_a_venue_with_put(api, bob, coinvault):
    body = {"name": "CoinVault Prime", "kind": "prime_broker", "is_active": True}
    response = send(api.as_user(bob), "put", f"{VENUES}COINVAULT/", body)
    assert (response.status_code, response.json()) == (200, {"code": "COINVAULT", **body})


def test_ops_changes_a_venue_kind_with_patch(api, bob, coinvault):
    response = send(api.as_user(bob), "patch", f"{VENUES}COINVAULT/", {"kind": "bank"})
    assert (response.status_code, response.json()["kind"]) == (200, "bank")
    assert Venue.objects.get(code="COINVAULT").kind == "bank"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "COINVAULT"}, "code"),  # taken
        ({"code": "kraken"}, "code"),
        ({"code": "KRA KEN"}, "code"),
        ({"code": "K" * 33}, "code"),
        ({"kind": "casino"}, "kind"),
        ({"kind": None}, "kind"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_a_bad_venue_is_400_and_writes_nothing(api, bob, coinvault, change, field):
    before = refdata_state()
    body = {"code": "KRAKEN", "name": "Kraken", "kind": "exchange", **change}
    assert_error(send(api.as_user(bob), "post", VENUES, body), 400, "invalid", field)
    assert refdata_state() == before


def test_a_bad_venue_update_is_400_and_changes_nothing(api, bob, coinvault):
    before = refdata_state()
    assert_error(
        send(api.as_user(bob), "patch", f"{VENUES}COINVAULT/", {"kind": "casino"}), 400, "invalid", "kind"
    )
    assert refdata_state() == before


def test_treasury_cannot_update_a_venue(api, tess, coinvault):
    before = refdata_state()
    assert_error(
        send(api.as_user(tess), "patch", f"{VENUES}COINVAULT/", {"kind": "bank"}), 403, "permission_denied"
    )
    assert refdata_state() == before
