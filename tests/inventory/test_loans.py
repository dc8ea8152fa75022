"""The borrow book: returns, recalls, rerates, daily accrual, flags."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowdesk.business_day import business_date
from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError
from inventory.models import LoanAccrual, Position
from inventory.selectors import book
from inventory.services import (
    accrue_fees,
    decide_rerate,
    deliver_loan,
    open_loan,
    propose_rerate,
    recall_loan,
    return_loan,
)
from inventory.tasks import accrue_loan_fees


@pytest.fixture
def loan(stocked, btc, acme, bob):
    loan = open_loan(
        actor=bob,
        request_id=None,
        counterparty=acme,
        asset=btc,
        account=stocked,
        quantity=Decimal("4"),
        rate_bps=Decimal("365"),
        term_days=10,
        hold_expires_at=None,
    )
    return deliver_loan(actor=bob, loan=loan)


def _bucket(name):
    return Position.objects.get(bucket=name).quantity


def test_delivery_starts_the_loan_and_sets_its_maturity(loan):
    assert loan.status == "active" and loan.start_date == business_date()
    assert loan.maturity_date == business_date() + timedelta(days=10)
    assert (_bucket("on_loan"), _bucket("available")) == (Decimal(4), Decimal(6))


def test_partial_then_full_return_closes_the_loan(loan, bob):
    loan = return_loan(actor=bob, loan=loan, quantity=Decimal("1.5"))
    assert (loan.status, loan.open_quantity) == ("active", Decimal("2.5"))
    loan = return_loan(actor=bob, loan=loan, quantity=Decimal("2.5"))
    assert loan.status == "closed" and loan.closed_at is not None
    assert (_bucket("on_loan"), _bucket("available")) == (Decimal(0), Decimal(10))


def test_returning_more_than_is_open_is_refused_and_changes_nothing(loan, bob):
    with pytest.raises(InvalidInput):
        return_loan(actor=bob, loan=loan, quantity=Decimal("4.00000001"))
    loan.refresh_from_db()
    assert loan.open_quantity == Decimal(4) and _bucket("on_loan") == Decimal(4)


def test_a_closed_loan_cannot_be_returned_or_recalled(loan, bob):
    return_loan(actor=bob, loan=loan, quantity=Decimal(4))
    with pytest.raises(InvalidState):
        return_loan(actor=bob, loan=loan, quantity=Decimal(1))
    with pytest.raises(InvalidState):
        recall_loan(actor=bob, loan=loan, quantity=Decimal(1), due_at=timezone.now() + timedelta(days=1))


def test_traders_cannot_record_returns(loan, alice):
    with pytest.raises(PermissionDeniedError):
        return_loan(actor=alice, loan=loan, quantity=Decimal(1))


def test_a_return_meets_the_open_recall(loan, bob):
    recall = recall_loan(actor=bob, loan=loan, quantity=Decimal(2), due_at=timezone.now() + timedelta(days=1))
    return_loan(actor=bob, loan=loan, quantity=Decimal(2))
    recall.refresh_from_db()
    assert recall.status == "met"


def test_recalls_cannot_exceed_the_open_quantity_or_be_due_in_the_past(loan, bob):
    recall_loan(actor=bob, loan=loan, quantity=Decimal(3), due_at=timezone.now() + timedelta(days=1))
    with pytest.raises(InvalidInput):
        recall_loan(actor=bob, loan=loan, quantity=Decimal("1.5"), due_at=timezone.now() + timedelta(days=1))
    with pytest.raises(InvalidInput):
        recall_loan(
            actor=bob, loan=loan, quantity=Decimal("0.5"), due_at=timezone.now() - timedelta(minutes=1)
        )


def test_a_recall_past_due_is_flagged_for_buy_in(loan, bob):
    from inventory.models import Recall

    recall = recall_loan(
        actor=bob, loan=loan, quantity=Decimal(1), due_at=timezone.now() + timedelta(hours=1)
    )
    assert not book().get(pk=loan.pk).buy_in
    Recall.objects.filter(pk=recall.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    flagged = book().get(pk=loan.pk)
    assert flagged.buy_in and flagged.recalled_quantity == Decimal(1)


def test_a_loan_past_maturity_is_flagged(loan):
    from inventory.models import Loan

    assert not book().get(pk=loan.pk).past_maturity
    Loan.objects.filter(pk=loan.pk).update(maturity_date=business_date() - timedelta(days=1))
    assert book().get(pk=loan.pk).past_maturity


def test_daily_accrual_is_idempotent_and_uses_the_rate_in_force(loan, bob, alice):
    day = business_date()
    assert accrue_fees(day=day) == 1
    assert accrue_fees(day=day) == 0  # same business date: nothing added
    # 4 BTC at 365 bps: 4 × 0.0365 / 365 = 0.0004 BTC a day
    assert LoanAccrual.objects.get(business_date=day).fee == Decimal("0.0004")
    rerate = propose_rerate(
        actor=bob, loan=loan, rate_bps=Decimal("730"), effective_date=day + timedelta(days=1)
    )
    decide_rerate(
        actor=alice,
        rerate=rerate,
        accept=True,
        may_act_for=lambda user, cp: user.has_perm("refdata.act_for_counterparty", cp),
    )
    accrue_fees(day=day + timedelta(days=1))
    assert LoanAccrual.objects.get(business_date=day + timedelta(days=1)).fee == Decimal("0.0008")


def test_only_the_borrowers_trader_answers_a_rerate(loan, bob, tom):
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=Decimal("500"), effective_date=business_date())
    with pytest.raises(PermissionDeniedError):
        decide_rerate(
            actor=tom,
            rerate=rerate,
            accept=True,
            may_act_for=lambda user, cp: user.has_perm("refdata.act_for_counterparty", cp),
        )
    rerate.refresh_from_db()
    assert rerate.status == "proposed"


def test_the_accrual_job_records_a_run_and_skips_the_same_date(loan):
    from borrowdesk.operations.models import JobRun

    accrue_loan_fees.apply(args=[business_date().isoformat()])
    accrue_loan_fees.apply(args=[business_date().isoformat()])
    runs = dict(JobRun.objects.filter(job="inventory.accrue_loan_fees").values_list("outcome", "counts"))
    assert runs["succeeded"] == {"accruals_added": 1} and "skipped" in runs
