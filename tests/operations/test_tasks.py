"""Scheduled jobs go through the real Redis broker to a real Celery worker."""

import time
import uuid
from datetime import date

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.sessions.models import Session
from django.utils import timezone

from borrowdesk.celery import app
from borrowdesk.operations.models import JobRun
from borrowdesk.operations.tasks import daily_housekeeping


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def worker_queue(transactional_db, django_db_serialized_rollback):
    """A real worker thread consuming a queue of its own on the configured Redis broker."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        yield queue


def test_job_sent_through_the_broker_runs_on_a_worker_and_records_a_job_run(worker_queue):
    Session.objects.create(session_key="x" * 32, session_data="", expire_date=timezone.now())
    daily_housekeeping.apply_async(args=["2026-11-25"], queue=worker_queue)
    assert _wait_for(lambda: JobRun.objects.filter(outcome="succeeded").exists())
    run = JobRun.objects.get()
    assert (run.job, run.business_date) == ("operations.daily_housekeeping", date(2026, 11, 25))
    assert run.counts == {"expired_sessions_deleted": 1}
    assert run.task_id  # the broker's delivery id is kept
    assert not Session.objects.exists()


def test_second_delivery_for_the_same_business_date_is_skipped(worker_queue):
    daily_housekeeping.apply_async(args=["2026-11-25"], queue=worker_queue)
    assert _wait_for(lambda: JobRun.objects.filter(outcome="succeeded").exists())
    daily_housekeeping.apply_async(args=["2026-11-25"], queue=worker_queue)
    assert _wait_for(lambda: JobRun.objects.filter(outcome="skipped").exists())
    assert JobRun.objects.filter(outcome="succeeded").count() == 1


def test_job_without_a_date_runs_for_the_current_business_date(db):
    from borrowdesk.business_day import business_date

    # Calling the task runs its body here, in this process (no broker, no eager mode): the date it
    # falls back to is the task's own logic, under test.
    run = JobRun.objects.get(pk=daily_housekeeping())
    assert run.business_date == business_date()
    assert (run.job, run.outcome) == ("operations.daily_housekeeping", "succeeded")


def test_the_beat_schedule_is_in_the_database(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="Daily housekeeping")
    assert task.task == "operations.daily_housekeeping"
    assert task.enabled
