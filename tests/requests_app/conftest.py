from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance.models import KycProfile
from tests.inventory.factories import desk_asset, firm_account, stock


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def inventory_account(db):
    return firm_account()


@pytest.fixture
def stocked(btc, inventory_account):
    """10 BTC available in the firm's inventory account."""
    stock(btc, inventory_account, "10")
    return inventory_account


@pytest.fixture
def cleared_acme(acme):
    KycProfile.objects.create(
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=(timezone.now() + timedelta(days=365)).date(),
    )
    return acme


@pytest.fixture
def submit(alice, cleared_acme, btc):
    """Submit a request as alice for ACME (cleared); keyword overrides."""
    from requests_app.services import submit_request

    def _submit(**overrides):
        fields = {"actor": alice, "counterparty": cleared_acme, "asset": btc, "quantity": Decimal("1")}
        fields.update(overrides)
        return submit_request(**fields)

    return _submit
