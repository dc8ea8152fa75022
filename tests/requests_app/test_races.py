"""Races on real PostgreSQL with real threads: the ledger never over-allocates, one winner per request."""

from decimal import Decimal

import pytest
from django.db import connection

from borrowdesk.access.services import create_desk_user
from inventory.models import Position
from requests_app.models import Approval, BorrowRequest
from requests_app.services import approve_request, cancel_request
from tests.races import race, wait_until_a_backend_waits_for_a_lock

# serialized_rollback: restore the roles and approval rules the migrations seeded, after a flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_twenty_final_approvals_for_scarce_inventory_never_over_allocate(submit, bob, stocked, btc):
    # 10 BTC in stock, twenty requests of 1.5 BTC each (one ops approval each): at most six fit.
    requests = [submit(quantity=Decimal("1.5")) for _ in range(20)]
    approvers = [
        create_desk_user(username=f"ops{i}", password="long-password-123", roles=["ops"]) for i in range(20)
    ]
    outcomes = race(
        [
            (lambda r=r, a=a: approve_request(actor=a, request=r.pk, rate_bps=Decimal("400")))
            for r, a in zip(requests, approvers, strict=True)
        ]
    )
    allocated = Position.objects.get(bucket="allocated").quantity
    available = Position.objects.get(bucket="available").quantity
    assert outcomes.count("ok") == 6, outcomes
    assert outcomes.count("insufficient_inventory") == 14, outcomes
    assert (allocated, available) == (Decimal("9"), Decimal("1"))
    # Losers stay exactly as they were, and approvable.
    losers = BorrowRequest.objects.filter(status="pending_approval")
    assert losers.count() == 14
    assert not Approval.objects.filter(request__in=losers).exists()
    # ... and approvable: with more stock, one of them is approved by the approver it lost with.
    from tests.inventory.factories import stock

    stock(btc, stocked, "2")
    loser = losers.first()
    approver = approvers[[r.pk for r in requests].index(loser.pk)]
    assert approve_request(actor=approver, request=loser.pk, rate_bps=Decimal("400")).status == "approved"


def test_approve_racing_cancel_has_exactly_one_winner(submit, alice, bob, stocked):
    for _ in range(5):
        request = submit()
        outcomes = race(
            [
                lambda r=request: approve_request(actor=bob, request=r.pk, rate_bps=Decimal("400")),
                lambda r=request: cancel_request(actor=alice, request=r.pk),
            ]
        )
        assert sorted(outcomes) == ["invalid_state", "ok"]
        request.refresh_from_db()
        if outcomes[0] == "ok":
            assert request.status == "approved"
        else:
            assert request.status == "cancelled" and request.loan is None


def test_two_approvers_at_once_on_one_request_give_one_approval(submit, stocked):
    first = create_desk_user(username="ops_a", password="long-password-123", roles=["ops"])
    second = create_desk_user(username="ops_b", password="long-password-123", roles=["ops"])
    request = submit()
    outcomes = race(
        [
            lambda: approve_request(actor=first, request=request.pk, rate_bps=Decimal("400")),
            lambda: approve_request(actor=second, request=request.pk, rate_bps=Decimal("400")),
        ]
    )
    assert sorted(outcomes) == ["invalid_state", "ok"]
    assert Approval.objects.filter(request=request).count() == 1
    assert Position.objects.get(bucket="allocated").quantity == Decimal("1")


def test_two_first_step_approvers_at_once_on_a_two_step_request_give_one_approval(submit, stocked):
    # The loser waits for the winner's row lock; it must then see the winner's decision (not the one
    # read before the wait) and be refused as a repeat of the step, not crash on the unique step.
    approvers = [
        create_desk_user(username=f"ops_{c}", password="long-password-123", roles=["ops"]) for c in "ab"
    ]
    for _ in range(3):
        request = submit(quantity=Decimal("6"))  # 300,000 USD: ops then ops_senior
        outcomes = race(
            [
                (lambda a=a, r=request: approve_request(actor=a, request=r.pk, rate_bps=Decimal("400")))
                for a in approvers
            ]
        )
        assert sorted(outcomes) == ["ok", "permission_denied"], outcomes
        request.refresh_from_db()
        assert (request.status, request.approvals.count()) == ("pending_second_approval", 1)


def test_an_approval_waiting_on_the_lock_sees_a_kyc_rejection_committed_meanwhile(
    submit, bob, carl, cleared_acme, stocked
):
    import threading

    from django.db import connection, transaction

    from compliance.models import KycProfile

    request = submit()
    locked, release = threading.Event(), threading.Event()

    def hold_the_request_while_kyc_is_rejected():
        try:
            with transaction.atomic():
                list(BorrowRequest.objects.select_for_update().filter(pk=request.pk))
                locked.set()
                release.wait(10)
                KycProfile.objects.filter(counterparty=cleared_acme).update(status="rejected")
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_request_while_kyc_is_rejected)
    holder.start()
    locked.wait(10)
    outcome = []

    def approve():
        try:
            approve_request(actor=bob, request=request.pk, rate_bps=Decimal("400"))
            outcome.append("ok")
        except Exception as exc:  # noqa: BLE001
            outcome.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    approver = threading.Thread(target=approve)
    approver.start()
    wait_until_a_backend_waits_for_a_lock()  # the approval is now waiting for the row lock
    release.set()
    holder.join(10)
    approver.join(10)
    assert outcome == ["compliance_hold"]
    request.refresh_from_db()
    assert (request.status, request.loan_id) == ("pending_approval", None)


def test_the_final_approval_takes_the_hot_balance_rows_lock_last(submit, bob, stocked, btc):
    """While another transaction holds the available balance row, an approval has already written its
    loan, delivery and decision and waits in the ledger post: the statement waiting for the hot row
    is the last write of the approval, so the row is held only from there to COMMIT."""
    import threading

    from django.db import transaction

    from inventory.models import Loan
    from treasury.models import SettlementInstruction

    request = submit()
    holding, release = threading.Event(), threading.Event()

    def hold_the_balance_row():
        try:
            with transaction.atomic():
                # Only the balance row (of=self): Position's ordering joins the asset and the account,
                # whose rows a plain FOR UPDATE would lock too, and the approval's foreign-key checks
                # (run before its last round trip) would wait on those instead.
                list(Position.objects.select_for_update(of=("self",)).filter(asset=btc, bucket="available"))
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    outcome = []

    def approve():
        try:
            approve_request(actor=bob, request=request.pk, rate_bps=Decimal("400"))
            outcome.append("ok")
        except Exception as exc:  # noqa: BLE001
            outcome.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_balance_row)
    holder.start()
    holding.wait(10)
    approver = threading.Thread(target=approve)
    approver.start()
    try:
        wait_until_a_backend_waits_for_a_lock()
        with connection.cursor() as cursor:
            # The waiting backend's statement text (cut at track_activity_query_size), and the rows it
            # queues for: a backend waiting for a row holds that row's tuple lock meanwhile.
            cursor.execute(
                "SELECT a.query, ARRAY(SELECT l.relation::regclass::text FROM pg_locks l"
                "  WHERE l.pid = a.pid AND l.locktype = 'tuple')"
                " FROM pg_stat_activity a"
                " WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'"
            )
            [(waiting, rows)] = cursor.fetchall()
        # The last round trip waits (the decision at its head, so the decision is written), and what it
        # waits for is the balance row: the ledger post, its last write.
        assert "requests_final_decision" in waiting
        assert rows == ["inventory_position"]
    finally:
        release.set()
        holder.join(10)
        approver.join(10)
    assert outcome == ["ok"]
    request.refresh_from_db()
    assert request.status == "approved"
    assert Loan.objects.filter(request_id=request.pk).count() == 1
    assert SettlementInstruction.objects.filter(loan_id=request.loan_id).count() == 1
