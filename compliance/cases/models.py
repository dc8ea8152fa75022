"""Compliance cases: ``Case`` (one piece of compliance work, from the first evidence to a disposition),
its append-only ``CaseEvent`` timeline, its ``CaseAttachment`` files, and the ``CaseSla`` table of SLA
hours by kind × priority (defaults in ``DEFAULT_SLA_HOURS``; a row here overrides one).

Rules live in ``compliance.cases.services``; the database holds what it can: one open case per kind
and counterparty, valid states, a closure that needs four eyes names two different officers, and the
timeline is append-only.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Counterparty

__all__ = [
    "DEFAULT_SLA_HOURS",
    "PRIORITY_RANK",
    "Case",
    "CaseAttachment",
    "CaseDisposition",
    "CaseEvent",
    "CaseEventKind",
    "CaseGroupObjectPermission",
    "CaseKind",
    "CasePriority",
    "CaseSla",
    "CaseStatus",
    "CaseUserObjectPermission",
]


class CaseKind(models.TextChoices):
    KYC = "kyc", "KYC"
    AML = "aml", "AML"
    SANCTIONS = "sanctions"
    TRAVEL_RULE = "travel_rule", "Travel rule"


class CasePriority(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


PRIORITY_RANK: dict[str, int] = {
    CasePriority.LOW: 0,
    CasePriority.MEDIUM: 1,
    CasePriority.HIGH: 2,
    CasePriority.CRITICAL: 3,
}


class CaseStatus(models.TextChoices):
    OPEN = "open"
    IN_REVIEW = "in_review", "In review"
    ESCALATED = "escalated"
    CLOSED = "closed"


class CaseDisposition(models.TextChoices):
    CLEARED = "cleared"
    FALSE_POSITIVE = "false_positive", "False positive"
    REPORTED = "reported", "Reported to the regulator"
    OFFBOARDED = "offboarded"


# SLA hours by kind × priority, unless a ``CaseSla`` row says otherwise. Sanctions first: a potential
# match holds a client's requests until it is worked.
DEFAULT_SLA_HOURS: dict[str, dict[str, int]] = {
    CaseKind.SANCTIONS: {"low": 72, "medium": 24, "high": 8, "critical": 4},
    CaseKind.AML: {"low": 240, "medium": 120, "high": 48, "critical": 24},
    CaseKind.KYC: {"low": 336, "medium": 168, "high": 72, "critical": 24},
    CaseKind.TRAVEL_RULE: {"low": 72, "medium": 48, "high": 24, "critical": 8},
}


class CaseSla(models.Model):
    """The SLA of a kind × priority, in hours from opening (configuration, edited in the admin)."""

    kind = models.CharField(max_length=16, choices=CaseKind.choices)
    priority = models.CharField(max_length=8, choices=CasePriority.choices)
    hours = models.PositiveIntegerField()

    class Meta:
        ordering = ["kind", "priority"]
        verbose_name = "case SLA"
        constraints = [
            models.UniqueConstraint(fields=["kind", "priority"], name="case_sla_once"),
            models.CheckConstraint(condition=Q(kind__in=CaseKind.values), name="case_sla_kind_valid"),
            models.CheckConstraint(
                condition=Q(priority__in=CasePriority.values), name="case_sla_priority_valid"
            ),
            models.CheckConstraint(condition=Q(hours__gt=0), name="case_sla_hours_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.priority}: {self.hours} h"


# A closure that needs four eyes: a sanctions case closed as a false positive, or any case that was
# escalated. Written once here, read by the CHECK below and by the services.
FOUR_EYES_CLOSURE = Q(kind=CaseKind.SANCTIONS, disposition=CaseDisposition.FALSE_POSITIVE) | Q(
    escalated_at__isnull=False
)


# Audited like every business model (``borrowdesk.audit.audited``), under another event model name:
# pghistory's default, "CaseEvent", is the timeline's.
@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="CaseAuditEvent",
    obj_field=pghistory.ObjForeignKey(related_name="audit_events"),
)
class Case(models.Model):
    """One piece of compliance work: a KYC review, an AML alert, a potential sanctions match, a
    travel-rule problem. Opened by a person or a job with its first evidence, joined by later evidence
    about the same counterparty (``services.open_or_join_case``), worked (assign, note, attach),
    possibly escalated, and closed with a disposition."""

    kind = models.CharField(max_length=16, choices=CaseKind.choices)
    subject = models.CharField(max_length=300)
    counterparty = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.PROTECT, related_name="compliance_cases"
    )
    priority = models.CharField(max_length=8, choices=CasePriority.choices, default=CasePriority.MEDIUM)
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    disposition = models.CharField(max_length=16, choices=CaseDisposition.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Where set, only this team's members (and oversight) see and work the case: a django-guardian
    # object permission given to the group (``services.set_team``).
    team = models.ForeignKey(Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sla_due_at = models.DateTimeField()
    sla_breached_at = models.DateTimeField(
        null=True, blank=True, help_text="When the SLA check found it overdue (once per case)."
    )
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalation_reason = models.TextField(blank=True)
    # Users who worked the case (assignees, note and attachment authors): not its four-eyes approver.
    worked_by = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # A closure that needs four eyes: the first officer proposes it, a second approves.
    proposed_disposition = models.CharField(max_length=16, choices=CaseDisposition.choices, blank=True)
    closure_proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closure_proposed_at = models.DateTimeField(null=True, blank=True)
    closure_proposal_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closure_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["sla_due_at", "id"]
        permissions = [("work_case", "Work a compliance case (team scope)")]
        indexes = [
            models.Index(fields=["status", "sla_due_at"], name="case_queue_idx"),
            models.Index(fields=["assignee", "status"], name="case_assignee_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CaseKind.values), name="case_kind_valid"),
            models.CheckConstraint(condition=Q(priority__in=CasePriority.values), name="case_priority_valid"),
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="case_status_valid"),
            models.CheckConstraint(
                condition=Q(disposition="") | Q(disposition__in=CaseDisposition.values),
                name="case_disposition_valid",
            ),
            # One open case per kind and counterparty: evidence about the same client joins it.
            models.UniqueConstraint(
                fields=["kind", "counterparty"],
                condition=~Q(status=CaseStatus.CLOSED) & Q(counterparty__isnull=False),
                name="case_one_open_per_counterparty",
            ),
            # Closed ⇔ a disposition, a closing officer and a time.
            models.CheckConstraint(
                condition=(
                    Q(status=CaseStatus.CLOSED)
                    & ~Q(disposition="")
                    & Q(closed_at__isnull=False)
                    & Q(closed_by__isnull=False)
                )
                | (~Q(status=CaseStatus.CLOSED) & Q(disposition="") & Q(closed_at__isnull=True)),
                name="case_closed_has_disposition",
            ),
            models.CheckConstraint(
                condition=~Q(status=CaseStatus.ESCALATED) | Q(escalated_at__isnull=False),
                name="case_escalated_has_time",
            ),
            # Four eyes in the database too: such a closure names a proposer and a different closer,
            # who is neither the one who escalated it nor its assignee.
            models.CheckConstraint(
                condition=~(Q(status=CaseStatus.CLOSED) & FOUR_EYES_CLOSURE)
                | (
                    Q(closure_proposed_by__isnull=False)
                    & ~Q(closed_by=F("closure_proposed_by"))
                    & (Q(escalated_by__isnull=True) | ~Q(closed_by=F("escalated_by")))
                    & (Q(assignee__isnull=True) | ~Q(closed_by=F("assignee")))
                ),
                name="case_four_eyes_closure",
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} {self.kind} {self.status}"

    @property
    def is_closed(self) -> bool:
        return self.status == CaseStatus.CLOSED

    def is_overdue(self, now=None) -> bool:
        return not self.is_closed and self.sla_due_at <= (now or timezone.now())


class CaseUserObjectPermission(UserObjectPermissionBase):
    """Direct-foreign-key object permissions on cases (django-guardian)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    """A team's right to a case (``compliance.work_case`` given to the team's group)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseEventKind(models.TextChoices):
    OPENED = "opened"
    JOINED = "joined", "Evidence joined"
    ASSIGNED = "assigned"
    NOTE = "note"
    ATTACHMENT = "attachment"
    PRIORITY_RAISED = "priority_raised", "Priority raised"
    TEAM_SET = "team_set", "Team set"
    ESCALATED = "escalated"
    CLOSURE_PROPOSED = "closure_proposed", "Closure proposed"
    CLOSURE_APPROVED = "closure_approved", "Closure approved"
    CLOSURE_REJECTED = "closure_rejected", "Closure sent back"
    CLOSED = "closed"
    SLA_BREACHED = "sla_breached", "SLA breached"
    # A piece of evidence decided outside the case (a sanctions match cleared or confirmed on its page).
    EVIDENCE_DECIDED = "evidence_decided", "Evidence decided"


# Events that carry a piece of evidence: each piece is on one case once (idempotent joins).
EVIDENCE_EVENTS = (CaseEventKind.OPENED, CaseEventKind.JOINED)


class CaseEvent(models.Model):
    """One line of a case's timeline. Append-only (triggers refuse UPDATE and DELETE): the timeline is
    the record of who did what and when. Evidence from another app is linked generically by a type
    ("sanctions_match", "aml_alert", "kyc_profile", "travel_rule_message") and the row's id."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=CaseEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)
    evidence_type = models.CharField(max_length=40, blank=True)
    evidence_id = models.BigIntegerField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attachment = models.ForeignKey(
        "CaseAttachment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_timeline_idx")]
        triggers = [
            pgtrigger.Protect(name="append_only_no_update", operation=pgtrigger.Update),
            pgtrigger.Protect(name="append_only_no_delete", operation=pgtrigger.Delete),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CaseEventKind.values), name="case_event_kind_valid"),
            models.CheckConstraint(
                condition=Q(evidence_type="", evidence_id__isnull=True)
                | (~Q(evidence_type="") & Q(evidence_id__isnull=False)),
                name="case_event_evidence_whole",
            ),
            # A piece of evidence opens or joins one case, once (open_or_join_case is idempotent).
            models.UniqueConstraint(
                fields=["evidence_type", "evidence_id"],
                condition=Q(kind__in=EVIDENCE_EVENTS) & Q(evidence_id__isnull=False),
                name="case_evidence_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


@audited
class CaseAttachment(models.Model):
    """A file attached to a case as evidence. Stored under a name of our own (never the browser's),
    its type sniffed from its bytes, its size limited; served only to users who may see the case, each
    download in the access log (``compliance.cases.uploads``)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    original_name = models.CharField(max_length=200, help_text="The name it was uploaded under (shown only).")
    stored_name = models.CharField(max_length=100, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name
