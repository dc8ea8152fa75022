"""/api/v1/custody-accounts/: venue, network and owner by code; owner null is the firm.

A trader's scope is tested in tests/access/test_trader_scope.py.
"""

import pytest

from borrowdesk.refdata.models import CustodyAccount
from tests.refdata.factories import NetworkFactory, VenueFactory
from tests.refdata.helpers import assert_error, refdata_state, send

URL = "/api/v1/custody-accounts/"
WALLET = {
    "code": "ACME-W2",
    "venue": "COINVAULT",
    "network": "ethereum",
    "address": "0xacme2",
    "owner": "ACME",
    "purpose": "collateral",
}


def test_desk_staff_list_every_account_with_codes_for_references(
    api, bob, firm_inventory, acme_wallet, globex_wallet
):
    body = api.as_user(bob).get(URL).json()
    assert [a["code"] for a in body["results"]] == ["ACME-COLL", "FIRM-INV", "GLOBEX-COLL"]
    assert body["results"][:2] == [
        {
            "code": "ACME-COLL",
            "venue": "COINVAULT",
            "network": "ethereum",
            "address": "0xacme",
            "owner": "ACME",
            "purpose": "collateral",
            "is_active": True,
        },
        {
            "code": "FIRM-INV",
            "venue": "COINVAULT",
            "network": None,
            "address": "",
            "owner": None,
            "purpose": "inventory",
            "is_active": True,
        },
    ]


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("owner=ACME", ["ACME-COLL"]),
        ("firm=true", ["FIRM-INV"]),
        ("firm=false", ["ACME-COLL", "GLOBEX-COLL"]),
        ("purpose=inventory", ["FIRM-INV"]),
        ("venue=COINVAULT&purpose=collateral", ["ACME-COLL", "GLOBEX-COLL"]),
        ("network=ethereum&owner=GLOBEX", ["GLOBEX-COLL"]),
        ("venue=NOPE", []),
    ],
)
def test_accounts_filter_by_venue_network_owner_and_purpose(
    api, bob, firm_inventory, acme_wallet, globex_wallet, query, codes
):
    body = api.as_user(bob).get(f"{URL}?{query}").json()
    assert [a["code"] for a in body["results"]] == codes


def test_an_account_detail_is_found_by_code(api, rita, acme_wallet):
    response = api.as_user(rita).get(f"{URL}ACME-COLL/")
    assert (response.status_code, response.json()["owner"]) == (200, "ACME")


def test_ops_creates_a_counterparty_wallet(api, bob, acme, coinvault, ethereum):
    response = send(api.as_user(bob), "post", URL, WALLET)
    assert response.status_code == 201, response.json()
    assert response.json() == {**WALLET, "is_active": True}
    assert CustodyAccount.objects.get(code="ACME-W2").owner == acme


def test_an_account_without_owner_belongs_to_the_firm(api, bob, coinvault):
    response = send(
        api.as_user(bob), "post", URL, {"code": "FIRM-TREAS", "venue": "COINVAULT", "purpose": "treasury"}
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["owner"], response.json()["network"], response.json()["address"]) == (
        None,
        None,
        "",
    )


def test_an_explicit_null_owner_belongs_to_the_firm(api, bob, coinvault, ethereum):
    response = send(api.as_user(bob), "post", URL, {**WALLET, "owner": None})
    assert (response.status_code, response.json()["owner"]) == (201, None)
    assert CustodyAccount.objects.get(code="ACME-W2").owner is None


def test_ops_replaces_an_account_with_put(api, bob, acme_wallet, globex):
    body = {**WALLET, "code": "ACME-COLL", "owner": "GLOBEX", "purpose": "settlement"}
    response = send(api.as_user(bob), "put", f"{URL}ACME-COLL/", body)
    assert (response.status_code, response.json()) == (200, {**body, "is_active": True})
    acme_wallet.refresh_from_db()
    assert (acme_wallet.owner, acme_wallet.address, acme_wallet.purpose) == (globex, "0xacme2", "settlement")


def test_patch_hands_an_account_to_the_firm(api, bob, acme_wallet):
    response = send(api.as_user(bob), "patch", f"{URL}ACME-COLL/", {"owner": None})
    assert (response.status_code, response.json()["owner"]) == (200, None)
    assert CustodyAccount.objects.get(code="ACME-COLL").owner is None


def test_patch_moves_an_account_to_another_venue(api, bob, firm_inventory):
    VenueFactory(code="KRAKEN", kind="exchange")
    response = send(api.as_user(bob), "patch", f"{URL}FIRM-INV/", {"venue": "KRAKEN"})
    assert (response.status_code, response.json()["venue"]) == (200, "KRAKEN")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "ACME-COLL"}, "code"),  # taken
        ({"code": "acme-w2"}, "code"),
        ({"code": "ACME W2"}, "code"),
        ({"code": "A" * 41}, "code"),
        ({"venue": "NOPE"}, "venue"),
        ({"venue": None}, "venue"),
        ({"venue": "coinvault"}, "venue"),  # codes are exact
        ({"network": "NOPE"}, "network"),
        ({"owner": "NOPE"}, "owner"),
        ({"owner": "OLDCO"}, "owner"),  # inactive counterparty
        ({"network": "oldchain"}, "network"),  # inactive network
        ({"venue": "OLDVENUE"}, "venue"),  # inactive venue
        ({"owner": ["ACME"]}, "owner"),
        ({"address": "0xacme"}, "address"),  # held by ACME-COLL on ethereum
        ({"address": "0x" + "a" * 127}, "address"),
        ({"purpose": "savings"}, "purpose"),
        ({"purpose": None}, "purpose"),
    ],
)
def test_a_bad_account_is_400_and_writes_nothing(api, bob, acme_wallet, change, field):
    from tests.refdata.factories import CounterpartyFactory

    CounterpartyFactory(code="OLDCO", is_active=False)
    NetworkFactory(code="oldchain", is_active=False)
    VenueFactory(code="OLDVENUE", is_active=False)
    before = refdata_state()
    assert_error(send(api.as_user(bob), "post", URL, {**WALLET, **change}), 400, "invalid", field)
    assert refdata_state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "RENAMED"}, "code"),
        ({"owner": "NOPE"}, "owner"),
        ({"venue": "NOPE"}, "venue"),
        ({"address": "0xacme"}, "address"),
        ({"purpose": "savings"}, "purpose"),
    ],
)
def test_a_bad_account_update_is_400_and_changes_nothing(api, bob, acme_wallet, globex_wallet, change, field):
    before = refdata_state()
    assert_error(send(api.as_user(bob), "patch", f"{URL}GLOBEX-COLL/", change), 400, "invalid", field)
    assert refdata_state() == before


def test_a_manager_cannot_create_an_account(api, mona, coinvault, acme, ethereum):
    before = refdata_state()
    assert_error(send(api.as_user(mona), "post", URL, WALLET), 403, "permission_denied")
    assert refdata_state() == before
