"""What the database itself enforces about the ledger, whatever code writes to it: journals, entries
and accruals are append-only (pgtrigger Protect), a journal balances per asset at commit (a deferred
constraint trigger), and no bucket but external goes below zero (a CHECK)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from borrowdesk.business_day import business_date
from inventory.models import Entry, Journal, LoanAccrual, Position
from tests.inventory.factories import accrue, desk_asset, firm_account, ledger_state

NEW_JOURNAL = (
    "INSERT INTO inventory_journal (kind, created_at, reference, memo) VALUES ('adjustment', now(), '', '')"
)


def _raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_journal_cannot_be_updated(stocked):
    before = ledger_state()
    with pytest.raises(InternalError), transaction.atomic():
        Journal.objects.update(memo="rewritten")
    assert ledger_state() == before


def test_a_journal_cannot_be_deleted(stocked):
    before = ledger_state()
    with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
        _raw("DELETE FROM inventory_journal")
    assert ledger_state() == before


def test_an_entry_cannot_be_updated_even_in_raw_sql(stocked):
    before = ledger_state()
    with pytest.raises(InternalError), transaction.atomic():
        _raw("UPDATE inventory_entry SET quantity = quantity * 2")
    assert ledger_state() == before


def test_an_entry_cannot_be_deleted(stocked):
    before = ledger_state()
    with pytest.raises(InternalError), transaction.atomic():
        Entry.objects.all().delete()
    assert ledger_state() == before


def test_an_accrual_cannot_be_updated_or_deleted(loan):
    accrue(business_date())
    before = ledger_state()
    with pytest.raises(InternalError), transaction.atomic():
        _raw("UPDATE inventory_loanaccrual SET fee = 0")
    with pytest.raises(InternalError), transaction.atomic():
        LoanAccrual.objects.all().delete()
    assert ledger_state() == before and LoanAccrual.objects.count() == 1


def test_a_raw_update_of_a_position_below_zero_violates_the_check(stocked):
    before = ledger_state()
    with pytest.raises(IntegrityError, match="position_not_negative"), transaction.atomic():
        _raw("UPDATE inventory_position SET quantity = -1 WHERE bucket = 'available'")
    assert ledger_state() == before


def test_the_external_side_may_go_negative(stocked):
    # The counter-side of receipts is negative by design: it is the firm's claim on the outside world.
    assert Position.objects.get(bucket="external").quantity == Decimal(-10)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_raw_insert_of_an_unbalanced_journal_fails_at_commit(desk_config):
    asset, account = desk_asset("ETH", 18, "3000"), firm_account()
    # Inside the transaction the lines may be out of balance (they go in one by one); the deferred
    # trigger checks at COMMIT, so the error comes out of the atomic block's exit.
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        _raw(NEW_JOURNAL)
        journal_id = Journal.objects.get().pk
        _raw(
            "INSERT INTO inventory_entry (journal_id, asset_id, account_id, bucket, quantity)"
            " VALUES (%s, %s, %s, 'available', 5), (%s, %s, %s, 'external', -4)",
            [journal_id, asset.pk, account.pk] * 2,
        )
    assert not Journal.objects.exists() and not Entry.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_raw_insert_of_a_balanced_journal_commits(desk_config):
    asset, account = desk_asset("ETH", 18, "3000"), firm_account()
    with transaction.atomic():
        _raw(NEW_JOURNAL)
        journal_id = Journal.objects.get().pk
        _raw(
            "INSERT INTO inventory_entry (journal_id, asset_id, account_id, bucket, quantity)"
            " VALUES (%s, %s, %s, 'available', 5), (%s, %s, %s, 'external', -5)",
            [journal_id, asset.pk, account.pk] * 2,
        )
    assert Entry.objects.filter(journal_id=journal_id).count() == 2
