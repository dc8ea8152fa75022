"""Writes of the operations app: the record of every scheduled job's runs."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from borrowdesk.operations.models import JobOutcome, JobRun

LIVE = [JobOutcome.RUNNING, JobOutcome.SUCCEEDED]


def _claim(job: str, business_date: date, window: str, task_id: str) -> JobRun | None:
    """Insert the run's row; None when a live or finished run for this date and window exists already."""
    try:
        with transaction.atomic():
            return JobRun.objects.create(job=job, business_date=business_date, window=window, task_id=task_id)
    except IntegrityError:
        return None


def run_job(
    *, job: str, business_date: date, work: Callable[[], dict | None], task_id: str = "", window: str = ""
) -> JobRun:
    """Run ``work`` once per job and business date, recording a ``JobRun``.

    The claim is an INSERT guarded by a partial unique index, so two deliveries of the same job
    (beat firing twice, Redis redelivering after a lost worker) cannot both run it: the second
    records a ``skipped`` run and returns. A run left ``running`` longer than the broker's
    visibility timeout belonged to a dead worker: it is marked failed and the date claimed again.
    A failed run does not block a retry. ``work`` returns the counts to record; its exception is
    recorded on the run and raised again.
    """
    same = {"job": job, "business_date": business_date, "window": window}
    run = _claim(job, business_date, window, task_id)
    if run is None:
        stale_before = timezone.now() - timedelta(
            seconds=settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
        )
        abandoned = JobRun.objects.filter(
            **same, outcome=JobOutcome.RUNNING, started_at__lt=stale_before
        ).update(outcome=JobOutcome.FAILED, finished_at=timezone.now(), error="abandoned: worker lost")
        run = _claim(job, business_date, window, task_id) if abandoned else None
    if run is None:
        existing = JobRun.objects.filter(**same, outcome__in=LIVE).first()
        return JobRun.objects.create(
            **same,
            task_id=task_id,
            outcome=JobOutcome.SKIPPED,
            finished_at=timezone.now(),
            counts={"duplicate_of": existing.pk if existing else None},
        )
    try:
        counts = work() or {}
    except Exception as exc:
        run.outcome = JobOutcome.FAILED
        run.error = "".join(traceback.format_exception(exc))[-4000:]
        run.finished_at = timezone.now()
        run.save(update_fields=["outcome", "error", "finished_at"])
        raise
    run.outcome = JobOutcome.SUCCEEDED
    run.counts = counts
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "counts", "finished_at"])
    return run
