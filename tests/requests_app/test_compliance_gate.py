"""The compliance gate holds through the whole life of a request, not only at intake: KYC can be
rejected or expire while a request waits, and nothing is approved or allocated for an uncleared
counterparty."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from borrowdesk.operations.models import JobRun
from compliance.models import KycProfile
from compliance.services import set_kyc
from inventory.models import Journal
from inventory.selectors import availability_for
from requests_app.models import Approval
from requests_app.services import accept_offer, approve_request


def _set(carl, counterparty, status, capture, days=365):
    with capture(execute=True):
        set_kyc(
            actor=carl,
            counterparty=counterparty,
            status=status,
            risk_rating="low",
            expires_on=(timezone.now() + timedelta(days=days)).date(),
        )


def test_approving_for_a_counterparty_whose_kyc_expired_is_a_409_and_changes_nothing(
    api, submit, bob, cleared_acme, stocked, btc
):
    request = submit(quantity=Decimal("2"))
    # The KYC ran out while the request waited (no job has moved it yet).
    KycProfile.objects.filter(counterparty=cleared_acme).update(
        expires_on=(timezone.now() - timedelta(days=2)).date()
    )
    journals = Journal.objects.count()
    response = api.as_user(bob).post(
        f"/api/v1/borrow-requests/{request.pk}/approve/", {"rate_bps": "400"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "compliance_hold")
    assert "not cleared" in response.json()["detail"]
    request.refresh_from_db()
    assert (request.status, request.loan, request.first_action_at) == ("pending_approval", None, None)
    assert not Approval.objects.exists()
    assert Journal.objects.count() == journals
    assert availability_for(btc).allocated == 0


def test_rejected_kyc_puts_requests_awaiting_approval_back_on_hold_at_their_step(
    submit, bob, carl, olivia, cleared_acme, stocked, django_capture_on_commit_callbacks
):
    first = submit(quantity=Decimal("1"))
    second = approve_request(actor=bob, request=submit(quantity=Decimal("6")), rate_bps=Decimal("400"))
    assert second.status == "pending_second_approval"

    _set(carl, cleared_acme, "rejected", django_capture_on_commit_callbacks)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("compliance_hold", "compliance_hold")
    assert second.next_role == "ops_senior"

    # Cleared again: each goes back to the step it had reached, and the path goes on from there.
    _set(carl, cleared_acme, "approved", django_capture_on_commit_callbacks)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("pending_approval", "pending_second_approval")
    assert approve_request(actor=olivia, request=second, rate_bps=Decimal("400")).status == "approved"


def test_an_offer_cannot_be_accepted_once_the_counterparty_is_not_cleared(
    api, submit, alice, bob, carl, cleared_acme, stocked, btc, django_capture_on_commit_callbacks
):
    offer = approve_request(
        actor=bob, request=submit(quantity=Decimal("1"), max_rate_bps=Decimal("300")), rate_bps=Decimal("450")
    )
    assert offer.status == "offered"
    _set(carl, cleared_acme, "rejected", django_capture_on_commit_callbacks)
    response = api.as_user(alice).post(f"/api/v1/borrow-requests/{offer.pk}/accept/")
    assert (response.status_code, response.json()["code"]) == (409, "compliance_hold")
    offer.refresh_from_db()
    assert (offer.status, offer.loan) == ("offered", None)
    assert availability_for(btc).allocated == 0
    # Cleared again, the offer can still be taken while it stands.
    _set(carl, cleared_acme, "approved", django_capture_on_commit_callbacks)
    assert accept_offer(actor=alice, request=offer).status == "approved"


def test_the_job_holds_the_requests_of_a_kyc_run_out_by_date_and_releases_them_when_renewed(
    submit, bob, carl, cleared_acme, stocked, django_capture_on_commit_callbacks
):
    from requests_app.tasks import expire_requests

    waiting = submit(quantity=Decimal("1"))
    halfway = approve_request(actor=bob, request=submit(quantity=Decimal("6")), rate_bps=Decimal("400"))
    KycProfile.objects.filter(counterparty=cleared_acme).update(
        expires_on=(timezone.now() - timedelta(days=2)).date()
    )  # ran out: nobody set anything, no signal was sent
    run = JobRun.objects.get(pk=expire_requests())
    assert run.counts["held_for_compliance"] == 2
    waiting.refresh_from_db()
    halfway.refresh_from_db()
    assert (waiting.status, halfway.status) == ("compliance_hold", "compliance_hold")

    _set(carl, cleared_acme, "approved", django_capture_on_commit_callbacks)  # renewed
    waiting.refresh_from_db()
    halfway.refresh_from_db()
    assert (waiting.status, halfway.status) == ("pending_approval", "pending_second_approval")


def test_rejecting_a_kyc_that_had_already_run_out_holds_the_requests(
    submit, carl, cleared_acme, stocked, django_capture_on_commit_callbacks
):
    request = submit()
    KycProfile.objects.filter(counterparty=cleared_acme).update(
        expires_on=(timezone.now() - timedelta(days=2)).date()
    )
    _set(carl, cleared_acme, "rejected", django_capture_on_commit_callbacks)
    request.refresh_from_db()
    assert request.status == "compliance_hold"


def test_a_late_notice_does_not_undo_the_state_of_the_kyc(submit, cleared_acme, stocked):
    from requests_app.receivers import on_counterparty_uncleared

    request = submit()
    # A stale "uncleared" notice arrives after the counterparty was cleared again: it changes nothing.
    on_counterparty_uncleared(sender=None, counterparty_id=cleared_acme.pk)
    request.refresh_from_db()
    assert request.status == "pending_approval"
