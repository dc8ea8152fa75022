"""Final approvals racing against one exposure limit, on real PostgreSQL with real threads: the limit
row's lock serialises them, and each one, reading after the lock, sees the loans the ones before it
committed, so the exposure never ends above the limit."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from collateral.models import BorrowerLimit
from collateral.selectors.coverage import coverage_rows
from collateral.services.limits import check_limits_for_final_approval
from compliance.models import KycProfile
from inventory.models import Loan, Position
from requests_app.models import Approval, BorrowRequest
from requests_app.services import approve_request, submit_request
from tests.collateral.limit_helpers import limit
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.races import (
    held_by,
    held_elsewhere,
    in_thread,
    race,
    rows_queued_for,
    wait_until_a_backend_waits_for_a_lock,
)

D = Decimal

# serialized_rollback: restore the roles and approval rules the migrations seeded, after a flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def book(alice, acme):
    btc = desk_asset("BTC", 8, "50000")
    account = firm_account()
    stock(btc, account, "20")
    KycProfile.objects.create(
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=(timezone.now() + timedelta(days=365)).date(),
    )
    return {"btc": btc, "account": account}


def _submit(alice, acme, btc, quantity="1"):
    return submit_request(actor=alice, counterparty=acme, asset=btc, quantity=D(quantity))


def _lend_and_check(bob, acme, asset, account):
    """What a final approval does before its COMMIT, in its order: the loan (1.5 of ``asset``), then the
    check (its open total, then the limit row), which leaves the limit row locked until COMMIT."""
    from inventory.services import open_loan

    open_loan(
        actor=bob,
        request_id=None,
        counterparty=acme,
        asset=asset,
        account=account,
        quantity=D("1.5"),
        rate_bps=D("400"),
        term_days=None,
        hold_expires_at=None,
    )
    check_limits_for_final_approval(counterparty_id=acme.pk, asset=asset, quantity=D("1.5"), term_days=None)


def test_six_approvals_racing_for_an_exposure_limit_that_allows_three_approve_exactly_three(
    book, alice, acme
):
    btc = book["btc"]
    limit(acme, 150_000)  # three loans of 1 BTC at 50,000
    requests = [_submit(alice, acme, btc) for _ in range(6)]
    approvers = [
        create_desk_user(username=f"ops{i}", password="long-password-123", roles=["ops"]) for i in range(6)
    ]
    outcomes = race(
        [
            (lambda r=r, a=a: approve_request(actor=a, request=r.pk, rate_bps=D("400")))
            for r, a in zip(requests, approvers, strict=True)
        ]
    )
    assert sorted(outcomes) == ["limit_exceeded"] * 3 + ["ok"] * 3, outcomes
    (row,) = coverage_rows(counterparty_ids=[acme.pk])
    assert row.exposure_usd == D(150_000) <= BorrowerLimit.objects.get().max_exposure_usd
    assert Loan.objects.count() == 3
    assert Position.objects.get(bucket="allocated").quantity == D(3)
    # The refused ones are exactly as they were: pending, no approval, no loan.
    refused = BorrowRequest.objects.filter(status="pending_approval")
    assert refused.count() == 3
    assert not Approval.objects.filter(request__in=refused).exists()
    assert not refused.exclude(loan=None).exists()


def test_an_approval_waiting_for_the_limit_sees_the_loan_committed_meanwhile(book, alice, bob, acme):
    """While another transaction holds the limit row and commits a loan, the approval waits on the
    limit's lock (its loan, delivery and decision written); once it has the lock it reads the exposure
    in a new statement, which sees that loan, and refuses. The other loan is of another asset (ETH):
    one of the same asset would hold the counterparty's open total for that asset, which an approval
    takes before the limit row, and the approval would queue there instead (the same outcome)."""
    btc, account = book["btc"], book["account"]
    eth = desk_asset("ETH", 8, "50000")
    stock(eth, account, "20")
    limit(acme, 100_000)
    request = _submit(alice, acme, btc, "1")
    # Another approval of 1.5 ETH (75,000) has lent and checked, and holds the limit row until released.
    with held_by(lambda: _lend_and_check(bob, acme, eth, account)):
        approver, outcome = in_thread(
            lambda: approve_request(actor=bob, request=request.pk, rate_bps=D("400"))
        )
        waiting = wait_until_a_backend_waits_for_a_lock()
        queued = rows_queued_for()
    approver.join(10)
    # The statement text is cut at track_activity_query_size (the decision now heads the batch), so
    # what the approval queues for is read from its tuple lock: the limit's row.
    assert "collateral_borrowerlimit" in waiting
    assert queued == ["collateral_borrowerlimit"]
    # 75,000 committed meanwhile + 50,000 = 125,000 > 100,000
    assert outcome == ["limit_exceeded"]
    request.refresh_from_db()
    assert (request.status, request.loan_id) == ("pending_approval", None)
    assert Loan.objects.count() == 1


def test_the_check_refuses_to_run_outside_a_transaction(book, acme):
    with pytest.raises(RuntimeError, match="inside the final approval's transaction"):
        check_limits_for_final_approval(
            counterparty_id=acme.pk, asset=book["btc"], quantity=D(1), term_days=None
        )


def test_two_limit_checks_at_once_open_each_breach_once(book, alice, bob, acme):
    from collateral.models import LimitBreach
    from collateral.services.limits import check_limits

    btc = book["btc"]
    approve_request(actor=bob, request=_submit(alice, acme, btc, "2").pk, rate_bps=D("400"))
    limit(acme, 50_000, caps={btc: 1})  # 100,000 of exposure, 2 BTC open: two breaches
    outcomes = race([check_limits, check_limits])
    assert outcomes == ["ok", "ok"]
    assert sorted(LimitBreach.objects.values_list("kind", "status")) == [
        ("asset_cap", "open"),
        ("exposure", "open"),
    ]


def test_the_limit_check_does_not_wait_for_an_approval_holding_the_limit(book, alice, bob, acme):
    """An approval holds the limit row (FOR NO KEY UPDATE) until it commits; the scheduled check writes
    breaches referencing that row (a FOR KEY SHARE on it), which does not conflict, so it finishes."""
    from collateral.models import LimitBreach
    from collateral.services.limits import check_limits

    btc = book["btc"]
    approve_request(actor=bob, request=_submit(alice, acme, btc, "2").pk, rate_bps=D("400"))  # open-ended
    limit(acme, 1_000_000, max_tenor_days=30)
    # An approval's check of a 10-day loan passes and leaves the limit row locked until COMMIT.
    with held_by(
        lambda: check_limits_for_final_approval(
            counterparty_id=acme.pk, asset=btc, quantity=D(1), term_days=10
        )
    ):
        started = time.monotonic()
        outcome = race([check_limits])  # on a thread of its own, with its own connection
        assert time.monotonic() - started < 5
    assert outcome == ["ok"]
    assert LimitBreach.objects.filter(kind="tenor", status="open").count() == 1  # the open-ended loan


def test_a_new_limit_version_does_not_let_an_approval_past_one_holding_the_lock(book, alice, bob, acme):
    """Approval A holds the lock under version 1; risk commits version 2 meanwhile; approval B, under
    version 2, still waits for A (they share the counterparty's first limit row as the lock), so B
    reads A's loan once A commits."""
    btc, account = book["btc"], book["account"]
    first = limit(acme, 1_000_000)
    request = _submit(alice, acme, btc, "1")
    # Approval A of 1.5 BTC (75,000 <= 1,000,000) passes its check and holds the lock until released.
    with held_by(lambda: _lend_and_check(bob, acme, btc, account)):
        # Version 2, committed while A holds the lock: 100,000, which A's loan and B's together break.
        limit(acme, 100_000, effective_from=first.effective_from + timedelta(seconds=1))
        b, outcome = in_thread(lambda: approve_request(actor=bob, request=request.pk, rate_bps=D("400")))
        waiting = wait_until_a_backend_waits_for_a_lock()
    b.join(10)
    assert "collateral_borrowerlimit" in waiting
    assert outcome == ["limit_exceeded"]  # 75,000 + 50,000 = 125,000 > 100,000
    request.refresh_from_db()
    assert (request.status, request.loan_id) == ("pending_approval", None)


def test_an_approval_takes_its_open_total_before_the_limit_row(book, alice, bob, acme):
    """The lock order every path keeps: a final approval locks its (counterparty, asset) open total (its
    loan's deferred change, fired after the decision) before the limit row, and inventory's loan events
    take the total before any balance row. While another session holds ACME's BTC total, the approval
    queues there, holding neither the limit row nor a balance row; released, it goes through."""
    from tests.inventory.test_open_totals import LOCK_THE_TOTAL, _balance_rows_free

    btc, account = book["btc"], book["account"]
    limit(acme, 1_000_000)
    approve_request(actor=bob, request=_submit(alice, acme, btc).pk, rate_bps=D("400"))  # the total exists
    request = _submit(alice, acme, btc)
    with held_elsewhere(LOCK_THE_TOTAL, [acme.pk, btc.pk]):
        approver, outcome = in_thread(
            lambda: approve_request(actor=bob, request=request.pk, rate_bps=D("400"))
        )
        wait_until_a_backend_waits_for_a_lock()
        assert rows_queued_for() == ["inventory_openloantotal"]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM collateral_borrowerlimit WHERE counterparty_id = %s FOR NO KEY UPDATE NOWAIT",
                [acme.pk],
            )
        assert _balance_rows_free(btc.pk, account.pk)
    approver.join(10)
    assert outcome == ["ok"]
    assert Loan.objects.filter(counterparty=acme, status="pending_delivery").count() == 2
