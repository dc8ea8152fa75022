"""Ledger set-up for tests: a firm inventory account with stock, through the real receive service."""

from decimal import Decimal

from borrowdesk.access.services import create_desk_user
from inventory.services import receive
from tests.refdata.factories import AssetFactory, CustodyAccountFactory, PriceFactory, VenueFactory


def desk_asset(symbol="BTC", decimals=8, price="50000"):
    asset = AssetFactory(symbol=symbol, name=symbol, decimals=decimals)
    if price is not None:
        PriceFactory(asset=asset, price_usd=Decimal(price))
    return asset


def firm_account(code="INV-MAIN", purpose="inventory"):
    return CustodyAccountFactory(
        code=code, venue=VenueFactory(code="CUST1", kind="custodian"), purpose=purpose
    )


def stock(asset, account, quantity, actor=None):
    """Receive ``quantity`` into the account's available bucket (as treasury)."""
    if actor is None:
        actor = create_desk_user(username="stocker", password="stock-password-123", roles=["treasury"])
    return receive(actor=actor, asset=asset, account=account, quantity=Decimal(str(quantity)))
