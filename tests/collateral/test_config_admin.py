"""The admin shows risk configuration and pledges read-only: writes go through the services (four eyes,
the ledger)."""

from decimal import Decimal

import pytest

from collateral.models import BorrowerLimit, HaircutRule
from tests.collateral.factories import haircut, limit, pledge
from tests.inventory.factories import desk_asset

ADMIN = "/admin/collateral/"


@pytest.fixture
def admin_client(client, adam):
    client.force_login(adam)
    return client


@pytest.fixture
def configured(desk_config, acme):
    btc = desk_asset("BTC", 8, "50000")
    return haircut(btc, "10"), limit(acme, "1000", asset_caps={btc: "2"}), pledge(acme, btc, "1")


@pytest.mark.parametrize(
    "model", ["haircutrule", "borrowerlimit", "collateralagreement", "markpolicy", "stressscenario", "pledge"]
)
def test_the_admin_lists_the_configuration(admin_client, configured, model):
    assert admin_client.get(f"{ADMIN}{model}/").status_code == 200


def test_a_limit_is_shown_with_its_caps_read_only(admin_client, configured):
    _, limit_, _ = configured
    text = admin_client.get(f"{ADMIN}borrowerlimit/{limit_.pk}/change/").content.decode()
    assert "BTC" in text and 'name="_save"' not in text


def test_the_admin_cannot_add_change_or_delete_configuration(admin_client, configured):
    rule, limit_, _ = configured
    assert admin_client.get(f"{ADMIN}haircutrule/add/").status_code == 403
    assert admin_client.post(f"{ADMIN}haircutrule/{rule.pk}/change/", {"haircut_pct": "1"}).status_code == 403
    assert admin_client.post(f"{ADMIN}borrowerlimit/{limit_.pk}/delete/", {"post": "yes"}).status_code == 403
    assert HaircutRule.objects.get().haircut_pct == Decimal(10) and BorrowerLimit.objects.exists()
