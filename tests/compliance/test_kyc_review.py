"""The KYC review cycle: an approval records its reviewer and the next periodic review by risk rating;
the daily job expires lapsed approvals and opens KYC review cases ahead of expiry or review, once per
due date however often it runs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from borrowdesk.business_day import business_date
from borrowdesk.operations.models import JobRun
from compliance.cases.models import Case, CaseEvent
from compliance.cases.services import close_case, escalate_case
from compliance.kyc.services import add_months, next_review_date, run_kyc_reviews
from compliance.models import KycProfile
from compliance.services import set_kyc
from compliance.tasks import kyc_reviews


def _approve(carl, counterparty, rating="low", expires_on=None):
    return set_kyc(
        actor=carl, counterparty=counterparty, status="approved", risk_rating=rating, expires_on=expires_on
    )


# --- the review interval by risk rating -------------------------------------------------------------


@pytest.mark.parametrize(("rating", "months"), [("high", 12), ("medium", 24), ("low", 36)])
def test_an_approval_schedules_the_next_review_by_risk_rating(carl, acme, rating, months):
    today = business_date()
    profile = _approve(carl, acme, rating)
    assert (profile.reviewer, profile.approved_on) == (carl, today)
    assert profile.next_review_on == add_months(today, months)
    # No expiry given: the KYC runs until the review.
    assert profile.expires_on == profile.next_review_on == profile.review_due_on


def test_the_interval_is_a_setting(carl, acme, settings):
    settings.KYC_REVIEW_INTERVAL_MONTHS = {"high": 6, "medium": 9, "low": 18}
    assert _approve(carl, acme, "medium").next_review_on == add_months(business_date(), 9)


def test_an_explicit_expiry_before_the_review_is_the_due_date(carl, acme):
    soon = business_date() + timedelta(days=40)
    profile = _approve(carl, acme, "high", expires_on=soon)
    assert profile.expires_on == soon and profile.next_review_on > soon and profile.review_due_on == soon


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 15), 12, date(2027, 11, 15)),
        (date(2026, 12, 31), 36, date(2029, 12, 31)),
    ],
)
def test_months_are_calendar_months(day, months, expected):
    assert add_months(day, months) == expected


def test_the_risk_rating_is_the_counterpartys_everywhere(api, carl, audrey, acme):
    _approve(carl, acme, "high")
    acme.refresh_from_db()
    profile = KycProfile.objects.get(counterparty=acme)
    assert acme.risk_rating == profile.risk_rating == "high"
    assert profile.next_review_on == next_review_date(approved_on=profile.approved_on, risk_rating="high")
    body = api.as_user(audrey).get("/api/v1/compliance/kyc/ACME/").json()
    assert (body["risk_rating"], body["reviewer"], body["next_review_on"]) == (
        "high",
        "carl",
        profile.next_review_on.isoformat(),
    )


def test_a_rejection_records_its_reviewer_and_no_review_date(carl, acme):
    _approve(carl, acme)
    profile = set_kyc(
        actor=carl, counterparty=acme, status="rejected", risk_rating="high", expires_on=business_date()
    )
    assert (profile.reviewer, profile.approved_on, profile.next_review_on) == (carl, None, None)


# --- the daily job: expiry ------------------------------------------------------------------------------


def _lapse(profile, days_ago=1):
    """The expiry date passed (time moved on): as the database would hold it after that many days."""
    KycProfile.objects.filter(pk=profile.pk).update(expires_on=business_date() - timedelta(days=days_ago))


def test_the_job_expires_lapsed_kyc_only(carl, acme, globex, django_capture_on_commit_callbacks):
    lapsed = _approve(carl, acme)
    current = _approve(carl, globex)
    _lapse(lapsed)
    with django_capture_on_commit_callbacks(execute=True):
        counts = run_kyc_reviews(business_date=business_date())
    lapsed.refresh_from_db()
    current.refresh_from_db()
    assert (lapsed.status, lapsed.expired_on) == ("expired", business_date())
    assert current.status == "approved" and current.expired_on is None
    assert counts["expired"] == 1


def test_an_expiry_on_the_day_itself_still_clears(carl, acme):
    profile = _approve(carl, acme, expires_on=business_date())
    run_kyc_reviews(business_date=business_date())
    profile.refresh_from_db()
    assert profile.status == "approved"


def test_the_job_twice_gives_one_expiry_and_one_case(carl, acme, django_capture_on_commit_callbacks):
    profile = _approve(carl, acme)
    _lapse(profile)
    day = business_date()
    with django_capture_on_commit_callbacks(execute=True):
        first = kyc_reviews.apply(kwargs={"business_date": day.isoformat()}).get()
        second = kyc_reviews.apply(kwargs={"business_date": day.isoformat()}).get()
        again = run_kyc_reviews(business_date=day)  # the work itself, run again (a catch-up)
    runs = {run.pk: run for run in JobRun.objects.filter(job="compliance.kyc.daily")}
    assert runs[first].outcome == "succeeded"
    assert runs[first].counts == {"expired": 1, "review_cases_opened": 1}
    assert runs[second].outcome == "skipped"
    assert again == {"expired": 0, "review_cases_opened": 0}
    assert KycProfile.objects.filter(status="expired").count() == 1
    case = Case.objects.get()
    assert (case.kind, case.counterparty, case.priority) == ("kyc", acme, "high")
    assert "expired" in case.subject
    assert (
        CaseEvent.objects.filter(case=case, evidence_type="kyc_profile", evidence_id=profile.pk).count() == 1
    )
    profile.refresh_from_db()
    assert (profile.review_case_id, profile.review_case_due_on) == (case.pk, profile.expires_on)


# --- the daily job: review cases ahead of expiry or review ----------------------------------------------


def test_a_review_case_opens_the_lead_time_ahead_of_expiry(carl, acme, globex, settings):
    settings.KYC_REVIEW_LEAD_DAYS = 30
    today = business_date()
    due_soon = _approve(carl, acme, "medium", expires_on=today + timedelta(days=30))
    _approve(carl, globex, "medium", expires_on=today + timedelta(days=31))  # not yet
    assert run_kyc_reviews(business_date=today) == {"expired": 0, "review_cases_opened": 1}
    case = Case.objects.get()
    assert case.counterparty == acme and case.priority == "medium"
    assert f"expires on {due_soon.expires_on:%Y-%m-%d}" in case.subject
    # The next day GLOBEX falls within the lead time; ACME's case is not opened again.
    assert run_kyc_reviews(business_date=today + timedelta(days=1))["review_cases_opened"] == 1
    assert sorted(Case.objects.values_list("counterparty__code", flat=True)) == ["ACME", "GLOBEX"]


def test_a_review_case_opens_ahead_of_the_periodic_review(carl, acme, settings):
    settings.KYC_REVIEW_INTERVAL_MONTHS = {"high": 1, "medium": 24, "low": 36}
    settings.KYC_REVIEW_LEAD_DAYS = 40
    today = business_date()
    profile = _approve(carl, acme, "high", expires_on=today + timedelta(days=400))
    assert profile.review_due_on == profile.next_review_on == add_months(today, 1)
    run_kyc_reviews(business_date=today)
    case = Case.objects.get()
    assert "periodic review due" in case.subject and case.priority == "high"  # a high-risk client


def test_pending_and_rejected_kyc_open_no_review_case(carl, acme, globex):
    set_kyc(actor=carl, counterparty=acme, status="pending", risk_rating="low", expires_on=business_date())
    set_kyc(actor=carl, counterparty=globex, status="rejected", risk_rating="low", expires_on=business_date())
    assert run_kyc_reviews(business_date=business_date())["review_cases_opened"] == 0
    assert not Case.objects.exists()


def test_a_renewal_due_again_later_opens_a_new_case_once_the_last_is_closed(carl, acme, settings):
    settings.KYC_REVIEW_LEAD_DAYS = 30
    today = business_date()
    _approve(carl, acme, expires_on=today + timedelta(days=10))
    run_kyc_reviews(business_date=today)
    first = Case.objects.get()
    close_case(actor=carl, case=first, disposition="cleared", reason="documents renewed")
    # Renewed; the new expiry falls due again (a short renewal, for the test).
    profile = _approve(carl, acme, expires_on=today + timedelta(days=20))
    run_kyc_reviews(business_date=today + timedelta(days=1))
    assert Case.objects.count() == 2
    second = Case.objects.exclude(pk=first.pk).get()
    assert second.status == "open"
    profile.refresh_from_db()
    assert (profile.review_case_id, profile.review_case_due_on) == (second.pk, today + timedelta(days=20))
    # And once only.
    assert run_kyc_reviews(business_date=today + timedelta(days=2))["review_cases_opened"] == 0
    assert Case.objects.count() == 2


def test_a_renewal_closes_the_open_review_case_as_cleared_by_the_officer(carl, acme, settings):
    settings.KYC_REVIEW_LEAD_DAYS = 30
    today = business_date()
    _approve(carl, acme, expires_on=today + timedelta(days=10))
    run_kyc_reviews(business_date=today)
    case = Case.objects.get()
    assert case.status == "open"
    profile = _approve(carl, acme, "medium")  # renewed: the review is done
    case.refresh_from_db()
    assert (case.status, case.disposition, case.closed_by) == ("closed", "cleared", carl)
    assert f"next periodic review {profile.next_review_on:%Y-%m-%d}" in case.closure_reason
    decided = CaseEvent.objects.get(case=case, kind="evidence_decided")
    assert (decided.actor, decided.evidence_type, decided.evidence_id) == (carl, "kyc_profile", profile.pk)
    assert CaseEvent.objects.filter(case=case, kind="closed").count() == 1
    # Not due again for two years: the next runs open nothing.
    assert run_kyc_reviews(business_date=today + timedelta(days=1))["review_cases_opened"] == 0
    assert Case.objects.count() == 1


def test_a_renewal_leaves_an_escalated_review_case_to_four_eyes(carl, cora, acme, settings):
    settings.KYC_REVIEW_LEAD_DAYS = 30
    today = business_date()
    _approve(carl, acme, expires_on=today + timedelta(days=10))
    run_kyc_reviews(business_date=today)
    case = Case.objects.get()
    escalate_case(actor=cora, case=case, reason="adverse media on the director")
    _approve(carl, acme, "high")
    case.refresh_from_db()
    assert case.status == "escalated" and case.disposition == ""  # a second officer closes it
    assert CaseEvent.objects.filter(case=case, kind="evidence_decided", actor=carl).count() == 1


def test_a_rejection_leaves_the_review_case_open(carl, acme, settings):
    settings.KYC_REVIEW_LEAD_DAYS = 30
    _approve(carl, acme, expires_on=business_date() + timedelta(days=10))
    run_kyc_reviews(business_date=business_date())
    set_kyc(actor=carl, counterparty=acme, status="rejected", risk_rating="high")
    assert Case.objects.get().status == "open"


def test_the_job_is_in_the_beat_schedule():
    from borrowdesk.operations.schedule import SCHEDULE

    (job,) = [job for job in SCHEDULE if job.task == "compliance.kyc.daily"]
    assert (job.hour, job.minute) == ("7", "5")  # five minutes after the desk opens (07:00)


def test_the_kyc_page_lists_by_status_and_review_due(login, carl, acme, globex):
    _approve(carl, acme, expires_on=business_date() + timedelta(days=20))
    set_kyc(
        actor=carl, counterparty=globex, status="rejected", risk_rating="medium", expires_on=business_date()
    )
    client = login(carl)
    page = client.get("/compliance/kyc/?status=approved").content.decode()
    assert "ACME" in page and "GLOBEX" not in page
    page = client.get("/compliance/kyc/?due=30").content.decode()
    assert "ACME" in page and "GLOBEX" not in page
    assert client.get("/compliance/kyc/?due=bogus").status_code == 400
    csv = client.get("/compliance/kyc/?format=csv").content.decode()
    assert csv.splitlines()[0].startswith("Counterparty,Legal name,Jurisdiction,KYC,Risk")


def test_the_kyc_list_runs_a_fixed_number_of_queries(
    login, carl, acme, globex, django_assert_max_num_queries
):
    _approve(carl, acme)
    _approve(carl, globex)
    client = login(carl)
    with django_assert_max_num_queries(12) as counted:
        client.get("/compliance/kyc/")
    few = len(counted)
    from tests.refdata.factories import CounterpartyFactory

    for i in range(5):
        _approve(carl, CounterpartyFactory(code=f"CP{i}"))
    with django_assert_max_num_queries(few):
        client.get("/compliance/kyc/")
