"""Segregation of duties through the approval matrix's inputs: at every step the path is worked out
again from the current mark and risk rating, and the stricter of it and the stored path applies, so a
price or a rating changed after intake can never shorten the path."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Loan
from requests_app.models import Approval
from requests_app.services import approve_request, stricter_path
from tests.refdata.factories import PriceFactory


def _reprice(asset, price):
    # A later mark: the latest price is the asset's mark.
    PriceFactory(asset=asset, price_usd=Decimal(price), as_of=timezone.now() + timedelta(seconds=1))


@pytest.fixture
def big_stock(btc, inventory_account):
    from tests.inventory.factories import stock

    stock(btc, inventory_account, "100")
    return inventory_account


def test_a_price_raised_after_intake_makes_the_first_approval_not_final(submit, bob, olivia, btc, big_stock):
    request = submit(quantity=Decimal("4"))  # 4 × $50,000 = $200,000: one ops approval
    assert request.required_steps == ["ops"]
    _reprice(btc, "100000")  # now $400,000: the medium band, ops then ops_senior

    approved = approve_request(actor=bob, request=request.pk, rate_bps=Decimal("400"))

    approved.refresh_from_db()
    assert (approved.status, approved.next_role) == ("pending_second_approval", "ops_senior")
    assert approved.required_steps == ["ops", "ops_senior"]
    assert approved.notional_usd == Decimal("400000")
    assert not Loan.objects.filter(request_id=request.pk).exists()
    assert list(Approval.objects.filter(request=request).values_list("step", "role")) == [(1, "ops")]
    final = approve_request(actor=olivia, request=request.pk, rate_bps=Decimal("400"))
    assert final.status == "approved" and Loan.objects.filter(request_id=request.pk).count() == 1


def test_a_price_lowered_after_intake_keeps_the_two_steps(submit, bob, olivia, btc, big_stock):
    request = submit(quantity=Decimal("6"))  # $300,000: ops then ops_senior
    assert request.required_steps == ["ops", "ops_senior"]
    _reprice(btc, "1")  # $6 now: the small band would be one step

    first = approve_request(actor=bob, request=request.pk, rate_bps=Decimal("400"))
    first.refresh_from_db()
    assert (first.status, first.next_role, first.required_steps) == (
        "pending_second_approval",
        "ops_senior",
        ["ops", "ops_senior"],
    )
    assert not Loan.objects.filter(request_id=request.pk).exists()
    final = approve_request(actor=olivia, request=request.pk, rate_bps=Decimal("400"))
    assert final.status == "approved"
    assert list(Approval.objects.filter(request=request).values_list("step", "role", "user")) == [
        (1, "ops", bob.pk),
        (2, "ops_senior", olivia.pk),
    ]


def test_a_risk_rating_raised_after_intake_adds_the_risk_step(submit, bob, rita, cleared_acme, big_stock):
    request = submit(quantity=Decimal("1"))  # $50,000, a low-risk counterparty: one ops approval
    assert request.required_steps == ["ops"]
    cleared_acme.risk_rating = "high"
    cleared_acme.save(update_fields=["risk_rating"])

    approved = approve_request(actor=bob, request=request.pk, rate_bps=Decimal("400"))
    approved.refresh_from_db()
    assert (approved.status, approved.next_role, approved.required_steps) == (
        "pending_second_approval",
        "risk",
        ["ops", "risk"],
    )
    assert not Loan.objects.filter(request_id=request.pk).exists()


def test_the_same_ops_user_cannot_finish_a_path_made_longer_by_a_new_mark(submit, bob, btc, big_stock):
    # The probe's bypass the other way round: the first approver cannot take the second step either.
    request = submit(quantity=Decimal("4"))
    _reprice(btc, "100000")
    approve_request(actor=bob, request=request.pk, rate_bps=Decimal("400"))
    from borrowdesk.errors import SegregationOfDuties

    with pytest.raises(SegregationOfDuties):
        approve_request(actor=bob, request=request.pk, rate_bps=Decimal("400"))
    assert Approval.objects.filter(request=request).count() == 1
    assert not Loan.objects.filter(request_id=request.pk).exists()


def test_the_stricter_path_is_the_longer_then_the_more_senior_and_the_stored_on_a_tie():
    assert stricter_path(["ops"], ["ops", "ops_senior"]) == ["ops", "ops_senior"]
    assert stricter_path(["ops", "ops_senior"], ["ops"]) == ["ops", "ops_senior"]
    assert stricter_path(["ops", "ops_senior"], ["ops", "risk"]) == ["ops", "risk"]
    assert stricter_path(["ops", "risk"], ["ops", "ops_senior"]) == ["ops", "risk"]
    stored = ["ops"]
    assert stricter_path(stored, ["ops"]) is stored


def test_the_mark_read_under_the_lock_is_the_refdata_mark(submit, btc, big_stock):
    from borrowdesk.refdata.selectors import mark
    from requests_app.services.locking import locked_with_decisions

    request = submit()
    now = timezone.now()
    # Two prices at the same time: the later id wins, in both; an older one never does.
    PriceFactory(asset=btc, price_usd=Decimal("61000"), as_of=now + timedelta(seconds=5))
    PriceFactory(asset=btc, price_usd=Decimal("62000"), as_of=now + timedelta(seconds=5))
    PriceFactory(asset=btc, price_usd=Decimal("1"), as_of=now - timedelta(days=1))
    assert locked_with_decisions(request.pk).mark_usd == mark(btc).price_usd == Decimal("62000")


def test_a_pending_price_override_is_not_the_mark_under_the_lock(submit, btc, big_stock):
    from borrowdesk.refdata.models import PriceStatus
    from borrowdesk.refdata.selectors import mark
    from requests_app.services.locking import locked_with_decisions

    request = submit()
    # An administrator's override awaiting a second administrator: it must not move the approval path.
    PriceFactory(
        asset=btc,
        price_usd=Decimal("1"),
        as_of=timezone.now() + timedelta(seconds=5),
        status=PriceStatus.PENDING,
    )
    assert locked_with_decisions(request.pk).mark_usd == mark(btc).price_usd == Decimal("50000")
