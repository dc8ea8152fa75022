"""Reads of borrow requests: scoped lists, one request, and the approval queue."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from borrowdesk.access.roles import user_roles
from borrowdesk.refdata.selectors import counterparties_for_trader, is_trader_only
from requests_app.models import APPROVER_ROLES, AWAITING_APPROVAL, Approval, BorrowRequest

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
    not their own, and not already decided by them."""
    roles = sorted(user_roles(user) & set(APPROVER_ROLES))
    decided_by_user = Approval.objects.filter(request=OuterRef("pk"), user=user)
    return (
        BorrowRequest.objects.select_related(*_RELATED)
        .filter(status__in=AWAITING_APPROVAL, next_role__in=roles)
        .exclude(requested_by=user)
        .exclude(Exists(decided_by_user))
        .order_by("-rank_key", "id")
    )
