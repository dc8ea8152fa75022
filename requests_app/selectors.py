"""Reads of borrow requests: scoped lists, one request, the approval queue, and the open requests by
status and age for the dashboards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from borrowdesk.access.roles import user_roles
from borrowdesk.refdata.models import CustodyAccount
from borrowdesk.refdata.selectors import counterparties_for_trader, is_trader_only
from requests_app.models import APPROVER_ROLES, AWAITING_APPROVAL, OPEN_STATUSES, Approval, BorrowRequest

_RELATED = ("counterparty", "asset", "settlement_account", "source_account", "requested_by", "loan")


def visible_requests(user) -> QuerySet[BorrowRequest]:
    """Requests this user may see: a trader only those of counterparties granted to them."""
    qs = BorrowRequest.objects.select_related(*_RELATED)
    if is_trader_only(user):
        qs = qs.filter(counterparty__in=counterparties_for_trader(user))
    return qs


def request_detail(user, pk: int) -> BorrowRequest:
    """One visible request with its approvals; ``BorrowRequest.DoesNotExist`` when out of scope."""
    return (
        visible_requests(user)
        .prefetch_related(
            Prefetch(
                "approvals", queryset=Approval.objects.select_related("user", "account").order_by("step")
            )
        )
        .get(pk=pk)
    )


def approval_queue(user) -> QuerySet[BorrowRequest]:
    """Exactly the requests this user may act on now, best first: awaiting a step of a role they hold,
    not their own, and not already decided by them.

    Each row carries its counterparty and asset (joined) and, as columns, ``requested_by_username``,
    ``settlement_account_code`` and ``source_account_code`` (read through ``QueueItemOut``); the other
    relations are not loaded. Why not ``select_related`` of all six: with the anti-join that is an
    eight-relation join, and PostgreSQL spent 10–18 ms (PG 15) to 55 ms (the embedded PG 16) choosing
    its join order, for a plan that runs in 0.5 ms. Three relations plus the anti-join plan in well
    under a millisecond; the three lookups are single-table subplans run only for the page's rows.
    """
    roles = sorted(user_roles(user) & set(APPROVER_ROLES))
    decided_by_user = Approval.objects.filter(request=OuterRef("pk"), user=user)
    return (
        BorrowRequest.objects.select_related("counterparty", "asset")
        .filter(status__in=AWAITING_APPROVAL, next_role__in=roles)
        .exclude(requested_by=user)
        .exclude(Exists(decided_by_user))
        .annotate(
            requested_by_username=Subquery(
                get_user_model().objects.filter(pk=OuterRef("requested_by_id")).values("username")
            ),
            settlement_account_code=_account_code("settlement_account_id"),
            source_account_code=_account_code("source_account_id"),
        )
        .order_by("-rank_key", "id")
    )


def _account_code(column: str) -> Subquery:
    return Subquery(CustodyAccount.objects.filter(pk=OuterRef(column)).values("code"))


# --- summaries ------------------------------------------------------------------------------------

# Age buckets of open requests, in hours since submission: (key, lower bound inclusive, upper exclusive).
# Requests live for hours, not days: a request still open after a day is the one to chase.
REQUEST_AGE_BUCKETS: list[tuple[str, int, int | None]] = [
    ("under_1h", 0, 1),
    ("1h_to_4h", 1, 4),
    ("4h_to_24h", 4, 24),
    ("24h_or_more", 24, None),
]


@dataclass(frozen=True)
class PendingStatus:
    status: str
    count: int
    oldest_submitted_at: datetime | None
    by_age: dict[str, int]  # bucket key → count, in REQUEST_AGE_BUCKETS order


def pending_by_status_and_age(now: datetime | None = None) -> list[PendingStatus]:
    """Every open request of the desk (``OPEN_STATUSES``: not yet approved or ended), counted by status ×
    age since submission (``REQUEST_AGE_BUCKETS``), with the oldest submission per status; one row per
    open status, zeros included, in the workflow's order (one query). Unscoped: for the desk's dashboards."""
    now = now or timezone.now()
    aggregates: dict[str, Any] = {}
    for status in OPEN_STATUSES:
        aggregates[f"{status}__oldest"] = Min("submitted_at", filter=Q(status=status))
        for key, low, high in REQUEST_AGE_BUCKETS:
            condition = Q(status=status, submitted_at__lte=now - timedelta(hours=low))
            if high is not None:
                condition &= Q(submitted_at__gt=now - timedelta(hours=high))
            aggregates[f"{status}__{key}"] = Count("pk", filter=condition)
    row = BorrowRequest.objects.filter(status__in=OPEN_STATUSES).aggregate(**aggregates)
    return [
        PendingStatus(
            status=str(status),
            count=sum(row[f"{status}__{key}"] for key, _, _ in REQUEST_AGE_BUCKETS),
            oldest_submitted_at=row[f"{status}__oldest"],
            by_age={key: row[f"{status}__{key}"] for key, _, _ in REQUEST_AGE_BUCKETS},
        )
        for status in OPEN_STATUSES
    ]
