"""Writes of the operations app: the record of every scheduled job's runs, and the lease of a live run.

A run that is ``running`` is owned by the process doing its work. The owner holds a PostgreSQL
advisory lock keyed on the run's id, on a connection of its own, from before the row is visible to
anyone else until the row is finished. PostgreSQL drops the lock the moment that connection ends, so
a worker killed mid-job (SIGKILL, OOM, a lost host) frees its run at once: the next delivery of the
job for that date (the redelivered task, or any later trigger or catch-up) sees the lock free, marks
the dead run failed and does the work, exactly once (the partial unique index still allows only one
live-or-done run per job, date and window). A run whose lock is free while its row says ``running``
is *stuck*: the job page and the health endpoint show it.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable
from datetime import date

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from borrowdesk.operations.models import JobOutcome, JobRun

log = logging.getLogger(__name__)

LIVE = [JobOutcome.RUNNING, JobOutcome.SUCCEEDED]
# The first key of the two-key advisory lock form: JobRun leases, in this database ("JOBR").
LEASE_CLASS = 0x4A4F4252
ABANDONED = "abandoned: its worker died mid-run (lease lost); taken over"
_MAX_ATTEMPTS = 5


def lease_key(run_id: int) -> int:
    """The second key of a run's lease (an int4): the run's id."""
    return run_id % 2_147_483_647


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease:
    """A connection of its own holding the advisory locks of the runs this process owns."""

    def __init__(self) -> None:
        connection.ensure_connection()
        raw = connection.get_new_connection(connection.get_connection_params())
        raw.autocommit = True
        self._raw = raw

    def try_lock(self, run_id: int) -> bool:
        with self._raw.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LEASE_CLASS, lease_key(run_id)])
            return bool(cursor.fetchone()[0])

    def unlock(self, run_id: int) -> None:
        with self._raw.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LEASE_CLASS, lease_key(run_id)])

    def close(self) -> None:
        try:
            self._raw.close()
        except Exception:  # the server may be gone already; the lock went with it
            log.debug("lease connection already closed", exc_info=True)


def held_lease_keys_sql() -> str:
    """SQL for the lease keys held right now in this database (for 'is this run's owner alive?')."""
    return (
        "SELECT l.objid::bigint FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        f"WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = {LEASE_CLASS} "
        "AND d.datname = current_database()"
    )


def _claim(lease: Lease, same: dict, task_id: str) -> JobRun | None:
    """Insert the run's row and take its lease before the row is visible to anyone else; None when a
    live or finished run for this job, date and window exists already."""
    try:
        with transaction.atomic():
            run = JobRun.objects.create(**same, task_id=task_id, owner=owner_name())
            if not lease.try_lock(run.pk):  # a new id: no one else can hold it
                raise RuntimeError(f"lease of new job run {run.pk} is held elsewhere")
            return run
    except IntegrityError:
        return None


def _take_over_if_dead(lease: Lease, same: dict) -> bool | JobRun:
    """The live-or-done run that blocked the claim: True when it was a dead owner's run (now marked
    failed, so the date can be claimed again), else that run (alive, or succeeded)."""
    existing = JobRun.objects.filter(**same, outcome__in=LIVE).first()
    if existing is None:  # it finished (failed) in between: claim again
        return True
    if existing.outcome != JobOutcome.RUNNING or not lease.try_lock(existing.pk):
        return existing
    try:
        taken = JobRun.objects.filter(pk=existing.pk, outcome=JobOutcome.RUNNING).update(
            outcome=JobOutcome.FAILED, finished_at=timezone.now(), error=ABANDONED
        )
        if taken:
            log.warning(
                "job run %s (%s) was abandoned by %s: taking it over", existing.pk, existing, existing.owner
            )
    finally:
        lease.unlock(existing.pk)
    return True


def run_job(
    *, job: str, business_date: date, work: Callable[[], dict | None], task_id: str = "", window: str = ""
) -> JobRun:
    """Run ``work`` once per job and business date (and window), recording a ``JobRun``.

    The claim is an INSERT guarded by a partial unique index, so two live deliveries of the same job
    (beat firing twice, Redis redelivering a job that is still running) cannot both run it: the second
    records a ``skipped`` run and returns. A run whose owner died (its lease is free) is marked failed
    and taken over by whichever delivery comes next, the redelivered task included. A failed run does
    not block a retry. ``work`` returns the counts to record; its exception is recorded on the run and
    raised again.
    """
    same = {"job": job, "business_date": business_date, "window": window}
    lease = Lease()
    try:
        run = None
        blocking: JobRun | None = None
        for _ in range(_MAX_ATTEMPTS):
            run = _claim(lease, same, task_id)
            if run is not None:
                break
            outcome = _take_over_if_dead(lease, same)
            if outcome is not True:
                blocking = outcome  # type: ignore[assignment]
                break
        if run is None:
            return JobRun.objects.create(
                **same,
                task_id=task_id,
                owner=owner_name(),
                outcome=JobOutcome.SKIPPED,
                finished_at=timezone.now(),
                counts={"duplicate_of": blocking.pk if blocking else None},
            )
        try:
            counts = work() or {}
        except Exception as exc:
            _finish(run, outcome=JobOutcome.FAILED, error="".join(traceback.format_exception(exc))[-4000:])
            raise
        _finish(run, outcome=JobOutcome.SUCCEEDED, counts=counts)
        return run
    finally:
        lease.close()


def _finish(run: JobRun, *, outcome: str, counts: dict | None = None, error: str = "") -> None:
    run.outcome = outcome
    run.counts = counts or {}
    run.error = error
    run.finished_at = timezone.now()
    # Only a run still ours: one taken over meanwhile (its lease was lost) is not overwritten, and the
    # unique index would refuse a second succeeded run for the date anyway.
    updated = JobRun.objects.filter(pk=run.pk, outcome=JobOutcome.RUNNING).update(
        outcome=outcome, counts=run.counts, error=error, finished_at=run.finished_at
    )
    if not updated:
        log.error("job run %s was taken over while it ran; its result (%s) is not recorded", run.pk, outcome)
