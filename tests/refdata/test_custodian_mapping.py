"""Custodians' ids for the desk's accounts and assets (issue 11): who records them, and bad ones."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from borrowdesk.errors import InvalidInput, PermissionDeniedError
from borrowdesk.refdata.models import CustodianMapping
from borrowdesk.refdata.services import map_custodian_id
from tests.refdata.factories import AssetFactory, CustodyAccountFactory


@pytest.fixture
def things(db):
    return CustodyAccountFactory(code="INV-A"), AssetFactory(symbol="BTC", decimals=8)


def test_ops_maps_a_vault_and_an_asset_id(things, bob):
    account, asset = things
    map_custodian_id(actor=bob, custodian="fireblocks", kind="account", external_id="0", account=account)
    map_custodian_id(actor=bob, custodian="fireblocks", kind="asset", external_id="BTC_TEST", asset=asset)
    assert CustodianMapping.objects.count() == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"custodian": "kraken", "kind": "account", "external_id": "x"}, "custodian"),
        ({"custodian": "bitgo", "kind": "wallet", "external_id": "x"}, "kind"),
        ({"custodian": "bitgo", "kind": "account", "external_id": " "}, "external_id"),
        ({"custodian": "bitgo", "kind": "account", "external_id": "w1"}, "account"),
        ({"custodian": "bitgo", "kind": "asset", "external_id": "btc"}, "asset"),
    ],
)
def test_bad_mappings_are_refused_naming_the_field(things, bob, kwargs, field):
    with pytest.raises(InvalidInput) as refused:
        map_custodian_id(actor=bob, **kwargs)
    assert field in refused.value.fields
    assert CustodianMapping.objects.count() == 0


def test_one_external_id_maps_one_thing_per_custodian(things, bob):
    account, _asset = things
    other = CustodyAccountFactory(code="INV-B")
    map_custodian_id(actor=bob, custodian="bitgo", kind="account", external_id="w1", account=account)
    with pytest.raises(InvalidInput):
        map_custodian_id(actor=bob, custodian="bitgo", kind="account", external_id="w1", account=other)
    map_custodian_id(actor=bob, custodian="fireblocks", kind="account", external_id="w1", account=other)
    with pytest.raises(IntegrityError), transaction.atomic():  # the database says so too
        CustodianMapping.objects.create(custodian="bitgo", kind="account", external_id="w1", account=other)


def test_a_trader_may_not_map_ids(things, alice):
    account, _asset = things
    with pytest.raises(PermissionDeniedError):
        map_custodian_id(actor=alice, custodian="bitgo", kind="account", external_id="w1", account=account)
