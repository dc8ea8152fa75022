"""Reconciliation jobs: the daily pre-open run (scope all) and runs requested from the page or the API.

Both record a ``JobRun`` through ``run_job`` (acks_late, a lease that dies with the worker): the daily
one once per business date (a second tick is recorded as skipped; a missed one is caught up), a
requested one once per request (its token is the JobRun's window). A worker killed mid-run rolled its
one transaction back; the redelivered task takes the dead run over and completes it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from borrowdesk.business_day import business_date as business_date_at
from borrowdesk.operations.jobs import scheduled_job
from borrowdesk.operations.models import JobOutcome, JobRun
from borrowdesk.operations.services import run_job
from reconciliation.models_runs import ReconciliationRun, RunScope
from reconciliation.services.runs import ensure_run, execute_run

PRE_OPEN_JOB = "reconciliation.pre_open"
REQUESTED_JOB = "reconciliation.run"


def opening_business_date(moment: datetime | None = None) -> date:
    """The business date whose open the pre-open run prepares (a tick 45 minutes before the 07:00 open
    runs for the day opening)."""
    lead = timedelta(minutes=settings.RECONCILIATION_LEAD_MINUTES)
    return business_date_at((moment or timezone.now()) + lead)


def _live_job_run(job: str, day: date, window: str) -> int | None:
    return (
        JobRun.objects.filter(job=job, business_date=day, window=window, outcome=JobOutcome.RUNNING)
        .values_list("pk", flat=True)
        .first()
    )


@scheduled_job(PRE_OPEN_JOB, default_day=opening_business_date)
def pre_open_reconciliation(business_date: date) -> dict:
    """Reconcile every account (scope all) for the business date about to open, once per date."""
    run = ensure_run(business_date=business_date, scope=RunScope.ALL)
    return {
        "run": run.pk,
        **execute_run(run_id=run.pk, job_run_id=_live_job_run(PRE_OPEN_JOB, business_date, "")),
    }


@shared_task(name=REQUESTED_JOB, bind=True, acks_late=True, reject_on_worker_lost=True)
def execute_requested_run(self, run_id: int, token: str) -> int:
    """A run requested from the page or the API (``request_run``), once per request."""
    run = ReconciliationRun.objects.get(pk=run_id)
    window = f"run:{token}"[:16]
    job_run = run_job(
        job=REQUESTED_JOB,
        business_date=run.business_date,
        work=lambda: {
            "run": run_id,
            **execute_run(run_id=run_id, job_run_id=_live_job_run(REQUESTED_JOB, run.business_date, window)),
        },
        task_id=self.request.id or "",
        window=window,
    )
    return job_run.pk
