"""Posting to the inventory ledger.

Every event is one journal whose lines sum to zero per asset. Balances move by conditional UPDATE in
the journal's transaction: a debit of a bucket that would go below zero updates no row, and the whole
event is refused with ``InsufficientInventory`` before anything is written. Rows are touched in a fixed
order (asset, account, bucket) so two events over the same positions cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction

from borrowdesk.access.roles import has_role
from borrowdesk.errors import InvalidInput, PermissionDeniedError
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from inventory.errors import InsufficientInventory, InvalidQuantity, UnbalancedJournal
from inventory.models import Bucket, Entry, Journal, JournalKind, Loan

MAX_QUANTITY = Decimal("1e20")  # 38 digits with 18 decimals leaves 20 integer digits


@dataclass(frozen=True)
class LedgerLine:
    asset: Asset
    account: CustodyAccount
    bucket: str
    quantity: Decimal  # signed: + into the bucket, - out of it


def check_quantity(
    quantity: Decimal, asset: Asset, *, field: str = "quantity", allow_zero: bool = False
) -> Decimal:
    """Refuse a quantity that is not finite, not positive, too large, or finer than the asset allows."""
    if not isinstance(quantity, Decimal):
        raise InvalidQuantity(
            f"{field} must be a decimal number.", fields={field: ["A decimal number is required."]}
        )
    if not quantity.is_finite():
        raise InvalidQuantity(
            f"{field} must be a finite number.", fields={field: ["A finite number is required."]}
        )
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise InvalidQuantity(f"{field} must be positive.", fields={field: ["Must be greater than zero."]})
    if quantity >= MAX_QUANTITY:
        raise InvalidQuantity(f"{field} is too large.", fields={field: ["Too large."]})
    exponent = quantity.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > asset.decimals:
        message = f"{asset.symbol} allows at most {asset.decimals} decimal places."
        raise InvalidQuantity(message, fields={field: [message]})
    return quantity


_DEBIT_SQL = """
    UPDATE inventory_position SET quantity = quantity + %s, updated_at = now()
    WHERE asset_id = %s AND account_id = %s AND bucket = %s AND quantity + %s >= 0
"""
_CREDIT_SQL = """
    INSERT INTO inventory_position (asset_id, account_id, bucket, quantity, updated_at)
    VALUES (%s, %s, %s, %s, now())
    ON CONFLICT (asset_id, account_id, bucket)
    DO UPDATE SET quantity = inventory_position.quantity + EXCLUDED.quantity, updated_at = now()
"""


def _apply_to_positions(lines: list[LedgerLine]) -> None:
    # Net the lines per position, then touch the rows in one fixed order: no deadlock between two
    # journals over the same positions, and the first short bucket stops the event.
    net: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        net[(line.asset.pk, line.account.pk, line.bucket)] += line.quantity
    with connection.cursor() as cursor:
        for (asset_id, account_id, bucket), delta in sorted(net.items()):
            if delta == 0:
                continue
            if delta > 0 or bucket == Bucket.EXTERNAL:
                cursor.execute(_CREDIT_SQL, [asset_id, account_id, bucket, delta])
                continue
            # The conditional UPDATE is the over-allocation guard: it takes the row lock, re-reads
            # the committed balance, and changes nothing when the bucket would go below zero. Two
            # approvals racing for the last units are serialised on this row; the loser sees 0 rows.
            cursor.execute(_DEBIT_SQL, [delta, asset_id, account_id, bucket, delta])
            if cursor.rowcount != 1:
                symbol = next(line.asset.symbol for line in lines if line.asset.pk == asset_id)
                account = next(line.account.code for line in lines if line.account.pk == account_id)
                raise InsufficientInventory(
                    f"Not enough {symbol} {bucket.replace('_', ' ')} in {account}: {-delta} needed."
                )


def post_journal(
    *,
    kind: str,
    lines: list[LedgerLine],
    actor=None,
    reference: str = "",
    memo: str = "",
    source_counterparty: Counterparty | None = None,
    cost_rate_bps: Decimal | None = None,
    loan: Loan | None = None,
) -> Journal:
    """Write one balanced journal and move the positions it touches, atomically.

    Raises ``UnbalancedJournal`` when the lines do not sum to zero per asset, ``InvalidQuantity`` for
    a zero or too-fine line, and ``InsufficientInventory`` when a bucket would go below zero; in each
    case nothing is written.
    """
    if kind not in JournalKind.values:
        raise InvalidInput(f"Unknown journal kind {kind!r}.")
    if not lines:
        raise UnbalancedJournal("A journal needs lines.")
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.bucket not in Bucket.values:
            raise InvalidInput(f"Unknown bucket {line.bucket!r}.")
        if line.quantity == 0:
            raise InvalidQuantity("A ledger line cannot be zero.")
        check_quantity(abs(line.quantity), line.asset)
        totals[line.asset.pk] += line.quantity
    if any(total != 0 for total in totals.values()):
        raise UnbalancedJournal("The journal's lines do not sum to zero per asset.")
    with transaction.atomic():
        journal = Journal.objects.create(
            kind=kind,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            reference=reference[:120],
            memo=memo[:500],
            source_counterparty=source_counterparty,
            cost_rate_bps=cost_rate_bps,
            loan=loan,
        )
        Entry.objects.bulk_create(
            [
                Entry(
                    journal=journal,
                    asset=ln.asset,
                    account=ln.account,
                    bucket=ln.bucket,
                    quantity=ln.quantity,
                )
                for ln in lines
            ]
        )
        # Positions last: the balance rows are the hot rows that racing events queue on, so their
        # locks are taken as late as possible and held only until commit. A refusal here rolls the
        # journal back with everything else.
        _apply_to_positions(lines)
    return journal


def _move(asset: Asset, account: CustodyAccount, quantity: Decimal, src: str, dst: str) -> list[LedgerLine]:
    return [LedgerLine(asset, account, src, -quantity), LedgerLine(asset, account, dst, quantity)]


def _require_firm_account(account: CustodyAccount) -> None:
    if account.owner_id is not None:
        raise InvalidInput(
            f"{account.code} belongs to a counterparty; inventory sits in the firm's accounts.",
            fields={"account": ["Must be one of the firm's accounts."]},
        )
    if not account.is_active:
        raise InvalidInput(f"{account.code} is inactive.", fields={"account": ["Inactive account."]})


@transaction.atomic
def receive(
    *,
    actor,
    asset: Asset,
    account: CustodyAccount,
    quantity: Decimal,
    source_counterparty: Counterparty | None = None,
    cost_rate_bps: Decimal | None = None,
    reference: str = "",
) -> Journal:
    """Inventory comes in from the firm or a lender: external → available.

    Roles: ops, ops_senior, treasury (and admin).
    """
    if not has_role(actor, "ops", "ops_senior", "treasury", "admin"):
        raise PermissionDeniedError("Only operations or treasury record receipts.")
    if not asset.is_active:
        raise InvalidInput(f"{asset.symbol} is inactive.", fields={"asset": ["Inactive asset."]})
    _require_firm_account(account)
    check_quantity(quantity, asset)
    if cost_rate_bps is not None and not (Decimal(0) <= cost_rate_bps <= Decimal(100000)):
        raise InvalidInput(
            "cost_rate_bps must be between 0 and 100000.", fields={"cost_rate_bps": ["Between 0 and 100000."]}
        )
    return post_journal(
        kind=JournalKind.RECEIPT,
        lines=_move(asset, account, quantity, Bucket.EXTERNAL, Bucket.AVAILABLE),
        actor=actor,
        reference=reference,
        source_counterparty=source_counterparty,
        cost_rate_bps=cost_rate_bps,
    )


def allocate(
    *, asset: Asset, account: CustodyAccount, quantity: Decimal, loan: Loan | None = None, actor=None
) -> Journal:
    """Hold inventory for a loan: available → allocated. Raises ``InsufficientInventory``."""
    return post_journal(
        kind=JournalKind.ALLOCATION,
        lines=_move(asset, account, quantity, Bucket.AVAILABLE, Bucket.ALLOCATED),
        actor=actor,
        loan=loan,
    )


def release_allocation(
    *,
    asset: Asset,
    account: CustodyAccount,
    quantity: Decimal,
    loan: Loan | None = None,
    actor=None,
    memo: str = "",
) -> Journal:
    """Give a hold back: allocated → available."""
    return post_journal(
        kind=JournalKind.RELEASE,
        lines=_move(asset, account, quantity, Bucket.ALLOCATED, Bucket.AVAILABLE),
        actor=actor,
        loan=loan,
        memo=memo,
    )


def deliver(
    *, asset: Asset, account: CustodyAccount, quantity: Decimal, loan: Loan | None = None, actor=None
) -> Journal:
    """The loan is delivered to the borrower: allocated → on_loan."""
    return post_journal(
        kind=JournalKind.DELIVERY,
        lines=_move(asset, account, quantity, Bucket.ALLOCATED, Bucket.ON_LOAN),
        actor=actor,
        loan=loan,
    )


def return_to_available(
    *, asset: Asset, account: CustodyAccount, quantity: Decimal, loan: Loan | None = None, actor=None
) -> Journal:
    """The borrower returns (part of) a loan: on_loan → available."""
    return post_journal(
        kind=JournalKind.RETURN,
        lines=_move(asset, account, quantity, Bucket.ON_LOAN, Bucket.AVAILABLE),
        actor=actor,
        loan=loan,
    )


@transaction.atomic
def adjust(*, actor, asset: Asset, account: CustodyAccount, quantity: Decimal, reason: str) -> Journal:
    """Correct the available balance by a signed quantity against external. ops_senior only, with a reason."""
    if not has_role(actor, "ops_senior"):
        raise PermissionDeniedError("Only senior operations adjust the ledger.")
    if not reason.strip():
        raise InvalidInput("An adjustment needs a reason.", fields={"reason": ["Required."]})
    _require_firm_account(account)
    check_quantity(abs(quantity), asset)
    lines = [
        LedgerLine(asset, account, Bucket.AVAILABLE, quantity),
        LedgerLine(asset, account, Bucket.EXTERNAL, -quantity),
    ]
    return post_journal(kind=JournalKind.ADJUSTMENT, lines=lines, actor=actor, memo=reason)


def choose_source_account(*, asset: Asset, quantity: Decimal) -> CustodyAccount | None:
    """The firm's inventory account with the most available of ``asset``, if it covers ``quantity``."""
    from inventory.models import Position

    position = (
        Position.objects.filter(
            asset=asset,
            bucket=Bucket.AVAILABLE,
            quantity__gte=quantity,
            account__owner__isnull=True,
            account__is_active=True,
        )
        .select_related("account")
        .order_by("-quantity", "account_id")
        .first()
    )
    return position.account if position else None
