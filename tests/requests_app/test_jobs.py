"""Request expiry, offer lapse and hold release: the scheduled jobs' work, and their JobRuns."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.selectors import availability_for
from requests_app.services import approve_request, expire_requests, release_expired_holds
from requests_app.tasks import expire_requests as expire_job
from treasury.models import SettlementInstruction
from treasury.services import settle_instruction


def test_undecided_requests_expire_and_release_nothing(submit, bob, stocked, btc):
    request = submit()
    assert expire_requests(now=request.expires_at - timedelta(seconds=1))["requests_expired"] == 0
    counts = expire_requests(now=request.expires_at + timedelta(seconds=1))
    request.refresh_from_db()
    assert (counts["requests_expired"], request.status, request.reason) == (
        1,
        "expired",
        "not decided in time",
    )
    assert availability_for(btc).allocated == 0


def test_decided_requests_do_not_expire(submit, bob, stocked):
    request = approve_request(actor=bob, request=submit(), rate_bps=Decimal("400"))
    expire_requests(now=request.expires_at + timedelta(days=1))
    request.refresh_from_db()
    assert request.status == "approved"


def test_an_unanswered_offer_lapses(submit, bob, stocked, settings):
    request = approve_request(actor=bob, request=submit(max_rate_bps=Decimal("300")), rate_bps=Decimal("500"))
    assert request.status == "offered"
    counts = expire_requests(now=request.offer_expires_at + timedelta(seconds=1))
    request.refresh_from_db()
    assert (counts["offers_lapsed"], request.status, request.reason) == (1, "expired", "offer lapsed")


def test_a_hold_not_delivered_by_its_expiry_is_released_and_the_loan_cancelled(submit, bob, stocked, btc):
    request = approve_request(actor=bob, request=submit(quantity=Decimal("2")), rate_bps=Decimal("400"))
    loan = request.loan
    assert release_expired_holds(now=loan.hold_expires_at - timedelta(seconds=1)) == {"holds_released": 0}
    assert release_expired_holds(now=loan.hold_expires_at + timedelta(seconds=1)) == {"holds_released": 1}
    loan.refresh_from_db()
    assert loan.status == "cancelled"
    assert SettlementInstruction.objects.get(loan=loan).status == "cancelled"
    assert (availability_for(btc).available, availability_for(btc).allocated) == (Decimal(10), Decimal(0))


def test_a_delivered_loan_is_not_released(submit, bob, tess, stocked, btc):
    request = approve_request(actor=bob, request=submit(quantity=Decimal("2")), rate_bps=Decimal("400"))
    settle_instruction(actor=tess, instruction=SettlementInstruction.objects.get(loan=request.loan))
    assert release_expired_holds(now=timezone.now() + timedelta(days=3)) == {"holds_released": 0}
    assert availability_for(btc).on_loan == Decimal(2)


def test_time_to_decision_is_recorded(submit, bob, olivia, tess, stocked, django_capture_on_commit_callbacks):
    request = submit(quantity=Decimal("6"))
    assert (request.first_action_at, request.decided_at) == (None, None)
    request = approve_request(actor=bob, request=request, rate_bps=Decimal("400"))
    first = request.first_action_at
    assert first is not None and request.decided_at is None
    request = approve_request(actor=olivia, request=request, rate_bps=Decimal("400"))
    assert request.first_action_at == first and request.decided_at >= first
    with django_capture_on_commit_callbacks(execute=True):
        settle_instruction(actor=tess, instruction=SettlementInstruction.objects.get(loan=request.loan))
    request.refresh_from_db()
    assert request.submitted_at <= request.first_action_at <= request.decided_at <= request.delivered_at


def test_the_expiry_job_records_a_run_per_window_and_skips_a_duplicate(db):
    from borrowdesk.operations.models import JobRun

    expire_job.apply(kwargs={"business_date": "2026-11-25", "window": "10:05"})
    expire_job.apply(kwargs={"business_date": "2026-11-25", "window": "10:05"})
    expire_job.apply(kwargs={"business_date": "2026-11-25", "window": "10:10"})
    outcomes = sorted(JobRun.objects.filter(job="requests.expire_requests").values_list("window", "outcome"))
    assert outcomes == [("10:05", "skipped"), ("10:05", "succeeded"), ("10:10", "succeeded")]
