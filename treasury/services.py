"""Treasury writes: the settlement queue (transfers, buffers and reconciliation come with their issues)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.errors import InvalidInput, InvalidState
from inventory.models import Loan
from inventory.services import deliver_loan
from treasury.models import SettlementInstruction, SettlementKind, SettlementStatus
from treasury.signals import loan_delivered


def _locked(instruction: SettlementInstruction) -> SettlementInstruction:
    # Settle and fail (and the hold-expiry job) lock the instruction first: one of them wins.
    return SettlementInstruction.objects.select_for_update().get(pk=instruction.pk)


@transaction.atomic(durable=True)
def settle_instruction(*, actor, instruction: SettlementInstruction) -> SettlementInstruction:
    """Settle a pending (or previously failed) leg: the ledger moves and the loan becomes active."""
    require(actor, "settlements.settle", "Only operations or treasury settle.")
    with acting_as(actor):
        instruction = _locked(instruction)
        if instruction.status not in (SettlementStatus.PENDING, SettlementStatus.FAILED):
            raise InvalidState(f"Settlement {instruction.pk} is {instruction.get_status_display().lower()}.")
        if instruction.kind == SettlementKind.LOAN_DELIVERY:
            if instruction.loan is None:
                raise InvalidState(f"Settlement {instruction.pk} delivers no loan.")
            deliver_loan(actor=actor, loan=instruction.loan)
            loan_id = instruction.loan_id
            transaction.on_commit(lambda: loan_delivered.send(sender=SettlementInstruction, loan_id=loan_id))
        instruction.status = SettlementStatus.SETTLED
        instruction.settled_at = timezone.now()
        instruction.settled_by = actor
        instruction.attempts += 1
        instruction.save(update_fields=["status", "settled_at", "settled_by", "attempts"])
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
            _QUEUE_DELIVERY_SQL,
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
    return instruction


def cancel_instructions_for_loan(*, loan: Loan) -> int:
    """The loan's hold expired: its open legs leave the queue (inside the caller's transaction)."""
    return SettlementInstruction.objects.filter(
        loan=loan, status__in=[SettlementStatus.PENDING, SettlementStatus.FAILED]
    ).update(status=SettlementStatus.CANCELLED, failure_reason="hold expired before delivery")
