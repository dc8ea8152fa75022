"""Property tests of the ledger (hypothesis): whatever sequence of operations, valid or not,
every journal balances per asset, no bucket but external goes below zero, every balance equals the
sum of its entries and what a simple model of the desk expects, and a refused operation changes nothing."""

from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borrowdesk.errors import DomainError
from inventory.models import Entry, Journal, Position
from inventory.services import adjust, allocate, deliver, receive, release_allocation, return_to_available

quantities = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("25"), places=8)
too_fine = st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal("1"), places=9).filter(
    lambda q: q.as_tuple().exponent == -9
)
operations = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["receive", "allocate", "release", "deliver", "return"]), quantities),
        st.tuples(st.just("adjust"), quantities, st.booleans()),
        st.tuples(st.sampled_from(["allocate", "receive"]), too_fine),
    ),
    min_size=1,
    max_size=12,
)

# what each operation moves: (from bucket, to bucket)
MOVES = {
    "receive": ("external", "available"),
    "allocate": ("available", "allocated"),
    "release": ("allocated", "available"),
    "deliver": ("allocated", "on_loan"),
    "return": ("on_loan", "available"),
}


def _balances():
    return {p.bucket: p.quantity for p in Position.objects.filter(quantity__isnull=False)}


def _check_invariants():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT journal_id, asset_id FROM inventory_entry GROUP BY 1, 2 HAVING SUM(quantity) <> 0"
        )
        assert cursor.fetchall() == [], "a journal does not balance"
    assert not Position.objects.exclude(bucket="external").filter(quantity__lt=0).exists()
    sums = {
        (r["asset"], r["account"], r["bucket"]): r["total"]
        for r in Entry.objects.values("asset", "account", "bucket").annotate(total=Sum("quantity"))
    }
    positions = {(p.asset_id, p.account_id, p.bucket): p.quantity for p in Position.objects.all()}
    assert {k: v for k, v in positions.items() if v != 0} == {k: v for k, v in sums.items() if v != 0}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_any_sequence_of_operations_keeps_the_ledger_sound(btc, account, tess, olivia, ops):
    with transaction.atomic():
        model: dict[str, Decimal] = defaultdict(Decimal)
        for op in ops:
            name, quantity = op[0], op[1]
            before = (_balances(), Journal.objects.count())
            try:
                if name == "receive":
                    receive(actor=tess, asset=btc, account=account, quantity=quantity)
                elif name == "adjust":
                    signed = quantity if op[2] else -quantity
                    adjust(actor=olivia, asset=btc, account=account, quantity=signed, reason="count")
                else:
                    move = {
                        "allocate": allocate,
                        "release": release_allocation,
                        "deliver": deliver,
                        "return": return_to_available,
                    }[name]
                    move(asset=btc, account=account, quantity=quantity)
            except DomainError:
                # Refused: too fine for BTC, or the source bucket is short. Nothing changed.
                assert (_balances(), Journal.objects.count()) == before
                assert (
                    quantity.as_tuple().exponent < -8
                    or model[
                        "available" if name in ("allocate", "adjust") else MOVES.get(name, ("available",))[0]
                    ]
                    < quantity
                )
            else:
                if name == "adjust":
                    model["available"] += quantity if op[2] else -quantity
                    model["external"] -= quantity if op[2] else -quantity
                else:
                    source, target = MOVES[name]
                    model[source] -= quantity
                    model[target] += quantity
            _check_invariants()
            assert {k: v for k, v in _balances().items() if v} == {k: v for k, v in model.items() if v}
        transaction.set_rollback(True)  # each example starts from an empty ledger
