"""Every reference-data list runs a fixed number of queries, whatever the number of rows.

Each test makes one request first (warming per-process caches such as ContentType's), then adds
rows and counts the queries of the same request.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from borrowdesk.access.services import grant_counterparty
from tests.refdata.factories import (
    AssetFactory,
    CounterpartyFactory,
    CustodyAccountFactory,
    NetworkFactory,
    PriceFactory,
    VenueFactory,
)

ROWS = 30


@pytest.fixture
def ops_client(api, bob):
    return api.as_user(bob)


@pytest.fixture
def trader_client(api, alice):
    return api.as_user(alice)


def _list(client, url, expected_rows):
    response = client.get(url)
    assert response.status_code == 200
    assert response.json()["count"] == expected_rows
    return response


def test_the_asset_list_runs_five_queries(ops_client, django_assert_num_queries):
    _list(ops_client, "/api/v1/assets/", 0)
    for asset in AssetFactory.create_batch(ROWS):
        asset.networks.add(NetworkFactory())
    # 1. the token and its user (TokenAuthentication)
    # 2. the user's roles (the access policy: refdata.view)
    # 3. COUNT of assets (pagination)
    # 4. the page of assets
    # 5. the networks of the page's assets (prefetched)
    with django_assert_num_queries(5):
        _list(ops_client, "/api/v1/assets/", ROWS)


def test_the_network_list_runs_four_queries(ops_client, django_assert_num_queries):
    _list(ops_client, "/api/v1/networks/", 0)
    NetworkFactory.create_batch(ROWS)
    # 1. the token and its user
    # 2. the user's roles (the access policy: refdata.view)
    # 3. COUNT of networks
    # 4. the page of networks
    with django_assert_num_queries(4):
        _list(ops_client, "/api/v1/networks/", ROWS)


def test_the_venue_list_runs_four_queries(ops_client, django_assert_num_queries):
    _list(ops_client, "/api/v1/venues/", 0)
    VenueFactory.create_batch(ROWS)
    # 1. the token and its user
    # 2. the user's roles (the access policy: refdata.view)
    # 3. COUNT of venues
    # 4. the page of venues
    with django_assert_num_queries(4):
        _list(ops_client, "/api/v1/venues/", ROWS)


def test_the_counterparty_list_runs_five_queries(ops_client, acme, globex, django_assert_num_queries):
    _list(ops_client, "/api/v1/counterparties/", 2)
    CounterpartyFactory.create_batch(ROWS)
    # 1. the token and its user
    # 2. the user's roles (the access policy; is the list scoped?)
    # 3. COUNT of counterparties
    # 4. the page of counterparties
    # 5. the access log's row (the list is a sensitive read)
    with django_assert_num_queries(5):
        _list(ops_client, "/api/v1/counterparties/", ROWS + 2)


def test_a_traders_counterparty_list_runs_five_queries(trader_client, alice, acme, django_assert_num_queries):
    _list(trader_client, "/api/v1/counterparties/", 1)
    for counterparty in CounterpartyFactory.create_batch(ROWS):
        grant_counterparty(user=alice, counterparty=counterparty)
    # 1. the token and its user
    # 2. the user's roles (trader only: scope to the grants)
    # 3. COUNT of the granted counterparties (the grants are a join, not a query of their own)
    # 4. the page of granted counterparties
    # 5. the access log's row (the list is a sensitive read)
    with django_assert_num_queries(5):
        _list(trader_client, "/api/v1/counterparties/", ROWS + 1)


def test_the_custody_account_list_runs_four_queries(
    ops_client, acme, coinvault, ethereum, django_assert_num_queries
):
    _list(ops_client, "/api/v1/custody-accounts/", 0)
    for i in range(ROWS):
        CustodyAccountFactory(
            venue=coinvault, network=ethereum, address=f"0x{i}", owner=acme if i % 2 else None
        )
    # 1. the token and its user
    # 2. the user's roles (is the user a trader only?)
    # 3. COUNT of accounts
    # 4. the page of accounts with their venue, network and owner (one query, joined)
    with django_assert_num_queries(4):
        _list(ops_client, "/api/v1/custody-accounts/", ROWS)


def test_a_traders_custody_account_list_runs_four_queries(
    trader_client, acme, globex, coinvault, django_assert_num_queries
):
    _list(trader_client, "/api/v1/custody-accounts/", 0)
    for i in range(ROWS):
        CustodyAccountFactory(venue=coinvault, owner=[None, acme, globex][i % 3])
    # 1. the token and its user
    # 2. the user's roles (trader only: the granted counterparties' accounts, never the firm's)
    # 3. COUNT of visible accounts (the grants are a subquery)
    # 4. the page of visible accounts with their venue, network and owner
    with django_assert_num_queries(4):
        _list(trader_client, "/api/v1/custody-accounts/", ROWS // 3)


def test_the_price_list_runs_four_queries(ops_client, django_assert_num_queries):
    _list(ops_client, "/api/v1/prices/", 0)
    now = timezone.now()
    for asset in AssetFactory.create_batch(ROWS):
        for hours in (1, 2, 3):
            PriceFactory(asset=asset, as_of=now - timedelta(hours=hours))
    # 1. the token and its user
    # 2. the user's roles (the access policy: refdata.view)
    # 3. COUNT of the marks (DISTINCT ON asset, in a subquery)
    # 4. the page of marks with their asset (one query, joined)
    with django_assert_num_queries(4):
        _list(ops_client, "/api/v1/prices/", ROWS)
