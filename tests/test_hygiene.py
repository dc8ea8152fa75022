"""No input crashes it: NUL bytes, unpaired surrogates, deep JSON and big bodies answer 4xx.

Each case below answered 500 before (issue 7, section 3): PostgreSQL refuses a NUL in a text value,
and a lone surrogate echoed in an error message cannot be encoded as UTF-8.
"""

from __future__ import annotations

import json

import pytest

from borrowdesk.refdata.models import Counterparty, CustodyAccount, Venue
from compliance.models import KycProfile
from requests_app.models import BorrowRequest
from tests.conftest import PASSWORD
from tests.refdata.factories import AssetFactory, VenueFactory

# --- NUL in a path or a query string (the probe's and the fuzzer's cases) -------------------------


@pytest.mark.parametrize(
    ("persona", "url", "status"),
    [
        ("bob", "/api/v1/inventory/availability/?asset=%00", 400),
        ("carl", "/api/v1/compliance/kyc/%00/", 404),
        ("bob", "/api/v1/assets/%00/", 404),
        ("bob", "/api/v1/counterparties/?code=x%00y", 400),
        ("bob", "/api/v1/counterparties/?code=%00&code=ACME", 400),  # not only the last value
        ("bob", "/api/v1/counterparties/?%00=1", 400),
    ],
)
def test_a_nul_in_an_api_path_or_query_answers_in_the_error_shape(api, personas, persona, url, status):
    response = api.as_user(personas[persona]).get(url)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == ("not_found" if status == 404 else "invalid")
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("persona", "url", "status"),
    [
        ("bob", "/refdata/counterparties/%00/", 404),
        ("alice", "/requests/quote/?asset=%00", 400),
        ("audrey", "/accounts/audit/?user=%00", 400),
        ("audrey", "/accounts/access-log/?user=%00", 400),
    ],
)
def test_a_nul_in_a_page_path_or_query_answers_a_4xx_page(login, personas, persona, url, status):
    response = login(personas[persona]).get(url)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")


def test_a_nul_in_a_path_is_404_even_for_anonymous_users(client, db):
    assert client.get("/api/v1/compliance/kyc/%00/").status_code == 404
    assert client.get("/refdata/counterparties/%00/").status_code == 404


def test_a_clean_query_still_works(api, bob):
    response = api.as_user(bob).get("/api/v1/inventory/availability/?asset=BTC")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [{"HTTP_AUTHORIZATION": "Token abc\x00def"}, {"HTTP_COOKIE": "sessionid=abcdefgh\x00ijk"}],
    ids=["token", "session cookie"],
)
def test_a_nul_in_a_header_that_reaches_a_query_is_a_400(client, db, header):
    response = client.get("/api/v1/assets/", **header)
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


# --- Form fields ---------------------------------------------------------------------------------


def test_a_nul_in_the_login_form_is_a_400_page_and_no_one_is_signed_in(client, bob):
    response = client.post("/accounts/login/", {"username": "bob\x00", "password": PASSWORD})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_nul_in_a_page_form_writes_nothing(login, alice):
    AssetFactory(symbol="BTC")
    form = {"counterparty": "ACME", "asset": "BTC", "quantity": "1", "urgency": "normal", "notes": "a\x00b"}
    response = login(alice).post("/requests/new/", form)
    assert response.status_code == 400
    assert not BorrowRequest.objects.exists()


def test_a_nul_in_a_form_encoded_api_body_is_a_400(api, bob):
    before = Venue.objects.count()
    response = api.as_user(bob).post(
        "/api/v1/venues/", {"code": "V\x00X", "name": "Nul", "kind": "custodian"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert Venue.objects.count() == before


# --- An unpaired surrogate (or a NUL) in a JSON string of every write endpoint's choice fields -----


def _venue_body(field):
    return {"code": "NEWV", "name": "New venue", "kind": "custodian"}


def _counterparty_body(field):
    return {"code": "NEWCP", "legal_name": "New Ltd", "kind": "client", "jurisdiction": "GB"}


def _account_body(field):
    return {"code": "NEWACCT", "venue": VenueFactory(code="CUST").code, "purpose": "inventory"}


def _kyc_body(field):
    return {"counterparty": "ACME", "status": "approved", "risk_rating": "low", "expires_on": "2030-01-01"}


def _request_body(field):
    AssetFactory(symbol="BTC")
    return {"counterparty": "ACME", "asset": "BTC", "quantity": "1", "urgency": "normal"}


WRITE_CHOICE_FIELDS = [
    ("bob", "/api/v1/venues/", _venue_body, "kind", Venue),
    ("bob", "/api/v1/counterparties/", _counterparty_body, "kind", Counterparty),
    ("bob", "/api/v1/custody-accounts/", _account_body, "purpose", CustodyAccount),
    ("carl", "/api/v1/compliance/kyc/", _kyc_body, "status", KycProfile),
    ("carl", "/api/v1/compliance/kyc/", _kyc_body, "risk_rating", KycProfile),
    ("alice", "/api/v1/borrow-requests/", _request_body, "urgency", BorrowRequest),
]


@pytest.mark.parametrize("bad", ["\\ud800", "x\\udfff", "\\u0000"], ids=["high", "low", "nul"])
@pytest.mark.parametrize(("persona", "url", "make_body", "field", "model"), WRITE_CHOICE_FIELDS)
def test_an_unsafe_string_in_a_choice_field_is_a_400_and_writes_nothing(
    api, personas, persona, url, make_body, field, model, bad
):
    body = make_body(field)
    text = json.dumps(body).replace(json.dumps(body[field]), f'"{bad}"')
    assert bad in text
    before = model.objects.count()
    response = api.as_user(personas[persona]).post(url, data=text, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert model.objects.count() == before


@pytest.mark.parametrize(("persona", "url", "make_body", "field", "model"), WRITE_CHOICE_FIELDS[:3])
def test_a_surrogate_pair_is_one_valid_character_not_refused_as_unsafe(
    api, personas, persona, url, make_body, field, model
):
    # "\ud83d\ude00" is one emoji: a wrong choice, so the serializer's 400, not the hygiene one.
    body = make_body(field)
    text = json.dumps(body).replace(json.dumps(body[field]), '"\\ud83d\\ude00"')
    response = api.as_user(personas[persona]).post(url, data=text, content_type="application/json")
    assert response.status_code == 400
    assert "not a valid choice" in response.json()["fields"][field][0]


def test_an_unsafe_key_in_a_json_body_is_a_400(api, bob):
    response = api.as_user(bob).post(
        "/api/v1/venues/", data='{"\\ud800": 1, "code": "V"}', content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


# --- JSON nested too deep, and bodies over the size limit ----------------------------------------


def test_json_nested_a_thousand_deep_on_the_token_endpoint_is_a_parse_error(client, db):
    body = "[" * 1000 + "]" * 1000
    response = client.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_json_nested_deeper_than_the_python_parser_can_go_is_a_parse_error(client, db):
    body = '{"a":' * 100_000 + "1" + "}" * 100_000
    response = client.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_json_64_deep_is_accepted_by_the_parser_and_65_is_not(client, bob):
    ok = {"username": "bob", "password": PASSWORD, "x": json.loads("[" * 63 + "]" * 63)}
    too_deep = {**ok, "x": json.loads("[" * 64 + "]" * 64)}
    assert client.post("/api/v1/auth/token/", data=ok, content_type="application/json").status_code == 200
    response = client.post("/api/v1/auth/token/", data=too_deep, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_a_json_body_over_the_size_limit_answers_in_the_error_shape(api, bob, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = Venue.objects.count()
    body = json.dumps({"code": "BIG", "name": "x" * 2000, "kind": "custodian"})
    response = api.as_user(bob).post("/api/v1/venues/", data=body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "too_large")
    assert Venue.objects.count() == before


def test_a_form_body_over_the_size_limit_answers_in_the_error_shape(api, bob, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.as_user(bob).post("/api/v1/venues/", {"code": "BIG", "name": "x" * 2000})
    assert (response.status_code, response.json()["code"]) == (400, "too_large")


def test_a_page_body_over_the_size_limit_is_a_400_page(login, alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = login(alice).post("/requests/new/", {"counterparty": "ACME", "notes": "x" * 2000})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
