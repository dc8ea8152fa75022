"""The inventory ledger (double-entry, append-only) and the borrow book (loans).

A ``Journal`` is one business event; its ``Entry`` lines move quantity between buckets of a custody
account and sum to zero per asset (a deferred constraint trigger checks it at commit). ``Position``
is the running balance of (asset, account, bucket); a CHECK keeps every bucket but ``external`` at
zero or above, and the services move balances with conditional UPDATEs inside the journal's
transaction, so two approvals racing for the last units cannot both win. Journals and entries are
immutable: triggers reject UPDATE and DELETE.
"""

from typing import Any

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
RATE: dict[str, Any] = {"max_digits": 12, "decimal_places": 4}


class Bucket(models.TextChoices):
    AVAILABLE = "available"
    ALLOCATED = "allocated"
    ON_LOAN = "on_loan"
    IN_TRANSIT = "in_transit"
    EXTERNAL = "external"  # the counter-side of receipts and deliveries out; may go negative
    # Collateral a counterparty pledged, held in its segregated collateral account (purpose collateral,
    # owned by the pledging counterparty: the account is the key). The collateral app posts it.
    PLEDGED = "pledged"


class JournalKind(models.TextChoices):
    RECEIPT = "receipt"
    ALLOCATION = "allocation"
    RELEASE = "release"
    DELIVERY = "delivery"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    TRANSFER = "transfer"
    PLEDGE = "pledge"  # collateral in: external → pledged
    COLLATERAL_RELEASE = "collateral_release"  # collateral back to its owner: pledged → external


_IMMUTABLE = [
    pgtrigger.Protect(name="append_only_no_update", operation=pgtrigger.Update),
    pgtrigger.Protect(name="append_only_no_delete", operation=pgtrigger.Delete),
]


class Journal(models.Model):
    """One business event in the ledger. Immutable once written."""

    kind = models.CharField(max_length=20, choices=JournalKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(max_length=120, blank=True)
    memo = models.CharField(max_length=500, blank=True)
    source_counterparty = models.ForeignKey(
        Counterparty,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Receipts: the lender (or null for the firm's own inventory).",
    )
    cost_rate_bps = models.DecimalField(**RATE, null=True, blank=True, help_text="Receipts from lenders.")
    loan = models.ForeignKey("Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="journals")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["kind", "-id"])]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=JournalKind.values), name="journal_kind_valid")
        ]
        triggers = _IMMUTABLE

    def __str__(self) -> str:
        return f"J{self.pk} {self.kind}"

    @property
    def lines(self) -> str:
        """The entries in one line, for lists (uses prefetched entries)."""
        return "; ".join(
            f"{e.account.code}/{e.bucket} {e.quantity.normalize():+f} {e.asset.symbol}"
            for e in self.entries.all()
        )


class Entry(models.Model):
    """One line of a journal: a signed quantity into (or out of) one bucket of one account."""

    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(CustodyAccount, on_delete=models.PROTECT, related_name="+")
    bucket = models.CharField(max_length=16, choices=Bucket.choices)
    quantity = models.DecimalField(**QTY)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["asset", "account", "bucket"])]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="entry_nonzero"),
            models.CheckConstraint(condition=Q(bucket__in=Bucket.values), name="entry_bucket_valid"),
        ]
        triggers = [
            *_IMMUTABLE,
            # A journal balances per asset: checked at commit, after all its lines are in.
            pgtrigger.Trigger(
                name="journal_balanced",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                timing=pgtrigger.Deferred,
                func="""
                    IF (SELECT SUM(quantity) FROM inventory_entry
                        WHERE journal_id = NEW.journal_id AND asset_id = NEW.asset_id) <> 0 THEN
                        RAISE EXCEPTION 'journal % does not balance for asset %', NEW.journal_id, NEW.asset_id
                            USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NULL;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.bucket} {self.quantity} {self.asset_id}"


class Position(models.Model):
    """The balance of one (asset, account, bucket): the sum of its entries."""

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(CustodyAccount, on_delete=models.PROTECT, related_name="positions")
    bucket = models.CharField(max_length=16, choices=Bucket.choices)
    quantity = models.DecimalField(**QTY, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset", "account", "bucket"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "account", "bucket"], name="position_unique"),
            # The ledger can never over-allocate: no bucket but external goes below zero.
            models.CheckConstraint(
                condition=Q(bucket="external") | Q(quantity__gte=0), name="position_not_negative"
            ),
            models.CheckConstraint(condition=Q(bucket__in=Bucket.values), name="position_bucket_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id}@{self.account_id}/{self.bucket}={self.quantity}"


class LoanStatus(models.TextChoices):
    PENDING_DELIVERY = "pending_delivery"  # inventory held (allocated), delivery in the settlement queue
    ACTIVE = "active"  # delivered: on loan, accruing fees
    CLOSED = "closed"  # fully returned
    CANCELLED = "cancelled"  # never delivered: the hold was released


@audited
class Loan(models.Model):
    """One borrow in the book: the firm lends ``quantity`` of an asset to a counterparty."""

    # The borrow request that opened it (requests_app sits above inventory, so this is a plain id).
    request_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="loans")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="loans")
    account = models.ForeignKey(
        CustodyAccount,
        on_delete=models.PROTECT,
        related_name="loans",
        help_text="The firm's account the inventory comes from.",
    )
    quantity = models.DecimalField(**QTY)
    open_quantity = models.DecimalField(**QTY)
    rate_bps = models.DecimalField(**RATE)
    status = models.CharField(max_length=20, choices=LoanStatus.choices, default=LoanStatus.PENDING_DELIVERY)
    term_days = models.PositiveIntegerField(null=True, blank=True, help_text="Null: open-ended.")
    start_date = models.DateField(null=True, blank=True, help_text="The business date of delivery.")
    maturity_date = models.DateField(null=True, blank=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "hold_expires_at"]),
            models.Index(fields=["counterparty", "status"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="loan_quantity_positive"),
            models.CheckConstraint(
                condition=Q(open_quantity__gte=0) & Q(open_quantity__lte=models.F("quantity")),
                name="loan_open_quantity_in_range",
            ),
            models.CheckConstraint(condition=Q(rate_bps__gte=0), name="loan_rate_not_negative"),
            models.CheckConstraint(condition=Q(status__in=LoanStatus.values), name="loan_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Loan {self.pk} {self.counterparty_id} {self.open_quantity} {self.asset_id}"


class LoanAccrual(models.Model):
    """The fee one loan earned on one business date, in the asset. One row per loan per date."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="accruals")
    business_date = models.DateField()
    open_quantity = models.DecimalField(**QTY)
    rate_bps = models.DecimalField(**RATE)
    fee = models.DecimalField(**QTY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan", "business_date"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "business_date"], name="accrual_once_per_day"),
        ]
        triggers = _IMMUTABLE

    def __str__(self) -> str:
        return f"Accrual loan {self.loan_id} {self.business_date}: {self.fee}"


class RecallStatus(models.TextChoices):
    OPEN = "open"
    MET = "met"
    CANCELLED = "cancelled"


@audited
class Recall(models.Model):
    """The desk asks for (part of) a loan back by ``due_at``; past due it is flagged for buy-in."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="recalls")
    quantity = models.DecimalField(**QTY)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=RecallStatus.choices, default=RecallStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="recall_quantity_positive")]

    def __str__(self) -> str:
        return f"Recall of {self.quantity} on loan {self.loan_id} due {self.due_at:%Y-%m-%d %H:%M}"


class RerateStatus(models.TextChoices):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@audited
class Rerate(models.Model):
    """A new rate proposed by the desk; in force from ``effective_date`` once the borrower accepts."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="rerates")
    rate_bps = models.DecimalField(**RATE)
    effective_date = models.DateField()
    status = models.CharField(max_length=10, choices=RerateStatus.choices, default=RerateStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["effective_date"]
        constraints = [
            models.CheckConstraint(condition=Q(rate_bps__gte=0), name="rerate_rate_not_negative"),
            # One open proposal per loan at a time.
            models.UniqueConstraint(fields=["loan"], condition=Q(status="proposed"), name="rerate_one_open"),
        ]

    def __str__(self) -> str:
        return (
            f"Rerate of loan {self.loan_id} to {self.rate_bps} bps from {self.effective_date} ({self.status})"
        )
