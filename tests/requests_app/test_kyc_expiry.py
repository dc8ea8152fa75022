"""KYC expiry and renewal through the daily KYC job: a lapsed KYC puts the counterparty's requests
awaiting approval on hold; a renewal (an approval with a new expiry) releases each to the step it had
reached, so a request with one of its two approvals goes back to pending_second_approval."""

from datetime import timedelta
from decimal import Decimal

from borrowdesk.business_day import business_date
from compliance.models import KycProfile
from compliance.services import set_kyc
from compliance.tasks import kyc_reviews
from requests_app.models import Approval
from requests_app.services import approve_request


def test_expiry_holds_requests_and_renewal_releases_them_to_the_step_reached(
    submit, bob, carl, olivia, cleared_acme, stocked, django_capture_on_commit_callbacks
):
    fresh = submit(quantity=Decimal("1"))
    halfway = approve_request(actor=bob, request=submit(quantity=Decimal("6")), rate_bps=Decimal("400"))
    assert (fresh.status, halfway.status, halfway.next_role) == (
        "pending_approval",
        "pending_second_approval",
        "ops_senior",
    )
    # The KYC's expiry date has passed.
    KycProfile.objects.filter(counterparty=cleared_acme).update(
        expires_on=business_date() - timedelta(days=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        kyc_reviews.apply(kwargs={"business_date": business_date().isoformat()}).get()
    fresh.refresh_from_db()
    halfway.refresh_from_db()
    assert KycProfile.objects.get(counterparty=cleared_acme).status == "expired"
    assert (fresh.status, halfway.status) == ("compliance_hold", "compliance_hold")
    assert Approval.objects.filter(request=halfway).count() == 1  # the first approval is kept

    # Renewal: approved again with a new expiry.
    with django_capture_on_commit_callbacks(execute=True):
        set_kyc(
            actor=carl,
            counterparty=cleared_acme,
            status="approved",
            risk_rating="low",
            expires_on=business_date() + timedelta(days=365),
        )
    fresh.refresh_from_db()
    halfway.refresh_from_db()
    assert fresh.status == "pending_approval"
    assert (halfway.status, halfway.next_role) == ("pending_second_approval", "ops_senior")  # not the start
    profile = KycProfile.objects.get(counterparty=cleared_acme)
    assert (profile.status, profile.expired_on, profile.reviewer) == ("approved", None, carl)
    # The path goes on from the step reached: the second approval completes it.
    assert approve_request(actor=olivia, request=halfway, rate_bps=Decimal("400")).status == "approved"


def test_the_job_expiring_again_changes_no_request(
    submit, cleared_acme, stocked, django_capture_on_commit_callbacks
):
    held = submit(quantity=Decimal("1"))
    KycProfile.objects.filter(counterparty=cleared_acme).update(
        expires_on=business_date() - timedelta(days=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = kyc_reviews.work(business_date())
        second = kyc_reviews.work(business_date())
    held.refresh_from_db()
    assert held.status == "compliance_hold"
    assert (first["expired"], second["expired"]) == (1, 0)
