"""Races on the borrow book with real threads on real PostgreSQL: every loan event locks the loan row
first, so two returns (or two recalls) racing for the same open quantity cannot both win."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from inventory.models import Loan, Position, Recall
from inventory.services import recall_loan, return_loan
from tests.inventory.factories import active_loan, desk_asset, firm_account, stock
from tests.races import race

# serialized_rollback: restore the roles the migrations seeded, after the flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def book(desk_config, acme):
    btc, account = desk_asset("BTC", 8, "50000"), firm_account()
    ops = [
        create_desk_user(username=f"ops{i}", password="long-password-123", roles=["ops"]) for i in range(6)
    ]
    stock(btc, account, "10", actor=ops[0])
    loan = active_loan(actor=ops[0], counterparty=acme, asset=btc, account=account, quantity="4")
    return loan, ops


def test_racing_returns_never_return_more_than_is_open(book):
    loan, ops = book
    outcomes = race([lambda a=a: return_loan(actor=a, loan=loan, quantity=Decimal(3)) for a in ops])
    assert outcomes.count("ok") == 1 and outcomes.count("invalid") == 5, outcomes
    loan.refresh_from_db()
    assert (loan.open_quantity, loan.status) == (Decimal(1), "active")
    assert dict(Position.objects.exclude(bucket="external").values_list("bucket", "quantity")) == {
        "available": Decimal(9),
        "allocated": Decimal(0),
        "on_loan": Decimal(1),
    }


def test_racing_recalls_never_recall_more_than_is_open(book):
    loan, ops = book
    due = timezone.now() + timedelta(days=1)
    outcomes = race(
        [lambda a=a: recall_loan(actor=a, loan=loan, quantity=Decimal(1), due_at=due) for a in ops]
    )
    assert outcomes.count("ok") == 4 and outcomes.count("invalid") == 2, outcomes
    assert sum(Recall.objects.values_list("quantity", flat=True)) == Decimal(4)
    assert Loan.objects.get().open_quantity == Decimal(4)


def test_opposite_moves_over_the_same_positions_never_deadlock(desk_config):
    """Allocations (available → allocated) and releases (allocated → available) of one account at once:
    each locks both balance rows in the same order, so none deadlocks and the totals are exact. Each bucket
    holds more than the eight moves that could drain it, so every move succeeds in whatever order they run."""
    from inventory.services import allocate, release_allocation

    btc, account = desk_asset("BTC", 8, "50000"), firm_account()
    stock(btc, account, "20")
    allocate(asset=btc, account=account, quantity=Decimal(10))
    calls = []
    for _ in range(8):
        calls.append(lambda: allocate(asset=btc, account=account, quantity=Decimal(1)))
        calls.append(lambda: release_allocation(asset=btc, account=account, quantity=Decimal(1)))
    outcomes = race(calls)
    assert outcomes == ["ok"] * 16, outcomes
    balances = dict(Position.objects.exclude(bucket="external").values_list("bucket", "quantity"))
    assert balances == {"available": Decimal(10), "allocated": Decimal(10)}
