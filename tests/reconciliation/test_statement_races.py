"""Races: the same file imported twice at the same moment is imported once."""

from __future__ import annotations

import pytest

from reconciliation.models import ExternalStatement, StatementLine
from reconciliation.statements.services import import_statement
from tests.conftest import ensure_desk_config
from tests.races import race
from tests.reconciliation.factories import desk

# serialized_rollback: the flush after it then leaves the desk as the migrations seeded it (a plain flush
# re-runs post_migrate, whose role groups would clash with the next serialized test's).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_same_file_imported_twice_at_once_is_stored_once():
    ensure_desk_config()
    desk(("BTC", 8), ("ETH", 18))
    data = b"account,asset,quantity\nINV-A,BTC,1\nINV-B,ETH,2\n"

    def feed():
        import_statement(actor=None, format="csv", channel="feed", as_of="2026-03-02T17:00:00Z", data=data)

    outcomes = race([feed, feed, feed])
    assert sorted(outcomes) == ["already_imported", "already_imported", "ok"], outcomes
    assert ExternalStatement.objects.count() == 2  # one per account, once
    assert StatementLine.objects.count() == 2
