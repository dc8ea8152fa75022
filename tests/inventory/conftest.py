import pytest

from tests.inventory.factories import active_loan, desk_asset, firm_account, stock


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def account(db):
    return firm_account()


@pytest.fixture
def stocked(btc, account, tess):
    """10 BTC available in the firm's INV-MAIN account."""
    stock(btc, account, "10", actor=tess)
    return account


@pytest.fixture
def loan(stocked, btc, acme, bob):
    """ACME borrows 4 BTC at 365 bps for 10 days, delivered today: 6 available, 4 on loan."""
    return active_loan(
        actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="4", rate_bps="365", term_days=10
    )
