"""Brute force: ten failed logins in a row for one user from one address lock that pair out.

The login form and the token endpoint count together; the lockout answers 429 with a clear sentence
(API.md's error shape ``locked_out`` on the API); another user, or the same user elsewhere, is not
affected; a success resets the count; the lockout ends after the cool-off.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.conftest import PASSWORD
from tests.refdata.helpers import assert_error

LOGIN_URL = "/accounts/login/"
TOKEN_URL = "/api/v1/auth/token/"
WRONG = "wrong-password-123"


def _form(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def _token(api, username, password, address="10.0.0.1", **extra):
    return api.post(
        TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address, **extra
    )


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_nine_failures_still_let_the_right_password_in(client, bob):
    for _ in range(9):
        assert _form(client, "bob", WRONG).status_code == 200  # the form again, with its error
    response = _form(client, "bob", PASSWORD)
    assert response.status_code == 302 and _signed_in(client)


def test_the_tenth_failure_locks_the_login_form_with_a_clear_message(client, bob):
    for _ in range(9):
        _form(client, "bob", WRONG)
    response = _form(client, "bob", WRONG)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    # Now even the right password is refused, and no one is signed in.
    response = _form(client, "bob", PASSWORD)
    assert response.status_code == 429
    assert not _signed_in(client)


def test_the_token_endpoint_locks_out_with_429_locked_out_and_issues_no_token(api, bob):
    for _ in range(9):
        assert_error(_token(api, "bob", WRONG), 400, "invalid")
    assert_error(_token(api, "bob", WRONG), 429, "locked_out")
    body = assert_error(_token(api, "bob", PASSWORD), 429, "locked_out")
    assert "Try again in 15 minutes" in body["detail"]
    assert not Token.objects.exists()


def test_failures_on_the_form_and_the_token_endpoint_count_together(client, api, bob):
    for _ in range(5):
        _form(client, "bob", WRONG)
    for _ in range(4):
        _token(api, "bob", WRONG)
    assert_error(_token(api, "bob", WRONG), 429, "locked_out")
    assert _form(client, "bob", PASSWORD).status_code == 429


def test_the_lockout_is_per_user_and_address_together(client, api, bob, olivia):
    for _ in range(10):
        _token(api, "bob", WRONG, address="10.0.0.66")
    assert _token(api, "bob", PASSWORD, address="10.0.0.66").status_code == 429
    # Another user from the attacker's address, and bob from his own desk, still log in.
    assert _token(api, "olivia", PASSWORD, address="10.0.0.66").status_code == 200
    assert _token(api, "bob", PASSWORD, address="10.0.0.2").status_code == 200


def test_a_forged_forwarded_for_header_gives_no_fresh_address(api, bob):
    for i in range(10):
        _token(api, "bob", WRONG, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    assert_error(_token(api, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99"), 429, "locked_out")


def test_a_success_resets_the_count(client, bob):
    for _ in range(9):
        _form(client, "bob", WRONG)
    assert _form(client, "bob", PASSWORD).status_code == 302
    client.logout()
    for _ in range(9):
        assert _form(client, "bob", WRONG).status_code == 200
    assert _form(client, "bob", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(api, bob):
    for _ in range(10):
        _token(api, "bob", WRONG)
    assert _token(api, "bob", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _token(api, "bob", PASSWORD).status_code == 200


@pytest.mark.parametrize("limit", [3])
def test_the_limit_is_a_setting(api, bob, settings, limit):
    settings.AXES_FAILURE_LIMIT = limit
    for _ in range(limit - 1):
        assert _token(api, "bob", WRONG).status_code == 400
    assert _token(api, "bob", WRONG).status_code == 429


def test_each_test_starts_with_no_recorded_failures(db):
    # axes keeps its counts in the database, so the test database's rollback resets them.
    assert not AccessAttempt.objects.exists()
