from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from treasury.models import SettlementInstruction, SettlementStatus


def settlements(*, status: str | None = None) -> QuerySet[SettlementInstruction]:
    """The settlement queue: open legs (pending, failed) first by due time, then the rest newest first."""
    qs = SettlementInstruction.objects.select_related(
        "asset", "from_account", "to_account", "loan", "loan__counterparty", "counterparty"
    )
    if status:
        qs = qs.filter(status=status)
    open_first = Case(
        When(status__in=[SettlementStatus.PENDING, SettlementStatus.FAILED], then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return qs.order_by(open_first, "due_at", "-id")
