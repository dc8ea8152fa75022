"""Compliance jobs: the daily KYC expiry and review cases; the rescreen of every counterparty and
address after a list import, every morning, and whenever an import's own rescreen was lost (a worker
or Redis down at the time)."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from borrowdesk.business_day import business_date as current_business_date
from borrowdesk.operations.jobs import scheduled_job
from borrowdesk.operations.services import run_job
from compliance.kyc import services as kyc_services
from compliance.models import SanctionsListVersion, ScreeningTrigger
from compliance.sanctions import services

RESCREEN_JOB = "compliance.sanctions.rescreen"


@shared_task(
    name="compliance.sanctions.rescreen_after_import", bind=True, acks_late=True, reject_on_worker_lost=True
)
def rescreen_after_import(self, version_id: int) -> int:
    """Rescreen everyone against the lists in force once list version ``version_id`` is imported:
    one run per version (its window), so a redelivered task records a skipped run and changes nothing."""
    run = run_job(
        job=RESCREEN_JOB,
        business_date=current_business_date(),
        work=lambda: services.rescreen_all(trigger=ScreeningTrigger.LIST_IMPORT),
        task_id=self.request.id or "",
        window=f"list-{version_id}",
    )
    return run.pk


@scheduled_job("compliance.sanctions.daily_rescreen")
def daily_rescreen(business_date: date) -> dict:
    """Every counterparty and address against the lists in force, before the desk opens: catches a
    screening a failed save could not run, and any change of the threshold or the algorithm."""
    return services.rescreen_all(trigger=ScreeningTrigger.SCHEDULED)


@scheduled_job("compliance.sanctions.rescreen_pending", every_minutes=15)
def rescreen_pending(business_date: date) -> dict:
    """An active list no rescreen has covered yet (its import's task was lost): rescreen now."""
    if not SanctionsListVersion.objects.filter(is_active=True, rescreened_at__isnull=True).exists():
        return {"screened": 0}
    return services.rescreen_all(trigger=ScreeningTrigger.LIST_IMPORT)


@scheduled_job("compliance.kyc.daily")
def kyc_reviews(business_date: date) -> dict:
    """Lapsed KYC approvals expire (their counterparties' requests go on hold) and review cases open
    ``KYC_REVIEW_LEAD_DAYS`` ahead of expiry or periodic review: once per business date, and harmless
    when run again (nothing left to expire, one case per due date)."""
    return kyc_services.run_kyc_reviews(business_date=business_date)


@scheduled_job("compliance.aml.monitor", every_minutes=60)
def aml_monitor(business_date: date) -> dict:
    """Every AML rule over the recent requests, loans and settlement legs: what the events missed (a
    worker down, a rule just enabled or changed). Idempotent: alerts already raised are not raised
    again (their dedup keys)."""
    from compliance.aml.services import run_monitoring

    return run_monitoring()


from compliance.cases.tasks import sla_check  # noqa: E402, F401  (the case SLA check, registered with Celery)


@scheduled_job("compliance.regulator.reminders")
def regulator_reminders(business_date: date) -> dict:
    """Reminders for regulator requests due within REGULATOR_REMINDER_DAYS days or overdue: one per
    request per business date (a redelivery records nothing new)."""
    from compliance.regulator.services import remind

    return remind(business_date=business_date)
