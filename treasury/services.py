"""Treasury writes: the settlement queue (transfers, buffers and reconciliation come with their issues).

Legs: a loan's delivery (settling moves the ledger: allocated → on loan), a collateral receipt (settling
books the pledge through collateral's ``book_pledge_from_settlement``, in the same transaction) and a
collateral return (queued when collateral is released; the release already moved the ledger, so
settling it records only that the coins went out).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as, acting_as_if
from borrowdesk.batch import prepared
from borrowdesk.errors import InvalidInput, InvalidState
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from collateral.models import Release
from collateral.services.pledges import book_pledge_from_settlement, check_pledge
from compliance.aml.services import monitor_settlement
from compliance.travel_rule import services as travel_rule
from compliance.travel_rule.services import TravelRuleLeg
from inventory.models import Loan
from inventory.services import deliver_loan
from treasury.models import SettlementInstruction, SettlementKind, SettlementStatus
from treasury.signals import loan_delivered


def _monitor_after_commit(settlement_id: int) -> None:
    # AML monitoring (compliance) judges a leg once it is committed: a first leg to an address above
    # the rule's size raises an alert. Robust: monitoring that fails never fails the settlement;
    # compliance's hourly AML job catches it up.
    transaction.on_commit(partial(monitor_settlement, settlement_id=settlement_id), robust=True)


def _locked(instruction: SettlementInstruction) -> SettlementInstruction:
    # Settle and fail (and the hold-expiry job) lock the instruction first: one of them wins.
    return SettlementInstruction.objects.select_for_update().get(pk=instruction.pk)


def travel_rule_leg(instruction: SettlementInstruction) -> TravelRuleLeg | None:
    """The facts of a leg that compliance's travel rule needs (compliance does not read our tables);
    None for a leg naming no counterparty (refused as such when it is settled)."""
    outgoing = instruction.kind in (SettlementKind.LOAN_DELIVERY, SettlementKind.COLLATERAL_RETURN)
    counterparty = instruction.counterparty or (instruction.loan.counterparty if instruction.loan else None)
    if counterparty is None:
        return None
    if instruction.kind == SettlementKind.LOAN_DELIVERY:
        firm_account, their_account = instruction.from_account, instruction.to_account
    elif instruction.kind == SettlementKind.COLLATERAL_RETURN:
        firm_account, their_account = instruction.from_account, None  # to the owner's own wallet
    else:  # collateral receipt, return: the counterparty sends into the desk's account
        firm_account, their_account = instruction.to_account or instruction.from_account, None
    return TravelRuleLeg(
        subject_kind="settlement",
        subject_id=instruction.pk,
        direction="outgoing" if outgoing else "incoming",
        counterparty=counterparty,
        asset=instruction.asset,
        amount=instruction.quantity,
        firm_account=firm_account,
        counterparty_account=their_account,
    )


def settle_instruction(*, actor, instruction: SettlementInstruction) -> SettlementInstruction:
    """Settle a pending (or previously failed) leg: a loan's delivery moves the ledger and the loan
    becomes active; a collateral receipt books its pledge; a collateral return only records that the
    coins went out. Raises ``PermissionDeniedError``, ``InvalidState`` (already settled or cancelled),
    ``TravelRuleRequired`` (at or above the travel-rule threshold without a valid IVMS101 message) and
    whatever the booking refuses (``InvalidInput``), with nothing written to the leg or the ledger.

    The leg's travel-rule message is built first, in compliance's own transaction: a refused settlement
    leaves compliance the draft (and its case) that says what is missing."""
    require(actor, "settlements.settle", "Only operations or treasury settle.")
    leg = travel_rule_leg(instruction)
    if leg is not None and instruction.status in (SettlementStatus.PENDING, SettlementStatus.FAILED):
        travel_rule.prepare_message(leg=leg)
    return _settle(actor=actor, instruction=instruction)


@transaction.atomic(durable=True)
def _settle(*, actor, instruction: SettlementInstruction) -> SettlementInstruction:
    with acting_as(actor):
        instruction = _locked(instruction)
        if instruction.status not in (SettlementStatus.PENDING, SettlementStatus.FAILED):
            raise InvalidState(f"Settlement {instruction.pk} is {instruction.get_status_display().lower()}.")
        leg = travel_rule_leg(instruction)
        if leg is not None:
            travel_rule.check_leg_may_settle(leg=leg)
        if instruction.kind == SettlementKind.LOAN_DELIVERY:
            if instruction.loan is None:
                raise InvalidState(f"Settlement {instruction.pk} delivers no loan.")
            deliver_loan(actor=actor, loan=instruction.loan)
            loan_id = instruction.loan_id
            transaction.on_commit(lambda: loan_delivered.send(sender=SettlementInstruction, loan_id=loan_id))
        elif instruction.kind == SettlementKind.COLLATERAL_RECEIPT:
            # A CHECK constraint makes a collateral receipt name both.
            assert instruction.counterparty is not None and instruction.to_account is not None
            # The pledge and the settled leg commit together: a refused pledge leaves the leg as it was.
            book_pledge_from_settlement(
                actor=actor,
                settlement_id=instruction.pk,
                counterparty=instruction.counterparty,
                asset=instruction.asset,
                account=instruction.to_account,
                quantity=instruction.quantity,
                expires_on=instruction.expires_on,
                reference=instruction.reference,
            )
        # A collateral return moves no ledger: the release already did (pledged → external).
        instruction.status = SettlementStatus.SETTLED
        instruction.settled_at = timezone.now()
        instruction.settled_by = actor
        instruction.attempts += 1
        instruction.save(update_fields=["status", "settled_at", "settled_by", "attempts"])
        _monitor_after_commit(instruction.pk)
        return instruction


@transaction.atomic(durable=True)
def fail_instruction(*, actor, instruction: SettlementInstruction, reason: str) -> SettlementInstruction:
    """Record a failed attempt with its reason; the leg stays in the queue to be retried."""
    require(actor, "settlements.settle", "Only operations or treasury record settlement failures.")
    if not reason.strip():
        raise InvalidInput("A failure needs a reason.", fields={"reason": ["Required."]})
    with acting_as(actor):
        instruction = _locked(instruction)
        if instruction.status not in (SettlementStatus.PENDING, SettlementStatus.FAILED):
            raise InvalidState(f"Settlement {instruction.pk} is {instruction.get_status_display().lower()}.")
        instruction.status = SettlementStatus.FAILED
        instruction.failure_reason = reason[:500]
        instruction.attempts += 1
        instruction.save(update_fields=["status", "failure_reason", "attempts"])
        return instruction


_QUEUE_DELIVERY_SQL = """
    INSERT INTO treasury_settlementinstruction
        (kind, loan_id, asset_id, from_account_id, to_account_id, quantity, status, due_at, failure_reason,
         attempts, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', 0, now())
    RETURNING id, created_at
"""


def queue_delivery(
    *, loan: Loan, to_account_id: int | None, due_at: datetime | None
) -> SettlementInstruction:
    """Queue a new loan's delivery from its source account (to ``to_account_id``, the borrower's
    settlement account, when one was named), due by ``due_at`` (the hold's expiry). Inside the caller's
    transaction: the final approval of a borrow request, whose hot path this is (one round trip, no
    ORM compiling)."""
    instruction = SettlementInstruction(
        kind=SettlementKind.LOAN_DELIVERY,
        loan=loan,
        asset_id=loan.asset_id,
        from_account_id=loan.account_id,
        to_account_id=to_account_id,
        quantity=loan.quantity,
        status=SettlementStatus.PENDING,
        due_at=due_at,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            prepared("treasury_queue_delivery", _QUEUE_DELIVERY_SQL),  # planned once per connection
            [
                instruction.kind,
                loan.pk,
                instruction.asset_id,
                instruction.from_account_id,
                to_account_id,
                instruction.quantity,
                instruction.status,
                due_at,
            ],
        )
        instruction.pk, instruction.created_at = cursor.fetchone()
    instruction._state.adding, instruction._state.db = False, connection.alias
    # AML's new-address rule judges where a leg goes: a leg with no destination yet (no settlement
    # account named at intake) has nothing it could flag, so it is judged when it is settled (which
    # monitors again) or by the hourly schedule, not here; that spares every such approval a second
    # transaction after its COMMIT.
    if to_account_id is not None:
        _monitor_after_commit(instruction.pk)
    return instruction


def cancel_instructions_for_loan(*, loan: Loan) -> int:
    """The loan's hold expired: its open legs leave the queue (inside the caller's transaction)."""
    return SettlementInstruction.objects.filter(
        loan=loan, status__in=[SettlementStatus.PENDING, SettlementStatus.FAILED]
    ).update(status=SettlementStatus.CANCELLED, failure_reason="hold expired before delivery")


# --- collateral legs ------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def expect_collateral(
    *,
    actor,
    counterparty: Counterparty,
    asset: Asset,
    to_account: CustodyAccount,
    quantity: Decimal,
    expires_on: date | None = None,
    reference: str = "",
) -> SettlementInstruction:
    """Queue a ``collateral_receipt`` leg: collateral a counterparty is to pledge into its collateral
    account; settling the leg books the pledge. Action ``collateral.pledge`` (operations, who book
    pledges directly too: expecting one is the same decision, taken before the coins arrive).

    Raises ``PermissionDeniedError`` and ``InvalidInput`` (collateral's ``check_pledge``: the account,
    asset, quantity, expiry and reference), with nothing written.
    """
    require(actor, "collateral.pledge", "Only operations expect pledges.")
    check_pledge(
        counterparty=counterparty,
        asset=asset,
        account=to_account,
        quantity=quantity,
        expires_on=expires_on,
        reference=reference,
    )
    with acting_as(actor):
        return SettlementInstruction.objects.create(
            kind=SettlementKind.COLLATERAL_RECEIPT,
            counterparty=counterparty,
            asset=asset,
            from_account=to_account,  # external → pledged, both lines on the collateral account
            to_account=to_account,
            quantity=quantity,
            expires_on=expires_on,
            reference=reference,
            status=SettlementStatus.PENDING,
        )


def queue_collateral_return(*, release: Release) -> SettlementInstruction:
    """Queue the ``collateral_return`` leg of a release, inside the release's transaction (treasury's
    receiver of ``collateral_released``): the coins leave the counterparty's collateral account."""
    with acting_as_if(release.created_by):
        return SettlementInstruction.objects.create(
            kind=SettlementKind.COLLATERAL_RETURN,
            counterparty_id=release.counterparty_id,
            asset_id=release.asset_id,
            from_account_id=release.account_id,
            to_account=None,  # the owner's own wallet, outside the desk's accounts
            quantity=release.quantity,
            reference=release.reference,
            release=release,
            status=SettlementStatus.PENDING,
        )
