"""Approvals: maker-checker along the approval path, and the final approval that opens the loan.

Every action locks the request row first (``locking``). The final approval (and an accepted offer,
``offers``) makes, in its one durable transaction, the writes of each app through that app's own
services: the decision (this app), the loan (``inventory.services.start_loan``), its delivery
instruction (``treasury.services.queue_delivery``), the request's decision, and last the hold
(``inventory.services.hold_loan``, the ledger's strict post), so the hot balance row is locked only from
there to COMMIT. 20 final approvals racing for inventory that covers some of them allocate no more
than there is: the hold checks each balance under its row lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.access.roles import user_roles
from borrowdesk.audit import acting_as
from borrowdesk.batch import Statement, prepared, run_together
from borrowdesk.business_day import business_date, business_day_end
from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError, SegregationOfDuties
from borrowdesk.refdata.models import CustodyAccount
from collateral.services.limits import limit_check_statements
from compliance.errors import NotCleared
from inventory.services import check_quantity, hold_loan_statement, start_loan
from reconciliation.services.gate import check_preopen_gate
from requests_app.errors import PriceUnavailable
from requests_app.models import AWAITING_APPROVAL, Approval, BorrowRequest, Decision, RequestStatus
from requests_app.services.locking import locked_with_decisions
from requests_app.services.matrix import reprice_path
from requests_app.services.validation import check_rate
from treasury.services import queue_delivery


def check_not_maker_or_repeat(request: BorrowRequest, actor, decided: list[tuple[int, str]]) -> None:
    if request.requested_by_id == actor.pk:
        raise SegregationOfDuties("You cannot approve or reject your own request.")
    if any(user_id == actor.pk for user_id, _ in decided):
        raise SegregationOfDuties(
            "You have already decided on this request; another person must take this step."
        )


def check_step_role(actor, role: str) -> None:
    # The step's role is data of the approval matrix (ApprovalRule.steps, APPROVER_ROLES), not an
    # access rule: the action (requests.approve) is checked from the policy first.
    if role not in user_roles(actor):
        raise PermissionDeniedError(f"This step needs the {role} role.")


def check_cleared(request: BorrowRequest, cleared: bool) -> None:
    # Clearance is checked again at every approval, not only at intake: KYC can expire or be rejected
    # while a request waits, and nothing may be allocated for an uncleared counterparty.
    if not cleared:
        raise NotCleared(
            f"{request.counterparty.code} is not cleared by compliance (no approved, unexpired KYC, or an "
            "unresolved sanctions match): "
            "the request cannot be approved until it is."
        )


def check_settlement_account(request: BorrowRequest) -> None:
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


def mark_first_action(request: BorrowRequest, now: datetime) -> None:
    if request.first_action_at is None:
        request.first_action_at = now


# What an approval changes on the request (the path may have been made stricter at this step).
_APPROVAL_FIELDS = [
    "status",
    "next_role",
    "first_action_at",
    "decided_at",
    "approved_quantity",
    "approved_rate_bps",
    "source_account",
    "loan",
    "offer_expires_at",
    "notional_usd",
    "required_steps",
    "updated_at",
]


def open_loan_for(
    request: BorrowRequest,
    *,
    actor,
    quantity: Decimal,
    rate_bps: Decimal,
    account: CustodyAccount | None,
    now: datetime,
    approval: tuple[int, str] | None,
) -> None:
    """Approve the request for good, inside the caller's durable transaction: open the loan pending
    delivery from ``account`` (None: the firm account with the most available that covers it;
    inventory's service), queue its delivery (treasury's), record the approval (``approval`` = its step
    and role; None for an accepted offer) and the request's decision, and hold the inventory, last
    (inventory's strict ledger post). Everything is already checked. Six round trips from BEGIN to
    COMMIT (BEGIN, the lock, loan, delivery, decision with limit check and hold, COMMIT); the hot
    balance row is locked only by the last write before COMMIT.

    Raises ``InsufficientInventory`` when the inventory does not cover the loan; after the hold refused
    the transaction is spent, so the caller's ``atomic`` rolls the whole approval back. Raises
    ``LimitExceeded`` (collateral's limit check, sent with the hold) when the counterparty has a limit in
    force that the loan would break: the approval rolls back whole too.
    """
    hold_until = business_day_end(business_date())
    loan = start_loan(  # account None: chosen in the same statement (InsufficientInventory if none covers)
        request_id=request.pk,
        counterparty=request.counterparty,
        asset=request.asset,
        account=account,
        quantity=quantity,
        rate_bps=rate_bps,
        term_days=request.term_days,
        hold_expires_at=hold_until,
    )
    # Reconciliation's pre-open gate (one query; none when RECONCILIATION_GATE is off): an unreconciled
    # source account holds the approval (ReconciliationHold rolls it back) until ops_senior overrides.
    check_preopen_gate(account_id=loan.account_id)
    queue_delivery(loan=loan, to_account_id=request.settlement_account_id, due_at=hold_until)
    mark_first_action(request, now)
    request.status, request.next_role, request.decided_at = RequestStatus.APPROVED, "", now
    request.approved_quantity, request.approved_rate_bps = quantity, rate_bps
    request.source_account, request.loan, request.updated_at = loan.account, loan, now
    decision = _final_decision(request, actor=actor, approval=approval, account=account)
    # The decision, then the counterparty's limits and covenant (collateral's rule), with this loan in
    # its exposure, and the hold (inventory's strict ledger post), in ONE round trip: the decision's
    # writes first (before any lock but the request's own), then the limit row's lock and the read
    # after it, the post (the hot balance row's lock: the last write before COMMIT), then the read's row
    # back. Every final approval of a counterparty with a limit waits for that lock until the one
    # holding it commits, so what it covers is this one round trip and the COMMIT, with no Python and
    # no second trip to the server between the read and the post. InsufficientInventory (the post) or
    # LimitExceeded (the read's row, checked once the round trip is back) rolls the whole approval back.
    limits = limit_check_statements(
        counterparty_id=request.counterparty_id,
        asset=request.asset,
        quantity=quantity,
        term_days=request.term_days,
    )
    row = run_together(
        [decision, limits.lock_and_read, hold_loan_statement(actor=actor, loan=loan), limits.result]
    )
    limits.verify(row)


# The final decision, sent at the head of the last round trip: the approval (none for an accepted
# offer) and the request's new state. The hot path of every final approval, so hand-written rather than
# compiled by the ORM. Then the transaction's deferred checks run (Django makes foreign keys DEFERRABLE
# INITIALLY DEFERRED; the loan's change of inventory's open totals is deferred too): left to COMMIT, they
# would run while this approval holds the counterparty's limit row that the next approvals of the
# counterparty wait for. After the decision, not before it, so the open total's row (the loan's
# counterparty and asset) is locked from the limit check on, not for the decision's writes as well. The
# batch begins with an EXECUTE (not a SELECT), so pghistory sets the acting user's context for it and
# the decision's audit rows carry it.
_IMMEDIATE_SQL = "SET CONSTRAINTS ALL IMMEDIATE"
_APPROVAL_SQL = """
    INSERT INTO requests_app_approval
        (request_id, step, role, user_id, decision, quantity, rate_bps, account_id, comment, at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', %s);
"""
_DECISION_SQL = """
    UPDATE requests_app_borrowrequest
    SET status = %s, next_role = %s, first_action_at = %s, decided_at = %s, approved_quantity = %s,
        approved_rate_bps = %s, source_account_id = %s, loan_id = %s, notional_usd = %s,
        required_steps = %s::varchar(16)[], updated_at = %s
    WHERE id = %s
"""


def _final_decision(
    request: BorrowRequest, *, actor, approval: tuple[int, str] | None, account: CustodyAccount | None
) -> Statement:
    update = [
        request.status,
        request.next_role,
        request.first_action_at,
        request.decided_at,
        request.approved_quantity,
        request.approved_rate_bps,
        request.source_account_id,
        request.loan_id,
        request.notional_usd,
        request.required_steps,
        request.updated_at,
        request.pk,
    ]
    # Both statements prepared once per connection (``borrowdesk.batch.prepared``): planning them cost
    # more than running them.
    decision = prepared("requests_final_decision", _DECISION_SQL)
    sql, params = f"{decision}; {_IMMEDIATE_SQL}", update
    if approval is not None:
        step, role = approval
        insert = [
            request.pk,
            step,
            role,
            actor.pk,
            Decision.APPROVED,
            request.approved_quantity,
            request.approved_rate_bps,
            account.pk if account is not None else None,
            request.decided_at,
        ]
        approval_sql = prepared("requests_final_approval", _APPROVAL_SQL)
        sql, params = f"{approval_sql}; {decision}; {_IMMEDIATE_SQL}", [*insert, *update]
    return Statement(sql, params)


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

    The path is worked out again from the current mark and risk rating, and the stricter of it and the
    stored one applies (``matrix.reprice_path``). Not the last step: ``pending_second_approval`` (the
    next role's turn). The last step: inventory is allocated and a loan opened (``approved``), or, at a
    rate above the trader's maximum, an offer (``offered``). Raises ``SegregationOfDuties`` (own
    request, second decision), ``PermissionDeniedError`` (not this step's role), ``InvalidState``,
    ``NotCleared`` (the counterparty lost its compliance clearance), ``PriceUnavailable``,
    ``InvalidInput``, ``InsufficientInventory`` and ``LimitExceeded`` (the counterparty's limits); on
    any of them the request stays exactly as it was.
    """
    require(actor, "requests.approve", "Only operations and risk approve borrow requests.")
    with acting_as(actor):
        request, decided, cleared, rules, mark_usd = locked_with_decisions(request)
        if request.status not in AWAITING_APPROVAL:
            raise InvalidState(
                f"Request {request.pk} is {request.get_status_display().lower()}; "
                "it is not awaiting approval."
            )
        check_not_maker_or_repeat(request, actor, decided)
        if not reprice_path(request, rules, mark_usd):
            raise PriceUnavailable(
                f"{request.asset.symbol} has no price: the request cannot be approved "
                "until a mark is recorded."
            )
        done = sum(1 for _, decision in decided if decision == Decision.APPROVED)
        role = request.required_steps[done]
        check_step_role(actor, role)
        check_cleared(request, cleared)
        quantity = request.quantity if quantity is None else quantity
        check_quantity(quantity, request.asset)
        if not (request.min_quantity <= quantity <= request.quantity):
            raise InvalidInput(
                f"The approved quantity must be between {request.min_quantity} and {request.quantity}.",
                fields={"quantity": [f"Between {request.min_quantity} and {request.quantity}."]},
            )
        check_rate(rate_bps, "rate_bps")
        if account is not None and (account.owner_id is not None or not account.is_active):
            raise InvalidInput(
                "The source account must be an active account of the firm.",
                fields={"account": ["Not an active firm account."]},
            )

        now = timezone.now()
        last_step = done + 1 == len(request.required_steps)
        if last_step and (request.max_rate_bps is None or rate_bps <= request.max_rate_bps):
            check_settlement_account(request)
            open_loan_for(
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
            at=now,
        )
        mark_first_action(request, now)
        request.approved_quantity, request.approved_rate_bps = quantity, rate_bps
        if not last_step:
            request.status = RequestStatus.PENDING_SECOND_APPROVAL
            request.next_role = request.required_steps[done + 1]
        else:  # above the trader's maximum rate: an offer
            request.status = RequestStatus.OFFERED
            request.next_role = ""
            request.source_account = account
            request.offer_expires_at = now + timedelta(minutes=settings.OFFER_TTL_MINUTES)
        request.updated_at = now
        request.save(update_fields=_APPROVAL_FIELDS)
        return request


@transaction.atomic(durable=True)
def reject_request(*, actor, request: BorrowRequest | int, reason: str) -> BorrowRequest:
    """Refuse a request awaiting approval, with a reason. By the role whose turn it is."""
    require(actor, "requests.approve", "Only operations and risk reject borrow requests.")
    if not reason or not reason.strip():
        raise InvalidInput("A rejection needs a reason.", fields={"reason": ["Required."]})
    with acting_as(actor):
        request, decided, *_ = locked_with_decisions(request)
        if request.status not in AWAITING_APPROVAL:
            raise InvalidState(
                f"Request {request.pk} is {request.get_status_display().lower()}; "
                "it is not awaiting approval."
            )
        check_not_maker_or_repeat(request, actor, decided)
        done = sum(1 for _, decision in decided if decision == Decision.APPROVED)
        role = request.required_steps[done] if request.required_steps else request.next_role
        check_step_role(actor, role)
        now = timezone.now()
        Approval.objects.create(
            request=request,
            step=done + 1,
            role=role,
            user=actor,
            decision=Decision.REJECTED,
            comment=reason[:500],
            at=now,
        )
        mark_first_action(request, now)
        request.status, request.reason, request.decided_at, request.next_role = (
            RequestStatus.REJECTED,
            reason[:500],
            now,
            "",
        )
        request.save()
        return request
