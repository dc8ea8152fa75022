"""Expiry: requests undecided in time, and offers unanswered in time, expire."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from requests_app.models import AWAITING_APPROVAL, BorrowRequest, RequestStatus


@transaction.atomic
def expire_requests(*, now: datetime | None = None) -> dict[str, int]:
    """Requests undecided by their expiry, and offers unanswered in time, expire.

    Nothing was allocated for them, so nothing is released. Row locks with SKIP LOCKED: a request
    being approved right now is left to that approval (it will be decided either way).
    """
    now = now or timezone.now()
    undecided = list(
        BorrowRequest.objects.select_for_update(skip_locked=True)
        .filter(
            status__in=[RequestStatus.SUBMITTED, RequestStatus.COMPLIANCE_HOLD, *AWAITING_APPROVAL],
            expires_at__lte=now,
        )
        .values_list("pk", flat=True)
    )
    expired = BorrowRequest.objects.filter(pk__in=undecided).update(
        status=RequestStatus.EXPIRED,
        reason="not decided in time",
        decided_at=now,
        next_role="",
        updated_at=now,
    )
    lapsed_ids = list(
        BorrowRequest.objects.select_for_update(skip_locked=True)
        .filter(status=RequestStatus.OFFERED, offer_expires_at__lte=now)
        .values_list("pk", flat=True)
    )
    lapsed = BorrowRequest.objects.filter(pk__in=lapsed_ids).update(
        status=RequestStatus.EXPIRED, reason="offer lapsed", decided_at=now, updated_at=now
    )
    return {"requests_expired": expired, "offers_lapsed": lapsed}
