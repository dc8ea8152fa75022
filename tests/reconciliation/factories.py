"""Statement test set-up: the desk's accounts and assets, and custodians' ids for them."""

from __future__ import annotations

from borrowdesk.refdata.models import CustodianMapping
from tests.refdata.factories import AssetFactory, CustodyAccountFactory, VenueFactory


def desk(*symbols_decimals: tuple[str, int], accounts=("INV-A", "INV-B")):
    """Assets (symbol, decimals) and firm inventory accounts at one custodian, by code/symbol."""
    venue = VenueFactory(code="CUST1", kind="custodian")
    assets = {s: AssetFactory(symbol=s, name=s, decimals=d) for s, d in symbols_decimals}
    accts = {c: CustodyAccountFactory(code=c, venue=venue, purpose="inventory") for c in accounts}
    return accts, assets


def map_account(custodian: str, external_id: str, account) -> CustodianMapping:
    return CustodianMapping.objects.create(
        custodian=custodian, kind="account", external_id=external_id, account=account
    )


def map_asset(custodian: str, external_id: str, asset) -> CustodianMapping:
    return CustodianMapping.objects.create(
        custodian=custodian, kind="asset", external_id=external_id, asset=asset
    )
