"""AML monitoring: the configurable rules and the alerts they raise (compliance/aml/).

A rule is a row (its code names the SQL that evaluates it, rules.py validates its parameters); an
alert is one finding of one rule, keyed so that evaluating the same facts again (the event and the
schedule, or the schedule twice) raises nothing new: its ``dedup_key`` is UNIQUE and the rules insert
with ``ON CONFLICT DO NOTHING``.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Counterparty


class AmlRuleCode(models.TextChoices):
    LARGE_REQUEST = "large_request", "Request far above the 30-day average"
    WASH_PATTERN = "wash_pattern", "Borrow and return, repeated"
    NEW_ADDRESS = "new_address", "Settlement to a new address"


@audited
class AmlRule(models.Model):
    """One monitoring rule: enabled or not, with its parameters (validated per rule by rules.py).

    Every change bumps ``version`` (and is in the audit trail); an alert records the version and the
    parameters it was raised under, so a finding is explained by the rule as it was.
    """

    code = models.CharField(max_length=32, unique=True, choices=AmlRuleCode.choices)
    enabled = models.BooleanField(default=True)
    parameters = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__in=AmlRuleCode.values), name="aml_rule_code_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="aml_rule_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} v{self.version}"


class AlertStatus(models.TextChoices):
    OPEN = "open"
    IN_CASE = "in_case", "In a case"
    DISMISSED = "dismissed"


class DetectedBy(models.TextChoices):
    EVENT = "event"
    SCHEDULE = "schedule"


@audited
class AmlAlert(models.Model):
    """One finding of one rule about one counterparty, with its figures and evidence.

    The evidence ids are plain ids: the request (requests_app) and the settlement leg (treasury) live
    in apps above compliance, which it may not import; the loans are inventory's.
    """

    rule = models.ForeignKey(AmlRule, on_delete=models.PROTECT, related_name="alerts")
    rule_version = models.PositiveIntegerField()
    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="aml_alerts")
    subject = models.CharField(max_length=300)
    score = models.DecimalField(
        max_digits=24, decimal_places=4, help_text="The rule's measure: a multiple, a count or USD."
    )
    figures = models.JSONField(default=dict, help_text="The measured figures and the rule's parameters.")
    request_id = models.BigIntegerField(null=True, blank=True)
    loan_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    settlement_id = models.BigIntegerField(null=True, blank=True)
    dedup_key = models.CharField(max_length=200, unique=True)
    detected_by = models.CharField(max_length=10, choices=DetectedBy.choices)
    status = models.CharField(max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    case = models.ForeignKey(
        "compliance.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="aml_alerts",
        help_text="The case the alert opened or joined.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="aml_alert_queue_idx"),
            models.Index(fields=["counterparty", "-created_at"], name="aml_alert_cp_idx"),
            # The wash rule's "loan not yet in an alert" test.
            GinIndex(fields=["loan_ids"], name="aml_alert_loans_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="aml_alert_status_valid"),
            models.CheckConstraint(
                condition=Q(detected_by__in=DetectedBy.values), name="aml_alert_detected_by_valid"
            ),
            models.CheckConstraint(condition=Q(score__gte=0), name="aml_alert_score_not_negative"),
            # A dismissal names its officer and says why.
            models.CheckConstraint(
                condition=~Q(status=AlertStatus.DISMISSED)
                | (Q(dismissed_by__isnull=False) & Q(dismissed_at__isnull=False) & ~Q(dismissal_reason="")),
                name="aml_alert_dismissal_explained",
            ),
            models.CheckConstraint(
                condition=~Q(status=AlertStatus.IN_CASE) | Q(case_id__isnull=False),
                name="aml_alert_in_case_names_it",
            ),
        ]

    def __str__(self) -> str:
        return f"AML alert {self.pk} {self.rule_id} {self.status}"

    @property
    def measure(self) -> str:
        """The score as its rule reads it: a multiple of the average, a number of loans, or USD."""
        from borrowdesk.formatting import qty, usd

        code = self.rule.code
        if code == AmlRuleCode.LARGE_REQUEST:
            return f"{qty(round(self.score, 1))}× average"
        if code == AmlRuleCode.WASH_PATTERN:
            return f"{int(self.score)} round trips"
        return usd(self.score)
