"""Treasury: settlement instructions (transfers, buffers and reconciliation come with their issues)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Asset, CustodyAccount
from inventory.models import QTY, Loan


class SettlementKind(models.TextChoices):
    LOAN_DELIVERY = "loan_delivery"
    COLLATERAL_RECEIPT = "collateral_receipt"
    RETURN = "return"


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

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="settlement_quantity_positive"),
            models.CheckConstraint(condition=Q(kind__in=SettlementKind.values), name="settlement_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=SettlementStatus.values), name="settlement_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"SI{self.pk} {self.kind} {self.quantity} {self.asset_id} {self.status}"
