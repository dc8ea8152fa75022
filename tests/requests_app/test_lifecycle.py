"""The borrow lifecycle through the services: submit → approve → settle → active → return."""

from decimal import Decimal

import pytest

from borrowdesk.errors import InvalidState, PermissionDeniedError, SegregationOfDuties
from inventory.errors import InsufficientInventory
from inventory.models import Journal, Position
from inventory.selectors import availability_for
from requests_app.services import approve_request, cancel_request
from treasury.models import SettlementInstruction
from treasury.services import settle_instruction


def _balances(asset):
    a = availability_for(asset)
    return (a.available, a.allocated, a.on_loan)


def test_small_request_needs_one_ops_approval_then_allocates_and_opens_a_loan(submit, bob, stocked, btc):
    request = submit(quantity=Decimal("2"))
    assert (request.status, request.required_steps, request.next_role) == ("pending_approval", ["ops"], "ops")
    request = approve_request(actor=bob, request=request, rate_bps=Decimal("450"))
    assert request.status == "approved"
    assert request.loan.status == "pending_delivery"
    assert _balances(btc) == (Decimal(8), Decimal(2), Decimal(0))
    assert SettlementInstruction.objects.get(loan=request.loan).status == "pending"


def test_settling_the_delivery_makes_the_loan_active_and_moves_allocated_to_on_loan(
    submit, bob, tess, stocked, btc, django_capture_on_commit_callbacks
):
    request = approve_request(actor=bob, request=submit(quantity=Decimal("2")), rate_bps=Decimal("450"))
    with django_capture_on_commit_callbacks(execute=True):
        settle_instruction(actor=tess, instruction=SettlementInstruction.objects.get(loan=request.loan))
    request.refresh_from_db()
    request.loan.refresh_from_db()
    assert request.loan.status == "active"
    assert request.delivered_at is not None
    assert _balances(btc) == (Decimal(8), Decimal(0), Decimal(2))


def test_medium_request_goes_ops_then_ops_senior(submit, bob, olivia, stocked):
    request = submit(quantity=Decimal("6"))  # 6 × 50,000 = 300,000 USD
    assert request.required_steps == ["ops", "ops_senior"]
    request = approve_request(actor=bob, request=request, rate_bps=Decimal("400"))
    assert (request.status, request.next_role) == ("pending_second_approval", "ops_senior")
    request = approve_request(actor=olivia, request=request, rate_bps=Decimal("400"))
    assert request.status == "approved"


def test_large_request_goes_ops_then_risk(submit, bob, olivia, rita, stocked, btc):
    from tests.inventory.factories import stock

    stock(btc, stocked, "90")
    request = submit(quantity=Decimal("60"))  # 60 × 50,000 = 3,000,000 USD
    assert request.required_steps == ["ops", "risk"]
    request = approve_request(actor=bob, request=request, rate_bps=Decimal("400"))
    assert (request.status, request.next_role) == ("pending_second_approval", "risk")
    with pytest.raises(PermissionDeniedError):
        approve_request(actor=olivia, request=request, rate_bps=Decimal("400"))
    assert approve_request(actor=rita, request=request, rate_bps=Decimal("400")).status == "approved"


def test_a_high_risk_counterparty_goes_ops_then_risk_whatever_the_size(personas, bob, rita, stocked, btc):
    from datetime import timedelta

    from django.utils import timezone

    from borrowdesk.access.services import grant_counterparty
    from compliance.models import KycProfile
    from requests_app.services import submit_request
    from tests.refdata.factories import CounterpartyFactory

    risky = CounterpartyFactory(code="RISKY", risk_rating="high")
    KycProfile.objects.create(
        counterparty=risky,
        status="approved",
        risk_rating="high",
        expires_on=(timezone.now() + timedelta(days=30)).date(),
    )
    grant_counterparty(user=personas["alice"], counterparty=risky)
    request = submit_request(actor=personas["alice"], counterparty=risky, asset=btc, quantity=Decimal("0.1"))
    assert request.required_steps == ["ops", "risk"]
    request = approve_request(actor=bob, request=request, rate_bps=Decimal("400"))
    assert approve_request(actor=rita, request=request, rate_bps=Decimal("400")).status == "approved"


def test_the_same_user_cannot_give_the_second_approval(submit, personas, stocked):
    from borrowdesk.access.services import create_desk_user

    both = create_desk_user(username="omar", password="long-password-123", roles=["ops", "ops_senior"])
    request = approve_request(actor=both, request=submit(quantity=Decimal("6")), rate_bps=Decimal("400"))
    with pytest.raises(SegregationOfDuties):
        approve_request(actor=both, request=request, rate_bps=Decimal("400"))
    request.refresh_from_db()
    assert request.status == "pending_second_approval"


def test_wrong_role_for_the_step_is_refused(submit, rita, stocked):
    with pytest.raises(PermissionDeniedError):
        approve_request(actor=rita, request=submit(), rate_bps=Decimal("400"))


def test_not_enough_inventory_at_final_approval_leaves_the_request_as_it_was(submit, bob, stocked, btc):
    for _ in range(2):
        approve_request(actor=bob, request=submit(quantity=Decimal("4")), rate_bps=Decimal("400"))
    request = submit(quantity=Decimal("4"))  # only 2 BTC left
    journals = Journal.objects.count()
    with pytest.raises(InsufficientInventory):
        approve_request(actor=bob, request=request, rate_bps=Decimal("400"))
    request.refresh_from_db()
    assert (request.status, request.loan, request.approvals.count()) == ("pending_approval", None, 0)
    assert Journal.objects.count() == journals
    assert _balances(btc) == (Decimal(2), Decimal(8), Decimal(0))


def test_cancelled_request_cannot_be_approved(submit, alice, bob, stocked):
    request = cancel_request(actor=alice, request=submit())
    with pytest.raises(InvalidState):
        approve_request(actor=bob, request=request, rate_bps=Decimal("400"))
    assert not Position.objects.filter(bucket="allocated", quantity__gt=0).exists()
