"""Reactions: requests follow their counterparty's compliance clearance; a delivered loan stamps its
request; holds whose delivery never settled are released."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.business_day import business_date
from compliance.selectors import cleared_sql
from inventory.models import Loan, LoanStatus
from inventory.services import cancel_loan
from requests_app.models import BorrowRequest, Decision, RequestStatus
from treasury.models import SettlementInstruction, SettlementStatus
from treasury.services import cancel_instructions_for_loan

_HOLD_SQL = f"""
    UPDATE requests_app_borrowrequest r SET status = '{RequestStatus.COMPLIANCE_HOLD}', updated_at = now()
    WHERE r.status IN ('{RequestStatus.PENDING_APPROVAL}', '{RequestStatus.PENDING_SECOND_APPROVAL}')
      AND NOT {{cleared}} {{scope}}
"""
_RELEASE_SQL = f"""
    UPDATE requests_app_borrowrequest r
    SET status = CASE WHEN EXISTS (
            SELECT 1 FROM requests_app_approval d
            WHERE d.request_id = r.id AND d.decision = '{Decision.APPROVED}'
        ) THEN '{RequestStatus.PENDING_SECOND_APPROVAL}' ELSE '{RequestStatus.PENDING_APPROVAL}' END,
        updated_at = now()
    WHERE r.status = '{RequestStatus.COMPLIANCE_HOLD}' AND {{cleared}} {{scope}}
"""


@transaction.atomic
def sync_compliance_holds(*, counterparty_id: int | None = None) -> dict[str, int]:
    """Requests follow their counterparty's clearance as it is now: awaiting approval and not cleared
    (KYC rejected, set back to pending, or run out by date) → ``compliance_hold``; held and cleared →
    back to the approval queue at the step they had reached (decisions and next role are kept).

    Called for one counterparty when compliance changes its KYC (both signals), and for all by the
    5-minute job, so a KYC that expires by date, or a signal lost, is caught up. It reads the state
    rather than trusting which signal came, so two KYC changes whose notices arrive out of order end
    right. Each UPDATE locks its rows; an approval under way finishes first and is then re-checked.
    """
    scope, params = ("AND r.counterparty_id = %s", [counterparty_id]) if counterparty_id else ("", [])
    cleared = cleared_sql("r.counterparty_id")
    day = business_date()
    with connection.cursor() as cursor:
        cursor.execute(_HOLD_SQL.format(cleared=cleared, scope=scope), [day, *params])
        held = cursor.rowcount
        cursor.execute(_RELEASE_SQL.format(cleared=cleared, scope=scope), [day, *params])
        released = cursor.rowcount
    return {"held_for_compliance": held, "released_from_hold": released}


@transaction.atomic
def mark_delivered(*, loan_id: int) -> int:
    """The loan's delivery settled: record the request's delivery time (the SLA's last mark)."""
    return BorrowRequest.objects.filter(loan_id=loan_id, delivered_at__isnull=True).update(
        delivered_at=timezone.now()
    )


def release_expired_holds(*, now: datetime | None = None) -> dict[str, int]:
    """Holds whose delivery did not settle by the hold's expiry are released and their loans cancelled,
    so inventory never stays stuck. One transaction per loan; the settlement row is locked first, in
    the same order as settling, so a settle racing the release has one winner."""
    now = now or timezone.now()
    released = 0
    loan_ids = list(
        Loan.objects.filter(status=LoanStatus.PENDING_DELIVERY, hold_expires_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    for loan_id in loan_ids:
        with transaction.atomic():
            legs = list(
                SettlementInstruction.objects.select_for_update().filter(
                    loan_id=loan_id, status__in=[SettlementStatus.PENDING, SettlementStatus.FAILED]
                )
            )
            loan = Loan.objects.select_for_update().get(pk=loan_id)
            if loan.status != LoanStatus.PENDING_DELIVERY:
                continue  # settled meanwhile: the settlement won the race
            del legs  # locked above so a concurrent settle waits for this release, then sees it cancelled
            cancel_loan(actor=None, loan=loan, reason="hold expired before delivery")
            cancel_instructions_for_loan(loan=loan)
            released += 1
    return {"holds_released": released}
