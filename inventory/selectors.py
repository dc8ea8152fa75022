"""Reads of the ledger and the borrow book, each in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import BooleanField, DecimalField, ExpressionWrapper, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from borrowdesk.refdata.models import Asset
from inventory.models import Bucket, Journal, Loan, Position

ZERO = Decimal(0)


@dataclass(frozen=True)
class Availability:
    asset: str
    available: Decimal
    allocated: Decimal
    on_loan: Decimal

    @property
    def utilization(self) -> Decimal:
        """(allocated + on_loan) / (available + allocated + on_loan); zero when nothing is held."""
        total = self.available + self.allocated + self.on_loan
        return ((self.allocated + self.on_loan) / total).quantize(Decimal("0.0001")) if total else ZERO


def _bucket_sum(bucket: str):
    return Coalesce(
        Sum("quantity", filter=Q(bucket=bucket)),
        Value(ZERO),
        output_field=DecimalField(max_digits=38, decimal_places=18),
    )


def availability(asset_symbol: str | None = None) -> list[Availability]:
    """Available, allocated and on-loan totals per asset across the firm's accounts (one query)."""
    qs = Position.objects.filter(account__owner__isnull=True).exclude(bucket=Bucket.EXTERNAL)
    if asset_symbol:
        qs = qs.filter(asset__symbol=asset_symbol)
    rows = (
        qs.values("asset__symbol")
        .annotate(
            available=_bucket_sum(Bucket.AVAILABLE),
            allocated=_bucket_sum(Bucket.ALLOCATED),
            on_loan=_bucket_sum(Bucket.ON_LOAN),
        )
        .order_by("asset__symbol")
    )
    return [Availability(r["asset__symbol"], r["available"], r["allocated"], r["on_loan"]) for r in rows]


def availability_for(asset: Asset) -> Availability:
    found = availability(asset.symbol)
    return found[0] if found else Availability(asset.symbol, ZERO, ZERO, ZERO)


def availability_by_asset_id() -> dict[int, Availability]:
    """Availability keyed by asset id, for pages listing many requests (one query)."""
    rows = (
        Position.objects.filter(account__owner__isnull=True)
        .exclude(bucket=Bucket.EXTERNAL)
        .values("asset_id", "asset__symbol")
        .annotate(
            available=_bucket_sum(Bucket.AVAILABLE),
            allocated=_bucket_sum(Bucket.ALLOCATED),
            on_loan=_bucket_sum(Bucket.ON_LOAN),
        )
    )
    return {
        r["asset_id"]: Availability(r["asset__symbol"], r["available"], r["allocated"], r["on_loan"])
        for r in rows
    }


def positions(*, asset_symbol: str | None = None, account_code: str | None = None) -> QuerySet[Position]:
    """Non-external positions with their asset and account (one query)."""
    qs = Position.objects.exclude(bucket=Bucket.EXTERNAL).select_related("asset", "account", "account__venue")
    if asset_symbol:
        qs = qs.filter(asset__symbol=asset_symbol)
    if account_code:
        qs = qs.filter(account__code=account_code)
    return qs.order_by("asset__symbol", "account__code", "bucket")


def journals(*, asset_symbol: str | None = None, kind: str | None = None) -> QuerySet[Journal]:
    """Journals newest first with their entries prefetched (two queries per page)."""
    qs = Journal.objects.select_related("created_by", "source_counterparty").prefetch_related(
        "entries__asset", "entries__account"
    )
    if asset_symbol:
        qs = qs.filter(entries__asset__symbol=asset_symbol).distinct()
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id")


def loans() -> QuerySet[Loan]:
    """Loans with what their pages show, and the fee accrued so far (one query)."""
    return Loan.objects.select_related("counterparty", "asset", "account").annotate(
        accrued_fee=Coalesce(
            Sum("accruals__fee"), Value(ZERO), output_field=DecimalField(max_digits=38, decimal_places=18)
        )
    )


def positions_by_account(*, asset_symbol: str | None = None):
    """One row per (asset, account) with its buckets side by side (one query)."""
    qs = Position.objects.exclude(bucket=Bucket.EXTERNAL)
    if asset_symbol:
        qs = qs.filter(asset__symbol=asset_symbol)
    return (
        qs.values("asset__symbol", "account__code", "account__venue__code")
        .annotate(
            available=_bucket_sum(Bucket.AVAILABLE),
            allocated=_bucket_sum(Bucket.ALLOCATED),
            on_loan=_bucket_sum(Bucket.ON_LOAN),
            in_transit=_bucket_sum(Bucket.IN_TRANSIT),
        )
        .order_by("asset__symbol", "account__code")
    )


def book(user=None) -> QuerySet[Loan]:
    """The borrow book with accrued fees and flags (past maturity, open recalls, recall past due for
    buy-in), scoped to a trader's counterparties when the user is one (one query)."""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from borrowdesk.business_day import business_date
    from borrowdesk.refdata.selectors import counterparties_for_trader, is_trader_only
    from inventory.models import LoanAccrual, Recall, RecallStatus

    now = timezone.now()
    fee = (
        LoanAccrual.objects.filter(loan=OuterRef("pk"))
        .values("loan")
        .annotate(total=Sum("fee"))
        .values("total")
    )
    open_recalls = (
        Recall.objects.filter(loan=OuterRef("pk"), status=RecallStatus.OPEN)
        .values("loan")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    qs = Loan.objects.select_related("counterparty", "asset", "account").annotate(
        accrued_fee=Coalesce(
            Subquery(fee), Value(ZERO), output_field=DecimalField(max_digits=38, decimal_places=18)
        ),
        recalled_quantity=Coalesce(
            Subquery(open_recalls), Value(ZERO), output_field=DecimalField(max_digits=38, decimal_places=18)
        ),
        buy_in=Exists(Recall.objects.filter(loan=OuterRef("pk"), status=RecallStatus.OPEN, due_at__lt=now)),
        past_maturity=ExpressionWrapper(
            Q(status="active", maturity_date__lt=business_date()), output_field=BooleanField()
        ),
    )
    if user is not None and is_trader_only(user):
        qs = qs.filter(counterparty__in=counterparties_for_trader(user))
    return qs.order_by("-id")
