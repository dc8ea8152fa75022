from __future__ import annotations

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

from borrowdesk.operations.models import JobOutcome, JobRun
from borrowdesk.operations.services import held_lease_keys_sql


def _alive() -> Q:
    # A running row's owner is alive while it holds the lease (an advisory lock on the run's id).
    # lease_key(id) is the id itself below 2^31 - 1, far beyond any id this table reaches.
    return Q(pk__in=RawSQL(held_lease_keys_sql(), []))  # noqa: S611 (constant SQL, no input)


def with_stuck(qs: QuerySet[JobRun]) -> QuerySet[JobRun]:
    """Annotate ``stuck``: the row says running but no live process holds its lease."""
    stuck = Case(
        When(Q(outcome=JobOutcome.RUNNING) & ~_alive(), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    return qs.annotate(stuck=stuck)


def job_runs(*, job: str | None = None) -> QuerySet[JobRun]:
    """Job runs, newest first, optionally for one job; each says whether it is stuck."""
    qs = with_stuck(JobRun.objects.all())
    return qs.filter(job=job) if job else qs


def stuck_runs() -> QuerySet[JobRun]:
    """Runs left ``running`` by a process that is gone (the next delivery of the job takes them over)."""
    return JobRun.objects.filter(outcome=JobOutcome.RUNNING).exclude(_alive()).order_by("started_at")


def _row(r: JobRun, *, stuck: bool) -> dict:
    return {
        "job": r.job,
        "business_date": r.business_date.isoformat(),
        "window": r.window,
        "outcome": r.outcome,
        "stuck": stuck,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "counts": r.counts,
    }


def last_job_runs(limit: int = 20) -> list[dict]:
    """The latest run of each job that did work (not a ``skipped`` duplicate), for the health endpoint
    and dashboards, each saying whether it is stuck: one query."""
    rows = (
        with_stuck(JobRun.objects.exclude(outcome=JobOutcome.SKIPPED))
        .order_by("job", "-started_at", "-id")
        .distinct("job")[:limit]
    )
    return [_row(r, stuck=getattr(r, "stuck", False)) for r in rows]


def stuck_job_runs(limit: int = 20) -> list[dict]:
    return [_row(r, stuck=True) for r in stuck_runs()[:limit]]
