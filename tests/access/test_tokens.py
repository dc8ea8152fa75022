"""API tokens expire after API_TOKEN_TTL_HOURS and can be revoked with DELETE /api/v1/auth/token/."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token

from tests.conftest import PASSWORD
from tests.refdata.helpers import assert_error, send

TOKEN_URL = "/api/v1/auth/token/"


def _get_token(api, username="bob"):
    response = send(api, "post", TOKEN_URL, {"username": username, "password": PASSWORD})
    assert response.status_code == 200
    return response.json()


def _age(token_key: str, hours: float) -> None:
    Token.objects.filter(key=token_key).update(created=timezone.now() - timedelta(hours=hours))


def test_the_token_says_when_it_expires(api, bob, settings):
    settings.API_TOKEN_TTL_HOURS = 24
    body = _get_token(api)
    token = Token.objects.get(key=body["token"])
    assert parse_datetime(body["expires_at"]) == token.created + timedelta(hours=24)


def test_a_token_within_its_lifetime_authenticates(api, bob):
    key = _get_token(api)["token"]
    _age(key, 23)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/assets/").status_code == 200


def test_an_expired_token_is_401_authentication_failed(api, bob):
    key = _get_token(api)["token"]
    _age(key, 24.01)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = assert_error(api.get("/api/v1/assets/"), 401, "authentication_failed")
    assert "expired" in body["detail"]


def test_the_lifetime_is_a_setting(api, bob, settings):
    settings.API_TOKEN_TTL_HOURS = 1
    key = _get_token(api)["token"]
    _age(key, 1.5)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert_error(api.get("/api/v1/assets/"), 401, "authentication_failed")


def test_logging_in_again_after_expiry_issues_a_new_token(api, bob):
    old = _get_token(api)["token"]
    _age(old, 25)
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")  # an expired token sent along does not stop it
    new = _get_token(api)["token"]
    assert new != old
    assert list(Token.objects.values_list("key", flat=True)) == [new]
    api.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api.get("/api/v1/assets/").status_code == 200


def test_delete_revokes_the_callers_token(api, bob, olivia):
    key = _get_token(api)["token"]
    other = _get_token(api, "olivia")["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.delete(TOKEN_URL)
    assert response.status_code == 204
    assert not Token.objects.filter(key=key).exists()
    assert Token.objects.filter(key=other).exists()  # only the caller's
    assert_error(api.get("/api/v1/assets/"), 401, "authentication_failed")


def test_delete_without_credentials_is_401_and_revokes_nothing(api, bob):
    _get_token(api)
    assert_error(api.delete(TOKEN_URL), 401, "not_authenticated")
    assert Token.objects.count() == 1


def test_delete_with_an_expired_token_is_401_and_revokes_nothing(api, bob):
    key = _get_token(api)["token"]
    _age(key, 30)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert_error(api.delete(TOKEN_URL), 401, "authentication_failed")
    assert Token.objects.filter(key=key).exists()
