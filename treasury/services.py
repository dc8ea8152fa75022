"""Treasury writes: the settlement queue (transfers, buffers and reconciliation come with their issues)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from borrowdesk.access.roles import has_role
from borrowdesk.audit import acting_as
from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError
from inventory.models import Loan
from inventory.services import deliver_loan
from treasury.models import SettlementInstruction, SettlementKind, SettlementStatus
from treasury.signals import loan_delivered

SETTLERS = ("ops", "ops_senior", "treasury")


def _locked(instruction: SettlementInstruction) -> SettlementInstruction:
    # Settle and fail (and the hold-expiry job) lock the instruction first: one of them wins.
    return SettlementInstruction.objects.select_for_update().get(pk=instruction.pk)


@transaction.atomic(durable=True)
def settle_instruction(*, actor, instruction: SettlementInstruction) -> SettlementInstruction:
    """Settle a pending (or previously failed) leg: the ledger moves and the loan becomes active."""
    if not has_role(actor, *SETTLERS):
        raise PermissionDeniedError("Only operations or treasury settle.")
    with acting_as(actor):
        instruction = _locked(instruction)
        if instruction.status not in (SettlementStatus.PENDING, SettlementStatus.FAILED):
            raise InvalidState(f"Settlement {instruction.pk} is {instruction.status}.")
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
    if not has_role(actor, *SETTLERS):
        raise PermissionDeniedError("Only operations or treasury record settlement failures.")
    if not reason.strip():
        raise InvalidInput("A failure needs a reason.", fields={"reason": ["Required."]})
    with acting_as(actor):
        instruction = _locked(instruction)
        if instruction.status not in (SettlementStatus.PENDING, SettlementStatus.FAILED):
            raise InvalidState(f"Settlement {instruction.pk} is {instruction.status}.")
        instruction.status = SettlementStatus.FAILED
        instruction.failure_reason = reason[:500]
        instruction.attempts += 1
        instruction.save(update_fields=["status", "failure_reason", "attempts"])
        return instruction


def cancel_instructions_for_loan(*, loan: Loan) -> int:
    """The loan's hold expired: its open legs leave the queue (inside the caller's transaction)."""
    return SettlementInstruction.objects.filter(
        loan=loan, status__in=[SettlementStatus.PENDING, SettlementStatus.FAILED]
    ).update(status=SettlementStatus.CANCELLED, failure_reason="hold expired before delivery")
