"""Who may read and who may write each reference endpoint: every role × every endpoint.

Reads: every person (a trader sees only the counterparties granted to them and those counterparties'
accounts, never the firm's wallets); the price feed (``pricing``) reads assets, networks, venues and
prices only. Writes: ``refdata.write`` (ops, ops_senior, admin) and, for prices, the feed and the
administrator's override (access/policy.py); everyone else gets 403 and nothing is written.
"""

import pytest

from borrowdesk.access.policy import roles_for
from borrowdesk.access.roles import ROLES
from tests.conftest import ROLE_PERSONA
from tests.refdata.factories import PriceFactory
from tests.refdata.helpers import assert_error, refdata_state, send

WRITERS = {"ops", "ops_senior", "admin"}
PRICE_WRITERS = {"pricing", "admin"}  # no approving role sets a price: prices decide approval paths
SCOPED = ("counterparties", "custody-accounts")  # not the feed's to read

ENDPOINTS = {
    "assets": {
        "key": "symbol",
        "detail": "BTC",
        "create": {"symbol": "SOL", "name": "Solana", "decimals": 9},
        "update": {"name": "Bitcoin (native)"},
    },
    "networks": {
        "key": "code",
        "detail": "ethereum",
        "create": {"code": "solana", "name": "Solana"},
        "update": {"name": "Ethereum mainnet"},
    },
    "venues": {
        "key": "code",
        "detail": "COINVAULT",
        "create": {"code": "KRAKEN", "name": "Kraken", "kind": "exchange"},
        "update": {"kind": "prime_broker"},
    },
    "counterparties": {
        "key": "code",
        "detail": "ACME",
        "create": {"code": "INITECH", "legal_name": "Initech Ltd", "kind": "client", "jurisdiction": "US"},
        "update": {"legal_name": "Acme Trading plc"},  # the risk rating is compliance's (KYC)
    },
    "custody-accounts": {
        "key": "code",
        "detail": "ACME-COLL",
        "create": {"code": "FIRM-TREAS", "venue": "COINVAULT", "purpose": "treasury"},
        "update": {"purpose": "settlement"},
    },
    "prices": {
        "key": "asset",
        "detail": None,
        "create": {"asset": "BTC", "price_usd": "64000"},
        "update": None,
    },
}

# What each list shows: everything to desk staff, the granted scope to a trader (alice acts for ACME).
EVERYONE_SEES = {
    "assets": ["BTC"],
    "networks": ["ethereum"],
    "venues": ["COINVAULT"],
    "counterparties": ["ACME", "GLOBEX"],
    "custody-accounts": ["ACME-COLL", "FIRM-INV", "GLOBEX-COLL"],
    "prices": ["BTC"],
}
TRADER_SEES = {**EVERYONE_SEES, "counterparties": ["ACME"], "custody-accounts": ["ACME-COLL"]}

MATRIX = [(role, resource) for role in ROLES for resource in ENDPOINTS]
DETAIL_MATRIX = [(role, resource) for role, resource in MATRIX if ENDPOINTS[resource]["detail"]]


@pytest.fixture
def world(btc, ethereum, coinvault, acme, globex, firm_inventory, acme_wallet, globex_wallet):
    PriceFactory(asset=btc, price_usd="60000")


@pytest.fixture
def client_as(api, personas):
    return lambda role: api.as_user(personas[ROLE_PERSONA[role]])


def _reads(role: str, resource: str) -> bool:
    return role in roles_for("refdata.counterparties.view" if resource in SCOPED else "refdata.view")


def test_the_feed_reads_prices_but_not_counterparties():
    assert _reads("pricing", "prices") and not _reads("pricing", "counterparties")


@pytest.mark.parametrize(("role", "resource"), MATRIX)
def test_every_role_may_read_every_list_within_its_scope(client_as, world, role, resource):
    response = client_as(role).get(f"/api/v1/{resource}/")
    if not _reads(role, resource):
        assert_error(response, 403, "permission_denied")
        return
    assert response.status_code == 200
    key = ENDPOINTS[resource]["key"]
    seen = [row[key] for row in response.json()["results"]]
    assert seen == (TRADER_SEES if role == "trader" else EVERYONE_SEES)[resource]


@pytest.mark.parametrize(("role", "resource"), DETAIL_MATRIX)
def test_every_role_may_read_a_detail_within_its_scope(client_as, world, role, resource):
    code = ENDPOINTS[resource]["detail"]
    response = client_as(role).get(f"/api/v1/{resource}/{code}/")
    if not _reads(role, resource):
        assert_error(response, 403, "permission_denied")
        return
    assert response.status_code == 200
    assert response.json()[ENDPOINTS[resource]["key"]] == code


@pytest.mark.parametrize(("role", "resource"), MATRIX)
def test_only_the_policys_writers_may_create(client_as, world, role, resource):
    before = refdata_state()
    response = send(client_as(role), "post", f"/api/v1/{resource}/", ENDPOINTS[resource]["create"])
    if role in (PRICE_WRITERS if resource == "prices" else WRITERS):
        assert response.status_code == 201, response.json()
        assert refdata_state() != before
    else:
        assert_error(response, 403, "permission_denied")
        assert refdata_state() == before


@pytest.mark.parametrize(("role", "resource"), DETAIL_MATRIX)
def test_only_ops_ops_senior_and_admin_may_update(client_as, world, role, resource):
    spec = ENDPOINTS[resource]
    before = refdata_state()
    response = send(client_as(role), "patch", f"/api/v1/{resource}/{spec['detail']}/", spec["update"])
    if role in WRITERS:
        assert response.status_code == 200, response.json()
        assert {k: response.json()[k] for k in spec["update"]} == spec["update"]
    else:
        assert_error(response, 403, "permission_denied")
        assert refdata_state() == before
