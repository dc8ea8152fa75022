"""The desk's business date: the desk's day starts at DESK_OPEN_TIME in DESK_TIME_ZONE.

Markets run 24/7; a moment before the open belongs to the previous business date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def desk_zone() -> ZoneInfo:
    return ZoneInfo(settings.DESK_TIME_ZONE)


def business_date(at: datetime | None = None) -> date:
    local = (at or timezone.now()).astimezone(desk_zone())
    return local.date() if local.time() >= settings.DESK_OPEN_TIME else local.date() - timedelta(days=1)


def business_day_end(day: date) -> datetime:
    """The moment business date ``day`` ends: the next day's open, as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), settings.DESK_OPEN_TIME, tzinfo=desk_zone())
