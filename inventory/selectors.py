"""Reads of the ledger and the borrow book, each in a fixed number of queries.

Scope before you look up: every read of loans takes the user and narrows first (a trader sees the
loans of the counterparties granted to them, desk staff see all, anyone else sees none), so a loan
outside the user's scope is a 404, never a 403 that confirms it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from borrowdesk.access.roles import has_role
from borrowdesk.business_day import business_date
from borrowdesk.refdata.models import Asset
from borrowdesk.refdata.selectors import counterparties_for_trader
from inventory.models import (
    DEFER_OPEN_TOTALS_SQL,
    FIRE_OPEN_TOTALS_SQL,
    Bucket,
    Entry,
    Journal,
    Loan,
    LoanAccrual,
    Position,
    Recall,
    RecallStatus,
    Rerate,
    RerateStatus,
)

ZERO = Decimal(0)
_QTY_FIELD: DecimalField = DecimalField(max_digits=38, decimal_places=18)
_RATE_FIELD: DecimalField = DecimalField(max_digits=12, decimal_places=4)

# Roles that see the whole book (and the ledger). A trader sees only granted counterparties.
DESK_ROLES = ("ops", "ops_senior", "risk", "compliance", "treasury", "manager", "auditor", "admin")


# --- availability and positions -------------------------------------------------------------------


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
    return Coalesce(Sum("quantity", filter=Q(bucket=bucket)), Value(ZERO), output_field=_QTY_FIELD)


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
    """One asset's availability across the firm's accounts (one query); zeros when it holds none."""
    totals: dict[str, Decimal] = dict.fromkeys((Bucket.AVAILABLE, Bucket.ALLOCATED, Bucket.ON_LOAN), ZERO)
    rows = Position.objects.filter(
        asset_id=asset.pk, account__owner__isnull=True, bucket__in=list(totals)
    ).values_list("bucket", "quantity")
    for bucket, quantity in rows:
        totals[bucket] += quantity
    return Availability(
        asset.symbol, totals[Bucket.AVAILABLE], totals[Bucket.ALLOCATED], totals[Bucket.ON_LOAN]
    )


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
    """Non-external position rows (one per bucket) with their asset and account (one query)."""
    qs = Position.objects.exclude(bucket=Bucket.EXTERNAL).select_related("asset", "account", "account__venue")
    if asset_symbol:
        qs = qs.filter(asset__symbol=asset_symbol)
    if account_code:
        qs = qs.filter(account__code=account_code)
    return qs.order_by("asset__symbol", "account__code", "bucket")


def positions_by_account(*, asset_symbol: str | None = None) -> QuerySet:
    """One row per (asset, account) with its buckets side by side, as dicts (one query).

    Keys: ``asset__symbol``, ``account__code``, ``account__venue__code``, ``available``,
    ``allocated``, ``on_loan``, ``in_transit``. Filter it further with ``PositionFilter``.
    """
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


# --- journals -------------------------------------------------------------------------------------


def journals_touching(qs: QuerySet[Journal], asset_symbol: str) -> QuerySet[Journal]:
    """Journals with at least one line in the asset (EXISTS, so no duplicate rows and no DISTINCT)."""
    return qs.filter(Exists(Entry.objects.filter(journal=OuterRef("pk"), asset__symbol=asset_symbol)))


def journals(*, asset_symbol: str | None = None, kind: str | None = None) -> QuerySet[Journal]:
    """Journals newest first with their creator, lender and entries (one query for the page, then
    the prefetch of its entries with their asset and account: one more)."""
    qs = Journal.objects.select_related("created_by", "source_counterparty").prefetch_related(
        Prefetch("entries", queryset=Entry.objects.select_related("asset", "account").order_by("id"))
    )
    if asset_symbol:
        qs = journals_touching(qs, asset_symbol)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id")


# --- the borrow book ------------------------------------------------------------------------------


def scope_loans(qs: QuerySet[Loan], user) -> QuerySet[Loan]:
    """Narrow loans to what the user may see: all for desk staff, granted counterparties for a
    trader, nothing for anyone else."""
    if user is None:
        return qs  # internal callers (jobs, tests) read the whole book
    if has_role(user, *DESK_ROLES):
        return qs
    if has_role(user, "trader"):
        return qs.filter(counterparty__in=counterparties_for_trader(user))
    return qs.none()


def _rate_in_force(day):
    """The latest accepted rerate in force on ``day``, else the loan's own rate."""
    accepted = (
        Rerate.objects.filter(loan=OuterRef("pk"), status=RerateStatus.ACCEPTED, effective_date__lte=day)
        .order_by("-effective_date", "-id")
        .values("rate_bps")[:1]
    )
    return Coalesce(Subquery(accepted), F("rate_bps"), output_field=_RATE_FIELD)


def book(user=None) -> QuerySet[Loan]:
    """The borrow book, newest first, in one query: each loan with its counterparty, asset and
    account, the fee accrued so far, the rate in force today, the quantity under open recall, and
    the flags (``buy_in``: an open recall is past due; ``is_past_maturity``: active after its
    maturity date). Scoped to what ``user`` may see (``scope_loans``)."""
    now = timezone.now()
    today = business_date()
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
        accrued_fee=Coalesce(Subquery(fee), Value(ZERO), output_field=_QTY_FIELD),
        open_recall_quantity=Coalesce(Subquery(open_recalls), Value(ZERO), output_field=_QTY_FIELD),
        rate_in_force_bps=_rate_in_force(today),
        buy_in=Exists(Recall.objects.filter(loan=OuterRef("pk"), status=RecallStatus.OPEN, due_at__lt=now)),
        is_past_maturity=ExpressionWrapper(
            Q(status="active", maturity_date__lt=today), output_field=BooleanField()
        ),
    )
    return scope_loans(qs, user).order_by("-id")


def loans() -> QuerySet[Loan]:
    """The whole book (no scope), as ``book``. Kept for callers that read every loan."""
    return book()


def _accrual_stat(aggregate, output_field):
    rows = LoanAccrual.objects.filter(loan=OuterRef("pk")).values("loan").annotate(v=aggregate).values("v")
    return Subquery(rows, output_field=output_field)


def loan_detail(user, pk: int) -> Loan:
    """One loan as its page and detail API show it (three queries: the loan with its book
    annotations and accrual summary, its recalls, its rerates). Raises ``Loan.DoesNotExist`` when
    it does not exist or is outside the user's scope."""
    return (
        book(user)
        .annotate(
            accrual_days=Coalesce(
                _accrual_stat(Count("id"), IntegerField()), Value(0), output_field=IntegerField()
            ),
            first_accrual_date=_accrual_stat(Min("business_date"), DateField()),
            last_accrual_date=_accrual_stat(Max("business_date"), DateField()),
        )
        .prefetch_related(
            Prefetch(
                "recalls", queryset=Recall.objects.select_related("created_by").order_by("due_at", "id")
            ),
            Prefetch(
                "rerates",
                queryset=Rerate.objects.select_related("proposed_by", "decided_by").order_by(
                    "effective_date", "id"
                ),
            ),
        )
        .get(pk=pk)
    )


def recent_accruals(loan: Loan, limit: int = 30) -> QuerySet[LoanAccrual]:
    """A loan's latest daily accruals, newest first (one query)."""
    return loan.accruals.order_by("-business_date")[:limit]


def reading_open_totals(sql: str) -> str:
    """``sql`` (one statement reading ``inventory_openloantotal``) as a reader must send it: inside a
    transaction, this transaction's pending loan changes are fired into the totals first (the trigger
    that keeps them is deferred) and the trigger deferred again, in the same round trip, the read last."""
    if not connection.in_atomic_block:
        return sql
    return f"{FIRE_OPEN_TOTALS_SQL}; {DEFER_OPEN_TOTALS_SQL}; {sql}"
