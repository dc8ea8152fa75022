"""Daily jobs catch up by business date: every date a tick was missed for runs once, no more."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from borrowdesk.operations.catch_up import catch_up
from borrowdesk.operations.models import JobRun
from borrowdesk.operations.services import ABANDONED
from borrowdesk.operations.tasks import catch_up_daily_jobs

LONDON = ZoneInfo("Europe/London")
HOUSEKEEPING, ACCRUAL = "operations.daily_housekeeping", "inventory.accrue_loan_fees"


def _at(days_ago: int, hh: int, mm: int) -> datetime:
    """A moment in the desk's zone some days before today (a day long over, so accruals may run)."""
    day = timezone.now().astimezone(LONDON).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def _succeeded(job):
    return sorted(JobRun.objects.filter(job=job, outcome="succeeded").values_list("business_date", flat=True))


def test_every_missed_date_of_the_look_back_runs_once_and_only_once(db, settings):
    settings.JOB_CATCH_UP_DAYS = 3
    now = _at(5, 10, 0)  # after both daily ticks of that day (05:30 housekeeping, 07:15 accrual)
    counts = catch_up(now=now)
    day = now.date()
    # The 05:30 tick runs for the business date before the 07:00 open: the previous day's.
    assert _succeeded(HOUSEKEEPING) == [day - timedelta(days=n) for n in (3, 2, 1)]
    # The 07:15 accrual runs for the business date that has just ended (the previous one).
    assert _succeeded(ACCRUAL) == [day - timedelta(days=n) for n in (3, 2, 1)]
    assert counts["caught_up"][HOUSEKEEPING] == [(day - timedelta(days=n)).isoformat() for n in (3, 2, 1)]
    runs = JobRun.objects.count()
    assert catch_up(now=now + timedelta(minutes=5)) == {"caught_up": {}}
    assert JobRun.objects.count() == runs  # nothing ran again, not even as a skipped duplicate


def test_a_date_that_ran_is_not_run_again_and_a_tick_still_to_come_is_not_run_early(db, settings):
    settings.JOB_CATCH_UP_DAYS = 2
    now = _at(5, 7, 0)  # after housekeeping's 05:30 tick, before the accrual's 07:15 one
    day = now.date()
    ran = JobRun.objects.create(job=HOUSEKEEPING, business_date=day - timedelta(days=1), outcome="succeeded")
    JobRun.objects.filter(pk=ran.pk).update(started_at=now - timedelta(hours=1, minutes=30))  # at its tick
    counts = catch_up(now=now)
    assert HOUSEKEEPING not in counts["caught_up"]
    assert JobRun.objects.filter(job=HOUSEKEEPING).count() == 1
    # Nothing before the desk's first run (the housekeeping at 05:30) is run; the accrual's 07:15
    # tick today has not come yet, so it is not run early.
    assert not JobRun.objects.filter(job=ACCRUAL).exists()


def test_a_paused_job_is_not_caught_up(db, settings):
    settings.JOB_CATCH_UP_DAYS = 2
    PeriodicTask.objects.filter(task=ACCRUAL).update(enabled=False)
    catch_up(now=_at(5, 10, 0))
    assert not JobRun.objects.filter(job=ACCRUAL).exists()
    assert JobRun.objects.filter(job=HOUSEKEEPING, outcome="succeeded").count() == 2


def test_a_date_left_running_by_a_dead_worker_is_taken_over_by_the_catch_up(db, settings):
    settings.JOB_CATCH_UP_DAYS = 1
    now = _at(5, 10, 0)
    day = now.date() - timedelta(days=1)
    dead = JobRun.objects.create(job=HOUSEKEEPING, business_date=day, owner="gone:1")  # nobody's lease
    JobRun.objects.filter(pk=dead.pk).update(started_at=now - timedelta(days=1))
    catch_up(now=now)
    dead.refresh_from_db()
    assert (dead.outcome, dead.error) == ("failed", ABANDONED)
    assert _succeeded(HOUSEKEEPING) == [day]


def test_a_date_that_keeps_failing_is_left_for_an_operator_after_its_attempts(db, settings):
    settings.JOB_CATCH_UP_DAYS, settings.JOB_CATCH_UP_ATTEMPTS = 1, 2
    now = _at(5, 10, 0)
    day = now.date() - timedelta(days=1)
    for _ in range(2):
        failed = JobRun.objects.create(job=HOUSEKEEPING, business_date=day, outcome="failed", error="boom")
        JobRun.objects.filter(pk=failed.pk).update(started_at=now - timedelta(days=2))
    assert HOUSEKEEPING not in catch_up(now=now)["caught_up"]
    assert JobRun.objects.filter(job=HOUSEKEEPING).count() == 2


def test_the_catch_up_is_a_scheduled_job_every_five_minutes(db):
    task = PeriodicTask.objects.get(task="operations.catch_up")
    assert (task.crontab.minute, task.enabled) == ("*/5", True)
    run = JobRun.objects.get(pk=catch_up_daily_jobs())
    assert (run.job, run.outcome, run.window != "") == ("operations.catch_up", "succeeded", True)
    assert "caught_up" in run.counts


def test_a_new_install_does_not_run_the_days_before_its_first_job_run(db, settings):
    settings.JOB_CATCH_UP_DAYS = 7
    now = _at(5, 10, 0)
    first = JobRun.objects.create(job="requests.expire_requests", business_date=now.date(), window="09:55")
    JobRun.objects.filter(pk=first.pk).update(started_at=now - timedelta(days=1, hours=6))  # yesterday 04:00
    catch_up(now=now)
    day = now.date()
    # Only the ticks after the desk's first run: yesterday's 05:30 and 07:15, and today's.
    assert _succeeded(HOUSEKEEPING) == [day - timedelta(days=2), day - timedelta(days=1)]
    assert _succeeded(ACCRUAL) == [day - timedelta(days=2), day - timedelta(days=1)]
