"""Inventory's open totals (OpenLoanTotal): what each counterparty has open of each asset, kept by a
deferred trigger on the loans, written by nothing else, and locked by a loan event before any balance
row (the order a final approval takes them in)."""

from decimal import Decimal

import pgtrigger
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from collateral.selectors.coverage import coverage_for
from inventory.models import OpenLoanTotal
from inventory.services import cancel_loan, return_loan
from tests.inventory.factories import active_loan, desk_asset, pending_loan, stock
from tests.races import held_elsewhere, in_thread, rows_queued_for, wait_until_a_backend_waits_for_a_lock

D = Decimal
PROTECT = "inventory.OpenLoanTotal:written_by_loans_only"


def _fire() -> None:
    """The transaction's pending changes of open loans into the totals (they are deferred to COMMIT)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _totals() -> dict[tuple[str, str], Decimal]:
    _fire()
    return {
        (t.counterparty.code, t.asset.symbol): t.open_quantity
        for t in OpenLoanTotal.objects.select_related("counterparty", "asset")
        if t.open_quantity
    }


def _from_the_loans() -> dict[tuple[str, str], Decimal]:
    """The same figures summed over the loans themselves."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.code, a.symbol, sum(l.open_quantity) FROM inventory_loan l"
            " JOIN refdata_counterparty c ON c.id = l.counterparty_id"
            " JOIN refdata_asset a ON a.id = l.asset_id"
            " WHERE l.status IN ('pending_delivery', 'active') GROUP BY c.code, a.symbol"
            " HAVING sum(l.open_quantity) > 0"
        )
        return {(code, symbol): total for code, symbol, total in cursor.fetchall()}


@pytest.mark.django_db
def test_the_totals_follow_every_loan_event(bob, acme, globex, btc, stocked, tess):
    eth = desk_asset("ETH", 8, "3000")
    stock(eth, stocked, "50", actor=tess)
    first = active_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="4")
    active_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="1.5")
    pending = pending_loan(actor=bob, counterparty=acme, asset=eth, account=stocked, quantity="10")
    active_loan(actor=bob, counterparty=globex, asset=btc, account=stocked, quantity="2")
    assert (
        _totals()
        == _from_the_loans()
        == {
            ("ACME", "BTC"): D("5.5"),
            ("ACME", "ETH"): D("10"),
            ("GLOBEX", "BTC"): D("2"),
        }
    )

    return_loan(actor=bob, loan=first, quantity=D("1.25"))  # in part
    assert _totals() == _from_the_loans()
    assert _totals()[("ACME", "BTC")] == D("4.25")

    return_loan(actor=bob, loan=first, quantity=D("2.75"))  # the rest: closed
    with transaction.atomic():
        cancel_loan(actor=bob, loan=pending, reason="not wanted")  # never delivered
    assert _totals() == _from_the_loans() == {("ACME", "BTC"): D("1.5"), ("GLOBEX", "BTC"): D("2")}


@pytest.mark.django_db
def test_coverage_inside_a_transaction_counts_its_own_loan_changes(bob, acme, btc, stocked, loan):
    # The return's change of the total is deferred to COMMIT; coverage read in the same transaction (the
    # test's) fires it first, so the exposure is the 1 BTC still open at 50,000, not the 4 before.
    return_loan(actor=bob, loan=loan, quantity=D("3"))
    assert coverage_for(acme).exposure_usd == D("50000")


@pytest.mark.django_db
def test_the_scheduled_limit_check_reads_the_open_totals_with_the_transactions_own_changes(
    bob, acme, btc, stocked, loan
):
    from collateral.selectors.limits import cap_use
    from tests.collateral.limit_helpers import limit

    capped = limit(acme, 10_000_000, caps={btc: "10"})
    return_loan(actor=bob, loan=loan, quantity=D("1.5"))
    (use,) = cap_use([capped.pk])
    assert (use.symbol, use.max_quantity, use.open_quantity) == ("BTC", D("10"), D("2.5"))


@pytest.mark.django_db
@pytest.mark.parametrize("write", ["insert", "update", "delete"])
def test_nothing_but_the_loans_trigger_writes_the_totals(write, bob, acme, btc, stocked, loan):
    _fire()
    total = OpenLoanTotal.objects.get(counterparty=acme, asset=btc)
    with pytest.raises(DatabaseError, match="kept by the loans' trigger only"), transaction.atomic():
        if write == "insert":
            sol = desk_asset("SOL", 9, "150")
            OpenLoanTotal.objects.create(counterparty=acme, asset=sol, open_quantity=1)
        elif write == "update":
            OpenLoanTotal.objects.filter(pk=total.pk).update(open_quantity=D("100"))
        else:
            OpenLoanTotal.objects.filter(pk=total.pk).delete()
    total.refresh_from_db()
    assert total.open_quantity == D("4")


@pytest.mark.django_db
def test_a_total_out_of_step_with_its_loans_stops_the_transaction(bob, acme, btc, stocked, loan):
    _fire()
    with pgtrigger.ignore(PROTECT):
        OpenLoanTotal.objects.filter(counterparty=acme, asset=btc).delete()
    return_loan(actor=bob, loan=loan, quantity=D("1"))
    with pytest.raises(IntegrityError, match="no open total for counterparty"), transaction.atomic():
        _fire()
    # The change is still pending (its savepoint rolled back): the total put back, the test's own
    # deferred checks at teardown pass.
    with pgtrigger.ignore(PROTECT):
        OpenLoanTotal.objects.create(counterparty=acme, asset=btc, open_quantity=D("4"))


@pytest.mark.django_db
def test_the_migration_counts_the_open_loans_of_the_book_as_it_stands(bob, acme, globex, btc, stocked):
    from importlib import import_module

    active_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="3")
    closed = active_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="1")
    return_loan(actor=bob, loan=closed, quantity=D("1"))
    pending_loan(actor=bob, counterparty=globex, asset=btc, account=stocked, quantity="2")
    _fire()
    with pgtrigger.ignore(PROTECT):
        OpenLoanTotal.objects.all().delete()
        (backfill,) = [
            op
            for op in import_module("inventory.migrations.0005_open_loan_totals").Migration.operations
            if type(op).__name__ == "RunSQL"
        ]
        with connection.cursor() as cursor:
            cursor.execute(backfill.sql)
    assert _totals() == _from_the_loans() == {("ACME", "BTC"): D("3"), ("GLOBEX", "BTC"): D("2")}


# What a final approval of the same counterparty and asset holds from its limit check to COMMIT.
LOCK_THE_TOTAL = (
    "SELECT 1 FROM inventory_openloantotal WHERE counterparty_id = %s AND asset_id = %s FOR UPDATE"
)


def _balance_rows_free(asset_id, account_id) -> bool:
    """Whether another session could lock the account's balance rows of the asset right now."""
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute(
                    "SELECT 1 FROM inventory_position WHERE asset_id = %s AND account_id = %s"
                    " FOR UPDATE NOWAIT",
                    [asset_id, account_id],
                )
            return True
        except DatabaseError:
            return False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("event", ["return", "cancel"])
def test_a_loan_event_locks_its_total_before_any_balance_row(event, bob, acme, btc, stocked):
    """A final approval holds its (counterparty, asset) total while it waits for the balance rows; a
    return or a cancel that took the balance rows first and the total at COMMIT would deadlock with
    it. So the event queues for the total while holding no balance row, then goes through."""
    if event == "return":
        loan = active_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="4")
    else:
        loan = pending_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="4")

    def run_the_event():
        if event == "return":
            return_loan(actor=bob, loan=loan, quantity=D("4"))
        else:
            with transaction.atomic():
                cancel_loan(actor=bob, loan=loan, reason="not wanted")

    with held_elsewhere(LOCK_THE_TOTAL, [acme.pk, btc.pk]):
        worker, outcome = in_thread(run_the_event)
        wait_until_a_backend_waits_for_a_lock()
        assert rows_queued_for() == ["inventory_openloantotal"]
        assert _balance_rows_free(btc.pk, stocked.pk)
    worker.join(10)
    assert outcome == ["ok"]
    assert _totals() == _from_the_loans() == {}
