from __future__ import annotations

from django.db.models import QuerySet

from borrowdesk.business_day import business_date
from borrowdesk.refdata.models import Counterparty
from compliance.models import KycProfile, KycStatus


def is_cleared(counterparty: Counterparty) -> bool:
    """Cleared = approved KYC that has not expired (sanctions screening joins this with its issue)."""
    return KycProfile.objects.filter(
        counterparty=counterparty, status=KycStatus.APPROVED, expires_on__gte=business_date()
    ).exists()


def profile_clears(profile: KycProfile) -> bool:
    """The rule of ``is_cleared`` for one profile already read (the same business date cut)."""
    return profile.status == KycStatus.APPROVED and profile.expires_on >= business_date()


def kyc_profiles() -> QuerySet[KycProfile]:
    return KycProfile.objects.select_related("counterparty", "updated_by")
