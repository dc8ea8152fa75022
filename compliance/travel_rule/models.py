"""Travel rule: the IVMS101 message each qualifying settlement leg or transfer carries, and the
travel-rule data on file for a counterparty beyond reference data (address, LEI, register number).

Compliance sits below treasury (ARCHITECTURE.md): a message names its leg or transfer by id, with the
facts treasury gave when it asked (counterparty, asset, amount, accounts), not by a foreign key into
treasury's tables.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Asset, Counterparty

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
USD: dict[str, Any] = {"max_digits": 24, "decimal_places": 8}


class TravelRuleStatus(models.TextChoices):
    DRAFT = "draft"  # built and stored; valid or not (see is_valid and validation_errors)
    SENT = "sent"  # handed to the counterparty's VASP (a transport)
    ACKNOWLEDGED = "acknowledged"  # the beneficiary's VASP accepted it
    REJECTED = "rejected"  # refused by the other VASP, or withdrawn by compliance: a new one is built
    NOT_REQUIRED = "not_required", "Not required"  # below the threshold: recorded so the decision shows


# A message in one of these lets its leg settle (with is_valid: a CHECK below keeps an invalid
# message from being sent or acknowledged).
SETTLES = (TravelRuleStatus.DRAFT, TravelRuleStatus.SENT, TravelRuleStatus.ACKNOWLEDGED)


class TravelRuleSubject(models.TextChoices):
    SETTLEMENT = "settlement", "Settlement leg"
    TRANSFER = "transfer"


class TravelRuleDirection(models.TextChoices):
    OUTGOING = "outgoing"  # the firm sends: the firm is the originator
    INCOMING = "incoming"  # the counterparty sends: the firm is the beneficiary


@audited
class TravelRuleParty(models.Model):
    """What compliance holds on file about a counterparty for its travel-rule messages, beyond
    reference data's legal name and jurisdiction: its registered address, LEI or register number."""

    counterparty = models.OneToOneField(Counterparty, on_delete=models.PROTECT, related_name="travel_rule")
    lei = models.CharField("LEI", max_length=20, blank=True)
    registration_id = models.CharField("Register number", max_length=35, blank=True)
    registration_authority = models.CharField(
        max_length=8, blank=True, help_text="GLEIF registration authority code of the register (RA…)."
    )
    street = models.CharField(max_length=70, blank=True)
    building_number = models.CharField(max_length=16, blank=True)
    post_code = models.CharField(max_length=16, blank=True)
    town = models.CharField(max_length=35, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["counterparty__code"]

    def __str__(self) -> str:
        return f"Travel-rule data of {self.counterparty_id}"


@audited
class TravelRuleMessage(models.Model):
    """One IVMS101 message for one leg or transfer (the current one; earlier rejected ones stay)."""

    subject_kind = models.CharField(max_length=12, choices=TravelRuleSubject.choices)
    subject_id = models.BigIntegerField(help_text="The settlement leg's or the transfer's id.")
    direction = models.CharField(max_length=8, choices=TravelRuleDirection.choices)
    counterparty = models.ForeignKey(
        Counterparty, on_delete=models.PROTECT, related_name="travel_rule_messages"
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**QTY)
    amount_usd = models.DecimalField(**USD, null=True, blank=True, help_text="At the mark when built.")
    threshold_usd = models.DecimalField(
        **USD, null=True, blank=True, help_text="The jurisdiction's threshold; none for an internal desk."
    )
    jurisdiction = models.CharField(max_length=2)
    originator_name = models.CharField(max_length=200)
    originator_account = models.CharField(max_length=128, blank=True)
    beneficiary_name = models.CharField(max_length=200)
    beneficiary_account = models.CharField(max_length=128, blank=True)
    originating_vasp_name = models.CharField(max_length=200, blank=True)
    beneficiary_vasp_name = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="The IVMS101 identity payload.")
    spelling = models.CharField(max_length=8, default="2020", help_text="IVMS101 2020 or 2023.")
    is_valid = models.BooleanField(default=False)
    validation_errors = models.JSONField(default=list, blank=True)
    validation_warnings = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=14, choices=TravelRuleStatus.choices, default=TravelRuleStatus.DRAFT)
    is_current = models.BooleanField(default=True)
    transport = models.CharField(max_length=32, blank=True, help_text="How it was sent.")
    transport_reference = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    response_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="travel_rule_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TravelRuleStatus.values), name="travel_rule_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(subject_kind__in=TravelRuleSubject.values), name="travel_rule_subject_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=TravelRuleDirection.values), name="travel_rule_direction_valid"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="travel_rule_amount_positive"),
            # One current message per leg or transfer: the block reads it, two builders racing for the
            # same leg cannot both store one.
            models.UniqueConstraint(
                fields=["subject_kind", "subject_id"],
                condition=Q(is_current=True),
                name="travel_rule_one_current_per_subject",
            ),
            # Only a valid message leaves the desk or is acknowledged.
            models.CheckConstraint(
                condition=~Q(status__in=[TravelRuleStatus.SENT, TravelRuleStatus.ACKNOWLEDGED])
                | Q(is_valid=True),
                name="travel_rule_only_valid_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"Travel-rule message {self.pk} ({self.subject_kind} {self.subject_id}, {self.status})"

    @property
    def lets_settle(self) -> bool:
        return self.status == TravelRuleStatus.NOT_REQUIRED or (self.status in SETTLES and self.is_valid)
