"""Daily jobs catch up by business date.

Beat drops a send that fails (Redis down) and sends nothing while it is down itself, and a worker
killed mid-job leaves a run that only its redelivery would finish. For a 5-minute job that is a delay;
for a daily job it is a lost day. So every few minutes ``operations.catch_up`` works out, from each
daily job's schedule (its PeriodicTask's crontab, as operators set it; a paused job is left alone),
the business dates its ticks of the last ``JOB_CATCH_UP_DAYS`` days were for (not before the first job
run the desk recorded: a new install has missed nothing), and runs each date that has no succeeded run
and no live one, once (``run_job`` makes it once, whoever else tries).
A date whose runs failed ``JOB_CATCH_UP_ATTEMPTS`` times is left for an operator.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab_parser
from django.conf import settings
from django.utils import timezone

from borrowdesk.operations.jobs import DAILY_JOBS, DailyJob
from borrowdesk.operations.models import JobOutcome, JobRun
from borrowdesk.operations.selectors import stuck_runs
from borrowdesk.operations.services import run_job

log = logging.getLogger(__name__)


def _ticks(crontab: Any, *, since: datetime, until: datetime) -> list[datetime]:
    """The moments in [since, until] a crontab fired (in its own time zone)."""
    zone = ZoneInfo(str(crontab.timezone))
    minutes = sorted(crontab_parser(60).parse(crontab.minute))
    hours = sorted(crontab_parser(24).parse(crontab.hour))
    weekdays = crontab_parser(7).parse(crontab.day_of_week)  # 0 = Sunday, as cron says
    days = crontab_parser(31, 1).parse(crontab.day_of_month)
    months = crontab_parser(12, 1).parse(crontab.month_of_year)
    ticks = []
    day = since.astimezone(zone).date()
    while day <= until.astimezone(zone).date():
        if (day.isoweekday() % 7) in weekdays and day.day in days and day.month in months:
            for hour in hours:
                for minute in minutes:
                    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    if since <= moment <= until:
                        ticks.append(moment)
        day += timedelta(days=1)
    return ticks


def due_dates(
    job: DailyJob, crontab: Any, *, now: datetime, look_back_days: int, not_before: datetime | None = None
) -> list[date]:
    """The business dates the job's ticks of the look-back window were for, oldest first."""
    since = now - timedelta(days=look_back_days)
    ticks = _ticks(crontab, since=max(since, not_before) if not_before else since, until=now)
    return sorted({job.day_at(tick) for tick in ticks})


def _needs_run(job: str, day: date, attempts: int) -> bool:
    runs = JobRun.objects.filter(job=job, business_date=day, window="")
    if runs.filter(outcome=JobOutcome.SUCCEEDED).exists():
        return False
    running = runs.filter(outcome=JobOutcome.RUNNING)
    if running.exists() and not stuck_runs().filter(pk__in=running.values("pk")).exists():
        return False  # a live worker is on it
    return runs.filter(outcome=JobOutcome.FAILED).count() < attempts


def catch_up(*, now: datetime | None = None, task_id: str = "catch-up") -> dict[str, Any]:
    """Run every missed date of every daily job once. Returns {"caught_up": {job: [dates run]}} and,
    when a date's run failed (recorded on its run; the next sweep tries again), {"failed": {...}}."""
    from django_celery_beat.models import PeriodicTask

    from borrowdesk.celery import app

    app.loader.import_default_modules()  # every app's tasks module, so DAILY_JOBS is complete
    now = now or timezone.now()
    look_back = settings.JOB_CATCH_UP_DAYS
    # Ticks from before the desk ran any job were not missed (a new install does not run a week of
    # past dates): the look-back starts at the first run ever recorded, if that is later.
    first = JobRun.objects.order_by("started_at").values_list("started_at", flat=True).first()
    caught_up: dict[str, list[str]] = {}
    failed: dict[str, list[str]] = {}
    scheduled = PeriodicTask.objects.filter(task__in=list(DAILY_JOBS), enabled=True, crontab__isnull=False)
    for periodic in scheduled.select_related("crontab").order_by("task"):
        job = DAILY_JOBS[periodic.task]
        for day in due_dates(job, periodic.crontab, now=now, look_back_days=look_back, not_before=first):
            if not _needs_run(job.name, day, settings.JOB_CATCH_UP_ATTEMPTS):
                continue
            try:
                run = run_job(job=job.name, business_date=day, work=partial(job.work, day), task_id=task_id)
            except Exception:  # recorded on its run; one job's failure does not stop the others
                log.exception("catch-up of %s for %s failed", job.name, day)
                failed.setdefault(job.name, []).append(day.isoformat())
                continue
            if run.outcome == JobOutcome.SUCCEEDED:
                caught_up.setdefault(job.name, []).append(day.isoformat())
    return {"caught_up": caught_up, **({"failed": failed} if failed else {})}
