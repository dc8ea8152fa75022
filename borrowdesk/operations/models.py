from django.db import models
from django.db.models import Q


class JobOutcome(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class JobRun(models.Model):
    """One run of a scheduled job for a business date (or window): the desk's record that it ran."""

    job = models.CharField(max_length=100)
    business_date = models.DateField()
    # Jobs that run many times a day (expiry every few minutes) run once per window ("HH:MM" slot).
    window = models.CharField(max_length=16, blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=JobOutcome.choices, default=JobOutcome.RUNNING)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # The process that runs it ("host:pid"). Its lease is a PostgreSQL advisory lock on the run's id,
    # held by a connection of that process: it dies with the process (services.run_job).
    owner = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(outcome__in=JobOutcome.values), name="jobrun_outcome_valid"),
            # At most one live-or-done run per job and business date: a second delivery of the same
            # job (beat twice, or Redis redelivering after a lost worker) cannot run it again.
            models.UniqueConstraint(
                fields=["job", "business_date", "window"],
                condition=Q(outcome__in=["running", "succeeded"]),
                name="jobrun_one_per_business_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.business_date}{(' ' + self.window) if self.window else ''} {self.outcome}"
