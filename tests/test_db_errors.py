"""A database outage answers 503: the API error shape under /api/, a plain page for pages, any DEBUG."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection
from django.test import Client

from borrowdesk.db_errors import is_connection_error


def _request_without_a_database(method, path, **kwargs):
    # Django keeps one connection per thread: this request's thread points at a port where nothing
    # listens, so every query of the request fails to connect while the test's connection is untouched.
    client = Client(raise_request_exception=False)
    user = kwargs.pop("user", None)
    if user is not None:
        client.force_login(user)

    def call():
        connection.settings_dict = {**connection.settings_dict, "PORT": "1"}
        try:
            return getattr(client, method)(path, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/api/v1/assets/", {"HTTP_AUTHORIZATION": "Token 0123456789abcdef0123456789abcdef01234567"}),
        ("post", "/api/v1/auth/token/", {"data": {"username": "x", "password": "y"}}),
    ],
)
def test_api_answers_503_database_unavailable_in_the_error_shape(db, settings, debug, method, path, kwargs):
    settings.DEBUG = debug
    response = _request_without_a_database(method, path, **kwargs)
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "database_unavailable"
    assert response["Retry-After"]


@pytest.mark.parametrize("debug", [False, True])
def test_a_signed_in_api_call_answers_503_too(db, settings, bob, debug):
    settings.DEBUG = debug  # the session is read from the database before the view runs
    response = _request_without_a_database("get", "/api/v1/borrow-requests/", user=bob)
    assert (response.status_code, response.json()["code"]) == (503, "database_unavailable")


@pytest.mark.parametrize("debug", [False, True])
def test_a_page_answers_a_plain_503_page(db, settings, bob, debug):
    settings.DEBUG = debug
    response = _request_without_a_database("get", "/requests/queue/", user=bob)
    assert response.status_code == 503
    page = response.content.decode()
    assert "briefly unavailable" in page and "Traceback" not in page and "urlpatterns" not in page.lower()


def test_the_app_serves_again_as_soon_as_the_database_is_back(client, db):
    assert _request_without_a_database("get", "/api/v1/health/").status_code == 503
    assert client.get("/api/v1/health/").status_code == 200


def test_only_connection_failures_count_not_a_query_s_own_error():
    class Cause(Exception):
        pgcode = "40001"  # serialization failure: a retryable query error, the database is up

    exc = OperationalError("could not serialize access")
    exc.__cause__ = Cause()
    assert not is_connection_error(exc)
    exc.__cause__.pgcode = "57P01"  # terminating connection due to administrator command
    assert is_connection_error(exc)
    assert is_connection_error(OperationalError("connection refused"))
    assert not is_connection_error(ValueError("x"))
