"""The borrow book's services: delivery, returns, recalls, rerates, daily accrual, and the flags the
book shows (buy-in, past maturity)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from borrowdesk.business_day import business_date
from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError
from inventory.models import Loan, LoanAccrual, Recall
from inventory.selectors import book
from inventory.services import (
    accrue_fees,
    cancel_loan,
    decide_rerate,
    open_loan,
    propose_rerate,
    recall_loan,
    return_loan,
)
from tests.inventory.factories import accrue, active_loan, backdate_delivery, balances, ledger_state

D = Decimal
TODAY = business_date


def _later(**delta):
    return timezone.now() + timedelta(**delta)


def _accept(actor, rerate):
    return decide_rerate(actor=actor, rerate=rerate, accept=True)


def _fees():
    return dict(LoanAccrual.objects.values_list("business_date", "fee"))


# --- delivery, cancellation --------------------------------------------------------------------------


def test_delivery_starts_the_loan_and_sets_its_maturity(loan, btc, stocked):
    assert (loan.status, loan.start_date) == ("active", TODAY())
    assert loan.maturity_date == TODAY() + timedelta(days=10)
    assert balances(btc, stocked) == {"available": D(6), "on_loan": D(4), "external": D(-10)}


def test_cancelling_a_loan_pending_delivery_releases_its_hold(stocked, btc, acme, bob):
    loan = open_loan(
        actor=bob,
        request_id=None,
        counterparty=acme,
        asset=btc,
        account=stocked,
        quantity=D(3),
        rate_bps=D(400),
        term_days=None,
        hold_expires_at=None,
    )
    assert balances(btc, stocked)["allocated"] == D(3)
    loan = cancel_loan(actor=bob, loan=loan, reason="delivery failed")
    assert loan.status == "cancelled"
    assert balances(btc, stocked) == {"available": D(10), "external": D(-10)}


# --- returns -----------------------------------------------------------------------------------------


def test_a_partial_return_keeps_the_loan_active(loan, bob, btc, stocked):
    loan = return_loan(actor=bob, loan=loan, quantity=D("1.5"))
    assert (loan.status, loan.open_quantity, loan.closed_at) == ("active", D("2.5"), None)
    assert balances(btc, stocked) == {"available": D("7.5"), "on_loan": D("2.5"), "external": D(-10)}


def test_a_full_return_closes_the_loan(loan, bob, btc, stocked):
    return_loan(actor=bob, loan=loan, quantity=D("1.5"))
    loan = return_loan(actor=bob, loan=loan, quantity=D("2.5"))
    assert (loan.status, loan.open_quantity) == ("closed", D(0)) and loan.closed_at is not None
    assert balances(btc, stocked) == {"available": D(10), "external": D(-10)}


@pytest.mark.parametrize("quantity", [D("4.00000001"), D(0), D(-1), D("0.000000001")])
def test_a_bad_return_quantity_is_refused_and_changes_nothing(loan, bob, quantity):
    before = ledger_state()
    with pytest.raises(InvalidInput):
        return_loan(actor=bob, loan=loan, quantity=quantity)
    assert ledger_state() == before


def test_a_closed_loan_cannot_be_returned(loan, bob):
    return_loan(actor=bob, loan=loan, quantity=D(4))
    before = ledger_state()
    with pytest.raises(InvalidState):
        return_loan(actor=bob, loan=loan, quantity=D(1))
    assert ledger_state() == before


def test_traders_cannot_record_returns(loan, alice):
    before = ledger_state()
    with pytest.raises(PermissionDeniedError):
        return_loan(actor=alice, loan=loan, quantity=D(1))
    assert ledger_state() == before


# --- recalls -----------------------------------------------------------------------------------------


def test_a_return_meets_the_open_recall(loan, bob):
    recall = recall_loan(actor=bob, loan=loan, quantity=D(2), due_at=_later(days=1))
    return_loan(actor=bob, loan=loan, quantity=D(2))
    recall.refresh_from_db()
    assert (recall.status, recall.quantity) == ("met", D(2))


def test_a_partial_return_leaves_the_rest_of_the_recall_open(loan, bob):
    recall = recall_loan(actor=bob, loan=loan, quantity=D(3), due_at=_later(days=1))
    return_loan(actor=bob, loan=loan, quantity=D(1))
    recall.refresh_from_db()
    assert (recall.status, recall.quantity) == ("open", D(2))


def test_a_return_meets_recalls_oldest_due_first(loan, bob):
    later = recall_loan(actor=bob, loan=loan, quantity=D(1), due_at=_later(days=2))
    sooner = recall_loan(actor=bob, loan=loan, quantity=D(1), due_at=_later(days=1))
    return_loan(actor=bob, loan=loan, quantity=D(1))
    assert dict(Recall.objects.values_list("pk", "status")) == {sooner.pk: "met", later.pk: "open"}


def test_closing_a_loan_meets_every_open_recall(loan, bob):
    recall_loan(actor=bob, loan=loan, quantity=D(1), due_at=_later(days=1))
    recall_loan(actor=bob, loan=loan, quantity=D(1), due_at=_later(days=2))
    return_loan(actor=bob, loan=loan, quantity=D(4))
    assert set(Recall.objects.values_list("status", flat=True)) == {"met"}


def test_recalls_cannot_exceed_the_open_quantity(loan, bob):
    recall_loan(actor=bob, loan=loan, quantity=D(3), due_at=_later(days=1))
    before = ledger_state()
    with pytest.raises(InvalidInput) as refused:
        recall_loan(actor=bob, loan=loan, quantity=D("1.5"), due_at=_later(days=1))
    assert "quantity" in refused.value.fields
    assert ledger_state() == before


def test_a_recall_due_in_the_past_is_refused(loan, bob):
    before = ledger_state()
    with pytest.raises(InvalidInput) as refused:
        recall_loan(actor=bob, loan=loan, quantity=D(1), due_at=_later(minutes=-1))
    assert "due_at" in refused.value.fields
    assert ledger_state() == before


def test_a_closed_loan_cannot_be_recalled(loan, bob):
    return_loan(actor=bob, loan=loan, quantity=D(4))
    with pytest.raises(InvalidState):
        recall_loan(actor=bob, loan=loan, quantity=D(1), due_at=_later(days=1))
    assert not Recall.objects.exists()


def test_traders_cannot_recall(loan, alice):
    with pytest.raises(PermissionDeniedError):
        recall_loan(actor=alice, loan=loan, quantity=D(1), due_at=_later(days=1))
    assert not Recall.objects.exists()


def test_a_recall_past_due_is_flagged_for_buy_in(loan, bob):
    recall = recall_loan(actor=bob, loan=loan, quantity=D(1), due_at=_later(hours=1))
    assert not book().get(pk=loan.pk).buy_in
    Recall.objects.filter(pk=recall.pk).update(due_at=_later(minutes=-1))
    flagged = book().get(pk=loan.pk)
    assert (flagged.buy_in, flagged.open_recall_quantity) == (True, D(1))


def test_a_met_recall_past_due_is_not_a_buy_in(loan, bob):
    recall = recall_loan(actor=bob, loan=loan, quantity=D(1), due_at=_later(hours=1))
    return_loan(actor=bob, loan=loan, quantity=D(1))
    Recall.objects.filter(pk=recall.pk).update(due_at=_later(minutes=-1))
    assert not book().get(pk=loan.pk).buy_in


# --- maturity ----------------------------------------------------------------------------------------


def test_a_loan_past_maturity_is_flagged(loan):
    assert not book().get(pk=loan.pk).is_past_maturity
    Loan.objects.filter(pk=loan.pk).update(maturity_date=TODAY() - timedelta(days=1))
    assert book().get(pk=loan.pk).is_past_maturity


def test_a_returned_loan_past_maturity_is_not_flagged(loan, bob):
    return_loan(actor=bob, loan=loan, quantity=D(4))
    Loan.objects.filter(pk=loan.pk).update(maturity_date=TODAY() - timedelta(days=1))
    assert not book().get(pk=loan.pk).is_past_maturity


# --- rerates -----------------------------------------------------------------------------------------


def test_an_accepted_rerate_takes_effect_from_its_date_in_accruals(loan, bob, alice):
    # 4 BTC at 365 bps is 0.0004 BTC a day; at 730 bps from tomorrow, 0.0008.
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=D(730), effective_date=TODAY() + timedelta(days=1))
    _accept(alice, rerate)
    for offset in range(3):
        accrue(TODAY() + timedelta(days=offset))
    assert _fees() == {
        TODAY(): D("0.0004"),
        TODAY() + timedelta(days=1): D("0.0008"),
        TODAY() + timedelta(days=2): D("0.0008"),
    }
    assert book().get(pk=loan.pk).rate_in_force_bps == D(365)  # today: not yet in force


def test_a_rejected_rerate_leaves_the_rate_as_it_was(loan, bob, alice):
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=D(730), effective_date=TODAY())
    decide_rerate(actor=alice, rerate=rerate, accept=False)
    accrue(TODAY())
    rerate.refresh_from_db()
    assert (rerate.status, rerate.decided_by) == ("rejected", alice)
    assert _fees() == {TODAY(): D("0.0004")}


def test_the_rate_in_force_follows_accepted_rerates_by_date(loan, bob, alice):
    _accept(alice, propose_rerate(actor=bob, loan=loan, rate_bps=D(500), effective_date=TODAY()))
    _accept(
        alice, propose_rerate(actor=bob, loan=loan, rate_bps=D(600), effective_date=TODAY() + timedelta(3))
    )
    assert book().get(pk=loan.pk).rate_in_force_bps == D(500)


def test_only_the_borrowers_trader_answers_a_rerate(loan, bob, tom):
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=D(500), effective_date=TODAY())
    before = ledger_state()
    with pytest.raises(PermissionDeniedError):
        _accept(tom, rerate)
    with pytest.raises(PermissionDeniedError):
        _accept(bob, rerate)  # the desk cannot answer for the borrower
    assert ledger_state() == before


def test_a_granted_user_without_the_trader_role_cannot_answer_a_rerate(loan, bob, acme):
    from borrowdesk.access.services import grant_counterparty

    analyst = create_desk_user(username="ana", password="long-password-123", roles=["risk"])
    grant_counterparty(user=analyst, counterparty=acme)
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=D(500), effective_date=TODAY())
    with pytest.raises(PermissionDeniedError):
        _accept(analyst, rerate)


def test_a_rerate_cannot_be_answered_twice(loan, bob, alice):
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=D(500), effective_date=TODAY())
    _accept(alice, rerate)
    with pytest.raises(InvalidState):
        decide_rerate(actor=alice, rerate=rerate, accept=False)
    rerate.refresh_from_db()
    assert rerate.status == "accepted"


@pytest.mark.parametrize(
    ("rate", "days", "field"),
    [
        (D(-1), 0, "rate_bps"),
        (D(100001), 0, "rate_bps"),
        (D("NaN"), 0, "rate_bps"),
        (D(500), -1, "effective_date"),
    ],
)
def test_a_rerate_out_of_range_or_in_the_past_is_refused(loan, bob, rate, days, field):
    before = ledger_state()
    with pytest.raises(InvalidInput) as refused:
        propose_rerate(actor=bob, loan=loan, rate_bps=rate, effective_date=TODAY() + timedelta(days=days))
    assert field in refused.value.fields
    assert ledger_state() == before


def test_one_rerate_awaits_the_borrower_at_a_time(loan, bob):
    propose_rerate(actor=bob, loan=loan, rate_bps=D(500), effective_date=TODAY())
    before = ledger_state()
    with pytest.raises(InvalidState):
        propose_rerate(actor=bob, loan=loan, rate_bps=D(600), effective_date=TODAY())
    assert ledger_state() == before


def test_a_rerate_from_a_day_already_accrued_is_refused(loan, bob):
    accrue(TODAY())
    with pytest.raises(InvalidInput) as refused:
        propose_rerate(actor=bob, loan=loan, rate_bps=D(500), effective_date=TODAY())
    assert "effective_date" in refused.value.fields


def test_accepting_a_rerate_whose_first_day_has_accrued_since_is_refused(loan, bob, alice):
    # Accruals are immutable: accepting would claim a day already booked at the old rate.
    rerate = propose_rerate(actor=bob, loan=loan, rate_bps=D(500), effective_date=TODAY())
    accrue(TODAY())
    with pytest.raises(InvalidState):
        _accept(alice, rerate)
    decide_rerate(actor=alice, rerate=rerate, accept=False)  # rejecting is fine
    rerate.refresh_from_db()
    assert rerate.status == "rejected"


def test_traders_cannot_propose_rerates(loan, alice):
    with pytest.raises(PermissionDeniedError):
        propose_rerate(actor=alice, loan=loan, rate_bps=D(500), effective_date=TODAY())


# --- daily accrual -----------------------------------------------------------------------------------


def test_daily_accrual_books_the_day_fee_in_the_asset(loan):
    assert accrue(TODAY()) == 1
    accrual = LoanAccrual.objects.get()
    # 4 BTC at 365 bps a year: 4 × 0.0365 / 365 = 0.0004 BTC for the day
    assert (accrual.open_quantity, accrual.rate_bps, accrual.fee) == (D(4), D(365), D("0.0004"))


def test_accruing_the_same_date_twice_adds_nothing(loan):
    accrue(TODAY())
    rows = ledger_state()["accruals"]
    assert accrue(TODAY()) == 0
    assert ledger_state()["accruals"] == rows


def test_accrual_follows_the_open_quantity(loan, bob):
    return_loan(actor=bob, loan=loan, quantity=D(3))
    accrue(TODAY())
    assert _fees() == {TODAY(): D("0.0001")}


def test_closed_and_undelivered_loans_do_not_accrue(loan, bob, stocked, btc, acme):
    return_loan(actor=bob, loan=loan, quantity=D(4))
    open_loan(
        actor=bob,
        request_id=None,
        counterparty=acme,
        asset=btc,
        account=stocked,
        quantity=D(1),
        rate_bps=D(400),
        term_days=None,
        hold_expires_at=None,
    )
    assert accrue(TODAY()) == 0


def test_a_loan_does_not_accrue_before_its_start(loan):
    assert accrue(TODAY() - timedelta(days=1)) == 0


def test_a_day_that_has_not_ended_cannot_be_accrued_and_nothing_is_written(loan):
    before = ledger_state()
    with pytest.raises(InvalidState, match="has not ended"):
        accrue_fees(day=TODAY())  # the clock: today is still going on
    assert ledger_state() == before


def test_a_late_accrual_charges_what_was_open_at_that_days_end_not_now(loan, bob):
    backdate_delivery(loan, TODAY() - timedelta(days=3))
    return_loan(actor=bob, loan=loan, quantity=D(3))  # today, after the days accrued below
    # The job missed two days; caught up now, they are charged on the 4 BTC open then.
    assert accrue_fees(day=TODAY() - timedelta(days=2)) == 1
    assert accrue_fees(day=TODAY() - timedelta(days=1)) == 1
    assert sorted(LoanAccrual.objects.values_list("business_date", "open_quantity", "fee")) == [
        (TODAY() - timedelta(days=2), D(4), D("0.0004")),
        (TODAY() - timedelta(days=1), D(4), D("0.0004")),
    ]
    # Today ends with 1 BTC open.
    assert accrue(TODAY()) == 1
    assert LoanAccrual.objects.get(business_date=TODAY()).open_quantity == D(1)


def test_a_loan_returned_since_still_accrues_the_days_it_was_out(loan, bob):
    backdate_delivery(loan, TODAY() - timedelta(days=2))
    return_loan(actor=bob, loan=loan, quantity=D(4))
    loan.refresh_from_db()
    assert loan.status == "closed"
    assert accrue_fees(day=TODAY() - timedelta(days=1)) == 1
    assert accrue(TODAY()) == 0  # the return's own day is not charged
    assert _fees() == {TODAY() - timedelta(days=1): D("0.0004")}


def test_the_accrued_fee_in_the_book_is_the_sum_of_accruals(loan):
    for offset in range(3):
        accrue(TODAY() + timedelta(days=offset))
    assert book().get(pk=loan.pk).accrued_fee == D("0.0012")


# --- scope -------------------------------------------------------------------------------------------


def test_a_trader_sees_only_the_loans_of_counterparties_granted_to_them(
    loan, alice, tom, bob, btc, stocked, globex
):
    other = active_loan(actor=bob, counterparty=globex, asset=btc, account=stocked, quantity="1")
    assert list(book(alice)) == [loan]
    assert list(book(tom)) == [other]


def test_desk_roles_see_the_whole_book_and_others_none(loan, audrey, carl):
    assert list(book(audrey)) == [loan] and list(book(carl)) == [loan]
    nobody = get_user_model().objects.create_user(username="nobody")  # no desk role at all
    assert not book(nobody).exists()
