"""Reads of the settlement queue and the venues' buffers, each in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import Bucket, Position
from treasury.models import BufferTarget, SettlementInstruction, SettlementStatus

ZERO = Decimal(0)
_QTY_FIELD: DecimalField = DecimalField(max_digits=38, decimal_places=18)
OPEN_SETTLEMENT_STATUSES = (SettlementStatus.PENDING, SettlementStatus.FAILED)


def settlements(*, status: str | None = None) -> QuerySet[SettlementInstruction]:
    """The settlement queue: open legs (pending, failed) first by due time, then the rest newest first."""
    qs = SettlementInstruction.objects.select_related(
        "asset", "from_account", "to_account", "loan", "loan__counterparty", "counterparty"
    )
    if status:
        qs = qs.filter(status=status)
    open_first = Case(
        When(status__in=OPEN_SETTLEMENT_STATUSES, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return qs.order_by(open_first, "due_at", "-id")


# --- summaries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettlementSummary:
    pending: int  # in the queue, not yet attempted or put back
    failed: int  # last attempt failed, waiting for a retry
    overdue: int  # pending or failed and past its due time
    oldest_due_at: datetime | None  # of the open legs
    window_days: int
    attempts: int  # settle and fail attempts on legs queued within the window
    failed_attempts: int

    @property
    def fail_rate(self) -> Decimal | None:
        """Failed attempts / attempts over the window; None when nothing was attempted."""
        if not self.attempts:
            return None
        return (Decimal(self.failed_attempts) / Decimal(self.attempts)).quantize(Decimal("0.0001"))


def settlement_summary(*, window_days: int = 30, now: datetime | None = None) -> SettlementSummary:
    """The queue's open legs (pending, failed, overdue, the oldest due time) and the fail rate of the
    legs queued in the last ``window_days`` (one query).

    Every settle or fail adds one to a leg's ``attempts``, and only a settle makes it ``settled``, so
    over the window the failed attempts are Σ attempts − the settled legs: a leg that failed twice and
    then settled counts three attempts, two of them failed."""
    now = now or timezone.now()
    is_open = Q(status__in=OPEN_SETTLEMENT_STATUSES)
    in_window = Q(created_at__gte=now - timedelta(days=window_days))
    row = SettlementInstruction.objects.aggregate(
        pending=Count("pk", filter=Q(status=SettlementStatus.PENDING)),
        failed=Count("pk", filter=Q(status=SettlementStatus.FAILED)),
        overdue=Count("pk", filter=is_open & Q(due_at__lt=now)),
        oldest_due_at=Min("due_at", filter=is_open),
        attempts=Coalesce(Sum("attempts", filter=in_window), 0),
        settled=Count("pk", filter=in_window & Q(status=SettlementStatus.SETTLED)),
    )
    return SettlementSummary(
        pending=row["pending"],
        failed=row["failed"],
        overdue=row["overdue"],
        oldest_due_at=row["oldest_due_at"],
        window_days=window_days,
        attempts=row["attempts"],
        failed_attempts=row["attempts"] - row["settled"],
    )


@dataclass(frozen=True)
class BufferLevel:
    asset: str
    venue: str
    balance: Decimal
    min_quantity: Decimal
    target_quantity: Decimal

    @property
    def state(self) -> str:
        """``below_min`` (short: raise an alert), ``below_target`` (fund when convenient) or ``ok``."""
        if self.balance < self.min_quantity:
            return "below_min"
        return "below_target" if self.balance < self.target_quantity else "ok"

    @property
    def to_target(self) -> Decimal:
        """What funds the venue back to its target (zero at or above it)."""
        return max(self.target_quantity - self.balance, ZERO)


def buffer_levels() -> list[BufferLevel]:
    """Every buffer target with the level it is held against: the firm's available balance of the asset
    in its own accounts at the venue (allocated and lent quantities are spoken for). One query."""
    balance = (
        Position.objects.filter(
            asset_id=OuterRef("asset_id"),
            account__venue_id=OuterRef("venue_id"),
            account__owner__isnull=True,
            bucket=Bucket.AVAILABLE,
        )
        .order_by()
        .values("asset_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    rows = (
        BufferTarget.objects.annotate(
            balance=Coalesce(Subquery(balance, output_field=_QTY_FIELD), Value(ZERO), output_field=_QTY_FIELD)
        )
        .values_list("asset__symbol", "venue__code", "balance", "min_quantity", "target_quantity")
        .order_by("asset__symbol", "venue__code")
    )
    return [BufferLevel(*row) for row in rows]
