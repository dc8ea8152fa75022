"""The pre-open gate: no inventory leaves an account the desk has not reconciled.

A final approval allocating from an account is held (``ReconciliationHold``, 409) while today's
pre-open reconciliation (scope all) has not finished, or while the account has an open break older than
``RECONCILIATION_GATE_BREAK_AGE_HOURS`` above ``RECONCILIATION_GATE_BREAK_MIN_QUANTITY`` (a statement
gap always counts), until an ops_senior overrides the gate for that account and business date with a
reason (audited). Off unless ``RECONCILIATION_GATE``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.business_day import business_date
from borrowdesk.errors import InvalidInput, InvalidState
from borrowdesk.refdata.models import CustodyAccount
from reconciliation.errors import ReconciliationHold
from reconciliation.models_runs import GateOverride

# One round trip: today's pre-open run, the account's aged open breaks, and an override.
_GATE_SQL = """
    SELECT
        (SELECT r.status FROM reconciliation_reconciliationrun r
         WHERE r.business_date = %(day)s AND r.scope = 'all') AS run_status,
        (SELECT count(*) FROM reconciliation_break b
         WHERE b.account_id = %(account)s AND b.status IN ('open', 'assigned')
           AND b.opened_at < %(aged_before)s
           AND (b.difference IS NULL OR abs(b.difference) > %(min_quantity)s::numeric)) AS aged_breaks,
        EXISTS (SELECT 1 FROM reconciliation_gateoverride o
                WHERE o.business_date = %(day)s AND o.account_id = %(account)s) AS overridden
"""


def gate_reason(*, account_id: int, day=None) -> str | None:
    """Why the gate holds the account today (None: it does not, or the gate is off). One query."""
    if not settings.RECONCILIATION_GATE:
        return None
    day = day or business_date()
    params = {
        "day": day,
        "account": account_id,
        "aged_before": timezone.now() - timedelta(hours=settings.RECONCILIATION_GATE_BREAK_AGE_HOURS),
        "min_quantity": str(Decimal(settings.RECONCILIATION_GATE_BREAK_MIN_QUANTITY)),
    }
    with connection.cursor() as cursor:
        cursor.execute(_GATE_SQL, params)
        run_status, aged, overridden = cursor.fetchone()
    if overridden:
        return None
    if run_status != "finished":
        state = "has not run" if run_status is None else f"is {run_status}"
        return f"Today's pre-open reconciliation ({day:%Y-%m-%d}) {state}."
    if aged:
        hours = settings.RECONCILIATION_GATE_BREAK_AGE_HOURS
        return f"The account has {aged} open break{'s' if aged != 1 else ''} older than {hours} hours."
    return None


def check_preopen_gate(*, account_id: int) -> None:
    """Raise ``ReconciliationHold`` when the gate holds a final approval allocating from the account."""
    reason = gate_reason(account_id=account_id)
    if reason is not None:
        code = CustodyAccount.objects.filter(pk=account_id).values_list("code", flat=True).first()
        raise ReconciliationHold(
            f"Held by the pre-open gate: {reason} Approvals allocating from {code} wait for senior "
            "operations' override."
        )


def override_gate(*, actor, account: CustodyAccount, reason: str) -> GateOverride:
    """Release the gate for ``account`` for today's business date, with a reason. Action
    ``reconciliation.gate.override`` (ops_senior). Raises ``InvalidInput`` (no reason) and
    ``InvalidState`` (not held, or already overridden)."""
    require(actor, "reconciliation.gate.override", "Only senior operations override the pre-open gate.")
    reason = (reason or "").strip()
    if not reason or len(reason) > 2000:
        raise InvalidInput(
            "An override needs a reason.", fields={"reason": ["Required (at most 2000 characters)."]}
        )
    day = business_date()
    held = gate_reason(account_id=account.pk, day=day)
    if held is None:
        raise InvalidState(f"{account.code} is not held by the pre-open gate today.")
    try:
        with transaction.atomic(durable=True), acting_as(actor):
            return GateOverride.objects.create(
                business_date=day,
                account=account,
                reason=reason,
                by=actor,
                at=timezone.now(),
                held_because=held,
            )
    except IntegrityError:  # a second senior at the same moment: the first override stands
        raise InvalidState(f"The gate is already overridden for {account.code} today.") from None
