"""The beat schedule, kept in the database (django-celery-beat) so operators can see and pause jobs.

``SCHEDULE`` is the desk's list of scheduled jobs; later issues add theirs. ``sync_schedule`` creates
the missing entries after every migrate and never overwrites an operator's change to an existing one.
Times are in the desk's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class ScheduledJob:
    name: str  # the PeriodicTask's name, shown to operators
    task: str  # the Celery task name
    minute: str = "0"
    hour: str = "*"
    description: str = ""


# The limit check runs this long before the desk opens (DESK_OPEN_TIME), so the day starts with the
# breaches of the night on the risk desk's list.
LIMIT_CHECK_LEAD_MINUTES = 20


def before_open(minutes: int) -> dict[str, str]:
    """The crontab minute and hour ``minutes`` before the desk's open time (in the desk's zone)."""
    from django.conf import settings

    at = (datetime.combine(date(2000, 1, 2), settings.DESK_OPEN_TIME) - timedelta(minutes=minutes)).time()
    return {"minute": str(at.minute), "hour": str(at.hour)}


def _reconciliation_lead_minutes() -> int:
    from django.conf import settings

    return settings.RECONCILIATION_LEAD_MINUTES


SCHEDULE: list[ScheduledJob] = [
    ScheduledJob(
        "Daily housekeeping",
        "operations.daily_housekeeping",
        minute="30",
        hour="5",
        description="Delete expired browser sessions.",
    ),
    ScheduledJob(
        "Expire undecided requests and lapsed offers",
        "requests.expire_requests",
        minute="*/5",
        description="Requests not decided in time, and offers not answered in time, expire.",
    ),
    ScheduledJob(
        "Release expired holds",
        "requests.release_expired_holds",
        minute="*/5",
        description="Allocations whose delivery did not settle by the hold's expiry are released.",
    ),
    ScheduledJob(
        "Catch up missed daily jobs",
        "operations.catch_up",
        minute="*/5",
        description="Runs once each business date a daily job missed (a tick lost while Redis or beat "
        "was down, a run whose worker died) in the last JOB_CATCH_UP_DAYS days.",
    ),
    ScheduledJob(
        "Accrue loan fees",
        "inventory.accrue_loan_fees",
        minute="15",
        hour="7",
        description="The fee of the business date just ended, in the asset, for every loan open at its end.",
    ),
    ScheduledJob(
        "Revalue collateral and issue margin calls",
        "collateral.revalue",
        minute="*/5",
        description="Coverage of every counterparty at the current marks: states, the day's coverage "
        "snapshot, margin calls issued, updated, met and escalated (also run after every new price).",
    ),
    ScheduledJob(
        "Check borrower limits",
        "collateral.check_limits",
        minute="*/15",
        description="Every counterparty's limits and covenant against its exposure, asset quantities, loan "
        "tenors and coverage: a LimitBreach opened for each new breach, kept while it lasts, resolved "
        "when it is gone.",
    ),
    ScheduledJob(
        "Check borrower limits before the open",
        "collateral.check_limits_before_open",
        **before_open(LIMIT_CHECK_LEAD_MINUTES),
        description="The same limit check, once a business date before the desk opens (caught up if missed).",
    ),
    # Reconciliation (issue 11, reconruns): every account against its latest statement, before the open.
    ScheduledJob(
        "Reconcile the books before the open",
        "reconciliation.pre_open",
        **before_open(_reconciliation_lead_minutes()),
        description="Ledger balances as of each account's latest statement against the statement, every "
        "account and asset (scope all), once a business date RECONCILIATION_LEAD_MINUTES before the desk "
        "opens (caught up if missed): breaks opened, kept and auto-resolved.",
    ),
    ScheduledJob(
        "Rescreen counterparties and addresses against the sanctions lists",
        "compliance.sanctions.daily_rescreen",
        minute="30",
        hour="6",
        description="Every active counterparty's name and custody address against the lists in force, "
        "before the desk opens (a list import also rescreens at once).",
    ),
    ScheduledJob(
        "Expire lapsed KYC and open KYC review cases",
        "compliance.kyc.daily",
        # Five minutes after the open, so it runs for the business date that has just begun: a KYC
        # that expired yesterday is expired before the first approval of the day.
        **before_open(-5),
        description="Approved KYC past its expiry date becomes expired (the counterparty's open requests go "
        "on hold); a KYC review case opens KYC_REVIEW_LEAD_DAYS before the earlier of expiry and the "
        "periodic review (once per due date).",
    ),
    ScheduledJob(
        "Rescreen after a list import whose own rescreen was lost",
        "compliance.sanctions.rescreen_pending",
        minute="*/15",
        description="An active sanctions list that no rescreen has covered yet is screened against now.",
    ),
    ScheduledJob(
        "Run the AML monitoring rules",
        "compliance.aml.monitor",
        minute="7",
        description="Every enabled AML rule over the last AML_SCAN_DAYS of requests, loans and settlement "
        "legs; each new alert opens or joins an AML case (the events raise most alerts as they happen).",
    ),
    ScheduledJob(
        "Flag compliance cases past their SLA",
        "compliance.cases.sla_check",
        minute="*/15",
        description="Open compliance cases whose SLA due time has passed are flagged once (a timeline "
        "event); the queue shows them as overdue.",
    ),
    ScheduledJob(
        "Remind regulator requests due soon or overdue",
        "compliance.regulator.reminders",
        minute="45",
        hour="6",
        description="One reminder per outstanding regulator request due within REGULATOR_REMINDER_DAYS "
        "days, or overdue, each business date.",
    ),
]


def sync_schedule(sender=None, **kwargs) -> None:
    from django.conf import settings
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    for job in SCHEDULE:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=job.minute,
            hour=job.hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone=settings.DESK_TIME_ZONE,
        )
        PeriodicTask.objects.get_or_create(
            name=job.name, defaults={"task": job.task, "crontab": crontab, "description": job.description}
        )
