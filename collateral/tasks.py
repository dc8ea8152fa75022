"""Collateral jobs: the revaluation that moves coverage states and issues margin calls (every 5 minutes
and after every new price), and the scheduled limit and covenant check (every 15 minutes, and before
the open)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from borrowdesk.business_day import business_date as business_date_at
from borrowdesk.operations.jobs import scheduled_job
from borrowdesk.operations.schedule import LIMIT_CHECK_LEAD_MINUTES
from collateral.services.limits import check_limits
from collateral.services.valuation import revalue


@scheduled_job("collateral.revalue", every_minutes=5)
def revalue_collateral(business_date: date) -> dict:
    """Value every counterparty now and move coverage states and margin calls (idempotent: a repeated
    run finds nothing to change). Runs every five minutes, and after every applied price, release and
    margin call action in a window of its own (``price:<id>``, …), each recording its JobRun."""
    return revalue()


@scheduled_job("collateral.check_limits", every_minutes=15)
def check_limits_job(business_date: date) -> dict:
    """The limit check of one 15-minute window: breaches opened, kept and resolved (idempotent: a
    second delivery in the same window is recorded as skipped, and a second run changes nothing)."""
    return check_limits()


def opening_business_date(moment: datetime | None = None) -> date:
    """The business date whose open the pre-open check prepares: the one in progress once the
    check's lead time has passed (a tick 20 minutes before the 07:00 open runs for the day opening)."""
    return business_date_at((moment or timezone.now()) + timedelta(minutes=LIMIT_CHECK_LEAD_MINUTES))


# A daily job of its own, not a second schedule of the 15-minute one: that one runs once per window,
# and the pre-open tick would fall in a window the 15-minute schedule has already run.
@scheduled_job("collateral.check_limits_before_open", default_day=opening_business_date)
def check_limits_before_open(business_date: date) -> dict:
    """The limit check before the desk opens, once per business date (caught up when a tick is lost)."""
    return check_limits()
