"""Compliance: KYC profiles (the rest of KYC, AML, sanctions and cases come with the compliance issue)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Counterparty, RiskRating


class KycStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


@audited
class KycProfile(models.Model):
    """A counterparty's KYC. Cleared = approved and not past ``expires_on``."""

    counterparty = models.OneToOneField(Counterparty, on_delete=models.PROTECT, related_name="kyc")
    status = models.CharField(max_length=10, choices=KycStatus.choices, default=KycStatus.PENDING)
    risk_rating = models.CharField(max_length=8, choices=RiskRating.choices)
    expires_on = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["counterparty__code"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=KycStatus.values), name="kyc_status_valid"),
            models.CheckConstraint(condition=Q(risk_rating__in=RiskRating.values), name="kyc_risk_valid"),
        ]

    def __str__(self) -> str:
        return f"KYC {self.counterparty_id} {self.status}"
