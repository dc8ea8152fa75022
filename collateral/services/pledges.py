"""Pledges: collateral a counterparty hands over, booked into the ``pledged`` bucket of its segregated
collateral account through inventory's one posting primitive (journal ``pledge``: the account's
``external`` −q, ``pledged`` +q), with a ``Pledge`` row beside the journal saying who, why and until when.

Two ways in: ops books a pledge directly (``book_pledge``), or a ``collateral_receipt`` settlement leg
books it when treasury settles it (``book_pledge_from_settlement``, inside the settlement's
transaction). Both check the same things (``check_pledge``) before anything is written, and both queue
a revaluation after the commit (window ``pledge:<id>``), as a price and a release do.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.business_day import business_date
from borrowdesk.errors import InvalidInput, InvalidState
from borrowdesk.refdata.models import AccountPurpose, Asset, Counterparty, CustodyAccount
from borrowdesk.refdata.services import check_account_carries
from collateral.models import Pledge
from collateral.services.valuation import enqueue_revaluation
from inventory.models import Bucket, JournalKind
from inventory.services import LedgerLine, check_quantity, post_journal


def check_pledge(
    *,
    counterparty: Counterparty,
    asset: Asset,
    account: CustodyAccount,
    quantity: Decimal,
    expires_on: date | None = None,
    reference: str = "",
) -> None:
    """Refuse a pledge that cannot be booked, before anything is written: an inactive counterparty or
    asset; an account that is not an active collateral account owned by that counterparty or whose
    network does not carry the asset; a quantity that is not positive or finer than the asset allows;
    an expiry before today's business date; a reference over 120 characters. Raises ``InvalidInput``
    naming the fields. Treasury calls it too, before it queues a ``collateral_receipt`` leg."""
    errors: dict[str, list[str]] = {}
    if not counterparty.is_active:
        errors["counterparty"] = [f"{counterparty.code} is inactive."]
    if not asset.is_active:
        errors["asset"] = [f"{asset.symbol} is inactive."]
    if account.purpose != AccountPurpose.COLLATERAL:
        errors["account"] = [f"{account.code} is not a collateral account."]
    elif account.owner_id != counterparty.pk:
        errors["account"] = [f"{account.code} is not {counterparty.code}'s collateral account."]
    elif not account.is_active:
        errors["account"] = [f"{account.code} is inactive."]
    if expires_on is not None and expires_on < business_date():
        errors["expires_on"] = ["Cannot be in the past."]
    if len(reference) > 120:
        errors["reference"] = ["At most 120 characters."]
    for check in (
        lambda: check_quantity(quantity, asset),
        lambda: check_account_carries(account, asset) if "account" not in errors else None,
    ):
        try:
            check()
        except InvalidInput as error:
            for field, messages in (error.fields or {"quantity": [error.detail]}).items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        first, messages = next(iter(errors.items()))
        raise InvalidInput(f"Invalid {first.replace('_', ' ')}: {messages[0]}", fields=errors)


def _book(
    *,
    actor,
    counterparty: Counterparty,
    asset: Asset,
    account: CustodyAccount,
    quantity: Decimal,
    expires_on: date | None,
    reference: str,
    settlement_id: int | None,
) -> Pledge:
    check_pledge(
        counterparty=counterparty,
        asset=asset,
        account=account,
        quantity=quantity,
        expires_on=expires_on,
        reference=reference,
    )
    with acting_as(actor):
        journal = post_journal(
            kind=JournalKind.PLEDGE,
            lines=[
                LedgerLine(asset, account, Bucket.EXTERNAL, -quantity),
                LedgerLine(asset, account, Bucket.PLEDGED, quantity),
            ],
            actor=actor,
            reference=reference,
            memo=f"Pledge by {counterparty.code}",
        )
        pledge = Pledge.objects.create(
            counterparty=counterparty,
            asset=asset,
            account=account,
            quantity=quantity,
            expires_on=expires_on,
            reference=reference,
            journal=journal,
            settlement_id=settlement_id,
            created_by=actor,
        )
    # New collateral may meet a margin call or lift a state: revalue once this commits (with the
    # settlement's transaction, when a leg booked it), as after a price, not at the next scheduled run.
    enqueue_revaluation(f"pledge:{pledge.pk}")
    return pledge


@transaction.atomic(durable=True)
def book_pledge(
    *,
    actor,
    counterparty: Counterparty,
    asset: Asset,
    account: CustodyAccount,
    quantity: Decimal,
    expires_on: date | None = None,
    reference: str = "",
) -> Pledge:
    """Ops books collateral a counterparty pledged into its collateral account (external → pledged).

    Action ``collateral.pledge``. Raises ``PermissionDeniedError`` (not ops) and ``InvalidInput``
    (``check_pledge``); nothing is written then.
    """
    require(actor, "collateral.pledge", "Only operations book pledges.")
    return _book(
        actor=actor,
        counterparty=counterparty,
        asset=asset,
        account=account,
        quantity=quantity,
        expires_on=expires_on,
        reference=reference,
        settlement_id=None,
    )


@transaction.atomic
def book_pledge_from_settlement(
    *,
    actor,
    settlement_id: int,
    counterparty: Counterparty,
    asset: Asset,
    account: CustodyAccount,
    quantity: Decimal,
    expires_on: date | None = None,
    reference: str = "",
) -> Pledge:
    """Book the pledge a ``collateral_receipt`` settlement leg brought, inside the caller's
    transaction (treasury's ``settle_instruction``, which has locked the leg): the leg and the pledge
    commit together or not at all.

    Action ``settlements.settle``. Raises ``PermissionDeniedError``, ``InvalidInput``
    (``check_pledge``: the account may have been deactivated since the leg was queued) and
    ``InvalidState`` when that leg already booked a pledge.
    """
    require(actor, "settlements.settle", "Only operations or treasury settle.")
    if Pledge.objects.filter(settlement_id=settlement_id).exists():
        raise InvalidState(f"Settlement {settlement_id} already booked its pledge.")
    return _book(
        actor=actor,
        counterparty=counterparty,
        asset=asset,
        account=account,
        quantity=quantity,
        expires_on=expires_on,
        reference=reference,
        settlement_id=settlement_id,
    )
