"""Reference data the refdata tests share: a few named rows, like the personas."""

import pytest

from tests.refdata.factories import AssetFactory, CustodyAccountFactory, NetworkFactory, VenueFactory


@pytest.fixture
def btc(db):
    return AssetFactory(symbol="BTC", name="Bitcoin", decimals=8)


@pytest.fixture
def eth(db):
    return AssetFactory(symbol="ETH", name="Ether", decimals=18)


@pytest.fixture
def ethereum(db):
    return NetworkFactory(code="ethereum", name="Ethereum")


@pytest.fixture
def coinvault(db):
    return VenueFactory(code="COINVAULT", name="CoinVault Custody", kind="custodian")


@pytest.fixture
def firm_inventory(coinvault):
    """The firm's inventory account at CoinVault (owner null = the firm)."""
    return CustodyAccountFactory(code="FIRM-INV", venue=coinvault, purpose="inventory")


@pytest.fixture
def acme_wallet(acme, coinvault, ethereum):
    return CustodyAccountFactory(
        code="ACME-COLL",
        venue=coinvault,
        network=ethereum,
        address="0xacme",
        owner=acme,
        purpose="collateral",
    )


@pytest.fixture
def globex_wallet(globex, coinvault, ethereum):
    return CustodyAccountFactory(
        code="GLOBEX-COLL",
        venue=coinvault,
        network=ethereum,
        address="0xglobex",
        owner=globex,
        purpose="collateral",
    )
