"""The breaks workflow: assign, comment, resolve with a reason, and a booking error's ledger fix.

Every action locks the break's row (two people resolving one break at once: one wins, the other gets
``invalid_state``), checks its action in the policy table, writes the break and its timeline
(``BreakActivity``) in one transaction; the change is audited by the break's pghistory triggers with
the acting user.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from borrowdesk.access.policy import allows, require
from borrowdesk.audit import acting_as
from borrowdesk.errors import InvalidInput, InvalidState, NotFoundError
from inventory.services import adjust
from reconciliation.models_runs import (
    OPEN_STATUSES,
    Break,
    BreakActivity,
    BreakActivityKind,
    BreakKind,
    BreakReason,
    BreakStatus,
)

MAX_TEXT = 2000


def _locked(brk: Break | int) -> Break:
    pk = brk.pk if isinstance(brk, Break) else brk
    # The break's row lock: two workers acting on one break are serialised, the second sees its new state.
    found = (
        Break.objects.select_for_update(of=("self",)).select_related("account", "asset").filter(pk=pk).first()
    )
    if found is None:
        raise NotFoundError(f"Break {pk} does not exist.")
    return found


def _text(text: str, *, field: str = "text", required: bool = False) -> str:
    text = (text or "").strip()
    if required and not text:
        raise InvalidInput(f"A {field} is required.", fields={field: ["Required."]})
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"At most {MAX_TEXT} characters.", fields={field: [f"At most {MAX_TEXT} characters."]}
        )
    return text


def _require_open(brk: Break) -> None:
    if brk.status not in OPEN_STATUSES:
        raise InvalidState(f"Break {brk.pk} is {brk.get_status_display().lower()}; it is no longer open.")


def _log(brk: Break, kind: str, actor, text: str = "") -> None:
    BreakActivity.objects.create(brk=brk, kind=kind, at=timezone.now(), by=actor, text=text)


@transaction.atomic(durable=True)
def assign_break(*, actor, brk: Break | int, owner) -> Break:
    """Give an open break to an owner (someone who may work breaks). Action ``reconciliation.break.work``.
    Raises ``InvalidInput`` (an owner who may not work breaks), ``InvalidState`` (resolved)."""
    require(actor, "reconciliation.break.work", "Only operations and treasury work breaks.")
    if isinstance(owner, int | str):
        owner = (
            get_user_model().objects.filter(pk=owner).first()
            if str(owner).isdigit()
            else (get_user_model().objects.filter(username=owner).first())
        )
    if owner is None or not allows(owner, "reconciliation.break.work"):
        raise InvalidInput(
            "The owner must be someone who works breaks.", fields={"owner": ["Not allowed to work breaks."]}
        )
    with acting_as(actor):
        brk = _locked(brk)
        _require_open(brk)
        brk.owner, brk.status = owner, BreakStatus.ASSIGNED
        brk.save(update_fields=["owner", "status"])
        _log(brk, BreakActivityKind.ASSIGN, actor, owner.get_username())
    return brk


@transaction.atomic(durable=True)
def comment_on_break(*, actor, brk: Break | int, text: str) -> Break:
    """Add a comment to a break's timeline (open or closed). Action ``reconciliation.break.work``."""
    require(actor, "reconciliation.break.work", "Only operations and treasury work breaks.")
    text = _text(text, required=True)
    with acting_as(actor):
        brk = _locked(brk)
        _log(brk, BreakActivityKind.COMMENT, actor, text)
    return brk


@transaction.atomic(durable=True)
def resolve_break(*, actor, brk: Break | int, reason: str, text: str = "") -> Break:
    """Close an open break with a reason from the fixed list and a text. Action
    ``reconciliation.break.work``. A booking error is fixed in the ledger (``adjust_break``, ops_senior)
    rather than resolved by words: its reason here needs the adjustment. Raises ``InvalidInput``,
    ``InvalidState``."""
    require(actor, "reconciliation.break.work", "Only operations and treasury work breaks.")
    if reason not in BreakReason.values:
        raise InvalidInput("Unknown reason.", fields={"reason": [f"One of {', '.join(BreakReason.values)}."]})
    text = _text(text, required=reason == BreakReason.OTHER)
    with acting_as(actor):
        brk = _locked(brk)
        _require_open(brk)
        if reason == BreakReason.BOOKING_ERROR and brk.adjustment_id is None:
            raise InvalidInput(
                "A booking error is resolved by its ledger adjustment (senior operations).",
                fields={"reason": ["Book the adjustment to resolve a booking error."]},
            )
        _close(brk, actor, reason, text)
    return brk


def _close(brk: Break, actor, reason: str, text: str) -> None:
    brk.status, brk.reason, brk.resolution_text = BreakStatus.RESOLVED, reason, text
    brk.resolved_at, brk.resolved_by = timezone.now(), actor
    brk.save(update_fields=["status", "reason", "resolution_text", "resolved_at", "resolved_by"])
    label = BreakReason(reason).label
    _log(brk, BreakActivityKind.RESOLVE, actor, f"{label}: {text}" if text else label)


@transaction.atomic(durable=True)
def adjust_break(*, actor, brk: Break | int, text: str, quantity: Decimal | None = None) -> Break:
    """Fix a booking error: a ledger adjustment of the account's available balance (inventory's
    ``adjust``, by senior operations) by ``quantity`` (default: the break's difference, so the book
    matches the statement), linked to the break, which is resolved as a booking error. Actions
    ``reconciliation.break.adjust`` and ``inventory.adjust``. Raises ``InvalidInput`` (a gap, a
    counterparty's collateral account: pledges and releases book those), ``InvalidState``,
    ``InsufficientInventory``."""
    require(actor, "reconciliation.break.adjust", "Only senior operations book a break's adjustment.")
    text = _text(text, required=True)
    with acting_as(actor):
        brk = _locked(brk)
        _require_open(brk)
        asset = brk.asset
        if brk.kind == BreakKind.STATEMENT_GAP or asset is None:
            raise InvalidInput("A statement gap has no quantity to adjust: import the statement.")
        if brk.account.owner_id is not None:
            raise InvalidInput(
                "A counterparty's collateral is corrected by a pledge or a release, not an adjustment.",
                fields={"quantity": ["Not a firm account."]},
            )
        quantity = brk.difference if quantity is None else quantity
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity == 0:
            raise InvalidInput(
                "The adjustment needs a non-zero quantity.", fields={"quantity": ["Non-zero."]}
            )
        journal = adjust(
            actor=actor,
            asset=asset,
            account=brk.account,
            quantity=quantity,
            reason=f"Break {brk.pk} ({brk.get_kind_display().lower()}): {text}"[:500],
        )
        brk.adjustment = journal
        brk.save(update_fields=["adjustment"])
        _log(
            brk,
            BreakActivityKind.ADJUSTMENT,
            actor,
            f"Journal {journal.pk}: {quantity.normalize():+f} {asset.symbol}",
        )
        _close(brk, actor, BreakReason.BOOKING_ERROR, text)
    return brk
