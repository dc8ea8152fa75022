"""Ledger set-up for tests: a firm inventory account with stock, and loans, through the real services."""

from decimal import Decimal

from django.db import transaction

from borrowdesk.access.services import create_desk_user
from inventory.models import Entry, Journal, Loan, LoanAccrual, Position, Recall, Rerate
from inventory.services import deliver_loan, open_loan, receive
from tests.refdata.factories import AssetFactory, CustodyAccountFactory, PriceFactory, VenueFactory


def desk_asset(symbol="BTC", decimals=8, price="50000"):
    asset = AssetFactory(symbol=symbol, name=symbol, decimals=decimals)
    if price is not None:
        PriceFactory(asset=asset, price_usd=Decimal(price))
    return asset


def firm_account(code="INV-MAIN", purpose="inventory"):
    return CustodyAccountFactory(
        code=code, venue=VenueFactory(code="CUST1", kind="custodian"), purpose=purpose
    )


def stock(asset, account, quantity, actor=None):
    """Receive ``quantity`` into the account's available bucket (as treasury)."""
    if actor is None:
        actor = create_desk_user(username="stocker", password="stock-password-123", roles=["treasury"])
    return receive(actor=actor, asset=asset, account=account, quantity=Decimal(str(quantity)))


def active_loan(*, actor, counterparty, asset, account, quantity="4", rate_bps="365", term_days=None) -> Loan:
    """Open a loan (inventory held) and deliver it: active, on loan, accruing from today.

    One transaction, as in the approval and settlement that do this in the app (the services lock
    rows and expect their caller's transaction)."""
    with transaction.atomic():
        return _open_and_deliver(actor, counterparty, asset, account, quantity, rate_bps, term_days)


def pending_loan(
    *, actor, counterparty, asset, account, quantity="4", rate_bps="365", term_days=None
) -> Loan:
    """Open a loan (inventory held), not delivered: pending delivery. In the caller's transaction, or
    one of its own."""
    with transaction.atomic():
        return open_loan(
            actor=actor,
            request_id=None,
            counterparty=counterparty,
            asset=asset,
            account=account,
            quantity=Decimal(quantity),
            rate_bps=Decimal(rate_bps),
            term_days=term_days,
            hold_expires_at=None,
        )


def _open_and_deliver(actor, counterparty, asset, account, quantity, rate_bps, term_days) -> Loan:
    loan = pending_loan(
        actor=actor,
        counterparty=counterparty,
        asset=asset,
        account=account,
        quantity=quantity,
        rate_bps=rate_bps,
        term_days=term_days,
    )
    return deliver_loan(actor=actor, loan=loan)


def accrue(day):
    """Accrue business date ``day`` with the clock at the day's end (its loans delivered now count)."""
    from borrowdesk.business_day import business_day_end
    from inventory.services import accrue_fees

    return accrue_fees(day=day, now=business_day_end(day))


def backdate_delivery(loan: Loan, day) -> None:
    """Make the loan's history (its journals) and start date as if delivered on business date ``day``.

    Journals are immutable in the database; a test builds past history by lifting that trigger for
    this one statement (pgtrigger.ignore), which the application never does.
    """
    from datetime import datetime, time

    import pgtrigger

    from borrowdesk.business_day import desk_zone

    at = datetime.combine(day, time(12, 0), tzinfo=desk_zone())
    with pgtrigger.ignore("inventory.Journal:append_only_no_update"):
        Journal.objects.filter(loan=loan).update(created_at=at)
    Loan.objects.filter(pk=loan.pk).update(start_date=day, delivered_at=at)


def ledger_state() -> dict:
    """Every row the ledger and the book hold, to assert that a refused action changed nothing."""
    return {
        "journals": list(Journal.objects.order_by("id").values_list("id", "kind")),
        "entries": list(
            Entry.objects.order_by("id").values_list(
                "id", "journal_id", "asset_id", "account_id", "bucket", "quantity"
            )
        ),
        "positions": list(
            Position.objects.order_by("id").values_list("id", "asset_id", "account_id", "bucket", "quantity")
        ),
        "loans": list(
            Loan.objects.order_by("id").values_list("id", "status", "quantity", "open_quantity", "closed_at")
        ),
        "recalls": list(Recall.objects.order_by("id").values_list("id", "status", "quantity", "due_at")),
        "rerates": list(
            Rerate.objects.order_by("id").values_list("id", "status", "rate_bps", "effective_date")
        ),
        "accruals": list(
            LoanAccrual.objects.order_by("id").values_list("id", "loan_id", "business_date", "fee")
        ),
    }


def balances(asset=None, account=None) -> dict[str, Decimal]:
    """Non-zero buckets of one (asset, account), or of all when there is just one: {bucket: quantity}."""
    qs = Position.objects.all()
    if asset is not None:
        qs = qs.filter(asset=asset)
    if account is not None:
        qs = qs.filter(account=account)
    return {p.bucket: p.quantity for p in qs if p.quantity != 0}
