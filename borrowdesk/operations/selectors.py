from __future__ import annotations

from django.db.models import QuerySet

from borrowdesk.operations.models import JobRun


def job_runs(*, job: str | None = None) -> QuerySet[JobRun]:
    """Job runs, newest first, optionally for one job."""
    qs = JobRun.objects.all()
    return qs.filter(job=job) if job else qs


def last_job_runs(limit: int = 10) -> list[dict]:
    """The latest run of each job (for the health endpoint and dashboards): one query."""
    rows = JobRun.objects.order_by("job", "-started_at").distinct("job")[:limit]
    return [
        {
            "job": r.job,
            "business_date": r.business_date.isoformat(),
            "outcome": r.outcome,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        }
        for r in rows
    ]
