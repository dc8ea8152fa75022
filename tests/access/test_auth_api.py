"""API authentication: a token for good credentials, 401s in the error shape, the health check open."""

import pytest

from tests.conftest import PASSWORD
from tests.refdata.helpers import assert_error, send

TOKEN_URL = "/api/v1/auth/token/"


def test_good_credentials_get_a_token(api, bob):
    response = send(api, "post", TOKEN_URL, {"username": "bob", "password": PASSWORD})
    assert response.status_code == 200
    assert list(response.json()) == ["token", "expires_at"]


def test_the_token_authenticates_api_calls(api, bob):
    token = send(api, "post", TOKEN_URL, {"username": "bob", "password": PASSWORD}).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/assets/").status_code == 200


def test_asking_twice_gives_the_same_token(api, bob):
    first = send(api, "post", TOKEN_URL, {"username": "bob", "password": PASSWORD}).json()["token"]
    second = send(api, "post", TOKEN_URL, {"username": "bob", "password": PASSWORD}).json()["token"]
    assert first == second


@pytest.mark.parametrize(
    "body",
    [
        {"username": "bob", "password": "wrong-password-123"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "bob"},
        {},
    ],
)
def test_bad_credentials_are_400_in_the_error_shape(api, bob, body):
    from rest_framework.authtoken.models import Token

    response = send(api, "post", TOKEN_URL, body)
    assert_error(response, 400, "invalid")
    assert "fields" in response.json()
    assert not Token.objects.exists()


def test_a_deactivated_user_gets_no_token(api, bob):
    bob.is_active = False
    bob.save()
    assert_error(send(api, "post", TOKEN_URL, {"username": "bob", "password": PASSWORD}), 400, "invalid")


def test_malformed_json_for_a_token_is_400_parse_error(api, db):
    assert_error(send(api, "post", TOKEN_URL, '{"username": '), 400, "parse_error")


def test_a_wrong_token_is_401_authentication_failed(api, db):
    api.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    response = api.get("/api/v1/assets/")
    assert_error(response, 401, "authentication_failed")
    assert response.headers["WWW-Authenticate"] == "Token"


def test_no_credentials_is_401_not_authenticated(api, db):
    assert_error(api.get("/api/v1/counterparties/"), 401, "not_authenticated")


def test_the_health_check_needs_no_authentication(api, db):
    response = api.get("/api/v1/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_the_health_check_ignores_a_wrong_token(api, db):
    api.credentials(HTTP_AUTHORIZATION="Token nonsense")
    assert api.get("/api/v1/health/").status_code == 200
