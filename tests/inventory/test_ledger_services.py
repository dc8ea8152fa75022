"""The ledger services: receive, allocate, release, deliver, return, adjust. Each posts one balanced
journal and moves its buckets; a refusal raises a domain error and writes nothing."""

from decimal import Decimal

import pytest

from borrowdesk.errors import InvalidInput, PermissionDeniedError
from inventory.errors import InsufficientInventory, InvalidQuantity, UnbalancedJournal
from inventory.models import Journal
from inventory.services import (
    LedgerLine,
    adjust,
    allocate,
    choose_source_account,
    deliver,
    post_journal,
    receive,
    release_allocation,
    return_to_available,
)
from tests.inventory.factories import balances, ledger_state, stock
from tests.refdata.factories import CounterpartyFactory, CustodyAccountFactory

D = Decimal


def _lines(journal):
    return sorted((e.bucket, e.quantity) for e in journal.entries.all())


def test_a_receipt_moves_external_to_available_in_one_journal(tess, btc, account):
    lender = CounterpartyFactory(code="LENDCO", kind="lender")
    journal = receive(
        actor=tess,
        asset=btc,
        account=account,
        quantity=D("2.5"),
        source_counterparty=lender,
        cost_rate_bps=D("150"),
        reference="opening",
    )
    assert (journal.kind, journal.created_by, journal.source_counterparty) == ("receipt", tess, lender)
    assert _lines(journal) == [("available", D("2.5")), ("external", D("-2.5"))]
    assert balances() == {"available": D("2.5"), "external": D("-2.5")}


@pytest.mark.parametrize("who", ["bob", "olivia", "tess", "adam"])
def test_operations_treasury_and_admin_record_receipts(personas, btc, account, who):
    receive(actor=personas[who], asset=btc, account=account, quantity=D(1))
    assert balances()["available"] == D(1)


@pytest.mark.parametrize("who", ["alice", "rita", "carl", "mona", "audrey"])
def test_other_roles_cannot_record_receipts(personas, btc, account, who):
    with pytest.raises(PermissionDeniedError):
        receive(actor=personas[who], asset=btc, account=account, quantity=D(1))
    assert not Journal.objects.exists()


@pytest.mark.parametrize(
    "quantity",
    [D(0), D(-1), D("0.000000001"), D("NaN"), D("Infinity"), D("1e20")],
    ids=["zero", "negative", "too-fine", "nan", "infinity", "too-large"],
)
def test_a_receipt_of_a_bad_quantity_is_refused(tess, btc, account, quantity):
    with pytest.raises(InvalidQuantity):
        receive(actor=tess, asset=btc, account=account, quantity=quantity)
    assert not Journal.objects.exists()


def test_a_receipt_into_a_counterparty_account_is_refused(tess, btc, acme):
    wallet = CustodyAccountFactory(code="ACME-WALLET", owner=acme)
    with pytest.raises(InvalidInput) as refused:
        receive(actor=tess, asset=btc, account=wallet, quantity=D(1))
    assert "account" in refused.value.fields
    assert not Journal.objects.exists()


def test_a_receipt_at_a_cost_rate_out_of_range_is_refused(tess, btc, account):
    with pytest.raises(InvalidInput):
        receive(actor=tess, asset=btc, account=account, quantity=D(1), cost_rate_bps=D("100001"))
    assert not Journal.objects.exists()


def test_allocate_deliver_and_return_move_between_buckets(stocked, btc):
    allocate(asset=btc, account=stocked, quantity=D(4))
    assert balances(btc, stocked) == {"available": D(6), "allocated": D(4), "external": D(-10)}
    deliver(asset=btc, account=stocked, quantity=D(3))
    assert balances(btc, stocked) == {
        "available": D(6),
        "allocated": D(1),
        "on_loan": D(3),
        "external": D(-10),
    }
    return_to_available(asset=btc, account=stocked, quantity=D(3))
    assert balances(btc, stocked) == {"available": D(9), "allocated": D(1), "external": D(-10)}
    release_allocation(asset=btc, account=stocked, quantity=D(1))
    assert balances(btc, stocked) == {"available": D(10), "external": D(-10)}
    assert list(Journal.objects.order_by("id").values_list("kind", flat=True)) == [
        "receipt",
        "allocation",
        "delivery",
        "return",
        "release",
    ]


def test_allocating_more_than_available_is_refused_and_changes_nothing(stocked, btc):
    before = ledger_state()
    with pytest.raises(InsufficientInventory):
        allocate(asset=btc, account=stocked, quantity=D("10.00000001"))
    assert ledger_state() == before


@pytest.mark.parametrize(
    ("move", "bucket"),
    [(release_allocation, "allocated"), (deliver, "allocated"), (return_to_available, "on_loan")],
)
def test_moving_out_of_an_empty_bucket_is_refused(stocked, btc, move, bucket):
    before = ledger_state()
    with pytest.raises(InsufficientInventory, match=bucket.replace("_", " ")):
        move(asset=btc, account=stocked, quantity=D(1))
    assert ledger_state() == before


def test_a_positive_adjustment_adds_to_available_with_its_reason(olivia, stocked, btc):
    journal = adjust(actor=olivia, asset=btc, account=stocked, quantity=D("0.5"), reason="custodian count")
    assert (journal.kind, journal.memo) == ("adjustment", "custodian count")
    assert _lines(journal) == [("available", D("0.5")), ("external", D("-0.5"))]
    assert balances(btc, stocked)["available"] == D("10.5")


def test_a_negative_adjustment_removes_from_available(olivia, stocked, btc):
    adjust(actor=olivia, asset=btc, account=stocked, quantity=D("-2"), reason="lost key")
    assert balances(btc, stocked) == {"available": D(8), "external": D(-8)}


def test_an_adjustment_below_zero_is_refused(olivia, stocked, btc):
    before = ledger_state()
    with pytest.raises(InsufficientInventory):
        adjust(actor=olivia, asset=btc, account=stocked, quantity=D("-10.1"), reason="count")
    assert ledger_state() == before


@pytest.mark.parametrize("who", ["bob", "tess", "adam", "alice"])
def test_only_senior_operations_adjust(personas, stocked, btc, who):
    before = ledger_state()
    with pytest.raises(PermissionDeniedError):
        adjust(actor=personas[who], asset=btc, account=stocked, quantity=D(1), reason="count")
    assert ledger_state() == before


@pytest.mark.parametrize(("quantity", "reason"), [(D(1), "  "), (D(0), "count"), (D("0.000000001"), "count")])
def test_an_adjustment_without_reason_or_of_a_bad_quantity_is_refused(olivia, stocked, btc, quantity, reason):
    before = ledger_state()
    with pytest.raises(InvalidInput):
        adjust(actor=olivia, asset=btc, account=stocked, quantity=quantity, reason=reason)
    assert ledger_state() == before


def test_an_unbalanced_journal_is_refused_before_writing(stocked, btc):
    before = ledger_state()
    with pytest.raises(UnbalancedJournal):
        post_journal(
            kind="adjustment",
            lines=[
                LedgerLine(btc, stocked, "available", D(1)),
                LedgerLine(btc, stocked, "external", D("-0.5")),
            ],
        )
    assert ledger_state() == before


def test_the_source_account_is_the_firm_account_with_most_available(stocked, btc, tess):
    other = CustodyAccountFactory(code="INV-OTHER")
    stock(btc, other, "12", actor=tess)
    assert choose_source_account(asset=btc, quantity=D(11)) == other
    assert choose_source_account(asset=btc, quantity=D(13)) is None
