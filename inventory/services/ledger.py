"""Posting to the inventory ledger.

Every event is one journal whose lines sum to zero per asset. Balances move in the journal's
transaction under row locks: a debit of a bucket that would go below zero refuses the whole event with
``InsufficientInventory``, nothing written. Rows are touched in a fixed
order (asset, account, bucket) so two events over the same positions cannot deadlock. The writes of
one event are one call of the database function ``inventory_post_journal`` (its source:
``inventory/sql/post_journal.sql``), the ledger's one SQL primitive.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import DatabaseError, connection

from borrowdesk.access.policy import require
from borrowdesk.batch import Statement
from borrowdesk.errors import InvalidInput
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from borrowdesk.refdata.services import check_account_carries
from inventory.errors import InsufficientInventory, InvalidQuantity, UnbalancedJournal
from inventory.models import Bucket, Journal, JournalKind, Loan

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


_POST_SQL = """
    SELECT o_journal_id, o_created_at, o_short_asset, o_short_account, o_short_bucket, o_short_delta
    FROM inventory_post_journal(
        %s, %s::bigint, %s, %s, %s::bigint, %s::numeric, %s::bigint,
        %s::bigint[], %s::bigint[], %s::text[], %s::numeric[], %s::boolean
    )
"""

# SQLSTATE of a strict post's short bucket (raised by inventory_post_journal).
SHORT_IN_STRICT_MODE = "BD001"


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
    strict: bool = False,
) -> Journal:
    """Write one balanced journal and move the positions it touches, atomically.

    Raises ``UnbalancedJournal`` when the lines do not sum to zero per asset, ``InvalidQuantity`` for
    a zero or too-fine line, and ``InsufficientInventory`` when a bucket would go below zero; in each
    case nothing is written and the caller's transaction stays usable.

    ``strict``: the journal is the last write of a transaction that is void anyway when the inventory
    is short (a final approval). The journal and its entries are then written before the balance rows
    are locked, and a short bucket raises ``InsufficientInventory`` with the transaction spent: the
    caller's ``atomic`` must roll back whole (raise out of it).

    The writes are one call of the database function ``inventory_post_journal``
    (``inventory/sql/post_journal.sql``): it
    locks the balance rows in (asset, account, bucket) order and checks every debit against the locked
    balance, so two events racing for the last units are serialised on the balance row and the loser
    moves nothing; then the balances, the journal and its entries are written. One statement, so no
    savepoint; callers make it the last write of their transaction, so the hot balance row is locked
    only from there to commit.
    """
    statement = _post_statement(
        kind=kind,
        lines=lines,
        actor=actor,
        reference=reference,
        memo=memo,
        source_counterparty=source_counterparty,
        cost_rate_bps=cost_rate_bps,
        loan=loan,
        strict=strict,
    )
    with connection.cursor() as cursor:
        try:
            cursor.execute(statement.sql, statement.params)
        except DatabaseError as exc:
            short = _strict_short(exc, lines)
            if short is None:
                raise
            raise short from None
        journal_id, created_at, short_asset, short_account, short_bucket, short_delta = cursor.fetchone()
    if journal_id is None:
        line = next(
            ln
            for ln in lines
            if (ln.asset.pk, ln.account.pk, ln.bucket) == (short_asset, short_account, short_bucket)
        )
        raise InsufficientInventory(
            f"Not enough {line.asset.symbol} {short_bucket.replace('_', ' ')} in {line.account.code}: "
            f"{-short_delta} needed."
        )
    created_by = actor if getattr(actor, "is_authenticated", False) else None
    journal = Journal(
        pk=journal_id,
        kind=kind,
        created_at=created_at,
        created_by=created_by,
        reference=reference[:120],
        memo=memo[:500],
        source_counterparty=source_counterparty,
        cost_rate_bps=cost_rate_bps,
        loan=loan,
    )
    journal._state.adding = False
    journal._state.db = connection.alias
    return journal


# The kinds and buckets a journal may name, worked out once (the enums' ``values`` builds a new list on
# every call, and every post checks them).
_JOURNAL_KINDS, _BUCKETS = frozenset(JournalKind.values), frozenset(Bucket.values)


def _post_statement(
    *,
    kind: str,
    lines: list[LedgerLine],
    actor,
    reference: str,
    memo: str,
    source_counterparty: Counterparty | None,
    cost_rate_bps: Decimal | None,
    loan: Loan | None,
    strict: bool,
) -> Statement:
    """Validate one journal (``post_journal``'s rules) and give the call of ``inventory_post_journal``
    that writes it, not yet run. Raises ``InvalidInput``, ``UnbalancedJournal``, ``InvalidQuantity``."""
    if kind not in _JOURNAL_KINDS:
        raise InvalidInput(f"Unknown journal kind {kind!r}.")
    if not lines:
        raise UnbalancedJournal("A journal needs lines.")
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.bucket not in _BUCKETS:
            raise InvalidInput(f"Unknown bucket {line.bucket!r}.")
        if line.quantity == 0:
            raise InvalidQuantity("A ledger line cannot be zero.")
        check_quantity(abs(line.quantity), line.asset)
        totals[line.asset.pk] += line.quantity
    if any(total != 0 for total in totals.values()):
        raise UnbalancedJournal("The journal's lines do not sum to zero per asset.")
    created_by = actor if getattr(actor, "is_authenticated", False) else None
    return Statement(
        _POST_SQL,
        [
            kind,
            created_by.pk if created_by else None,
            reference[:120],
            memo[:500],
            source_counterparty.pk if source_counterparty else None,
            cost_rate_bps,
            loan.pk if loan else None,
            [ln.asset.pk for ln in lines],
            [ln.account.pk for ln in lines],
            [ln.bucket for ln in lines],
            [ln.quantity for ln in lines],
            strict,
        ],
        on_error=lambda exc: _strict_short(exc, lines),
    )


def _strict_short(exc: DatabaseError, lines: list[LedgerLine]) -> InsufficientInventory | None:
    """A strict post's short bucket (SQLSTATE BD001, its JSON DETAIL) as ``InsufficientInventory``;
    None for any other error."""
    cause = exc.__cause__
    if getattr(cause, "pgcode", None) != SHORT_IN_STRICT_MODE:
        return None
    short = json.loads(cause.diag.message_detail, parse_float=Decimal)  # type: ignore[union-attr]
    symbol = lines[0].asset.symbol
    return InsufficientInventory(
        f"Not enough {symbol} {short['bucket'].replace('_', ' ')} in {short['account']}: "
        f"{short['needed']} needed."
    )


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

    Action ``inventory.receive`` (borrowdesk.access.policy).
    """
    require(actor, "inventory.receive", "Only operations or treasury record receipts.")
    if not asset.is_active:
        raise InvalidInput(f"{asset.symbol} is inactive.", fields={"asset": ["Inactive asset."]})
    _require_firm_account(account)
    check_account_carries(account, asset)  # an on-chain account holds only what its network carries
    check_quantity(quantity, asset)
    if cost_rate_bps is not None and (
        not isinstance(cost_rate_bps, Decimal)
        or not cost_rate_bps.is_finite()
        or not Decimal(0) <= cost_rate_bps <= Decimal(100000)
    ):
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


def adjust(*, actor, asset: Asset, account: CustodyAccount, quantity: Decimal, reason: str) -> Journal:
    """Correct the available balance by a signed quantity against external, with a reason.
    Action ``inventory.adjust``."""
    require(actor, "inventory.adjust", "Only senior operations adjust the ledger.")
    if not reason.strip():
        raise InvalidInput("An adjustment needs a reason.", fields={"reason": ["Required."]})
    _require_firm_account(account)
    check_quantity(abs(quantity), asset)
    lines = [
        LedgerLine(asset, account, Bucket.AVAILABLE, quantity),
        LedgerLine(asset, account, Bucket.EXTERNAL, -quantity),
    ]
    return post_journal(kind=JournalKind.ADJUSTMENT, lines=lines, actor=actor, memo=reason)


def allocate_for_loan(*, loan: Loan, actor=None) -> Journal:
    """Hold a loan's inventory (available → allocated) as the LAST write of the caller's transaction:
    the strict post, so the hot balance row is locked only from here to COMMIT. Raises
    ``InsufficientInventory`` with the transaction spent (the caller's ``atomic`` rolls back whole)."""
    return post_journal(
        kind=JournalKind.ALLOCATION,
        lines=_move(loan.asset, loan.account, loan.quantity, Bucket.AVAILABLE, Bucket.ALLOCATED),
        actor=actor,
        loan=loan,
        strict=True,
    )


def allocate_for_loan_statement(*, loan: Loan, actor=None) -> Statement:
    """``allocate_for_loan``'s strict post as a ``Statement``, for a caller that sends it together with
    other statements in one round trip (``borrowdesk.batch.run_together``) as the last write of its
    transaction; a short bucket raises ``InsufficientInventory`` from there, the transaction spent."""
    return _post_statement(
        kind=JournalKind.ALLOCATION,
        lines=_move(loan.asset, loan.account, loan.quantity, Bucket.AVAILABLE, Bucket.ALLOCATED),
        actor=actor,
        reference="",
        memo="",
        source_counterparty=None,
        cost_rate_bps=None,
        loan=loan,
        strict=True,
    )


# The firm's active account with the most available of an asset, if it covers the quantity (ties: the
# lowest id). Parameters: asset, bucket (available), quantity. One rule, for ``choose_source_account``
# and for the loan a final approval opens (``inventory.services.loans.start_loan``).
SOURCE_ACCOUNT_SQL = """
    SELECT a.id FROM refdata_custodyaccount a
    JOIN inventory_position p ON p.account_id = a.id
    WHERE p.asset_id = %s AND p.bucket = %s AND p.quantity >= %s AND a.owner_id IS NULL AND a.is_active
    ORDER BY p.quantity DESC, a.id
    LIMIT 1
"""


def choose_source_account(*, asset: Asset, quantity: Decimal) -> CustodyAccount | None:
    """The firm's active inventory account with the most available of ``asset``, if it covers
    ``quantity`` (ties: the lowest id). A read without lock: the hold that follows checks the balance
    again under its row lock."""
    with connection.cursor() as cursor:
        cursor.execute(SOURCE_ACCOUNT_SQL, [asset.pk, Bucket.AVAILABLE, quantity])
        row = cursor.fetchone()
    return CustodyAccount.objects.get(pk=row[0]) if row else None
