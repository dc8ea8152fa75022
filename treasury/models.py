"""Treasury: settlement instructions and buffer targets (transfers and the buffer checks come with their
issues)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount, Venue
from inventory.models import QTY, Loan


class SettlementKind(models.TextChoices):
    LOAN_DELIVERY = "loan_delivery"
    # Collateral a counterparty is to pledge: settling it books the pledge (collateral's
    # book_pledge_from_settlement) in the settlement's transaction. from_account = to_account = the
    # counterparty's collateral account (the ledger lines are its external and pledged buckets).
    COLLATERAL_RECEIPT = "collateral_receipt"
    RETURN = "return"
    # Collateral going back to its owner after a release: the release already moved the ledger
    # (pledged → external), so settling it only records that the coins went out.
    COLLATERAL_RETURN = "collateral_return"


class SettlementStatus(models.TextChoices):
    PENDING = "pending"  # in the queue
    SETTLED = "settled"
    FAILED = "failed"  # a failed attempt keeps its reason; retrying puts it back to pending
    CANCELLED = "cancelled"  # the hold expired before delivery


@audited
class SettlementInstruction(models.Model):
    """One leg in the settlement queue; settling it moves the ledger."""

    kind = models.CharField(max_length=20, choices=SettlementKind.choices)
    loan = models.ForeignKey(
        Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="settlements"
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    from_account = models.ForeignKey(CustodyAccount, on_delete=models.PROTECT, related_name="+")
    to_account = models.ForeignKey(
        CustodyAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.DecimalField(**QTY)
    status = models.CharField(
        max_length=10, choices=SettlementStatus.choices, default=SettlementStatus.PENDING
    )
    due_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Collateral legs (a loan's legs name their counterparty through the loan).
    counterparty = models.ForeignKey(
        Counterparty,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Collateral legs: the counterparty pledging or getting its collateral back.",
    )
    expires_on = models.DateField(
        null=True, blank=True, help_text="Collateral receipts: the pledge's expiry."
    )
    # db_default: the approval's hot path inserts loan deliveries with SQL that does not name it.
    reference = models.CharField(max_length=120, blank=True, default="", db_default="")
    release = models.ForeignKey(
        "collateral.Release",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Collateral returns: the release that moved the ledger.",
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="settlement_quantity_positive"),
            models.CheckConstraint(condition=Q(kind__in=SettlementKind.values), name="settlement_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=SettlementStatus.values), name="settlement_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="collateral_receipt")
                | Q(counterparty__isnull=False, to_account__isnull=False),
                name="settlement_collateral_receipt_names_its_pledge",
            ),
            models.CheckConstraint(
                condition=~Q(kind="collateral_return") | Q(counterparty__isnull=False, release__isnull=False),
                name="settlement_collateral_return_names_its_release",
            ),
        ]

    def __str__(self) -> str:
        return f"SI{self.pk} {self.kind} {self.quantity} {self.asset_id} {self.status}"

    @property
    def counterparty_code(self) -> str | None:
        """The counterparty of the leg: a collateral leg's own, a loan leg's borrower."""
        if self.counterparty_id is not None:
            return self.counterparty.code  # type: ignore[union-attr]
        return self.loan.counterparty.code if self.loan_id is not None else None  # type: ignore[union-attr]


@audited
class BufferTarget(models.Model):
    """How much of an asset the firm keeps ready to deliver at one venue: below ``min_quantity`` the
    venue is short (deliveries from it may fail), ``target_quantity`` is what treasury funds it back to.
    The level compared with them is the firm's available balance of the asset in its own accounts at
    the venue (treasury.selectors.buffer_levels)."""

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="+")
    min_quantity = models.DecimalField(**QTY)
    target_quantity = models.DecimalField(**QTY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset", "venue"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "venue"], name="buffer_target_one_per_asset_venue"),
            models.CheckConstraint(condition=Q(min_quantity__gte=0), name="buffer_target_min_not_negative"),
            models.CheckConstraint(
                condition=Q(target_quantity__gte=models.F("min_quantity")),
                name="buffer_target_target_at_least_min",
            ),
        ]

    def __str__(self) -> str:
        return f"buffer {self.asset_id}@{self.venue_id} min {self.min_quantity} target {self.target_quantity}"
