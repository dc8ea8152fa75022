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
