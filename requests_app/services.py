"""Borrow requests: intake → compliance gate → approvals (matrix) → allocation → settlement.

Every action locks the request row first (``select_for_update``), so two approvers at once, an approval
racing a cancel, or an approval racing the expiry job leave exactly one winner; the loser sees the new
state and gets ``InvalidState``. The allocation at final approval is the ledger's conditional UPDATE:
20 final approvals racing for inventory that covers some of them allocate no more than there is.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from borrowdesk import rows
from borrowdesk.access.roles import has_role
from borrowdesk.audit import WRITING_CALL, acting_as
from borrowdesk.business_day import business_date, business_day_end
from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError, SegregationOfDuties
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from borrowdesk.refdata.selectors import mark, may_act_for
from compliance.errors import NotCleared
from compliance.selectors import cleared_sql, is_cleared
from inventory.errors import InsufficientInventory
from inventory.models import Loan
from inventory.selectors import availability_for
from inventory.services import (
    cancel_loan,
    check_quantity,
)
from requests_app import priority
from requests_app.errors import IdempotencyConflict, PriceUnavailable
from requests_app.models import (
    APPROVER_ROLES,
    AWAITING_APPROVAL,
    Approval,
    ApprovalRule,
    BorrowRequest,
    Decision,
    IdempotencyRecord,
    RequestStatus,
    Urgency,
)
from treasury.models import SettlementInstruction, SettlementStatus
from treasury.services import cancel_instructions_for_loan

MAX_RATE_BPS = Decimal(100000)  # 1000% a year: anything above is a typo
MAX_TERM_DAYS = 3650


# --- helpers --------------------------------------------------------------------------------------


def _check_rate(rate: Decimal | None, field: str) -> None:
    if rate is None:
        return
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0 or rate > MAX_RATE_BPS:
        raise InvalidInput(
            f"{field} must be between 0 and {MAX_RATE_BPS}.",
            fields={field: [f"Between 0 and {MAX_RATE_BPS}."]},
        )
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise InvalidInput(
            f"{field} allows at most 4 decimal places.", fields={field: ["At most 4 decimal places."]}
        )


def approval_steps(*, notional_usd: Decimal, risk_rating: str) -> list[str]:
    """The roles that must approve, in order: the first active matching rule of the matrix."""
    rules = ApprovalRule.objects.filter(is_active=True).order_by("precedence")
    for rule in rules:
        in_band = notional_usd >= rule.min_notional_usd and (
            rule.max_notional_usd is None or notional_usd < rule.max_notional_usd
        )
        if in_band and (not rule.risk_ratings or risk_rating in rule.risk_ratings):
            return list(rule.steps)
    raise InvalidState("No approval rule covers this request; ask an administrator to extend the matrix.")


def _price_path(request: BorrowRequest) -> bool:
    """Fix the notional and approval path from the asset's mark; False when the asset has no price."""
    price = mark(request.asset)
    if price is None:
        return False
    request.notional_usd = (request.quantity * price.price_usd).quantize(Decimal("0.00000001"))
    request.required_steps = approval_steps(
        notional_usd=request.notional_usd, risk_rating=request.counterparty.risk_rating
    )
    return True


def _set_priority(request: BorrowRequest, rate_bps: Decimal) -> None:
    parts = priority.static_parts(
        urgency=request.urgency,
        notional_usd=request.notional_usd,
        rate_bps=rate_bps,
        term_days=request.term_days,
        risk_rating=request.counterparty.risk_rating,
    )
    request.priority_static = priority.static_score(parts)
    request.priority_parts = {k: str(v) for k, v in parts.items()}
    request.rank_key = priority.rank_key(request.priority_static, request.submitted_at)


@functools.cache
def _lock_sql() -> str:
    # One round trip, two statements. The first locks the request row. The second, with a snapshot
    # taken once the lock is ours, reads everything a decision needs: the request, its asset and
    # counterparty, the decisions so far (user, decision) in step order, and whether compliance clears
    # the counterparty now (the rule is compliance's: ``cleared_sql``). In one statement, an approval
    # that waited for the lock would read the decisions and the KYC as they were before its wait.
    # Parameters: id, business date, id.
    return (
        "SELECT 1 FROM requests_app_borrowrequest WHERE id = %s FOR UPDATE; "
        f"SELECT {rows.select_list(BorrowRequest, 'r')}, {rows.select_list(Asset, 'a')}, "
        f"{rows.select_list(Counterparty, 'c')}, "
        "ARRAY(SELECT d.user_id FROM requests_app_approval d WHERE d.request_id = r.id ORDER BY d.step), "
        "ARRAY(SELECT d.decision::text FROM requests_app_approval d WHERE d.request_id = r.id "
        f"ORDER BY d.step), {cleared_sql('r.counterparty_id')} "
        "FROM requests_app_borrowrequest r "
        "JOIN refdata_asset a ON a.id = r.asset_id "
        "JOIN refdata_counterparty c ON c.id = r.counterparty_id "
        "WHERE r.id = %s"
    )


class Locked(NamedTuple):
    request: BorrowRequest
    decided: list[tuple[int, str]]  # (user id, decision) of the decisions so far, in step order
    is_cleared: bool  # the counterparty is cleared by compliance now


def _locked_with_decisions(request: BorrowRequest | int) -> Locked:
    """Lock the request row (every action does, first) and read its decisions so far."""
    pk = request if isinstance(request, int) else request.pk
    with connection.cursor() as cursor:
        cursor.execute(_lock_sql(), [pk, business_date(), pk])
        row = cursor.fetchone()
    if row is None:
        raise BorrowRequest.DoesNotExist(f"No borrow request {pk}.")
    n_request, n_asset = rows.width(BorrowRequest), rows.width(Asset)
    locked = rows.instance(BorrowRequest, row[:n_request])
    locked.asset = rows.instance(Asset, row[n_request : n_request + n_asset])
    locked.counterparty = rows.instance(Counterparty, row[n_request + n_asset : -3])
    return Locked(locked, list(zip(row[-3], row[-2], strict=True)), row[-1])


def _locked(request: BorrowRequest | int) -> BorrowRequest:
    return _locked_with_decisions(request).request


# --- intake ---------------------------------------------------------------------------------------


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
    if not has_role(actor, "trader"):
        raise PermissionDeniedError("Only traders submit borrow requests.")
    if not may_act_for(actor, counterparty) or not counterparty.is_active:
        raise InvalidInput(
            "You do not act for this counterparty.",
            fields={"counterparty": ["Unknown counterparty, or not one you act for."]},
        )
    if not asset.is_active:
        raise InvalidInput(f"{asset.symbol} is not active.", fields={"asset": ["Inactive asset."]})
    check_quantity(quantity, asset)
    min_quantity = quantity if min_quantity is None else min_quantity
    check_quantity(min_quantity, asset, field="min_quantity")
    if min_quantity > quantity:
        raise InvalidInput(
            "min_quantity cannot exceed quantity.", fields={"min_quantity": ["Cannot exceed quantity."]}
        )
    _check_rate(max_rate_bps, "max_rate_bps")
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
            "The settlement account must be an active account of the counterparty.",
            fields={"settlement_account": ["Not an active account of this counterparty."]},
        )
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
        _price_path(request)
        request.next_role = request.required_steps[0] if request.required_steps else "ops"
        _set_priority(request, max_rate_bps or priority.indicative_rate_bps(availability_for(asset)))
        request.save()
        return request


def request_fingerprint(payload: dict[str, Any]) -> str:
    """A stable hash of a submission's body, to tell a repeat from a different request."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@transaction.atomic(durable=True)
def submit_idempotent(
    *,
    actor,
    key: str,
    fingerprint: str,
    submit: Callable[[], BorrowRequest],
    render: Callable[[BorrowRequest], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    """Submit once per (user, Idempotency-Key): a repeat with the same body gets the first response;
    with another body, ``IdempotencyConflict``. Two repeats at once: the second waits for the first
    to commit and then replays its response.
    """
    if not key or len(key) > 200:
        raise InvalidInput(
            "Send an Idempotency-Key header of 1 to 200 characters.",
            fields={"Idempotency-Key": ["Required, at most 200 characters."]},
        )
    # Serialise submissions of the same key: the advisory lock is held to commit, so a concurrent
    # repeat waits here and then finds the first one's record.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"idem:{actor.pk}:{key}"])
    existing = IdempotencyRecord.objects.filter(user=actor, key=key).first()
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise IdempotencyConflict("This Idempotency-Key was used with a different request body.")
        return existing.response_status, existing.response_body
    request = submit()
    body = render(request)
    IdempotencyRecord.objects.create(
        user=actor, key=key, request_hash=fingerprint, response_status=201, response_body=body
    )
    return 201, body


# --- approvals ------------------------------------------------------------------------------------


def _check_not_maker_or_repeat(request: BorrowRequest, actor, decided: list[tuple[int, str]]) -> None:
    if request.requested_by_id == actor.pk:
        raise SegregationOfDuties("You cannot approve or reject your own request.")
    if any(user_id == actor.pk for user_id, _ in decided):
        raise SegregationOfDuties(
            "You have already decided on this request; another person must take this step."
        )


def _check_cleared(request: BorrowRequest, cleared: bool) -> None:
    # Clearance is checked again at every approval, not only at intake: KYC can expire or be rejected
    # while a request waits, and nothing may be allocated for an uncleared counterparty.
    if not cleared:
        raise NotCleared(
            f"{request.counterparty.code} is not cleared by compliance (no approved, unexpired KYC): "
            "the request cannot be approved until it is."
        )


def _check_settlement_account(request: BorrowRequest) -> None:
    # Checked at intake, and again before the loan opens: the account may have been deactivated or
    # moved to another owner since, and a delivery must never go to it.
    if request.settlement_account_id is not None and not (
        CustodyAccount.objects.filter(
            pk=request.settlement_account_id, owner_id=request.counterparty_id, is_active=True
        ).exists()
    ):
        raise InvalidState(
            f"The settlement account named at intake is no longer an active account of "
            f"{request.counterparty.code}: nothing can be delivered to it. Reject the request, and the "
            "trader submits it again with another account."
        )


def _mark_first_action(request: BorrowRequest, now: datetime) -> None:
    if request.first_action_at is None:
        request.first_action_at = now


_OPEN_LOAN_SQL = (
    WRITING_CALL
    + """
    SELECT o_loan_id, o_account_id FROM requests_open_loan(
        %s, %s, %s::numeric, %s::numeric, %s::bigint, %s::timestamptz, %s::timestamptz, %s::numeric,
        %s::varchar(16)[], %s::integer, %s, %s::bigint
    )
"""
)


def _open_loan(
    request: BorrowRequest,
    *,
    actor,
    quantity: Decimal,
    rate_bps: Decimal,
    account: CustodyAccount | None,
    now: datetime,
    approval: tuple[int, str] | None,
) -> None:
    """Approve the request for good: record the approval (``approval`` = its step and role; None for an
    accepted offer), open the loan pending delivery from ``account`` (None: the firm account with the
    most available that covers it), queue its delivery, record the decision on the request, and hold
    the inventory, last. Everything is already checked; the writes are one call of the database
    function ``requests_open_loan`` (migration 0003).

    Raises ``InsufficientInventory`` when the inventory does not cover the loan: the database refused
    the hold and the transaction is spent, so the caller's ``atomic`` rolls the whole approval back.
    """
    hold_until = business_day_end(business_date())
    step, role = approval if approval else (None, None)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                _OPEN_LOAN_SQL,
                [
                    request.pk,
                    actor.pk,
                    quantity,
                    rate_bps,
                    account.pk if account else None,
                    hold_until,
                    now,
                    request.notional_usd,
                    request.required_steps,
                    step,
                    role,
                    account.pk if account and approval else None,
                ],
            )
            loan_id, account_id = cursor.fetchone()
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) != "BD001":
            raise
        short = json.loads(exc.__cause__.diag.message_detail, parse_float=Decimal)  # type: ignore[union-attr]
        symbol = request.asset.symbol
        if short["account"] is None:
            raise InsufficientInventory(
                f"Not enough {symbol} available: no inventory account holds {quantity}."
            ) from None
        raise InsufficientInventory(
            f"Not enough {symbol} {short['bucket'].replace('_', ' ')} in {short['account']}: "
            f"{short['needed']} needed."
        ) from None
    _mark_first_action(request, now)
    request.status, request.next_role, request.decided_at = RequestStatus.APPROVED, "", now
    request.approved_quantity, request.approved_rate_bps = quantity, rate_bps
    request.loan_id, request.source_account_id, request.updated_at = loan_id, account_id, now


# What an approval that is not final changes on the request (the path is fixed at the first approval
# when the asset had no price at submission).
_APPROVAL_FIELDS = [
    "status",
    "next_role",
    "first_action_at",
    "decided_at",
    "approved_quantity",
    "approved_rate_bps",
    "source_account",
    "offer_expires_at",
    "notional_usd",
    "required_steps",
    "updated_at",
]


@transaction.atomic(durable=True)
def approve_request(
    *,
    actor,
    request: BorrowRequest | int,
    rate_bps: Decimal,
    quantity: Decimal | None = None,
    account: CustodyAccount | None = None,
) -> BorrowRequest:
    """Give the next approval of the request's path.

    Not the last step: ``pending_second_approval`` (the next role's turn). The last step: inventory is
    allocated and a loan opened (``approved``), or, at a rate above the trader's maximum, an offer
    (``offered``). Raises ``SegregationOfDuties`` (own request, second decision), ``PermissionDeniedError``
    (not this step's role), ``InvalidState``, ``NotCleared`` (the counterparty lost its compliance
    clearance), ``PriceUnavailable``, ``InvalidInput`` and ``InsufficientInventory``; on any of them the
    request stays exactly as it was.
    """
    if not has_role(actor, *APPROVER_ROLES):
        raise PermissionDeniedError("Only operations and risk approve borrow requests.")
    with acting_as(actor):
        request, decided, cleared = _locked_with_decisions(request)
        if request.status not in AWAITING_APPROVAL:
            raise InvalidState(f"Request {request.pk} is {request.status}; it is not awaiting approval.")
        _check_not_maker_or_repeat(request, actor, decided)
        if not request.required_steps and not _price_path(request):
            raise PriceUnavailable(
                f"{request.asset.symbol} has no price: the request cannot be approved "
                "until a mark is recorded."
            )
        done = sum(1 for _, decision in decided if decision == Decision.APPROVED)
        role = request.required_steps[done]
        if not has_role(actor, role):
            raise PermissionDeniedError(f"This step needs the {role} role.")
        _check_cleared(request, cleared)
        quantity = request.quantity if quantity is None else quantity
        check_quantity(quantity, request.asset)
        if not (request.min_quantity <= quantity <= request.quantity):
            raise InvalidInput(
                f"The approved quantity must be between {request.min_quantity} and {request.quantity}.",
                fields={"quantity": [f"Between {request.min_quantity} and {request.quantity}."]},
            )
        _check_rate(rate_bps, "rate_bps")
        if account is not None and (account.owner_id is not None or not account.is_active):
            raise InvalidInput(
                "The source account must be an active account of the firm.",
                fields={"account": ["Not an active firm account."]},
            )

        now = timezone.now()
        last_step = done + 1 == len(request.required_steps)
        if last_step and (request.max_rate_bps is None or rate_bps <= request.max_rate_bps):
            _check_settlement_account(request)
            _open_loan(
                request,
                actor=actor,
                quantity=quantity,
                rate_bps=rate_bps,
                account=account,
                now=now,
                approval=(done + 1, role),
            )
            return request
        Approval.objects.create(
            request=request,
            step=done + 1,
            role=role,
            user=actor,
            decision=Decision.APPROVED,
            quantity=quantity,
            rate_bps=rate_bps,
            account=account,
        )
        _mark_first_action(request, now)
        request.approved_quantity, request.approved_rate_bps = quantity, rate_bps
        if not last_step:
            request.status = RequestStatus.PENDING_SECOND_APPROVAL
            request.next_role = request.required_steps[done + 1]
        else:  # above the trader's maximum rate: an offer
            request.status = RequestStatus.OFFERED
            request.next_role = ""
            request.source_account = account
            request.offer_expires_at = now + timedelta(minutes=settings.OFFER_TTL_MINUTES)
        request.save(update_fields=_APPROVAL_FIELDS)
        return request


@transaction.atomic(durable=True)
def reject_request(*, actor, request: BorrowRequest | int, reason: str) -> BorrowRequest:
    """Refuse a request awaiting approval, with a reason. By the role whose turn it is."""
    if not has_role(actor, *APPROVER_ROLES):
        raise PermissionDeniedError("Only operations and risk reject borrow requests.")
    if not reason or not reason.strip():
        raise InvalidInput("A rejection needs a reason.", fields={"reason": ["Required."]})
    with acting_as(actor):
        request, decided, _ = _locked_with_decisions(request)
        if request.status not in AWAITING_APPROVAL:
            raise InvalidState(f"Request {request.pk} is {request.status}; it is not awaiting approval.")
        _check_not_maker_or_repeat(request, actor, decided)
        done = sum(1 for _, decision in decided if decision == Decision.APPROVED)
        role = request.required_steps[done] if request.required_steps else request.next_role
        if not has_role(actor, role):
            raise PermissionDeniedError(f"This step needs the {role} role.")
        now = timezone.now()
        Approval.objects.create(
            request=request,
            step=done + 1,
            role=role,
            user=actor,
            decision=Decision.REJECTED,
            comment=reason[:500],
        )
        _mark_first_action(request, now)
        request.status, request.reason, request.decided_at, request.next_role = (
            RequestStatus.REJECTED,
            reason[:500],
            now,
            "",
        )
        request.save()
        return request


@transaction.atomic(durable=True)
def cancel_request(*, actor, request: BorrowRequest | int) -> BorrowRequest:
    """The requester withdraws a request before it is approved."""
    with acting_as(actor):
        request = _locked(request)
        if request.requested_by_id != actor.pk:
            raise PermissionDeniedError("Only the trader who submitted a request can cancel it.")
        if request.status not in (RequestStatus.SUBMITTED, RequestStatus.COMPLIANCE_HOLD, *AWAITING_APPROVAL):
            raise InvalidState(
                f"Request {request.pk} is {request.status}; only a request not yet approved can be cancelled."
            )
        now = timezone.now()
        request.status, request.decided_at, request.next_role = RequestStatus.CANCELLED, now, ""
        request.save()
        return request


def _locked_offer(actor, request: BorrowRequest | int) -> Locked:
    locked = _locked_with_decisions(request)
    request = locked.request
    if not may_act_for(actor, request.counterparty):
        raise PermissionDeniedError("Only a trader for this counterparty can answer the offer.")
    if request.status != RequestStatus.OFFERED:
        raise InvalidState(f"Request {request.pk} is {request.status}; there is no offer to answer.")
    if request.offer_expires_at and request.offer_expires_at <= timezone.now():
        raise InvalidState("This offer has lapsed.")
    return locked


@transaction.atomic(durable=True)
def accept_offer(*, actor, request: BorrowRequest | int) -> BorrowRequest:
    """The trader takes the offered rate: inventory is allocated and the loan opened, as at approval.
    Raises ``NotCleared`` when the counterparty lost its compliance clearance since the offer."""
    with acting_as(actor):
        request, _, cleared = _locked_offer(actor, request)
        _check_cleared(request, cleared)
        _check_settlement_account(request)
        if request.approved_quantity is None or request.approved_rate_bps is None:
            raise InvalidState(f"Request {request.pk} has no complete offer to accept.")
        _open_loan(
            request,
            actor=actor,
            quantity=request.approved_quantity,
            rate_bps=request.approved_rate_bps,
            account=request.source_account,
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


# --- reactions and jobs ---------------------------------------------------------------------------


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


@transaction.atomic
def expire_requests(*, now: datetime | None = None) -> dict[str, int]:
    """Requests undecided by their expiry, and offers unanswered in time, expire.

    Nothing was allocated for them, so nothing is released. Row locks with SKIP LOCKED: a request
    being approved right now is left to that approval (it will be decided either way).
    """
    now = now or timezone.now()
    undecided = list(
        BorrowRequest.objects.select_for_update(skip_locked=True)
        .filter(
            status__in=[RequestStatus.SUBMITTED, RequestStatus.COMPLIANCE_HOLD, *AWAITING_APPROVAL],
            expires_at__lte=now,
        )
        .values_list("pk", flat=True)
    )
    expired = BorrowRequest.objects.filter(pk__in=undecided).update(
        status=RequestStatus.EXPIRED,
        reason="not decided in time",
        decided_at=now,
        next_role="",
        updated_at=now,
    )
    lapsed_ids = list(
        BorrowRequest.objects.select_for_update(skip_locked=True)
        .filter(status=RequestStatus.OFFERED, offer_expires_at__lte=now)
        .values_list("pk", flat=True)
    )
    lapsed = BorrowRequest.objects.filter(pk__in=lapsed_ids).update(
        status=RequestStatus.EXPIRED, reason="offer lapsed", decided_at=now, updated_at=now
    )
    return {"requests_expired": expired, "offers_lapsed": lapsed}


def release_expired_holds(*, now: datetime | None = None) -> dict[str, int]:
    """Holds whose delivery did not settle by the hold's expiry are released and their loans cancelled,
    so inventory never stays stuck. One transaction per loan; the settlement row is locked first, in
    the same order as settling, so a settle racing the release has one winner."""
    now = now or timezone.now()
    released = 0
    loan_ids = list(
        Loan.objects.filter(status="pending_delivery", hold_expires_at__lte=now).values_list("pk", flat=True)
    )
    for loan_id in loan_ids:
        with transaction.atomic():
            legs = list(
                SettlementInstruction.objects.select_for_update().filter(
                    loan_id=loan_id, status__in=[SettlementStatus.PENDING, SettlementStatus.FAILED]
                )
            )
            loan = Loan.objects.select_for_update().get(pk=loan_id)
            if loan.status != "pending_delivery":
                continue  # settled meanwhile: the settlement won the race
            del legs  # locked above so a concurrent settle waits for this release, then sees it cancelled
            cancel_loan(actor=None, loan=loan, reason="hold expired before delivery")
            cancel_instructions_for_loan(loan=loan)
            released += 1
    return {"holds_released": released}
