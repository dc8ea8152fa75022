"""The borrow book: opening, delivering, returning, recalling and rerating loans, and daily fees."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.batch import Statement, prepared
from borrowdesk.business_day import business_date, business_day_end
from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError
from borrowdesk.formatting import qty
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from borrowdesk.refdata.selectors import may_act_for
from inventory.errors import InsufficientInventory
from inventory.models import Bucket, Loan, LoanStatus, Recall, RecallStatus, Rerate, RerateStatus
from inventory.services.ledger import (
    SOURCE_ACCOUNT_SQL,
    allocate,
    allocate_for_loan,
    allocate_for_loan_statement,
    check_quantity,
    deliver,
    release_allocation,
    return_to_available,
)
from inventory.signals import loan_returned

MAX_RATE_BPS = Decimal(100000)


def _locked(loan: Loan) -> Loan:
    # Every loan event locks the loan row first: a return racing a recall or a second return sees
    # the open quantity the first one left.
    return Loan.objects.select_for_update().select_related("asset", "account", "counterparty").get(pk=loan.pk)


_START_LOAN_SQL = """
    INSERT INTO inventory_loan
        (request_id, counterparty_id, asset_id, account_id, quantity, open_quantity, rate_bps, status,
         term_days, hold_expires_at, created_at)
    SELECT %s, %s, %s, source.id, %s, %s, %s, %s, %s, %s, now()
    FROM ({source}) AS source
    RETURNING id, account_id, created_at
"""
_GIVEN_ACCOUNT_SQL = "SELECT %s::bigint AS id"


def _lock_open_total(loan: Loan) -> None:
    # A loan event that changes what is open (a cancel, a return) locks its (counterparty, asset)
    # OpenLoanTotal right after the loan, before its ledger post locks any balance row: the order a
    # final approval takes them in (the total, when its deferred trigger fires ahead of the limit row,
    # then the balance rows). Left to the trigger at COMMIT, this event would take the balance rows
    # first and the total last, and could deadlock with an approval of the same counterparty and asset.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM inventory_openloantotal WHERE counterparty_id = %s AND asset_id = %s FOR UPDATE",
            [loan.counterparty_id, loan.asset_id],
        )


def start_loan(
    *,
    request_id: int | None,
    counterparty: Counterparty,
    asset: Asset,
    account: CustodyAccount | None,
    quantity: Decimal,
    rate_bps: Decimal,
    term_days: int | None,
    hold_expires_at: datetime | None,
) -> Loan:
    """Write a loan pending delivery, without its hold yet: the caller holds its inventory with
    ``hold_loan`` as the last write of the same transaction (a final approval: the loan, the delivery
    instruction and the decision first, the hot balance row's lock last).

    ``account`` None: the loan is taken from the firm account with the most available that covers it
    (``choose_source_account``'s rule), chosen and written in one statement; ``InsufficientInventory``,
    nothing written, when no account holds the quantity. One round trip: this is the final approval's
    hot path (the ORM's compiling of the INSERT cost more than running it).
    """
    source_params: list[Any]
    if account is None:
        name, source = "inventory_start_loan_any", SOURCE_ACCOUNT_SQL
        source_params = [asset.pk, Bucket.AVAILABLE, quantity]
    else:
        name, source, source_params = "inventory_start_loan_given", _GIVEN_ACCOUNT_SQL, [account.pk]
    params: list[Any] = [
        request_id,
        counterparty.pk,
        asset.pk,
        quantity,
        quantity,
        rate_bps,
        LoanStatus.PENDING_DELIVERY,
    ]
    # Prepared once per connection (``borrowdesk.batch.prepared``): planning the INSERT with its source
    # account's subquery cost more than running it.
    sql = prepared(name, _START_LOAN_SQL.format(source=source))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, term_days, hold_expires_at, *source_params])
        row = cursor.fetchone()
    if row is None:
        raise InsufficientInventory(
            f"Not enough {asset.symbol} available: no inventory account holds {quantity}."
        )
    loan_id, account_id, created_at = row
    loan = Loan(
        pk=loan_id,
        request_id=request_id,
        counterparty=counterparty,
        asset=asset,
        account=account if account is not None else CustodyAccount(pk=account_id),
        quantity=quantity,
        open_quantity=quantity,
        rate_bps=rate_bps,
        status=LoanStatus.PENDING_DELIVERY,
        term_days=term_days,
        hold_expires_at=hold_expires_at,
        created_at=created_at,
    )
    loan._state.adding, loan._state.db = False, connection.alias
    return loan


def hold_loan(*, actor, loan: Loan) -> Loan:
    """Hold a loan started by ``start_loan`` (available → allocated): the strict ledger post, the
    transaction's last write. Raises ``InsufficientInventory`` with the transaction spent, so the
    caller's ``atomic`` rolls the whole event back."""
    allocate_for_loan(loan=loan, actor=actor)
    return loan


def hold_loan_statement(*, actor, loan: Loan) -> Statement:
    """``hold_loan`` not yet run: its strict ledger post as a ``Statement``, for a final approval that
    sends it in one round trip with the statements before it (``borrowdesk.batch.run_together``), as
    the last write of its transaction. ``InsufficientInventory`` is raised from there."""
    return allocate_for_loan_statement(loan=loan, actor=actor)


def open_loan(
    *,
    actor,
    request_id: int | None,
    counterparty: Counterparty,
    asset: Asset,
    account: CustodyAccount,
    quantity: Decimal,
    rate_bps: Decimal,
    term_days: int | None,
    hold_expires_at: datetime | None,
) -> Loan:
    """Open a loan pending delivery and hold its inventory (available → allocated).

    Raises ``InsufficientInventory`` with the caller's transaction still usable. A borrow request's
    final approval uses ``start_loan`` and ``hold_loan`` instead, with its other writes between them.
    """
    loan = start_loan(
        request_id=request_id,
        counterparty=counterparty,
        asset=asset,
        account=account,
        quantity=quantity,
        rate_bps=rate_bps,
        term_days=term_days,
        hold_expires_at=hold_expires_at,
    )
    allocate(asset=asset, account=account, quantity=quantity, loan=loan, actor=actor)
    return loan


def deliver_loan(*, actor, loan: Loan) -> Loan:
    """The delivery settled: allocated → on_loan, the loan is active from today's business date.

    Raises ``InvalidState`` unless the loan is pending delivery, or once its hold has expired: an expired
    hold belongs to the release job (between the expiry and the job's next run it is still allocated),
    and the inventory may no longer be promised to this loan.
    """
    loan = _locked(loan)
    if loan.status != LoanStatus.PENDING_DELIVERY:
        raise InvalidState(
            f"Loan {loan.pk} is {loan.get_status_display().lower()}; "
            "only a loan pending delivery can be delivered."
        )
    if loan.hold_expires_at is not None and loan.hold_expires_at <= timezone.now():
        raise InvalidState(
            f"The hold of loan {loan.pk} expired at {loan.hold_expires_at:%Y-%m-%d %H:%M} UTC; it is being "
            "released. The request must be approved again."
        )
    deliver(asset=loan.asset, account=loan.account, quantity=loan.quantity, loan=loan, actor=actor)
    today = business_date()
    loan.status = LoanStatus.ACTIVE
    loan.delivered_at = timezone.now()
    loan.start_date = today
    loan.maturity_date = today + timedelta(days=loan.term_days) if loan.term_days else None
    loan.save(update_fields=["status", "delivered_at", "start_date", "maturity_date"])
    return loan


def cancel_loan(*, actor, loan: Loan, reason: str) -> Loan:
    """Never delivered: release the hold (allocated → available) and cancel the loan."""
    loan = _locked(loan)
    if loan.status != LoanStatus.PENDING_DELIVERY:
        raise InvalidState(
            f"Loan {loan.pk} is {loan.get_status_display().lower()}; "
            "only a loan pending delivery can be cancelled."
        )
    _lock_open_total(loan)
    release_allocation(
        asset=loan.asset, account=loan.account, quantity=loan.quantity, loan=loan, actor=actor, memo=reason
    )
    loan.status = LoanStatus.CANCELLED
    loan.closed_at = timezone.now()
    loan.save(update_fields=["status", "closed_at"])
    return loan


@transaction.atomic(durable=True)
def return_loan(*, actor, loan: Loan, quantity: Decimal) -> Loan:
    """The borrower returns (part of) an active loan: on_loan → available; fully returned closes it.

    Open recalls are met oldest first. Raises ``InvalidState`` when the loan is not active and
    ``InvalidInput`` for a quantity above what is open.
    """
    require(actor, "loans.operate", "Only operations record returns.")
    with acting_as(actor):
        loan = _locked(loan)
        if loan.status != LoanStatus.ACTIVE:
            raise InvalidState(
                f"Loan {loan.pk} is {loan.get_status_display().lower()}; only an active loan can be returned."
            )
        check_quantity(quantity, loan.asset)
        if quantity > loan.open_quantity:
            raise InvalidInput(
                f"Only {qty(loan.open_quantity)} {loan.asset.symbol} is open on loan {loan.pk}.",
                fields={"quantity": [f"At most {qty(loan.open_quantity)}."]},
            )
        _lock_open_total(loan)
        return_to_available(asset=loan.asset, account=loan.account, quantity=quantity, loan=loan, actor=actor)
        loan.open_quantity -= quantity
        if loan.open_quantity == 0:
            loan.status = LoanStatus.CLOSED
            loan.closed_at = timezone.now()
        loan.save(update_fields=["open_quantity", "status", "closed_at"])
        _meet_recalls(loan, quantity)
        if loan.status == LoanStatus.CLOSED:
            loan_id, counterparty_id = loan.pk, loan.counterparty_id
            transaction.on_commit(
                lambda: loan_returned.send(sender=Loan, loan_id=loan_id, counterparty_id=counterparty_id),
                robust=True,
            )
        return loan


def _meet_recalls(loan: Loan, returned: Decimal) -> None:
    # Oldest due first: a return meets the recall the borrower is most behind on. A recall met in
    # part keeps the rest open (its quantity is what is still owed).
    remaining = returned
    for recall in loan.recalls.select_for_update().filter(status=RecallStatus.OPEN).order_by("due_at", "id"):
        if remaining <= 0 and loan.status != LoanStatus.CLOSED:
            break
        if loan.status == LoanStatus.CLOSED or remaining >= recall.quantity:
            remaining -= min(remaining, recall.quantity)
            recall.status = RecallStatus.MET
            recall.save(update_fields=["status"])
        else:
            recall.quantity -= remaining
            recall.save(update_fields=["quantity"])
            break


@transaction.atomic(durable=True)
def recall_loan(*, actor, loan: Loan, quantity: Decimal, due_at: datetime) -> Recall:
    """Ask for (part of) an active loan back by ``due_at``. Past due and unmet, it is flagged for buy-in."""
    require(actor, "loans.operate", "Only operations recall loans.")
    with acting_as(actor):
        loan = _locked(loan)
        if loan.status != LoanStatus.ACTIVE:
            raise InvalidState(
                f"Loan {loan.pk} is {loan.get_status_display().lower()}; only an active loan can be recalled."
            )
        check_quantity(quantity, loan.asset)
        already = sum((r.quantity for r in loan.recalls.filter(status=RecallStatus.OPEN)), Decimal(0))
        if quantity + already > loan.open_quantity:
            raise InvalidInput(
                f"Recalls would exceed the open quantity ({qty(loan.open_quantity)}; {qty(already)} already "
                "recalled).",
                fields={"quantity": [f"At most {qty(loan.open_quantity - already)}."]},
            )
        if timezone.is_naive(due_at):
            due_at = timezone.make_aware(due_at)
        if due_at <= timezone.now():
            raise InvalidInput(
                "The recall must be due in the future.", fields={"due_at": ["Must be in the future."]}
            )
        return Recall.objects.create(loan=loan, quantity=quantity, due_at=due_at, created_by=actor)


@transaction.atomic(durable=True)
def propose_rerate(*, actor, loan: Loan, rate_bps: Decimal, effective_date: date) -> Rerate:
    """The desk proposes a new rate from ``effective_date``; the borrower's trader accepts or rejects.

    Raises ``PermissionDeniedError`` (not operations), ``InvalidState`` (loan closed or cancelled, or a
    proposal already awaiting the borrower) and ``InvalidInput`` (rate outside 0–100,000 bps, or an
    effective date in the past or on a day already accrued).
    """
    require(actor, "loans.operate", "Only operations propose rerates.")
    with acting_as(actor):
        loan = _locked(loan)
        if loan.status not in (LoanStatus.ACTIVE, LoanStatus.PENDING_DELIVERY):
            raise InvalidState(
                f"Loan {loan.pk} is {loan.get_status_display().lower()}; it cannot be rerated."
            )
        if not isinstance(rate_bps, Decimal) or not rate_bps.is_finite() or not 0 <= rate_bps <= MAX_RATE_BPS:
            raise InvalidInput(
                "rate_bps must be between 0 and 100000.", fields={"rate_bps": ["Out of range."]}
            )
        if effective_date < business_date():
            raise InvalidInput(
                "A rerate cannot take effect in the past.", fields={"effective_date": ["Today or later."]}
            )
        accrued = _last_accrued_date(loan)
        if accrued is not None and effective_date <= accrued:
            raise InvalidInput(
                f"Fees up to {accrued} have already accrued; a rerate takes effect after that.",
                fields={"effective_date": [f"After {accrued}."]},
            )
        if loan.rerates.filter(status=RerateStatus.PROPOSED).exists():
            raise InvalidState(f"Loan {loan.pk} already has a rerate awaiting the borrower.")
        return Rerate.objects.create(
            loan=loan, rate_bps=rate_bps, effective_date=effective_date, proposed_by=actor
        )


@transaction.atomic(durable=True)
def decide_rerate(*, actor, rerate: Rerate, accept: bool) -> Rerate:
    """The borrower's trader accepts or rejects a proposed rerate.

    Raises ``PermissionDeniedError`` for anyone but a trader granted the loan's counterparty,
    ``InvalidState`` when the rerate is already decided, the loan is closed or cancelled, or (to accept)
    fees from its effective date have already accrued.
    """
    require(actor, "loans.answer_rerate", "Only a trader for the borrower can answer a rerate.")
    with acting_as(actor):
        # Loan first, then the rerate: the same order as every other loan event, so no deadlock.
        loan = _locked(Loan(pk=rerate.loan_id))
        rerate = Rerate.objects.select_for_update().get(pk=rerate.pk)
        if not may_act_for(actor, loan.counterparty):
            raise PermissionDeniedError("Only a trader for the borrower can answer a rerate.")
        if rerate.status != RerateStatus.PROPOSED:
            raise InvalidState(f"This rerate is already {rerate.get_status_display().lower()}.")
        if loan.status not in (LoanStatus.ACTIVE, LoanStatus.PENDING_DELIVERY):
            raise InvalidState(
                f"Loan {loan.pk} is {loan.get_status_display().lower()}; "
                "its rerate can no longer be answered."
            )
        accrued = _last_accrued_date(loan)
        if accept and accrued is not None and rerate.effective_date <= accrued:
            # Accruals are immutable: accepting now would leave days already booked at the old rate
            # while the rerate claims them. The borrower rejects and the desk proposes a later date.
            raise InvalidState(
                f"Fees up to {accrued} have already accrued at the old rate; this rerate from "
                f"{rerate.effective_date} can only be rejected."
            )
        rerate.status = RerateStatus.ACCEPTED if accept else RerateStatus.REJECTED
        rerate.decided_by = actor
        rerate.decided_at = timezone.now()
        rerate.save(update_fields=["status", "decided_by", "decided_at"])
        return rerate


def _last_accrued_date(loan: Loan) -> date | None:
    return loan.accruals.aggregate(last=Max("business_date"))["last"]


# The quantity a loan had open when the day ended is read from the ledger, not from the loan row:
# the sum of the loan's on_loan entries (its delivery, less its returns) journaled before the day's
# end. So a day accrued late (a missed run, a catch-up) is charged on what was open that day, and a
# loan returned since (closed now) still accrues the days it was out.
_ACCRUE_SQL = """
    INSERT INTO inventory_loanaccrual (loan_id, business_date, open_quantity, rate_bps, fee, created_at)
    SELECT l.id, %(day)s, q.open_quantity, r.rate_bps,
           ROUND(q.open_quantity * r.rate_bps / 10000 / 365, 18), now()
    FROM inventory_loan l
    CROSS JOIN LATERAL (
        SELECT COALESCE(SUM(e.quantity), 0) AS open_quantity
        FROM inventory_journal j
        JOIN inventory_entry e ON e.journal_id = j.id AND e.bucket = 'on_loan'
        WHERE j.loan_id = l.id AND j.created_at < %(day_end)s
    ) q
    CROSS JOIN LATERAL (
        SELECT COALESCE(
            (SELECT rr.rate_bps FROM inventory_rerate rr
             WHERE rr.loan_id = l.id AND rr.status = 'accepted' AND rr.effective_date <= %(day)s
             ORDER BY rr.effective_date DESC, rr.id DESC LIMIT 1),
            l.rate_bps) AS rate_bps
    ) r
    WHERE l.status IN ('active', 'closed') AND l.start_date <= %(day)s
      AND (l.closed_at IS NULL OR l.closed_at >= %(day_start)s)  -- closed before the day: nothing open
      AND q.open_quantity > 0
    ON CONFLICT (loan_id, business_date) DO NOTHING
"""


def previous_business_date(now: datetime | None = None) -> date:
    """The last business date that has ended: the one the daily accrual charges."""
    return business_date(now) - timedelta(days=1)


@transaction.atomic
def accrue_fees(*, day: date, now: datetime | None = None) -> int:
    """Accrue business date ``day``'s fee in the asset for every loan open at the day's end, at the
    rate in force that day: fee = open quantity × rate_bps / 10,000 / 365.

    The convention of a borrow fee: from the delivery's business date to the return's, the return's
    own day not charged (a loan delivered and returned on one day accrues nothing). Set-based and
    idempotent: a loan accrues once per business date (a unique constraint), so re-running the day
    adds nothing. Raises ``InvalidState`` for a day that has not ended (``now``, default the clock):
    accruals are immutable, and one written early would miss the rest of the day. Returns rows added.
    """
    day_end = business_day_end(day)
    if day_end > (now or timezone.now()):
        raise InvalidState(
            f"Business date {day} has not ended yet (it ends at {day_end:%Y-%m-%d %H:%M %Z}); "
            "a day is accrued once it is over."
        )
    with connection.cursor() as cursor:
        cursor.execute(
            _ACCRUE_SQL,
            {"day": day, "day_start": business_day_end(day - timedelta(days=1)), "day_end": day_end},
        )
        return cursor.rowcount


# How far back the daily job looks for days not accrued (a missed run, a beat schedule that fired
# before the open after a clock change): re-accruing a day adds only what it lacks.
CATCH_UP_DAYS = 7


def accrue_through(*, day: date) -> dict[str, int]:
    """Accrue business date ``day`` and the ``CATCH_UP_DAYS`` - 1 days before it: each (loan, day)
    once, whenever it runs, so a day a run missed is charged by the next. Returns the rows added."""
    added = sum(accrue_fees(day=day - timedelta(days=back)) for back in reversed(range(CATCH_UP_DAYS)))
    return {"accruals_added": added}
