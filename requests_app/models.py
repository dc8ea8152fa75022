"""Borrow requests: intake, the approval matrix, approvals, idempotent submission."""

from typing import Any

import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount, RiskRating
from inventory.models import QTY, RATE, Loan

USD: dict[str, Any] = {"max_digits": 24, "decimal_places": 8}


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted"
    COMPLIANCE_HOLD = "compliance_hold"
    PENDING_APPROVAL = "pending_approval"
    PENDING_SECOND_APPROVAL = "pending_second_approval"
    OFFERED = "offered"
    APPROVED = "approved"
    REJECTED = "rejected"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


OPEN_STATUSES = (
    RequestStatus.SUBMITTED,
    RequestStatus.COMPLIANCE_HOLD,
    RequestStatus.PENDING_APPROVAL,
    RequestStatus.PENDING_SECOND_APPROVAL,
    RequestStatus.OFFERED,
)
AWAITING_APPROVAL = (RequestStatus.PENDING_APPROVAL, RequestStatus.PENDING_SECOND_APPROVAL)


class Urgency(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


# The roles that approve borrow requests: the only roles an approval rule's steps may name.
APPROVER_ROLES = ("ops", "ops_senior", "risk")


@audited
class ApprovalRule(models.Model):
    """The approval matrix: a notional band (USD) and counterparty risk → the roles that approve, in order.

    The matching rule with the lowest ``precedence`` wins. Admin-editable.
    """

    name = models.CharField(max_length=100)
    precedence = models.PositiveIntegerField(unique=True)
    min_notional_usd = models.DecimalField(**USD, default=0)
    max_notional_usd = models.DecimalField(
        **USD, null=True, blank=True, help_text="Exclusive; blank = no upper bound."
    )
    risk_ratings = ArrayField(
        models.CharField(max_length=8),
        default=list,
        blank=True,
        help_text="Counterparty risk ratings this rule covers; empty = all.",
    )
    steps = ArrayField(models.CharField(max_length=16), help_text="Roles that approve, in order.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["precedence"]
        constraints = [
            models.CheckConstraint(condition=Q(min_notional_usd__gte=0), name="rule_min_not_negative"),
            models.CheckConstraint(
                condition=Q(max_notional_usd__isnull=True)
                | Q(max_notional_usd__gt=models.F("min_notional_usd")),
                name="rule_band_ordered",
            ),
            models.CheckConstraint(condition=Q(steps__len__gte=1), name="rule_has_steps"),
            # A typo in a step ("opps") would leave requests no one can approve.
            models.CheckConstraint(
                condition=Q(steps__contained_by=list(APPROVER_ROLES)),
                name="rule_steps_are_approver_roles",
                violation_error_message=f"Each step must be one of: {', '.join(APPROVER_ROLES)}.",
            ),
            models.CheckConstraint(
                condition=Q(risk_ratings__contained_by=list(RiskRating.values)),
                name="rule_risk_ratings_known",
                violation_error_message=f"Risk ratings must be among: {', '.join(RiskRating.values)}.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {' → '.join(self.steps)}"


@audited
class BorrowRequest(models.Model):
    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="borrow_requests")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="borrow_requests")
    quantity = models.DecimalField(**QTY)
    min_quantity = models.DecimalField(**QTY)
    max_rate_bps = models.DecimalField(**RATE, null=True, blank=True)
    term_days = models.PositiveIntegerField(null=True, blank=True, help_text="Null: open-ended.")
    settlement_account = models.ForeignKey(
        CustodyAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    needed_by = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=2000)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=24, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED)

    # The approval path, fixed when the request is priced: roles in order, and whose turn it is.
    required_steps = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    next_role = models.CharField(max_length=16, blank=True, db_index=True)
    notional_usd = models.DecimalField(**USD, null=True, blank=True)

    # Priority: the parts that do not change with time, and a rank key that orders the queue by
    # (static score + age weight × age) without recomputing it per row: see requests_app.priority.
    priority_static = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    priority_parts = models.JSONField(default=dict, blank=True)
    rank_key = models.DecimalField(max_digits=24, decimal_places=6, default=0)

    # The decision.
    approved_quantity = models.DecimalField(**QTY, null=True, blank=True)
    approved_rate_bps = models.DecimalField(**RATE, null=True, blank=True)
    source_account = models.ForeignKey(
        CustodyAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(
        max_length=500, blank=True, help_text="Why it was rejected, declined or expired."
    )
    loan = models.OneToOneField(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    # Time to decision: the desk's locate SLA figures.
    submitted_at = models.DateTimeField(default=timezone.now)
    first_action_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="Undecided by then, the request expires.")
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The approval queue: open requests for one role, best first. Covering (id, requester) so
            # that the queue's count and its page of ids are index-only scans.
            models.Index(
                fields=["next_role", "-rank_key", "id"],
                name="request_queue_idx",
                condition=Q(status__in=["pending_approval", "pending_second_approval"]),
                include=["requested_by"],
            ),
            models.Index(fields=["counterparty", "-id"]),
            models.Index(fields=["status", "expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="request_status_valid"),
            models.CheckConstraint(condition=Q(urgency__in=Urgency.values), name="request_urgency_valid"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="request_quantity_positive"),
            models.CheckConstraint(
                condition=Q(min_quantity__gt=0) & Q(min_quantity__lte=models.F("quantity")),
                name="request_min_quantity_in_range",
            ),
            models.CheckConstraint(
                condition=Q(max_rate_bps__isnull=True) | Q(max_rate_bps__gte=0),
                name="request_max_rate_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(approved_quantity__isnull=True)
                | (
                    Q(approved_quantity__gte=models.F("min_quantity"))
                    & Q(approved_quantity__lte=models.F("quantity"))
                ),
                name="request_approved_quantity_in_range",
            ),
            # Approved means a loan exists: the allocation and the decision commit together.
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(loan__isnull=False), name="request_approved_has_loan"
            ),
        ]

    def __str__(self) -> str:
        return f"BR{self.pk} {self.counterparty_id} {self.quantity} {self.asset_id} {self.status}"


class Decision(models.TextChoices):
    APPROVED = "approved"
    REJECTED = "rejected"


@audited
class Approval(models.Model):
    """One step of the approval path, given by one user: the maker-checker evidence.

    Append-only in the database (pgtrigger refuses UPDATE and DELETE, as for the ledger's journals) and
    audited (pghistory records each insert with the acting user).
    """

    request = models.ForeignKey(BorrowRequest, on_delete=models.PROTECT, related_name="approvals")
    step = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=16)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    quantity = models.DecimalField(**QTY, null=True, blank=True)
    rate_bps = models.DecimalField(**RATE, null=True, blank=True)
    account = models.ForeignKey(
        CustodyAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)  # the decision's time, the same as the request's

    class Meta:
        ordering = ["request_id", "step"]
        constraints = [
            # Maker-checker in the database: one decision per step, and no user decides twice.
            models.UniqueConstraint(fields=["request", "step"], name="approval_one_per_step"),
            models.UniqueConstraint(fields=["request", "user"], name="approval_one_per_user"),
            models.CheckConstraint(condition=Q(decision__in=Decision.values), name="approval_decision_valid"),
        ]
        triggers = [
            pgtrigger.Protect(name="approval_append_only_no_update", operation=pgtrigger.Update),
            pgtrigger.Protect(name="approval_append_only_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"Step {self.step} of request {self.request_id}: {self.decision} by {self.user_id}"


class IdempotencyRecord(models.Model):
    """The first response to a submission with an ``Idempotency-Key``: a repeat gets it again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"Idempotency-Key {self.key} of user {self.user_id}"
