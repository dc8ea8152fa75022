"""The final approval's writes (each app's through its own services: the loan and its hold by
inventory, the delivery by treasury, the decision by requests_app): everything it records, the audit
trail it leaves, and what a refusal leaves behind (nothing)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from pghistory.models import Events

from borrowdesk.business_day import business_date, business_day_end
from borrowdesk.errors import InvalidState
from borrowdesk.refdata.models import CustodyAccount
from inventory.errors import InsufficientInventory
from inventory.models import Entry, Journal, Loan
from inventory.selectors import availability_for
from inventory.services import allocate
from requests_app.models import Approval
from requests_app.services import accept_offer, approve_request
from tests.inventory.factories import firm_account, stock
from tests.refdata.factories import CustodyAccountFactory
from treasury.models import SettlementInstruction


def test_the_final_approval_records_approval_loan_delivery_decision_and_hold(submit, bob, stocked, btc):
    request = submit(quantity=Decimal("3"), min_quantity=Decimal("2"))
    approved = approve_request(
        actor=bob, request=request.pk, rate_bps=Decimal("425.5"), quantity=Decimal("2")
    )

    request.refresh_from_db()
    [approval] = Approval.objects.filter(request=request)
    assert (approval.step, approval.role, approval.user, approval.decision) == (1, "ops", bob, "approved")
    assert (approval.quantity, approval.rate_bps, approval.account) == (Decimal(2), Decimal("425.5"), None)
    loan = Loan.objects.get(request_id=request.pk)
    hold_until = business_day_end(business_date())
    assert (loan.status, loan.quantity, loan.open_quantity, loan.rate_bps) == (
        "pending_delivery",
        Decimal(2),
        Decimal(2),
        Decimal("425.5"),
    )
    assert (loan.counterparty, loan.asset, loan.account, loan.hold_expires_at) == (
        request.counterparty,
        btc,
        stocked,
        hold_until,
    )
    delivery = SettlementInstruction.objects.get(loan=loan)
    assert (delivery.kind, delivery.status, delivery.quantity, delivery.from_account, delivery.due_at) == (
        "loan_delivery",
        "pending",
        Decimal(2),
        stocked,
        hold_until,
    )
    assert delivery.to_account is None  # no settlement account named at intake
    assert (request.status, request.next_role, request.loan, request.source_account) == (
        "approved",
        "",
        loan,
        stocked,
    )
    assert (request.approved_quantity, request.approved_rate_bps) == (Decimal(2), Decimal("425.5"))
    assert request.decided_at == request.first_action_at == approval.at
    # What the service returned is what the database holds.
    assert (approved.status, approved.loan_id, approved.source_account_id, approved.decided_at) == (
        request.status,
        loan.pk,
        stocked.pk,
        request.decided_at,
    )
    journal = Journal.objects.get(loan=loan)
    assert (journal.kind, journal.created_by) == ("allocation", bob)
    assert sorted(Entry.objects.filter(journal=journal).values_list("bucket", "quantity")) == [
        ("allocated", Decimal(2)),
        ("available", Decimal(-2)),
    ]
    a = availability_for(btc)
    assert (a.available, a.allocated) == (Decimal(8), Decimal(2))


def test_the_delivery_goes_to_the_settlement_account_named_at_intake(submit, bob, cleared_acme, stocked):
    wallet = CustodyAccountFactory(code="ACME-WALLET", owner=cleared_acme, purpose="settlement")
    request = approve_request(
        actor=bob, request=submit(quantity=Decimal("1"), settlement_account=wallet), rate_bps=Decimal("400")
    )
    delivery = SettlementInstruction.objects.get(loan=request.loan)
    assert (delivery.from_account, delivery.to_account) == (stocked, wallet)


@pytest.mark.parametrize("change", [{"is_active": False}, {"owner": None}])
def test_a_settlement_account_no_longer_the_counterpartys_refuses_the_final_approval(
    submit, bob, cleared_acme, stocked, btc, change
):
    wallet = CustodyAccountFactory(code="ACME-WALLET", owner=cleared_acme, purpose="settlement")
    request = submit(quantity=Decimal("1"), settlement_account=wallet)
    CustodyAccount.objects.filter(pk=wallet.pk).update(**change)  # deactivated, or now the firm's
    with pytest.raises(InvalidState, match="no longer an active account of ACME"):
        approve_request(actor=bob, request=request, rate_bps=Decimal("400"))
    request.refresh_from_db()
    assert (request.status, request.loan, request.first_action_at) == ("pending_approval", None, None)
    assert not Approval.objects.exists() and not Loan.objects.exists()
    assert availability_for(btc).allocated == 0


def test_the_final_approval_is_audited_with_the_approver(submit, bob, stocked):
    request = approve_request(actor=bob, request=submit(), rate_bps=Decimal("400"))
    for model, pk, label in [
        ("requests_app.BorrowRequest", request.pk, "update"),
        ("inventory.Loan", request.loan_id, "insert"),
        (
            "treasury.SettlementInstruction",
            SettlementInstruction.objects.get(loan_id=request.loan_id).pk,
            "insert",
        ),
    ]:
        [event] = Events.objects.filter(pgh_obj_model=model, pgh_obj_id=str(pk), pgh_label=label)
        assert event.pgh_context["user"] == bob.pk, model
    [event] = Events.objects.filter(
        pgh_obj_model="requests_app.BorrowRequest", pgh_obj_id=str(request.pk), pgh_label="update"
    )
    assert event.pgh_data["status"] == "approved"


def test_a_named_account_that_holds_too_little_refuses_with_nothing_written(submit, bob, stocked, btc):
    small = firm_account("INV-SMALL")
    stock(btc, small, "1")
    request = submit(quantity=Decimal("3"))
    counts = (Approval.objects.count(), Loan.objects.count(), SettlementInstruction.objects.count())
    journals = Journal.objects.count()
    with pytest.raises(InsufficientInventory, match=r"Not enough BTC available in INV-SMALL: 3\.0* needed\."):
        approve_request(actor=bob, request=request, rate_bps=Decimal("400"), account=small)
    request.refresh_from_db()
    assert (request.status, request.loan, request.first_action_at, request.source_account) == (
        "pending_approval",
        None,
        None,
        None,
    )
    assert (Approval.objects.count(), Loan.objects.count(), SettlementInstruction.objects.count()) == counts
    assert Journal.objects.count() == journals
    a = availability_for(btc)
    assert (a.available, a.allocated) == (Decimal(11), Decimal(0))
    # Still approvable: from an account that holds enough.
    assert approve_request(actor=bob, request=request, rate_bps=Decimal("400")).status == "approved"


def test_no_account_holding_the_quantity_refuses_by_name(submit, bob, stocked):
    for _ in range(2):
        approve_request(actor=bob, request=submit(quantity=Decimal("4")), rate_bps=Decimal("400"))
    with pytest.raises(InsufficientInventory, match=r"BTC available: no inventory account holds 4"):
        approve_request(actor=bob, request=submit(quantity=Decimal("4")), rate_bps=Decimal("400"))


def test_an_accepted_offer_opens_the_loan_without_a_second_approval(submit, alice, bob, stocked, btc):
    request = submit(max_rate_bps=Decimal("300"))
    request = approve_request(actor=bob, request=request, rate_bps=Decimal("500"))
    assert request.status == "offered"
    request = accept_offer(actor=alice, request=request)
    request.refresh_from_db()
    assert (request.status, request.approved_rate_bps) == ("approved", Decimal(500))
    assert Approval.objects.filter(request=request).count() == 1
    assert Loan.objects.get(pk=request.loan_id).rate_bps == Decimal(500)
    assert SettlementInstruction.objects.filter(loan_id=request.loan_id).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # restore the seeded roles after
def test_the_ledger_checks_deferred_constraints_before_it_locks_the_balances(desk_config):
    """Foreign keys are deferred to COMMIT by default; the ledger checks what is pending first, so a
    bad write earlier in the transaction fails there, before any balance row is locked."""
    from tests.inventory.factories import desk_asset

    btc, account = desk_asset("BTC", 8, "50000"), firm_account()
    stock(btc, account, "5")
    with pytest.raises(IntegrityError, match="inventory_loan"), transaction.atomic():
        with connection.cursor() as cursor:  # a loan of a counterparty that does not exist: deferred
            cursor.execute(
                "INSERT INTO inventory_loan (counterparty_id, asset_id, account_id, quantity, open_quantity, "
                "rate_bps, status, created_at) VALUES (999999, %s, %s, 1, 1, 1, 'pending_delivery', now())",
                [btc.pk, account.pk],
            )
        allocate(asset=btc, account=account, quantity=Decimal(1))
    assert availability_for(btc).allocated == Decimal(0)
