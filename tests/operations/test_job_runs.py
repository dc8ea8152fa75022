"""run_job: one run per job and business date, failures recorded, duplicates skipped."""

import threading
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from borrowdesk.operations.models import JobRun
from borrowdesk.operations.services import run_job

DAY = date(2026, 11, 25)


def test_a_run_records_its_outcome_and_counts(db):
    run = run_job(job="demo", business_date=DAY, work=lambda: {"rows": 3})
    run.refresh_from_db()
    assert (run.outcome, run.counts) == ("succeeded", {"rows": 3})
    assert run.finished_at is not None


def test_second_run_for_the_same_business_date_is_skipped_without_doing_the_work(db):
    calls = []
    first = run_job(job="demo", business_date=DAY, work=lambda: calls.append(1) or {})
    second = run_job(job="demo", business_date=DAY, work=lambda: calls.append(2) or {})
    assert calls == [1]
    assert second.outcome == "skipped"
    assert second.counts == {"duplicate_of": first.pk}


def test_another_business_date_runs_again(db):
    run_job(job="demo", business_date=DAY, work=dict)
    other = run_job(job="demo", business_date=DAY + timedelta(days=1), work=dict)
    assert other.outcome == "succeeded"


def test_a_failed_run_records_the_error_and_does_not_block_a_retry(db):
    def boom():
        raise RuntimeError("custodian feed unreachable")

    with pytest.raises(RuntimeError):
        run_job(job="demo", business_date=DAY, work=boom)
    failed = JobRun.objects.get(job="demo", outcome="failed")
    assert "custodian feed unreachable" in failed.error
    retry = run_job(job="demo", business_date=DAY, work=lambda: {"ok": 1})
    assert retry.outcome == "succeeded"


def test_a_run_left_running_by_a_lost_worker_is_reclaimed_after_the_visibility_timeout(db, settings):
    stale = JobRun.objects.create(job="demo", business_date=DAY)
    JobRun.objects.filter(pk=stale.pk).update(started_at=timezone.now() - timedelta(days=1))
    run = run_job(job="demo", business_date=DAY, work=dict)
    stale.refresh_from_db()
    assert run.outcome == "succeeded"
    assert (stale.outcome, stale.error) == ("failed", "abandoned: worker lost")


def test_a_recent_running_run_blocks_a_duplicate(db):
    JobRun.objects.create(job="demo", business_date=DAY)
    assert run_job(job="demo", business_date=DAY, work=dict).outcome == "skipped"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_deliveries_of_one_job_run_it_exactly_once():
    barrier = threading.Barrier(6)
    did_work = []

    def deliver():
        try:
            barrier.wait()
            run_job(job="race", business_date=DAY, work=lambda: did_work.append(1) or {})
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(did_work) == 1
    outcomes = sorted(JobRun.objects.filter(job="race").values_list("outcome", flat=True))
    assert outcomes == ["skipped"] * 5 + ["succeeded"]
