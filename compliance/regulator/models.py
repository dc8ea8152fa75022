"""Regulator requests: the log of what regulators asked, when it is due, who answers it and with
what; overdue flags and the reminders the daily job records. A drill (``is_drill``) is a rehearsal
of a response, worked like a real request and kept apart in the counts."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from borrowdesk.audit import audited


class RegulatorRequestStatus(models.TextChoices):
    OPEN = "open"
    IN_PROGRESS = "in_progress", "In progress"
    RESPONDED = "responded"
    CLOSED = "closed"


# Still owed to the regulator: these can be overdue and get reminders.
OUTSTANDING = (RegulatorRequestStatus.OPEN, RegulatorRequestStatus.IN_PROGRESS)


@audited
class RegulatorRequest(models.Model):
    regulator = models.CharField(max_length=120)
    reference = models.CharField(max_length=120, blank=True, help_text="The regulator's own reference.")
    subject = models.CharField(max_length=300)
    details = models.TextField(blank=True)
    received_at = models.DateTimeField()
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=RegulatorRequestStatus.choices, default=RegulatorRequestStatus.OPEN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_drill = models.BooleanField(default=False, help_text="A rehearsal of a response, not a real request.")
    response_text = models.TextField(blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"], name="regulator_request_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RegulatorRequestStatus.values), name="regulator_request_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(due_at__gte=F("received_at")), name="regulator_request_due_after_received"
            ),
            # A response is on file before the request counts as answered.
            models.CheckConstraint(
                condition=~Q(status__in=[RegulatorRequestStatus.RESPONDED, RegulatorRequestStatus.CLOSED])
                | (Q(responded_at__isnull=False) & ~Q(response_text="")),
                name="regulator_request_response_on_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.regulator}: {self.subject}"

    @property
    def is_overdue(self) -> bool:
        return self.status in OUTSTANDING and self.due_at < timezone.now()


def _evidence_path(instance: RegulatorEvidence, filename: str) -> str:
    # The stored name is ours (a random token), never the uploader's: no path from outside reaches disk.
    return f"{instance.request_id}/{instance.token}"


def evidence_storage() -> FileSystemStorage:
    # Outside any served directory: files go out only through the permission-checked download view.
    return FileSystemStorage(location=settings.REGULATOR_EVIDENCE_DIR)


@audited
class RegulatorEvidence(models.Model):
    request = models.ForeignKey(RegulatorRequest, on_delete=models.PROTECT, related_name="evidence")
    token = models.CharField(max_length=64, unique=True)
    file = models.FileField(upload_to=_evidence_path, storage=evidence_storage, max_length=200)
    original_name = models.CharField(max_length=200, help_text="As uploaded, cleaned for display.")
    content_type = models.CharField(max_length=80, help_text="As read from the content, not the name.")
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class ReminderKind(models.TextChoices):
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue"


class RegulatorReminder(models.Model):
    """A reminder the daily job recorded: one per request per business date (the job is idempotent)."""

    request = models.ForeignKey(RegulatorRequest, on_delete=models.CASCADE, related_name="reminders")
    business_date = models.DateField()
    kind = models.CharField(max_length=10, choices=ReminderKind.choices)
    due_at = models.DateTimeField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-business_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "business_date"], name="regulator_reminder_once_a_day"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ReminderKind.values), name="regulator_reminder_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Reminder {self.kind} for {self.request_id} on {self.business_date}"
