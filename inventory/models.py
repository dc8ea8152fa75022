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

    # Indexed with the asset (journal, asset): the index journal_balanced's check reads.
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries", db_index=False)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(CustodyAccount, on_delete=models.PROTECT, related_name="+")
    bucket = models.CharField(max_length=16, choices=Bucket.choices)
    quantity = models.DecimalField(**QTY)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["asset", "account", "bucket"]),
            # journal_balanced's look-up, once per line at commit: with the journal's id alone, or with
            # statistics a hot asset outgrew, the planner read every line of the asset instead (an
            # approval's hold slowed with the size of the book).
            models.Index(fields=["journal", "asset"], name="entry_journal_asset_idx"),
        ]
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


OPEN_LOAN_STATUSES = (LoanStatus.PENDING_DELIVERY, LoanStatus.ACTIVE)
_OPEN_SQL = ", ".join(f"'{status}'" for status in OPEN_LOAN_STATUSES)


# The open_total trigger's function, on inventory_loan: the change of a loan's open quantity (counted
# while the loan is pending delivery or active) into its (counterparty, asset) total; a change of
# counterparty or asset moves it between the two totals. Deferred (see OpenLoanTotal, below).
_OPEN_TOTAL_FUNC = f"""
        old_open := 0;
        new_open := 0;
        IF TG_OP <> 'INSERT' AND OLD.status IN ({_OPEN_SQL}) THEN
            old_open := OLD.open_quantity;
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.status IN ({_OPEN_SQL}) THEN
            new_open := NEW.open_quantity;
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.counterparty_id = NEW.counterparty_id AND OLD.asset_id = NEW.asset_id
        THEN
            new_open := new_open - old_open;
            old_open := 0;
        END IF;
        -- A decrease updates the total (and a total out of step with its loans, missing or going below
        -- zero, stops the transaction instead of hiding); an increase adds to it, creating it at need.
        -- (Not one upsert for both: INSERT ... ON CONFLICT checks the CHECK on the row it proposes.)
        IF old_open > 0 OR new_open < 0 THEN
            UPDATE inventory_openloantotal
            SET open_quantity = open_quantity - old_open + least(new_open, 0)
            WHERE counterparty_id = OLD.counterparty_id AND asset_id = OLD.asset_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no open total for counterparty % and asset %',
                    OLD.counterparty_id, OLD.asset_id
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        IF new_open > 0 THEN
            INSERT INTO inventory_openloantotal (counterparty_id, asset_id, open_quantity)
            VALUES (NEW.counterparty_id, NEW.asset_id, new_open)
            ON CONFLICT (counterparty_id, asset_id)
            DO UPDATE SET open_quantity = inventory_openloantotal.open_quantity + EXCLUDED.open_quantity;
        END IF;
        RETURN NULL;
"""


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
        triggers = [
            # Keeps OpenLoanTotal (its docstring; the function above).
            pgtrigger.Trigger(
                name="open_total",
                operation=pgtrigger.Insert
                | pgtrigger.UpdateOf("status", "open_quantity", "counterparty_id", "asset_id")
                | pgtrigger.Delete,
                when=pgtrigger.After,
                timing=pgtrigger.Deferred,
                declare=[("old_open", "numeric"), ("new_open", "numeric")],
                func=_OPEN_TOTAL_FUNC,
            ),
        ]

    def __str__(self) -> str:
        return f"Loan {self.pk} {self.counterparty_id} {self.open_quantity} {self.asset_id}"


# Fires this transaction's pending changes of open loans into OpenLoanTotal now (the open_total trigger
# is deferred): for a reader of the totals inside a transaction that wrote loans (collateral's coverage,
# the limit check at final approval), so what it reads includes them.
FIRE_OPEN_TOTALS_SQL = "SET CONSTRAINTS {pgid} IMMEDIATE".format(
    pgid=next(t for t in Loan._meta.triggers if t.name == "open_total").get_pgid(Loan)  # type: ignore[attr-defined]
)
# ... and back to deferred, so the transaction's later loan writes lock their totals only at COMMIT.
DEFER_OPEN_TOTALS_SQL = FIRE_OPEN_TOTALS_SQL.replace(" IMMEDIATE", " DEFERRED")


class OpenLoanTotal(models.Model):
    """What a counterparty has open of an asset: the sum of ``open_quantity`` over its open loans
    (pending delivery or active), kept by the database.

    A deferred constraint trigger on ``inventory_loan`` (``open_total``) adds each loan's change to its
    (counterparty, asset) row when the transaction's deferred checks run (at COMMIT, or when a statement
    sets them IMMEDIATE): so a final approval locks this row only from there, next to the limit row and
    the hot balance row, not from the moment its loan is written. Nothing else may write the table (a
    trigger refuses any write not made from within another trigger). Exposure (collateral's coverage)
    and the borrower limits' caps read it: the open book of a counterparty in as many rows as it has
    assets, instead of a scan of its loans inside every final approval's serialised stretch.
    A reader inside a transaction that changed loans first fires the pending changes
    (``FIRE_OPEN_TOTALS_SQL``)."""

    # No index of their own: the unique (counterparty, asset) serves the look-ups, and a table written
    # by every final approval keeps as few indexes as it can (one per counterparty and asset it holds:
    # small enough that an asset's deletion check reads it whole).
    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="+", db_index=False)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", db_index=False)
    open_quantity = models.DecimalField(**QTY, default=0)

    class Meta:
        ordering = ["counterparty", "asset"]
        constraints = [
            models.UniqueConstraint(fields=["counterparty", "asset"], name="open_loan_total_unique"),
            models.CheckConstraint(condition=Q(open_quantity__gte=0), name="open_loan_total_not_negative"),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="written_by_loans_only",
                operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                when=pgtrigger.Before,
                func="""
                    IF pg_trigger_depth() < 2 THEN
                        RAISE EXCEPTION 'inventory_openloantotal is kept by the loans'' trigger only'
                            USING ERRCODE = 'insufficient_privilege';
                    END IF;
                    RETURN COALESCE(NEW, OLD);
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.counterparty_id}/{self.asset_id} open {self.open_quantity}"


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
