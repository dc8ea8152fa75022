"""Operations jobs."""

from __future__ import annotations

from datetime import date

from django.contrib.sessions.models import Session
from django.utils import timezone

from borrowdesk.operations.jobs import scheduled_job


@scheduled_job("operations.daily_housekeeping")
def daily_housekeeping(business_date: date) -> dict:
    """Delete expired browser sessions (the desk's daily hygiene); idempotent."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return {"expired_sessions_deleted": deleted}


@scheduled_job("operations.catch_up", every_minutes=5)
def catch_up_daily_jobs(business_date: date) -> dict:
    """Run the business dates daily jobs missed (a tick lost while Redis or beat was down, a run
    whose worker died), each once (borrowdesk.operations.catch_up)."""
    from borrowdesk.operations.catch_up import catch_up

    return catch_up()
