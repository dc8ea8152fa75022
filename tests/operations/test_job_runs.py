"""run_job: one run per job and business date, failures recorded, duplicates skipped."""

import os
import threading
import time
from datetime import date, timedelta

import pytest
from django.db import connection

from borrowdesk.operations.models import JobRun
from borrowdesk.operations.selectors import stuck_runs
from borrowdesk.operations.services import ABANDONED, Lease, run_job

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


def _owned_elsewhere(**fields):
    """A running row whose lease another live "process" holds (a connection of its own)."""
    run = JobRun.objects.create(job="demo", business_date=DAY, owner="other-host:4242", **fields)
    lease = Lease()
    assert lease.try_lock(run.pk)
    return run, lease


def test_a_running_run_whose_owner_is_alive_blocks_a_duplicate(db):
    run, lease = _owned_elsewhere()
    try:
        calls = []
        duplicate = run_job(job="demo", business_date=DAY, work=lambda: calls.append(1) or {})
        assert (duplicate.outcome, duplicate.counts, calls) == ("skipped", {"duplicate_of": run.pk}, [])
        assert list(stuck_runs()) == []
        run.refresh_from_db()
        assert run.outcome == "running"
    finally:
        lease.close()


def test_a_run_whose_owner_died_is_taken_over_at_once_by_the_next_delivery(db):
    run, lease = _owned_elsewhere(task_id="celery-task-1")
    lease.close()  # the owner's connection ends with its process: PostgreSQL frees the lock …
    deadline = time.monotonic() + 10
    while list(stuck_runs()) != [run] and time.monotonic() < deadline:
        time.sleep(0.05)  # … as soon as its server process has exited, a moment after the close
    assert list(stuck_runs()) == [run]
    calls = []
    # The redelivered task carries the same task id; any later trigger would do the same.
    again = run_job(
        job="demo", business_date=DAY, work=lambda: calls.append(1) or {"rows": 1}, task_id="celery-task-1"
    )
    run.refresh_from_db()
    assert calls == [1]
    assert (again.outcome, again.counts) == ("succeeded", {"rows": 1})
    assert (run.outcome, run.error) == ("failed", ABANDONED)
    assert list(stuck_runs()) == []
    assert JobRun.objects.filter(job="demo", business_date=DAY, outcome="succeeded").count() == 1


def test_a_live_run_holds_its_lease_while_its_work_runs(db):
    seen = {}

    def work():
        run = JobRun.objects.get(job="demo", outcome="running")
        seen["owner"] = run.owner
        seen["stuck"] = list(stuck_runs())
        # Another delivery while it runs is a duplicate, not a takeover.
        seen["duplicate"] = run_job(job="demo", business_date=DAY, work=dict).outcome
        return {}

    run = run_job(job="demo", business_date=DAY, work=work)
    assert seen["stuck"] == [] and seen["duplicate"] == "skipped"
    assert seen["owner"].endswith(f":{os.getpid()}")
    assert JobRun.objects.get(pk=run.pk).outcome == "succeeded"


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
