"""The Django admin of reference data: lists with search, saves through the services, no deletes."""

import pytest
from pghistory.models import Events

from borrowdesk.refdata.models import Counterparty, CustodyAccount
from tests.refdata.factories import PriceFactory
from tests.refdata.helpers import refdata_state

ADMIN = "/admin/refdata/"
INITECH = {
    "code": "INITECH",
    "legal_name": "Initech Ltd",
    "kind": "client",
    "jurisdiction": "US",
    "is_active": "on",
}


@pytest.fixture
def admin_client(client, adam):
    client.force_login(adam)
    return client


@pytest.mark.parametrize(
    ("model", "query", "shown"),
    [
        ("asset", "bit", "BTC"),
        ("network", "ether", "ethereum"),
        ("venue", "coinv", "COINVAULT"),
        ("counterparty", "acme", "Acme Trading Ltd"),
        ("custodyaccount", "0xacme", "ACME-COLL"),
        ("price", "BTC", "64000"),
    ],
)
def test_the_admin_lists_and_searches_each_model(
    admin_client, btc, ethereum, acme_wallet, model, query, shown
):
    PriceFactory(asset=btc, price_usd="64000")
    response = admin_client.get(f"{ADMIN}{model}/?q={query}")
    assert response.status_code == 200
    assert shown in response.content.decode()


def test_adding_a_counterparty_in_the_admin_is_audited_as_the_admin(admin_client, adam):
    response = admin_client.post(f"{ADMIN}counterparty/add/", INITECH)
    assert response.status_code == 302
    counterparty = Counterparty.objects.get(code="INITECH")
    [event] = Events.objects.filter(pgh_obj_model="refdata.Counterparty", pgh_obj_id=str(counterparty.pk))
    assert event.pgh_context["user"] == adam.pk


def test_changing_a_counterparty_in_the_admin_goes_through_the_service(admin_client, adam, acme):
    # The risk rating is read-only here (compliance's, set with the KYC): a posted one is ignored.
    response = admin_client.post(f"{ADMIN}counterparty/{acme.pk}/change/", {**INITECH, "risk_rating": "high"})
    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.code, acme.legal_name, acme.risk_rating) == ("ACME", "Initech Ltd", "low")  # code read-only
    [event] = Events.objects.filter(
        pgh_obj_model="refdata.Counterparty", pgh_obj_id=str(acme.pk), pgh_label="update"
    )
    assert event.pgh_context["user"] == adam.pk


def test_a_malformed_code_in_the_admin_is_a_form_error_and_writes_nothing(admin_client):
    before = refdata_state()
    response = admin_client.post(f"{ADMIN}counterparty/add/", {**INITECH, "code": "initech"})
    assert response.status_code == 200  # the form again, with its errors
    assert response.context["adminform"].form.errors
    assert refdata_state() == before


def test_a_rule_only_the_service_knows_is_reported_and_writes_nothing(admin_client, btc):
    # The form allows any decimals from 0 to 18; the service refuses lowering them.
    before = refdata_state()
    response = admin_client.post(
        f"{ADMIN}asset/{btc.pk}/change/", {"name": "Bitcoin", "decimals": "2", "is_active": "on"}, follow=True
    )
    assert response.status_code == 200
    assert "Cannot go below 8" in response.content.decode()
    assert refdata_state() == before


def test_adding_an_account_in_the_admin_uses_the_service(admin_client, coinvault, acme):
    response = admin_client.post(
        f"{ADMIN}custodyaccount/add/",
        {
            "code": "ACME-W9",
            "venue": coinvault.pk,
            "owner": acme.pk,
            "purpose": "collateral",
            "address": "",
            "network": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert CustodyAccount.objects.get(code="ACME-W9").owner == acme


@pytest.mark.parametrize("model", ["asset", "network", "venue", "counterparty", "custodyaccount"])
def test_the_admin_deletes_nothing(admin_client, btc, ethereum, coinvault, acme, firm_inventory, model):
    obj = {
        "asset": btc,
        "network": ethereum,
        "venue": coinvault,
        "counterparty": acme,
        "custodyaccount": firm_inventory,
    }[model]
    before = refdata_state()
    assert admin_client.post(f"{ADMIN}{model}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert refdata_state() == before


def test_prices_are_read_only_in_the_admin(admin_client, btc):
    price = PriceFactory(asset=btc)
    assert admin_client.get(f"{ADMIN}price/add/").status_code == 403
    before = refdata_state()
    admin_client.post(f"{ADMIN}price/{price.pk}/change/", {"price_usd": "1"})
    assert refdata_state() == before


def test_a_non_staff_user_is_sent_to_the_admin_login(client, bob):
    client.force_login(bob)
    response = client.get(f"{ADMIN}counterparty/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_risk_rating_is_shown_read_only_in_the_admin(admin_client, acme):
    form = admin_client.get(f"{ADMIN}counterparty/{acme.pk}/change/").context["adminform"].form
    assert "risk_rating" not in form.fields


@pytest.mark.parametrize("model", ["counterparty", "custodyaccount"])
def test_opening_a_sensitive_records_admin_page_is_logged(admin_client, adam, acme_wallet, model):
    from borrowdesk.access.models import AccessLog

    obj = acme_wallet.owner if model == "counterparty" else acme_wallet
    assert admin_client.get(f"{ADMIN}{model}/{obj.pk}/change/").status_code == 200
    entry = AccessLog.objects.get()
    assert (entry.user, entry.view_name, entry.object_ref) == (
        adam,
        f"admin:refdata_{model}_change",
        f"object_id={obj.pk}",
    )


def test_the_admin_list_of_assets_is_not_a_sensitive_read(admin_client, btc):
    from borrowdesk.access.models import AccessLog

    assert admin_client.get(f"{ADMIN}asset/{btc.pk}/change/").status_code == 200
    assert not AccessLog.objects.exists()


def test_a_custodian_mapping_is_added_in_the_admin_through_the_service_and_not_changed(
    admin_client, coinvault
):
    from borrowdesk.refdata.models import CustodianMapping

    account = CustodyAccount.objects.create(code="INV-FB", venue=coinvault, purpose="inventory")
    response = admin_client.post(
        f"{ADMIN}custodianmapping/add/",
        {
            "custodian": "fireblocks",
            "kind": "account",
            "external_id": "12",
            "account": account.pk,
            "asset": "",
        },
    )
    assert response.status_code == 302
    mapping = CustodianMapping.objects.get()
    assert (mapping.external_id, mapping.account) == ("12", account)
    assert admin_client.get(f"{ADMIN}custodianmapping/").status_code == 200
    assert (
        admin_client.post(f"{ADMIN}custodianmapping/{mapping.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert CustodianMapping.objects.count() == 1
