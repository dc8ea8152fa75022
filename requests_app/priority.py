"""The approval queue's priority score and the indicative rate shown at intake.

score = urgency + revenue impact + counterparty risk + age, in points (weights in settings).
Revenue impact is notional × rate × term in USD, scored per decade (10× more revenue, a fixed number
more points), so a $10m trade does not drown everything else. The parts that do not change with time
are stored on the request (``priority_static``); age grows the same for every request, so ordering by
``rank_key = static − age_weight × submitted_hours`` is ordering by the live score, with an index.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from inventory.selectors import Availability

SIX = Decimal("0.000001")


def _hours(at: datetime) -> Decimal:
    return Decimal(at.timestamp()) / Decimal(3600)


def static_parts(
    *, urgency: str, notional_usd: Decimal | None, rate_bps: Decimal, term_days: int | None, risk_rating: str
) -> dict[str, Decimal]:
    term = term_days or settings.PRIORITY_OPEN_TERM_DAYS
    revenue_usd = (notional_usd or Decimal(0)) * rate_bps / Decimal(10000) * Decimal(term) / Decimal(365)
    revenue_points = Decimal(settings.PRIORITY_REVENUE_POINTS_PER_DECADE * math.log10(1 + float(revenue_usd)))
    return {
        "urgency": Decimal(settings.PRIORITY_URGENCY_POINTS[urgency]),
        "revenue": revenue_points.quantize(SIX),
        "risk": Decimal(settings.PRIORITY_RISK_POINTS[risk_rating]),
        "revenue_usd": revenue_usd.quantize(Decimal("0.01")),
    }


def static_score(parts: dict[str, Decimal]) -> Decimal:
    return (parts["urgency"] + parts["revenue"] + parts["risk"]).quantize(SIX)


def rank_key(static: Decimal, submitted_at: datetime) -> Decimal:
    return (static - Decimal(settings.PRIORITY_AGE_POINTS_PER_HOUR) * _hours(submitted_at)).quantize(SIX)


def age_points(submitted_at: datetime, now: datetime | None = None) -> Decimal:
    hours = max(Decimal(0), _hours(now or timezone.now()) - _hours(submitted_at))
    return (Decimal(settings.PRIORITY_AGE_POINTS_PER_HOUR) * hours).quantize(Decimal("0.01"))


def live_parts(request, now: datetime | None = None) -> dict[str, str]:
    """The score's parts as shown beside it (strings, for pages and the API)."""
    parts = {k: Decimal(str(v)) for k, v in (request.priority_parts or {}).items()}
    age = age_points(request.submitted_at, now)
    return {
        "urgency": str(parts.get("urgency", 0)),
        "revenue": str(Decimal(parts.get("revenue", 0)).quantize(Decimal("0.01"))),
        "revenue_usd": str(parts.get("revenue_usd", 0)),
        "risk": str(parts.get("risk", 0)),
        "age": str(age),
    }


def live_score(request, now: datetime | None = None) -> Decimal:
    return (Decimal(request.priority_static) + age_points(request.submitted_at, now)).quantize(
        Decimal("0.01")
    )


def indicative_rate_bps(availability: Availability) -> Decimal:
    """An indicative borrow rate: the base rate, rising with utilization (×3 when fully used)."""
    u = availability.utilization
    return (Decimal(settings.INDICATIVE_BASE_RATE_BPS) * (1 + 2 * u * u)).quantize(Decimal("1"))
