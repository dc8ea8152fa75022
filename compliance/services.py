"""Compliance writes: KYC status here; the sanctions actions (import a list, screen, rescreen, the
four-eyes clearance of a match) in ``compliance.sanctions.services``, re-exported below so other apps
call ``compliance.services`` alone. (The rest of KYC, AML, cases and the travel rule come with their
issue.)"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.business_day import business_date
from borrowdesk.errors import InvalidInput
from borrowdesk.refdata import services as refdata_services
from borrowdesk.refdata.models import Counterparty, RiskRating
from compliance.models import KycProfile, KycStatus
from compliance.selectors import is_cleared
from compliance.signals import counterparty_cleared, counterparty_uncleared


@transaction.atomic(durable=True)
def set_kyc(
    *, actor, counterparty: Counterparty, status: str, risk_rating: str, expires_on: date
) -> KycProfile:
    """Record a counterparty's KYC outcome and its risk rating (the counterparty's, which decides
    its requests' approval paths). Compliance only (``compliance.kyc.write``).

    After commit, ``counterparty_cleared`` is sent when the counterparty is cleared and
    ``counterparty_uncleared`` when it is not, so borrow requests follow (requests_app receives both).
    """
    require(actor, "compliance.kyc.write", "Only compliance sets KYC.")
    if status not in KycStatus.values:
        raise InvalidInput(f"Unknown KYC status {status!r}.", fields={"status": ["Not a valid choice."]})
    if risk_rating not in RiskRating.values:
        raise InvalidInput(
            f"Unknown risk rating {risk_rating!r}.", fields={"risk_rating": ["Not a valid choice."]}
        )
    if status == KycStatus.APPROVED and expires_on < business_date():
        raise InvalidInput(
            "An approved KYC cannot already be expired.", fields={"expires_on": ["In the past."]}
        )
    with acting_as(actor):
        # Lock the counterparty (refdata's service does, as it sets the rating): two KYC updates for
        # one counterparty apply one after the other. The rating decides approval paths; it is
        # compliance's, and the counterparty table is written by refdata's services only.
        refdata_services.set_risk_rating(actor=actor, counterparty=counterparty, risk_rating=risk_rating)
        profile, _ = KycProfile.objects.update_or_create(
            counterparty=counterparty,
            defaults={
                "status": status,
                "risk_rating": risk_rating,
                "expires_on": expires_on,
                "updated_by": actor,
            },
        )
        # Told every time, not only on a change of clearance: a profile that had run out by date and
        # is now rejected was not cleared before either, and its requests must still go on hold.
        signal = counterparty_cleared if is_cleared(counterparty) else counterparty_uncleared
        transaction.on_commit(lambda: signal.send(sender=KycProfile, counterparty_id=counterparty.pk))
    return profile


from compliance.sanctions.services import (  # noqa: E402  (after set_kyc: the sanctions services import this app's selectors)
    confirm_false_positive,
    confirm_match,
    import_sanctions_list,
    propose_false_positive,
    rescreen_all,
    screen,
    screen_counterparty,
    screen_custody_account,
    withdraw_false_positive,
)

__all__ = [
    "confirm_false_positive",
    "confirm_match",
    "import_sanctions_list",
    "propose_false_positive",
    "rescreen_all",
    "screen",
    "screen_counterparty",
    "screen_custody_account",
    "set_kyc",
    "withdraw_false_positive",
]
