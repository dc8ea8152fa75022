"""Intake: a trader submits a borrow request for a counterparty they act for, or withdraws it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from borrowdesk.refdata.selectors import may_act_for
from borrowdesk.refdata.services import check_account_carries
from compliance.aml.services import monitor_request
from compliance.selectors import is_cleared
from inventory.selectors import availability_for
from inventory.services import check_quantity
from requests_app import priority
from requests_app.models import AWAITING_APPROVAL, BorrowRequest, RequestStatus, Urgency
from requests_app.services.locking import locked
from requests_app.services.matrix import price_path
from requests_app.services.pricing import set_priority
from requests_app.services.validation import MAX_TERM_DAYS, check_rate

# One sentence whether the code is unknown, inactive or not granted to the trader: a trader cannot
# learn from it whether another counterparty (or account) exists.
UNKNOWN_COUNTERPARTY = "Unknown counterparty, or not one you act for."
UNKNOWN_SETTLEMENT_ACCOUNT = "Unknown settlement account, or not an active account of this counterparty."


def submit_request(
    *,
    actor,
    counterparty: Counterparty,
    asset: Asset,
    quantity: Decimal,
    min_quantity: Decimal | None = None,
    max_rate_bps: Decimal | None = None,
    term_days: int | None = None,
    settlement_account: CustodyAccount | None = None,
    urgency: str = Urgency.NORMAL,
    needed_by: datetime | None = None,
    notes: str = "",
) -> BorrowRequest:
    """A trader asks to borrow for a counterparty they act for.

    The request waits for approval (``pending_approval``), or in ``compliance_hold`` while the
    counterparty is not cleared. Raises ``InvalidInput`` for every bad field, nothing written. The one
    write is the request's INSERT (its audit event is written by trigger in the same statement), so it
    needs no transaction of its own; inside ``submit_idempotent`` it joins that one.
    """
    require(actor, "requests.submit", "Only traders submit borrow requests.")
    if not may_act_for(actor, counterparty) or not counterparty.is_active:
        raise InvalidInput(UNKNOWN_COUNTERPARTY, fields={"counterparty": [UNKNOWN_COUNTERPARTY]})
    if not asset.is_active:
        raise InvalidInput(f"{asset.symbol} is not active.", fields={"asset": ["Inactive asset."]})
    check_quantity(quantity, asset)
    min_quantity = quantity if min_quantity is None else min_quantity
    check_quantity(min_quantity, asset, field="min_quantity")
    if min_quantity > quantity:
        raise InvalidInput(
            "min_quantity cannot exceed quantity.", fields={"min_quantity": ["Cannot exceed quantity."]}
        )
    check_rate(max_rate_bps, "max_rate_bps")
    if term_days is not None and not (1 <= term_days <= MAX_TERM_DAYS):
        raise InvalidInput(
            f"term_days must be between 1 and {MAX_TERM_DAYS}, or null for open.",
            fields={"term_days": [f"Between 1 and {MAX_TERM_DAYS}."]},
        )
    if urgency not in Urgency.values:
        raise InvalidInput(f"Unknown urgency {urgency!r}.", fields={"urgency": ["Not a valid choice."]})
    if settlement_account is not None and (
        settlement_account.owner_id != counterparty.pk or not settlement_account.is_active
    ):
        raise InvalidInput(
            UNKNOWN_SETTLEMENT_ACCOUNT, fields={"settlement_account": [UNKNOWN_SETTLEMENT_ACCOUNT]}
        )
    if settlement_account is not None:
        # A delivery goes on the account's network: it must carry the asset (ETH to a bitcoin wallet is lost).
        check_account_carries(settlement_account, asset, field="settlement_account")
    now = timezone.now()
    if needed_by is not None and needed_by <= now:
        raise InvalidInput(
            "needed_by must be in the future.", fields={"needed_by": ["Must be in the future."]}
        )

    with acting_as(actor):
        request = BorrowRequest(
            counterparty=counterparty,
            asset=asset,
            quantity=quantity,
            min_quantity=min_quantity,
            max_rate_bps=max_rate_bps,
            term_days=term_days,
            settlement_account=settlement_account,
            urgency=urgency,
            needed_by=needed_by,
            notes=notes,
            requested_by=actor,
            submitted_at=now,
            expires_at=now + timedelta(hours=settings.REQUEST_DECISION_HOURS),
            status=RequestStatus.PENDING_APPROVAL
            if is_cleared(counterparty)
            else RequestStatus.COMPLIANCE_HOLD,
        )
        price_path(request)
        request.next_role = request.required_steps[0] if request.required_steps else "ops"
        set_priority(request, max_rate_bps or priority.indicative_rate_bps(availability_for(asset)))
        request.save()
    # AML monitoring (compliance) judges the request once it is committed. Robust: monitoring that
    # fails never fails the submission; compliance's hourly AML job catches it up.
    transaction.on_commit(partial(monitor_request, request_id=request.pk), robust=True)
    return request


@transaction.atomic(durable=True)
def cancel_request(*, actor, request: BorrowRequest | int) -> BorrowRequest:
    """The requester withdraws a request before it is approved."""
    require(actor, "requests.submit", "Only the trader who submitted a request can cancel it.")
    with acting_as(actor):
        request = locked(request)
        if request.requested_by_id != actor.pk:
            raise PermissionDeniedError("Only the trader who submitted a request can cancel it.")
        if request.status not in (RequestStatus.SUBMITTED, RequestStatus.COMPLIANCE_HOLD, *AWAITING_APPROVAL):
            raise InvalidState(
                f"Request {request.pk} is {request.get_status_display().lower()}; "
                "only a request not yet approved can be cancelled."
            )
        now = timezone.now()
        request.status, request.decided_at, request.next_role = RequestStatus.CANCELLED, now, ""
        request.save()
        return request
