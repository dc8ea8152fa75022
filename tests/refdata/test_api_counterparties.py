"""/api/v1/counterparties/: list (scoped for traders), detail by code, create, update, bad input.

A trader's scope is tested in tests/access/test_trader_scope.py.
"""

import pytest

from borrowdesk.refdata.models import Counterparty
from tests.refdata.factories import CounterpartyFactory
from tests.refdata.helpers import assert_error, refdata_state, send

URL = "/api/v1/counterparties/"
INITECH = {"code": "INITECH", "legal_name": "Initech Ltd", "kind": "lender", "jurisdiction": "US"}


def test_desk_staff_list_every_counterparty(api, rita, acme, globex):
    body = api.as_user(rita).get(URL).json()
    assert body["count"] == 2
    assert body["results"][0] == {
        "code": "ACME",
        "legal_name": "Acme Trading Ltd",
        "kind": "client",
        "jurisdiction": "GB",
        "risk_rating": "low",
        "is_active": True,
    }


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("kind=lender", ["LENDCO"]),
        ("risk_rating=medium", ["GLOBEX", "LENDCO"]),
        ("jurisdiction=CH", ["LENDCO"]),
        ("kind=client&risk_rating=low", ["ACME"]),
        ("is_active=false", []),
    ],
)
def test_counterparties_filter_by_kind_risk_and_jurisdiction(api, bob, acme, globex, query, codes):
    CounterpartyFactory(code="LENDCO", kind="lender", jurisdiction="CH", risk_rating="medium")
    body = api.as_user(bob).get(f"{URL}?{query}").json()
    assert [c["code"] for c in body["results"]] == codes


def test_a_counterparty_detail_is_found_by_code(api, mona, acme):
    response = api.as_user(mona).get(f"{URL}ACME/")
    assert (response.status_code, response.json()["legal_name"]) == (200, "Acme Trading Ltd")


def test_ops_creates_a_counterparty_medium_risk_by_default(api, bob):
    response = send(api.as_user(bob), "post", URL, INITECH)
    assert response.status_code == 201, response.json()
    assert response.json() == {**INITECH, "risk_rating": "medium", "is_active": True}
    assert Counterparty.objects.filter(code="INITECH", kind="lender").exists()


def test_ops_replaces_a_counterparty_with_put(api, bob, acme):
    body = {"legal_name": "Acme Holdings plc", "kind": "lender", "jurisdiction": "IE"}
    response = send(api.as_user(bob), "put", f"{URL}ACME/", body)
    assert (response.status_code, response.json()) == (
        200,
        {"code": "ACME", **body, "risk_rating": "low", "is_active": True},
    )
    acme.refresh_from_db()
    assert (acme.legal_name, acme.kind, acme.jurisdiction, acme.risk_rating) == (
        "Acme Holdings plc",
        "lender",
        "IE",
        "low",
    )


@pytest.mark.parametrize("method", ["patch", "put"])
def test_the_risk_rating_is_read_only_here_it_is_compliances(api, bob, adam, acme, method):
    """The probe: ops lowered a rating to shorten its own approval path. The rating is set with the KYC."""
    before = refdata_state()
    body = {"legal_name": "Acme Trading Ltd", "kind": "client", "jurisdiction": "US", "risk_rating": "high"}
    for user in (bob, adam):
        response = send(api.as_user(user), method, f"{URL}ACME/", body)
        assert assert_error(response, 400, "invalid", "risk_rating")["fields"]["risk_rating"] == [
            "Set by compliance with the counterparty's KYC."
        ]
    assert refdata_state() == before


def test_a_new_counterparty_cannot_be_given_a_risk_rating(api, bob):
    before = refdata_state()
    response = send(api.as_user(bob), "post", URL, {**INITECH, "risk_rating": "low"})
    assert_error(response, 400, "invalid", "risk_rating")
    assert refdata_state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "ACME"}, "code"),  # taken
        ({"code": "initech"}, "code"),
        ({"code": "INI TECH"}, "code"),
        ({"code": "_INITECH"}, "code"),
        ({"code": "I" * 33}, "code"),
        ({"code": ""}, "code"),
        ({"legal_name": "x" * 201}, "legal_name"),
        ({"legal_name": ""}, "legal_name"),
        ({"kind": "friend"}, "kind"),
        ({"jurisdiction": "us"}, "jurisdiction"),
        ({"jurisdiction": "USA"}, "jurisdiction"),
        ({"jurisdiction": "U"}, "jurisdiction"),
        ({"jurisdiction": "1A"}, "jurisdiction"),
        ({"risk_rating": "extreme"}, "risk_rating"),
        ({"is_active": "maybe"}, "is_active"),
    ],
)
def test_a_bad_counterparty_is_400_and_writes_nothing(api, bob, acme, change, field):
    before = refdata_state()
    assert_error(send(api.as_user(bob), "post", URL, {**INITECH, **change}), 400, "invalid", field)
    assert refdata_state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "ACME2"}, "code"),  # a code never changes
        ({"jurisdiction": "gb"}, "jurisdiction"),
        ({"kind": "friend"}, "kind"),
        ({"risk_rating": "none"}, "risk_rating"),
        ({"legal_name": "x" * 201}, "legal_name"),
    ],
)
def test_a_bad_counterparty_update_is_400_and_changes_nothing(api, bob, acme, change, field):
    before = refdata_state()
    assert_error(send(api.as_user(bob), "patch", f"{URL}ACME/", change), 400, "invalid", field)
    assert refdata_state() == before


def test_every_bad_field_is_named_at_once(api, bob):
    body = assert_error(
        send(api.as_user(bob), "post", URL, {**INITECH, "code": "bad code", "jurisdiction": "us"}),
        400,
        "invalid",
    )
    assert set(body["fields"]) == {"code", "jurisdiction"}


def test_a_trader_cannot_create_a_counterparty(api, alice):
    before = refdata_state()
    assert_error(send(api.as_user(alice), "post", URL, INITECH), 403, "permission_denied")
    assert refdata_state() == before


def test_a_trader_cannot_update_even_their_own_counterparty(api, alice, acme):
    before = refdata_state()
    assert_error(
        send(api.as_user(alice), "patch", f"{URL}ACME/", {"risk_rating": "low"}), 403, "permission_denied"
    )
    assert refdata_state() == before
