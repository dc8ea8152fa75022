"""Offers: the last approval at a rate above the trader's maximum is an offer the trader answers."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.errors import InvalidState, PermissionDeniedError
from borrowdesk.refdata.selectors import may_act_for
from requests_app.models import BorrowRequest, RequestStatus
from requests_app.services.approvals import check_cleared, check_settlement_account, open_loan_for
from requests_app.services.locking import Locked, locked_with_decisions


def _locked_offer(actor, request: BorrowRequest | int) -> Locked:
    require(actor, "requests.submit", "Only a trader for this counterparty can answer the offer.")
    locked = locked_with_decisions(request)
    request = locked.request
    if not may_act_for(actor, request.counterparty):
        raise PermissionDeniedError("Only a trader for this counterparty can answer the offer.")
    if request.status != RequestStatus.OFFERED:
        raise InvalidState(
            f"Request {request.pk} is {request.get_status_display().lower()}; there is no offer to answer."
        )
    if request.offer_expires_at and request.offer_expires_at <= timezone.now():
        raise InvalidState("This offer has lapsed.")
    return locked


@transaction.atomic(durable=True)
def accept_offer(*, actor, request: BorrowRequest | int) -> BorrowRequest:
    """The trader takes the offered rate: inventory is allocated and the loan opened, as at approval.
    Raises ``NotCleared`` when the counterparty lost its compliance clearance since the offer."""
    with acting_as(actor):
        request, _, cleared, *_ = _locked_offer(actor, request)
        check_cleared(request, cleared)
        check_settlement_account(request)
        if request.approved_quantity is None or request.approved_rate_bps is None:
            raise InvalidState(f"Request {request.pk} has no complete offer to accept.")
        source = None
        if request.source_account_id is not None:
            source = request.source_account  # one query, only when the approver named the account
        open_loan_for(
            request,
            actor=actor,
            quantity=request.approved_quantity,
            rate_bps=request.approved_rate_bps,
            account=source,
            now=timezone.now(),
            approval=None,
        )
        return request


@transaction.atomic(durable=True)
def decline_offer(*, actor, request: BorrowRequest | int) -> BorrowRequest:
    """The trader turns the offered rate down."""
    with acting_as(actor):
        request = _locked_offer(actor, request).request
        request.status, request.decided_at, request.reason = (
            RequestStatus.DECLINED,
            timezone.now(),
            "offer declined",
        )
        request.save()
        return request
