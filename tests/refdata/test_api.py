"""What every reference-data endpoint shares: authentication, no DELETE, the error shape, the schema.

Each resource's own behaviour is in test_api_<resource>.py.
"""

import re

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.plumbing import _load_enum_name_overrides
from drf_spectacular.settings import patched_settings, spectacular_settings

from tests.refdata.helpers import assert_error, refdata_state, send

LISTS = ["assets", "networks", "venues", "counterparties", "custody-accounts", "prices"]
DETAILS = [
    "/api/v1/assets/BTC/",
    "/api/v1/networks/ethereum/",
    "/api/v1/venues/COINVAULT/",
    "/api/v1/counterparties/ACME/",
    "/api/v1/custody-accounts/FIRM-INV/",
]


@pytest.fixture
def rows(btc, ethereum, coinvault, acme, firm_inventory):
    """One row of each resource, addressed by DETAILS."""


@pytest.mark.parametrize("resource", LISTS)
def test_an_anonymous_list_is_401_not_authenticated(api, db, resource):
    assert_error(api.get(f"/api/v1/{resource}/"), 401, "not_authenticated")


@pytest.mark.parametrize("resource", LISTS)
def test_an_anonymous_create_is_401_and_writes_nothing(api, db, resource):
    before = refdata_state()
    assert_error(send(api, "post", f"/api/v1/{resource}/", {"code": "X"}), 401, "not_authenticated")
    assert refdata_state() == before


@pytest.mark.parametrize("url", DETAILS)
def test_an_anonymous_detail_or_update_is_401(api, rows, url):
    before = refdata_state()
    assert_error(api.get(url), 401, "not_authenticated")
    assert_error(send(api, "patch", url, {"name": "x"}), 401, "not_authenticated")
    assert refdata_state() == before


@pytest.mark.parametrize("url", DETAILS)
@pytest.mark.parametrize("persona", ["adam", "bob", "alice"])
def test_delete_is_405_for_everyone_and_deletes_nothing(api, personas, rows, url, persona):
    # Even admin, who holds the delete permission: the ledger refers to reference data.
    before = refdata_state()
    assert_error(api.as_user(personas[persona]).delete(url), 405, "method_not_allowed")
    assert refdata_state() == before


@pytest.mark.parametrize("resource", LISTS)
def test_put_on_a_list_is_405(api, bob, resource):
    assert_error(send(api.as_user(bob), "put", f"/api/v1/{resource}/", {}), 405, "method_not_allowed")


@pytest.mark.parametrize("url", ["/api/v1/prices/1/", "/api/v1/prices/BTC/"])
def test_prices_have_no_detail(api, bob, btc, url):
    # Not routed at all (so Django's own 404 page, not the API's error body).
    assert api.as_user(bob).get(url).status_code == 404


@pytest.mark.parametrize("resource", LISTS)
def test_malformed_json_is_400_parse_error_and_writes_nothing(api, bob, pete, resource):
    before = refdata_state()
    writer = pete if resource == "prices" else bob  # prices come from the feed
    response = send(api.as_user(writer), "post", f"/api/v1/{resource}/", '{"code": "X",')
    assert_error(response, 400, "parse_error")
    assert refdata_state() == before


@pytest.mark.parametrize("url", DETAILS)
def test_malformed_json_on_update_is_400_parse_error_and_changes_nothing(api, bob, rows, url):
    before = refdata_state()
    assert_error(send(api.as_user(bob), "patch", url, "{nope}"), 400, "parse_error")
    assert refdata_state() == before


@pytest.mark.parametrize("resource", ["assets", "networks", "venues", "counterparties", "custody-accounts"])
def test_an_unknown_code_is_404_not_found(api, bob, resource):
    assert_error(api.as_user(bob).get(f"/api/v1/{resource}/NOPE/"), 404, "not_found")


def test_an_unknown_code_on_update_is_404_and_writes_nothing(api, bob):
    before = refdata_state()
    assert_error(
        send(api.as_user(bob), "patch", "/api/v1/counterparties/NOPE/", {"kind": "lender"}), 404, "not_found"
    )
    assert refdata_state() == before


def test_a_code_with_dots_is_addressable(api, bob, coinvault):
    send(
        api.as_user(bob),
        "post",
        "/api/v1/custody-accounts/",
        {"code": "FIRM.INV.2", "venue": "COINVAULT", "purpose": "inventory"},
    )
    assert api.get("/api/v1/custody-accounts/FIRM.INV.2/").json()["code"] == "FIRM.INV.2"


def test_a_list_is_paginated_with_page_size(api, bob, btc, eth):
    body = api.as_user(bob).get("/api/v1/assets/?page_size=1").json()
    assert (body["count"], len(body["results"]), body["previous"]) == (2, 1, None)
    assert body["next"].endswith("page=2&page_size=1")


def test_an_invalid_filter_value_is_400_invalid(api, bob):
    assert_error(api.as_user(bob).get("/api/v1/venues/?kind=casino"), 400, "invalid", "kind")


# --- the OpenAPI schema ---------------------------------------------------------------------------


def test_the_schema_answers_200(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/custody-accounts/{code}/" in response.content


# The two "kind" choice sets (venue, counterparty) need names in SPECTACULAR_SETTINGS'
# ENUM_NAME_OVERRIDES, or drf-spectacular warns about the collision; applied here until settings.py has them.
ENUM_NAMES = {
    "VenueKindEnum": "borrowdesk.refdata.models.VenueKind",
    "CounterpartyKindEnum": "borrowdesk.refdata.models.CounterpartyKind",
}
OURS = re.compile(r"refdata|Asset|Network|Venue|Counterpart|CustodyAccount|Price|\"kind\"")


def test_the_schema_of_reference_data_generates_without_warnings(db):
    overrides = {**ENUM_NAMES, **spectacular_settings.ENUM_NAME_OVERRIDES}
    GENERATOR_STATS.reset()
    _load_enum_name_overrides.cache_clear()
    try:
        with patched_settings({"ENUM_NAME_OVERRIDES": overrides}), GENERATOR_STATS.silence():
            schema = SchemaGenerator().get_schema(request=None, public=True)
        problems = [
            m for m in [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache] if OURS.search(m)
        ]
    finally:
        GENERATOR_STATS.reset()
        _load_enum_name_overrides.cache_clear()
    assert problems == []
    assert "/api/v1/prices/" in schema["paths"]
    assert "delete" not in schema["paths"]["/api/v1/counterparties/{code}/"]
