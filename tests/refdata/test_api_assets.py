"""/api/v1/assets/: list, detail by symbol, create, update; bad input is a 400 that writes nothing."""

import pytest

from borrowdesk.refdata.models import Asset
from tests.refdata.factories import AssetFactory
from tests.refdata.helpers import assert_error, refdata_state, send

URL = "/api/v1/assets/"
SOL = {"symbol": "SOL", "name": "Solana", "decimals": 9}


def test_any_user_lists_assets_by_symbol(api, alice, btc, eth):
    body = api.as_user(alice).get(URL).json()
    assert body["count"] == 2
    assert body["results"] == [
        {
            "symbol": "BTC",
            "name": "Bitcoin",
            "decimals": 8,
            "is_stablecoin": False,
            "is_active": True,
            "networks": [],
        },
        {
            "symbol": "ETH",
            "name": "Ether",
            "decimals": 18,
            "is_stablecoin": False,
            "is_active": True,
            "networks": [],
        },
    ]


def test_assets_filter_by_stablecoin(api, alice, btc):
    AssetFactory(symbol="USDC", decimals=6, is_stablecoin=True)
    body = api.as_user(alice).get(f"{URL}?is_stablecoin=true").json()
    assert [a["symbol"] for a in body["results"]] == ["USDC"]


def test_an_asset_detail_is_found_by_symbol(api, alice, btc):
    response = api.as_user(alice).get(f"{URL}BTC/")
    assert (response.status_code, response.json()["name"]) == (200, "Bitcoin")


def test_ops_creates_an_asset_and_gets_it_back(api, bob):
    response = send(api.as_user(bob), "post", URL, {**SOL, "is_stablecoin": False})
    assert response.status_code == 201, response.json()
    assert response.json() == {**SOL, "is_stablecoin": False, "is_active": True, "networks": []}
    assert Asset.objects.filter(symbol="SOL", decimals=9).exists()


def test_put_replaces_the_fields_and_answers_the_object(api, bob, btc):
    response = send(api.as_user(bob), "put", f"{URL}BTC/", {"name": "Bitcoin (native)", "decimals": 10})
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "symbol": "BTC",
        "name": "Bitcoin (native)",
        "decimals": 10,
        "is_stablecoin": False,
        "is_active": True,
        "networks": [],
    }
    btc.refresh_from_db()
    assert (btc.name, btc.decimals) == ("Bitcoin (native)", 10)


def test_put_may_repeat_the_symbol(api, bob, btc):
    response = send(
        api.as_user(bob), "put", f"{URL}BTC/", {"symbol": "BTC", "name": "Bitcoin", "decimals": 8}
    )
    assert response.status_code == 200


def test_put_without_a_required_field_is_400_and_changes_nothing(api, bob, btc):
    before = refdata_state()
    assert_error(send(api.as_user(bob), "put", f"{URL}BTC/", {"name": "Bitcoin"}), 400, "invalid", "decimals")
    assert refdata_state() == before


def test_patch_deactivates_an_asset(api, bob, btc):
    response = send(api.as_user(bob), "patch", f"{URL}BTC/", {"is_active": False})
    assert (response.status_code, response.json()["is_active"]) == (200, False)
    assert Asset.objects.get(symbol="BTC").is_active is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"symbol": "XBT"}, "symbol"),  # a symbol never changes
        ({"decimals": 2}, "decimals"),  # decimals never go down
        ({"decimals": 19}, "decimals"),
        ({"decimals": 8.5}, "decimals"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_a_bad_update_is_400_and_changes_nothing(api, bob, btc, change, field):
    before = refdata_state()
    assert_error(send(api.as_user(bob), "patch", f"{URL}BTC/", change), 400, "invalid", field)
    assert refdata_state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"symbol": "BTC"}, "symbol"),  # taken
        ({"symbol": "sol"}, "symbol"),
        ({"symbol": "S-OL!"}, "symbol"),
        ({"symbol": ".SOL"}, "symbol"),
        ({"symbol": "S" * 17}, "symbol"),
        ({"symbol": None}, "symbol"),
        ({"decimals": -1}, "decimals"),
        ({"decimals": 19}, "decimals"),
        ({"decimals": 1.5}, "decimals"),
        ({"decimals": "nine"}, "decimals"),
        ({"decimals": None}, "decimals"),
        ({"name": "x" * 101}, "name"),
        ({"is_stablecoin": "perhaps"}, "is_stablecoin"),
    ],
)
def test_a_bad_asset_is_400_and_writes_nothing(api, bob, btc, change, field):
    before = refdata_state()
    assert_error(send(api.as_user(bob), "post", URL, {**SOL, **change}), 400, "invalid", field)
    assert refdata_state() == before


def test_an_asset_without_a_name_is_400_and_writes_nothing(api, bob):
    before = refdata_state()
    assert_error(
        send(api.as_user(bob), "post", URL, {"symbol": "SOL", "decimals": 9}), 400, "invalid", "name"
    )
    assert refdata_state() == before


def test_a_trader_cannot_create_an_asset(api, alice):
    before = refdata_state()
    assert_error(send(api.as_user(alice), "post", URL, SOL), 403, "permission_denied")
    assert refdata_state() == before


def test_risk_cannot_update_an_asset(api, rita, btc):
    before = refdata_state()
    assert_error(send(api.as_user(rita), "patch", f"{URL}BTC/", {"name": "x"}), 403, "permission_denied")
    assert refdata_state() == before
