"""A request's place in the approval queue: its priority score (requests_app.priority) from its
notional, urgency, rate, term and the counterparty's rating."""

from __future__ import annotations

from decimal import Decimal

from requests_app import priority
from requests_app.models import BorrowRequest


def set_priority(request: BorrowRequest, rate_bps: Decimal) -> None:
    parts = priority.static_parts(
        urgency=request.urgency,
        notional_usd=request.notional_usd,
        rate_bps=rate_bps,
        term_days=request.term_days,
        risk_rating=request.counterparty.risk_rating,
    )
    request.priority_static = priority.static_score(parts)
    request.priority_parts = {k: str(v) for k, v in parts.items()}
    request.rank_key = priority.rank_key(request.priority_static, request.submitted_at)
