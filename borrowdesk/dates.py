"""The one parser of date filters in URLs (``?since=``, ``?until=``, ``?date=``): pages and API alike.

A filter date is ``YYYY-MM-DD`` and a real day, or it is refused with ``InvalidInput`` naming the
parameter (a 400 in the API's error shape, a message on a page), never a 500. ``day_bounds`` turns
a since/until pair into a half-open range of aware datetimes, with an open end where the calendar
ends (``until=9999-12-31`` has no next day to stop before).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

from django.utils import timezone

from borrowdesk.errors import InvalidInput

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
INVALID_DAY = "Enter a real date as YYYY-MM-DD, from 0001-01-01 to 9999-12-31."


def filter_date(value: str | None, *, field: str) -> date | None:
    """``value`` as a date, or None when it is empty; ``InvalidInput`` (naming ``field``) when it is
    not a real day in ``YYYY-MM-DD`` (``9999-99-99``, ``2026-02-30``, ``0000-01-01``)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if not _ISO_DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"Invalid {field}: {INVALID_DAY}", fields={field: [INVALID_DAY]}) from None


def day_bounds(
    since: str | None, until: str | None, *, tz: tzinfo | None = None
) -> tuple[datetime | None, datetime | None]:
    """``[start of since, start of the day after until)`` in ``tz`` (the current time zone), each
    end None when not given or when it is the calendar's first or last day (nothing lies beyond).
    Raises ``InvalidInput`` for an impossible date or an until before since."""
    tz = tz or timezone.get_current_timezone()
    first, last = filter_date(since, field="since"), filter_date(until, field="until")
    if first and last and last < first:
        message = "The end date is before the start date."
        raise InvalidInput(message, fields={"until": [message]})
    # The calendar's first and last days bound nothing (and their neighbours do not exist).
    start = datetime.combine(first, time.min, tzinfo=tz) if first and first > date.min else None
    end = (
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz) if last and last < date.max else None
    )
    return start, end
