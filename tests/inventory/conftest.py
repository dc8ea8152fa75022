import pytest

from tests.inventory.factories import desk_asset, firm_account, stock


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def account(db):
    return firm_account()


@pytest.fixture
def stocked(btc, account, tess):
    stock(btc, account, "10", actor=tess)
    return account
