"""The daily pre-open reconciliation: scheduled before the open in the desk's zone, once per business
date (a second tick is skipped), a JobRun linked to the run, caught up when a tick was lost."""

from __future__ import annotations

from datetime import datetime

from django_celery_beat.models import PeriodicTask

from borrowdesk.business_day import desk_zone
from borrowdesk.operations.models import JobRun
from reconciliation.models_runs import Break, ReconciliationRun
from reconciliation.tasks import opening_business_date, pre_open_reconciliation
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.reconciliation.run_helpers import statement


def test_the_pre_open_job_runs_once_per_business_date_and_records_its_job_run(desk_config):
    btc = desk_asset("BTC", 8)
    main = firm_account()
    stock(btc, main, "10")
    statement(main, {btc: "9"})
    job = JobRun.objects.get(pk=pre_open_reconciliation())
    assert (job.job, job.outcome, job.business_date) == (
        "reconciliation.pre_open",
        "succeeded",
        opening_business_date(),
    )
    run = ReconciliationRun.objects.get()
    assert (run.business_date, run.scope, run.status, run.job_run_id) == (
        job.business_date,
        "all",
        "finished",
        job.pk,
    )
    assert job.counts["run"] == run.pk and job.counts["found"] == 1
    again = JobRun.objects.get(pk=pre_open_reconciliation())  # beat firing twice
    assert (
        again.outcome == "skipped" and Break.objects.count() == 1 and ReconciliationRun.objects.count() == 1
    )


def test_the_tick_before_the_open_runs_for_the_day_opening(settings):
    settings.RECONCILIATION_LEAD_MINUTES = 45
    tick = datetime(2026, 11, 3, 6, 15, tzinfo=desk_zone())  # 45 minutes before the 07:00 open
    assert opening_business_date(tick).isoformat() == "2026-11-03"


def test_it_is_scheduled_before_the_open_in_the_desks_time_zone(db, settings):
    task = PeriodicTask.objects.get(task="reconciliation.pre_open")
    assert (task.crontab.hour, task.crontab.minute, task.enabled) == ("6", "15", True)  # open 07:00, lead 45
    assert str(task.crontab.timezone) == settings.DESK_TIME_ZONE


def test_missed_days_are_caught_up_once(desk_config, settings):
    from datetime import timedelta

    from django.utils import timezone

    from borrowdesk.operations.catch_up import catch_up

    settings.JOB_CATCH_UP_DAYS = 2
    stock(desk_asset("BTC", 8), firm_account(), "1")
    first = JobRun.objects.create(
        job="operations.daily_housekeeping", business_date="2020-01-01", outcome="succeeded"
    )
    JobRun.objects.filter(pk=first.pk).update(started_at=timezone.now() - timedelta(days=3))
    now = timezone.now().astimezone(desk_zone()).replace(hour=12)  # after today's 06:15 tick
    done = catch_up(now=now)["caught_up"]["reconciliation.pre_open"]
    assert len(done) == 2 and done[-1] == opening_business_date(now).isoformat()
    assert (
        sorted(d.isoformat() for d in ReconciliationRun.objects.values_list("business_date", flat=True))
        == done
    )
    assert ReconciliationRun.objects.filter(status="finished").count() == 2
    assert "reconciliation.pre_open" not in catch_up(now=now)["caught_up"]  # once
