"""Property tests of the ledger (hypothesis): whatever sequence of operations, valid or not, over two
assets and two accounts,

- every journal balances per asset,
- no bucket but external goes below zero,
- every position equals the sum of its entries, and what a plain model of the desk expects,
- an operation is refused exactly when the model says it must be (a quantity finer than the asset
  allows, zero, or more than its source bucket holds), with a ``DomainError``, and a refused
  operation leaves every row as it was.

Each example runs in a transaction rolled back at its end, so each starts from an empty ledger.
"""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borrowdesk.errors import DomainError
from inventory.models import Entry, Position
from inventory.services import adjust, allocate, deliver, receive, release_allocation, return_to_available
from tests.inventory.factories import desk_asset, firm_account, ledger_state

# what each operation moves: (from bucket, to bucket); adjust moves external ↔ available by its sign
MOVES = {
    "receive": ("external", "available"),
    "allocate": ("available", "allocated"),
    "release": ("allocated", "available"),
    "deliver": ("allocated", "on_loan"),
    "return": ("on_loan", "available"),
    "adjust+": ("external", "available"),
    "adjust-": ("available", "external"),
}
SERVICES = {
    "allocate": allocate,
    "release": release_allocation,
    "deliver": deliver,
    "return": return_to_available,
}

# Up to 9 places: some quantities are finer than BTC (8) or USDC (6) allow, and zero is in range.
quantities = st.decimals(min_value=Decimal(0), max_value=Decimal(30), places=9)
operations = st.lists(
    st.tuples(
        st.sampled_from(sorted(MOVES)),
        st.sampled_from(["BTC", "USDC"]),
        st.sampled_from(["INV-A", "INV-B"]),
        quantities,
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def desk(desk_config, tess, olivia):
    assets = {"BTC": desk_asset("BTC", 8, "50000"), "USDC": desk_asset("USDC", 6, "1")}
    accounts = {"INV-A": firm_account("INV-A"), "INV-B": firm_account("INV-B")}
    return assets, accounts, tess, olivia


def _check_invariants(model):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT journal_id, asset_id FROM inventory_entry GROUP BY 1, 2 HAVING SUM(quantity) <> 0"
        )
        assert cursor.fetchall() == [], "a journal does not balance"
    assert not Position.objects.exclude(bucket="external").filter(quantity__lt=0).exists()
    per_position = Entry.objects.values("asset__symbol", "account__code", "bucket")
    sums = {
        (r["asset__symbol"], r["account__code"], r["bucket"]): r["total"]
        for r in per_position.annotate(total=Sum("quantity"))
    }
    positions = {
        (p.asset.symbol, p.account.code, p.bucket): p.quantity
        for p in Position.objects.select_related("asset", "account")
    }
    assert positions == sums, "a position differs from the sum of its entries"
    assert {k: v for k, v in positions.items() if v} == {k: v for k, v in model.items() if v}


def _must_refuse(model, name, asset, symbol, account, quantity) -> bool:
    too_fine = -quantity.normalize().as_tuple().exponent > asset.decimals
    source = MOVES[name][0]
    short = source != "external" and model[(symbol, account, source)] < quantity
    return quantity == 0 or too_fine or short


def _run(name, asset, account, quantity, tess, olivia):
    if name == "receive":
        receive(actor=tess, asset=asset, account=account, quantity=quantity)
    elif name.startswith("adjust"):
        signed = quantity if name == "adjust+" else -quantity
        adjust(actor=olivia, asset=asset, account=account, quantity=signed, reason="count")
    else:
        SERVICES[name](asset=asset, account=account, quantity=quantity)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_any_sequence_of_operations_keeps_the_ledger_sound(desk, ops):
    assets, accounts, tess, olivia = desk
    with transaction.atomic():
        model: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for name, symbol, code, quantity in ops:
            asset, account = assets[symbol], accounts[code]
            expect_refusal = _must_refuse(model, name, asset, symbol, code, quantity)
            before = ledger_state()
            try:
                _run(name, asset, account, quantity, tess, olivia)
            except DomainError:
                assert expect_refusal, f"{name} {quantity} {symbol} in {code} was refused"
                assert ledger_state() == before, "a refused operation changed something"
            else:
                assert not expect_refusal, f"{name} {quantity} {symbol} in {code} was accepted"
                source, target = MOVES[name]
                model[(symbol, code, source)] -= quantity
                model[(symbol, code, target)] += quantity
            _check_invariants(model)
        transaction.set_rollback(True)  # the next example starts from an empty ledger
