"""Shared test setup: personas (one named user per role, fixed scopes) and API clients.

Personas read as sentences in tests: ``alice`` is a trader for ACME, ``bob`` is operations, …
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from borrowdesk.access.services import create_desk_user
from tests.browser import browser, login_page  # noqa: F401 (fixtures for the browser tests)
from tests.refdata.factories import CounterpartyFactory

PASSWORD = "correct-horse-battery-42"

PERSONAS = {
    "alice": ["trader"],  # trader, acts for ACME
    "tom": ["trader"],  # trader, acts for GLOBEX
    "bob": ["ops"],
    "olivia": ["ops_senior"],
    "rita": ["risk"],
    "carl": ["compliance"],
    "tess": ["treasury"],
    "mona": ["manager"],
    "audrey": ["auditor"],
    "adam": ["admin"],
    "pete": ["pricing"],  # a price feed's service account
}
ROLE_PERSONA = {roles[0]: name for name, roles in PERSONAS.items() if name != "tom"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness protects real passwords; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def login(client):
    """``login(user)``: the test client, logged in as ``user``."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def acme(db):
    return CounterpartyFactory(code="ACME", legal_name="Acme Trading Ltd", risk_rating="low")


@pytest.fixture
def globex(db):
    return CounterpartyFactory(code="GLOBEX", legal_name="Globex Capital LLC", risk_rating="medium")


def ensure_desk_config():
    """The role groups and the default approval matrix, as the migrations seed them.

    Transactional tests flush the database; serialized rollback restores it, but not in every test order
    pytest-django produces, so tests that rely on this configuration make sure of it (idempotent).
    """
    import importlib

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Permission

    from borrowdesk.access.roles import sync_roles
    from requests_app.models import ApprovalRule

    # A flush without post_migrate (serialized rollback inhibits it) can leave the model permissions
    # out too, the trader's object permission among them: make them again before the roles use them.
    if not Permission.objects.filter(codename="act_for_counterparty").exists():
        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
    sync_roles()
    defaults = importlib.import_module("requests_app.migrations.0002_default_approval_rules").DEFAULT_RULES
    for precedence, name, low, high, risks, steps in defaults:
        ApprovalRule.objects.get_or_create(
            precedence=precedence,
            defaults={
                "name": name,
                "min_notional_usd": low,
                "max_notional_usd": high,
                "risk_ratings": risks,
                "steps": steps,
            },
        )


@pytest.fixture
def desk_config(db):
    ensure_desk_config()


@pytest.fixture
def personas(desk_config, acme, globex):
    """All personas, by name. alice acts for ACME, tom for GLOBEX."""
    users = {}
    for name, roles in PERSONAS.items():
        grants = {"alice": [acme], "tom": [globex]}.get(name, [])
        users[name] = create_desk_user(username=name, password=PASSWORD, roles=roles, counterparties=grants)
    return users


def _make_persona_fixture(name):
    @pytest.fixture(name=name)
    def _fixture(personas):
        return personas[name]

    return _fixture


for _name in PERSONAS:
    globals()[_name] = _make_persona_fixture(_name)


@pytest.fixture
def api():
    """An API client; ``api.as_user(user)`` authenticates it as that user (token auth)."""
    client = APIClient()

    def as_user(user):
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    client.as_user = as_user
    return client


def pytest_collection_modifyitems(config, items):
    """Every transactional test (outside the benchmarks) rolls back by serialization: after a plain
    flush Django re-runs post_migrate, which seeds the role groups again under new ids, and the next
    serialized test's restore then clashes with them (a duplicate group name) — an error that depends
    on the order the tests run in."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if item.get_closest_marker("bench") or marker is None:
            continue
        if marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            raise pytest.UsageError(
                f"{item.nodeid}: django_db(transaction=True) needs serialized_rollback=True here."
            )
