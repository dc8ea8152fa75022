"""Travel-rule and regulator-request reads, for pages and the API (a fixed number of queries)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from compliance.regulator.models import OUTSTANDING, RegulatorRequest
from compliance.travel_rule.models import TravelRuleMessage


def messages() -> QuerySet[TravelRuleMessage]:
    return TravelRuleMessage.objects.select_related(
        "counterparty", "asset", "created_by", "sent_by", "responded_by"
    ).order_by("-created_at", "-id")


def regulator_requests() -> QuerySet[RegulatorRequest]:
    return (
        RegulatorRequest.objects.select_related("owner", "responded_by", "created_by")
        .annotate(evidence_count=Count("evidence"))
        .order_by("due_at", "id")
    )


def overdue_requests() -> QuerySet[RegulatorRequest]:
    """Outstanding requests past their due time: the home page's and the list's flags."""
    return regulator_requests().filter(status__in=OUTSTANDING, due_at__lt=timezone.now())


def regulator_summary() -> dict[str, int]:
    """Counts for the compliance home: outstanding, overdue (drills apart)."""
    now = timezone.now()
    out = Q(status__in=OUTSTANDING)
    return RegulatorRequest.objects.aggregate(
        outstanding=Count("id", filter=out & Q(is_drill=False)),
        overdue=Count("id", filter=out & Q(is_drill=False, due_at__lt=now)),
        drills_overdue=Count("id", filter=out & Q(is_drill=True, due_at__lt=now)),
    )


def blocking_messages() -> QuerySet[TravelRuleMessage]:
    """Current messages that keep their leg from settling: a draft failing validation, or rejected."""
    return messages().filter(is_current=True).filter(Q(status="draft", is_valid=False) | Q(status="rejected"))
