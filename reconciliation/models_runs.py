"""Reconciliation runs, their breaks and the pre-open gate's overrides.

A ``ReconciliationRun`` is one business date and scope (unique): running it again updates the same
run and the same breaks (``reconciliation/sql/run.sql``, one statement, INSERT … ON CONFLICT), so an
owner and a timeline survive a re-run and a break that vanished closes as ``auto_resolved``. A
``Break`` is one difference between the book (the ledger as of the statement's time) and the latest
statement of one account; a ``statement_gap`` is an account in scope with no statement at all (its
asset is null: the unique key treats nulls as equal, PostgreSQL 15's NULLS NOT DISTINCT).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from borrowdesk.audit import audited
from borrowdesk.operations.models import JobRun
from borrowdesk.refdata.models import Asset, CustodyAccount
from inventory.models import QTY, Journal

__all__ = [
    "Break",
    "BreakActivity",
    "BreakActivityKind",
    "BreakKind",
    "BreakReason",
    "BreakStatus",
    "GateOverride",
    "ReconciliationRun",
    "RunScope",
    "RunStatus",
]


class RunScope(models.TextChoices):
    INVENTORY = "inventory"  # the firm's accounts: the buckets the custodian holds (available, allocated)
    COLLATERAL = "collateral"  # counterparties' collateral accounts: the pledged bucket
    ALL = "all"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@audited
class ReconciliationRun(models.Model):
    """One reconciliation of a business date and scope; re-running it updates it (and its breaks)."""

    business_date = models.DateField()
    scope = models.CharField(max_length=12, choices=RunScope.choices)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The instant the run compared at: the latest statement of each account up to it counts.
    cutoff = models.DateTimeField(null=True, blank=True)
    # accounts, statements, found, opened, updated, auto_resolved, open, by_kind …
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    job_run = models.ForeignKey(JobRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-business_date", "scope"]
        constraints = [
            models.UniqueConstraint(fields=["business_date", "scope"], name="recon_run_one_per_date_scope"),
            models.CheckConstraint(condition=Q(scope__in=RunScope.values), name="recon_run_scope_valid"),
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="recon_run_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Reconciliation {self.business_date} {self.scope} ({self.status})"


class BreakKind(models.TextChoices):
    MISMATCH = "mismatch", "Mismatch"
    MISSING_INTERNAL = "missing_internal", "Missing in the book"
    MISSING_EXTERNAL = "missing_external", "Missing on the statement"
    STATEMENT_GAP = "statement_gap", "No statement"


class BreakStatus(models.TextChoices):
    OPEN = "open", "Open"
    ASSIGNED = "assigned", "Assigned"
    RESOLVED = "resolved", "Resolved"
    AUTO_RESOLVED = "auto_resolved", "Auto-resolved"


OPEN_STATUSES = (BreakStatus.OPEN, BreakStatus.ASSIGNED)


class BreakReason(models.TextChoices):
    TIMING = "timing", "Timing"
    FEE = "fee", "Fee"
    PENDING_SETTLEMENT = "pending_settlement", "Pending settlement"
    CUSTODIAN_ERROR = "custodian_error", "Custodian error"
    BOOKING_ERROR = "booking_error", "Booking error"
    OTHER = "other", "Other"


# Audited with statement-level insert and update triggers: a run writes its breaks in one statement,
# thousands at a time (borrowdesk/audit.py says why row-level triggers cost the square of that).
@audited(bulk_inserts=True, bulk_updates=True)
class Break(models.Model):
    """A difference between the book and a custodian's statement, owned until it is explained."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="breaks")
    account = models.ForeignKey(CustodyAccount, on_delete=models.PROTECT, related_name="+")
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=BreakKind.choices)
    internal_quantity = models.DecimalField(**QTY, null=True, blank=True)
    external_quantity = models.DecimalField(**QTY, null=True, blank=True)
    difference = models.DecimalField(**QTY, null=True, blank=True)  # external − internal
    statement_id = models.BigIntegerField(null=True, blank=True)  # the statement compared (none: a gap)
    status = models.CharField(max_length=16, choices=BreakStatus.choices, default=BreakStatus.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=BreakReason.choices, blank=True)
    resolution_text = models.TextField(blank=True)
    # First seen: a break still open from an earlier date's run is carried into the new run with its
    # owner and its age (the earlier one closes, pointing here).
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    adjustment = models.ForeignKey(Journal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["opened_at", "id"]
        indexes = [
            models.Index(fields=["account", "status"], name="recon_break_account_status"),
            models.Index(fields=["status", "opened_at"], name="recon_break_status_opened"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "account", "asset", "kind"], nulls_distinct=False, name="recon_break_unique"
            ),
            models.CheckConstraint(condition=Q(kind__in=BreakKind.values), name="recon_break_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=BreakStatus.values), name="recon_break_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason="") | Q(reason__in=BreakReason.values), name="recon_break_reason_valid"
            ),
            # Only a statement gap has no asset.
            models.CheckConstraint(
                condition=Q(kind="statement_gap") | Q(asset__isnull=False), name="recon_break_asset_present"
            ),
            # A resolved break says why, when and by whom; an open one has no resolution.
            models.CheckConstraint(
                condition=~Q(status="resolved")
                | (~Q(reason="") & Q(resolved_at__isnull=False) & Q(resolved_by__isnull=False)),
                name="recon_break_resolved_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="assigned") | Q(owner__isnull=False),
                name="recon_break_assigned_has_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"Break {self.pk} {self.kind}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class BreakActivityKind(models.TextChoices):
    OPENED = "opened", "Opened"
    COMMENT = "comment", "Comment"
    ASSIGN = "assign", "Assigned"
    RESOLVE = "resolve", "Resolved"
    ADJUSTMENT = "adjustment", "Adjustment booked"
    AUTO_RESOLVE = "auto_resolve", "Auto-resolved"
    REOPEN = "reopen", "Reopened"


class BreakActivity(models.Model):
    """The timeline of a break (comments, assignment, resolution …): append-only. (Not ``BreakEvent``:
    that name is pghistory's audit event model of ``Break``.)"""

    brk = models.ForeignKey(Break, on_delete=models.PROTECT, related_name="activity", db_column="break_id")
    kind = models.CharField(max_length=16, choices=BreakActivityKind.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=BreakActivityKind.values), name="recon_event_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} on break {self.brk_id}"


@audited
class GateOverride(models.Model):
    """An ops_senior's explicit release of the pre-open gate for one account on one business date."""

    business_date = models.DateField()
    account = models.ForeignKey(CustodyAccount, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    held_because = models.TextField(blank=True)  # what the gate said when it was overridden

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["business_date", "account"], name="recon_gate_one_override"),
            models.CheckConstraint(condition=~Q(reason=""), name="recon_gate_override_reason"),
        ]

    def __str__(self) -> str:
        return f"Gate override {self.account_id} {self.business_date}"
