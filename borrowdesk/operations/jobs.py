"""``scheduled_job``: how every scheduled job is declared.

A scheduled job is a Celery task taking an optional business date (ISO string); it runs its work
through ``run_job`` so it records a ``JobRun`` and runs at most once per business date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from celery import shared_task
from django.utils import timezone

from borrowdesk.business_day import business_date as current_business_date
from borrowdesk.operations.services import run_job


@dataclass(frozen=True)
class DailyJob:
    """A job that runs once per business date: what the catch-up needs to run a missed date."""

    name: str
    work: Callable[[date], dict | None]
    default_day: Callable[..., date]  # called with the tick's moment: the date that tick runs for

    def day_at(self, moment: datetime) -> date:
        return self.default_day(moment)


# Every daily job, by task name (filled as the tasks modules are imported).
DAILY_JOBS: dict[str, DailyJob] = {}


def _window(every_minutes: int | None) -> str:
    if not every_minutes:
        return ""
    now = timezone.now()
    minute = (now.hour * 60 + now.minute) // every_minutes * every_minutes
    return f"{minute // 60:02d}:{minute % 60:02d}"


def scheduled_job(
    name: str, *, every_minutes: int | None = None, default_day: Callable[[], date] = current_business_date
) -> Callable[[Callable[[date], dict | None]], object]:
    """Declare a job that runs once per business date, or once per ``every_minutes`` window.

    Called without a date, the job runs for ``default_day()``: the current business date, unless the
    job works on a day that must be over (the fee accrual charges the previous one). ``default_day``
    takes an optional moment (the tick's): the catch-up asks it which date a missed tick was for.
    A daily job (no ``every_minutes``) is caught up by ``operations.catch_up`` when a tick was missed.
    """

    def decorate(work: Callable[[date], dict | None]):
        @shared_task(name=name, bind=True, acks_late=True, reject_on_worker_lost=True)
        def task(self, business_date: str | None = None, window: str | None = None) -> int:
            day = date.fromisoformat(business_date) if business_date else default_day()
            run = run_job(
                job=name,
                business_date=day,
                work=lambda: work(day),
                task_id=self.request.id or "",
                window=window if window is not None else _window(every_minutes),
            )
            return run.pk

        task.work = work  # the plain function, for tests that call the work directly
        if not every_minutes:
            DAILY_JOBS[name] = DailyJob(name=name, work=work, default_day=default_day)
        return task

    return decorate
