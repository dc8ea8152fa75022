"""Margin calls as risk works them: the queue (open and escalated first, by due time) and one call,
scoped to what the user may see (a trader: the counterparties they act for; others' are 404)."""

from __future__ import annotations

from django.db.models import BooleanField, Case, ExpressionWrapper, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from borrowdesk.refdata.selectors import counterparties_for_trader, is_trader_only
from collateral.models import OPEN_CALL_STATUSES, MarginCall, MarginCallStatus


def margin_calls(user) -> QuerySet[MarginCall]:
    """Every margin call the user may see, open and escalated first (earliest due first), then the
    closed ones (latest first); with ``is_past_due`` (open or escalated, past its due time). One query."""
    now = timezone.now()
    qs = (
        MarginCall.objects.select_related("counterparty", "closed_by")
        .annotate(
            is_past_due=ExpressionWrapper(
                Q(status__in=OPEN_CALL_STATUSES, due_at__lt=now), output_field=BooleanField()
            ),
            queue_rank=Case(
                When(status=MarginCallStatus.ESCALATED, then=Value(0)),
                When(status=MarginCallStatus.OPEN, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
        .order_by("queue_rank", "due_at", "id")
    )
    if is_trader_only(user):
        qs = qs.filter(counterparty__in=counterparties_for_trader(user))
    return qs


def margin_call(user, pk: int) -> MarginCall:
    """One margin call the user may see; ``MarginCall.DoesNotExist`` otherwise (a 404)."""
    return margin_calls(user).get(pk=pk)
