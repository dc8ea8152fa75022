from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from borrowdesk.business_day import business_date
from borrowdesk.refdata.models import Counterparty
from compliance.models import KycProfile, KycStatus


def cleared_sql(counterparty_id: str) -> str:
    """The clearance rule as an SQL condition on the counterparty id expression ``counterparty_id``,
    taking one parameter, the business date (``%s``): for a caller that reads in one statement what
    it would otherwise ask in two (the approval's lock query). ``is_cleared`` asks the same condition."""
    return (
        "EXISTS (SELECT 1 FROM compliance_kycprofile k WHERE k.counterparty_id = "
        f"{counterparty_id} AND k.status = '{KycStatus.APPROVED}' AND k.expires_on >= %s)"
    )


def is_cleared(counterparty: Counterparty) -> bool:
    """Cleared = approved KYC that has not expired (sanctions screening joins this with its issue)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {cleared_sql('%s')}", [counterparty.pk, business_date()])
        return bool(cursor.fetchone()[0])


def profile_clears(profile: KycProfile) -> bool:
    """The rule of ``is_cleared`` for one profile already read (the same business date cut)."""
    return profile.status == KycStatus.APPROVED and profile.expires_on >= business_date()


def kyc_profiles() -> QuerySet[KycProfile]:
    return KycProfile.objects.select_related("counterparty", "updated_by")
