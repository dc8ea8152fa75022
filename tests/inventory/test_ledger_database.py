"""What the database itself enforces about the ledger, whatever code writes to it."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from inventory.models import Entry, Journal, Position
from inventory.services import allocate


def test_a_journal_cannot_be_updated(stocked):
    journal = Journal.objects.get()
    with pytest.raises(InternalError), transaction.atomic():
        Journal.objects.filter(pk=journal.pk).update(memo="rewritten")


def test_a_journal_or_entry_cannot_be_deleted(stocked):
    with pytest.raises(InternalError), transaction.atomic():
        Entry.objects.all().delete()
    with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
        Journal.objects.all().delete()
    assert Entry.objects.count() == 2


def test_an_entry_cannot_be_changed_even_in_raw_sql(stocked):
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_entry SET quantity = quantity * 2")


def test_a_position_below_zero_violates_the_check(stocked, btc):
    with pytest.raises(IntegrityError), transaction.atomic():
        Position.objects.filter(bucket="available").update(quantity=Decimal("-1"))


def test_allocating_more_than_available_changes_nothing(stocked, btc, account):
    from inventory.errors import InsufficientInventory

    before = list(Position.objects.order_by("pk").values_list("bucket", "quantity"))
    journals = Journal.objects.count()
    with pytest.raises(InsufficientInventory):
        allocate(asset=btc, account=account, quantity=Decimal("10.00000001"))
    assert list(Position.objects.order_by("pk").values_list("bucket", "quantity")) == before
    assert Journal.objects.count() == journals


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_unbalanced_journal_fails_at_commit(desk_config):
    from tests.inventory.factories import desk_asset, firm_account

    asset, account = desk_asset("ETH", 18, "3000"), firm_account()
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        journal = Journal.objects.create(kind="adjustment")
        Entry.objects.create(journal=journal, asset=asset, account=account, bucket="available", quantity=5)
    assert not Journal.objects.exists()
