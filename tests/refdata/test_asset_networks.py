"""Which networks carry which asset: Asset.networks, its API field, the admin, and the check that an
account can hold or receive an asset (ETH to a bitcoin-network account was accepted: issue 7, §3)."""

from __future__ import annotations

import pytest
from pghistory.models import Events

from borrowdesk.errors import InvalidInput
from borrowdesk.refdata.models import Asset, AssetNetwork
from borrowdesk.refdata.selectors import account_carries
from borrowdesk.refdata.services import check_account_carries, update_asset
from tests.refdata.factories import CustodyAccountFactory, NetworkFactory
from tests.refdata.helpers import assert_error, refdata_state, send


@pytest.fixture
def bitcoin(db):
    return NetworkFactory(code="bitcoin", name="Bitcoin")


@pytest.fixture
def tron(db):
    return NetworkFactory(code="tron", name="Tron")


@pytest.fixture
def btc_on_bitcoin(btc, bitcoin):
    btc.networks.add(bitcoin)
    return btc


def _links(asset) -> list[str]:
    return sorted(AssetNetwork.objects.filter(asset=asset).values_list("network__code", flat=True))


# --- the selector and the service check the lead wires into intake, receipts and settlement ------


def test_an_account_on_a_network_that_carries_the_asset_carries_it(btc_on_bitcoin, bitcoin, coinvault):
    account = CustodyAccountFactory(venue=coinvault, network=bitcoin, address="bc1q")
    assert account_carries(account, btc_on_bitcoin)
    check_account_carries(account, btc_on_bitcoin)  # no error


def test_an_account_on_another_network_does_not_carry_it(btc_on_bitcoin, ethereum, coinvault):
    account = CustodyAccountFactory(venue=coinvault, network=ethereum, address="0xabc")
    assert not account_carries(account, btc_on_bitcoin)
    with pytest.raises(InvalidInput) as caught:
        check_account_carries(account, btc_on_bitcoin, field="settlement_account")
    assert caught.value.detail == "BTC is not carried on the ethereum network."
    assert caught.value.fields == {"settlement_account": ["BTC is not carried on the ethereum network."]}


def test_a_venue_account_without_a_network_carries_everything_its_venue_holds(btc, eth, firm_inventory):
    assert firm_inventory.network is None
    assert account_carries(firm_inventory, btc) and account_carries(firm_inventory, eth)
    check_account_carries(firm_inventory, eth)


def test_an_asset_with_no_networks_listed_is_carried_by_no_on_chain_account(eth, ethereum, coinvault):
    account = CustodyAccountFactory(venue=coinvault, network=ethereum, address="0xdef")
    assert not account_carries(account, eth)


def test_the_check_is_one_query(btc_on_bitcoin, bitcoin, coinvault, django_assert_num_queries):
    account = CustodyAccountFactory(venue=coinvault, network=bitcoin, address="bc1q2")
    with django_assert_num_queries(1):
        account_carries(account, btc_on_bitcoin)


# --- the API's networks field ---------------------------------------------------------------------


def test_the_asset_api_lists_its_networks_by_code(api, bob, eth, ethereum, tron):
    eth.networks.add(tron, ethereum)
    body = api.as_user(bob).get("/api/v1/assets/ETH/").json()
    assert body["networks"] == ["ethereum", "tron"]


def test_creating_an_asset_with_networks_sets_and_audits_them(api, bob, ethereum, tron):
    body = {"symbol": "USDT", "name": "Tether", "decimals": 6, "networks": ["ethereum", "tron"]}
    response = send(api.as_user(bob), "post", "/api/v1/assets/", body)
    assert response.status_code == 201
    assert response.json()["networks"] == ["ethereum", "tron"]
    usdt = Asset.objects.get(symbol="USDT")
    assert _links(usdt) == ["ethereum", "tron"]
    events = Events.objects.filter(pgh_obj_model="refdata.AssetNetwork", pgh_label="insert")
    assert events.count() == 2
    assert {e.pgh_context["user"] for e in events} == {bob.pk}


def test_an_update_replaces_the_set_and_leaving_it_out_keeps_it(api, bob, eth, ethereum, tron):
    client = api.as_user(bob)
    eth.networks.add(ethereum)
    assert send(client, "patch", "/api/v1/assets/ETH/", {"networks": ["tron"]}).status_code == 200
    assert _links(eth) == ["tron"]
    assert send(client, "patch", "/api/v1/assets/ETH/", {"name": "Ether (renamed)"}).status_code == 200
    assert _links(eth) == ["tron"]
    assert send(client, "patch", "/api/v1/assets/ETH/", {"networks": []}).status_code == 200
    assert _links(eth) == []


def test_an_unknown_network_is_a_400_on_the_field_and_writes_nothing(api, bob, eth, ethereum):
    before = refdata_state()
    response = send(api.as_user(bob), "patch", "/api/v1/assets/ETH/", {"networks": ["ethereum", "nope"]})
    assert_error(response, 400, "invalid", field="networks")
    assert refdata_state() == before and _links(eth) == []


def test_an_inactive_network_cannot_be_added(api, bob, eth, tron):
    tron.is_active = False
    tron.save()
    before = refdata_state()
    response = send(api.as_user(bob), "patch", "/api/v1/assets/ETH/", {"networks": ["tron"]})
    assert_error(response, 400, "invalid", field="networks")
    assert refdata_state() == before and _links(eth) == []


def test_a_retired_network_the_asset_already_had_may_stay(bob, eth, ethereum, tron):
    eth.networks.add(tron)
    tron.is_active = False
    tron.save()
    update_asset(actor=bob, asset=eth, networks=[tron, ethereum])
    assert _links(eth) == ["ethereum", "tron"]


def test_a_role_that_may_not_write_reference_data_cannot_set_networks(api, alice, eth, ethereum):
    before = refdata_state()
    response = send(api.as_user(alice), "patch", "/api/v1/assets/ETH/", {"networks": ["ethereum"]})
    assert response.status_code in (403, 404)
    assert refdata_state() == before and _links(eth) == []


# --- the admin ------------------------------------------------------------------------------------


def test_the_admin_sets_an_assets_networks_through_the_service(client, adam, eth, ethereum, tron):
    client.force_login(adam)
    form = {"name": "Ether", "decimals": 18, "is_active": "on", "carried_on": [ethereum.pk, tron.pk]}
    response = client.post(f"/admin/refdata/asset/{eth.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _links(eth) == ["ethereum", "tron"]
    events = Events.objects.filter(pgh_obj_model="refdata.AssetNetwork", pgh_label="insert")
    assert {e.pgh_context["user"] for e in events} == {adam.pk}
    page = client.get(f"/admin/refdata/asset/{eth.pk}/change/").content.decode()
    assert f'value="{tron.pk}" ' in page and "checked" in page


def test_the_admin_adds_an_asset_with_networks(client, adam, bitcoin):
    client.force_login(adam)
    form = {
        "symbol": "WBTC",
        "name": "Wrapped BTC",
        "decimals": 8,
        "is_active": "on",
        "carried_on": [bitcoin.pk],
    }
    assert client.post("/admin/refdata/asset/add/", form).status_code == 302
    assert _links(Asset.objects.get(symbol="WBTC")) == ["bitcoin"]
