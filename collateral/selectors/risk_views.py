"""Reads for the risk pages: one counterparty's risk page and the risk desk's home page.

Pages read what the revaluation computed: coverage, exposure, collateral value, shortfall and state
come from the stored ``CounterpartyRisk`` row (kept current by the revaluation job, after every new
price and every few minutes), never from a second calculation here. What the page adds is detail the
job does not store: the pledged collateral asset by asset at the current marks with the haircut in
force (the composition chart), the coverage history (``CoverageSnapshot``), calls, limits, breaches
and every version of the counterparty's risk configuration.

Each function runs a fixed number of queries whatever the rows (see each docstring), and the
counterparty is looked up through the user's scope first: a trader reads only the counterparties
they act for; any other is ``Counterparty.DoesNotExist`` (a 404), never a 403 that confirms it exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from borrowdesk import formatting
from borrowdesk.business_day import business_date
from borrowdesk.refdata.models import AccountPurpose, Counterparty
from borrowdesk.refdata.selectors import marks_by_asset_id, visible_counterparties
from collateral.models import (
    OPEN_CALL_STATUSES,
    AssetCap,
    BorrowerLimit,
    BreachKind,
    BreachStatus,
    CollateralAgreement,
    ConfigStatus,
    CounterpartyRisk,
    CoverageSnapshot,
    CoverageState,
    HaircutRule,
    LimitBreach,
    MarginCall,
    Pledge,
)
from inventory.models import OPEN_LOAN_STATUSES, Bucket, Loan, Position
from inventory.selectors import book

ZERO = Decimal(0)
HUNDRED = Decimal(100)
HISTORY_DAYS = 90  # business dates of coverage history on the page
RECENT = 20  # margin calls and breaches listed on the page (newest first, open ones on top)
CONFIG_VERSIONS = 50  # versions of each kind of configuration listed on the page


# --- the counterparty, in the user's scope ----------------------------------------------------------


def counterparty_for(user, code: str) -> Counterparty:
    """The counterparty with this code, if the user may see it (one query). A trader sees only the
    counterparties they act for. Raises ``Counterparty.DoesNotExist`` otherwise."""
    return visible_counterparties(user).get(code=code)


def risk_of(counterparty: Counterparty) -> CounterpartyRisk | None:
    """The revaluation's latest view of the counterparty (one query); None before its first run."""
    return CounterpartyRisk.objects.filter(counterparty=counterparty).first()


# A limit's asset caps with their assets, in one query for all the limits read.
_CAPS = Prefetch("asset_caps", queryset=AssetCap.objects.select_related("asset").order_by("asset__symbol"))


# --- levels in force -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Levels:
    """The coverage levels that apply to a counterparty: its agreement in force, else the desk's
    defaults (``settings.COLLATERAL_LEVELS``)."""

    return_ratio: Decimal
    required_ratio: Decimal
    warning_ratio: Decimal
    call_ratio: Decimal
    critical_ratio: Decimal
    cure_period_hours: int
    call_due_hours: int
    agreement: CollateralAgreement | None = None

    @classmethod
    def defaults(cls) -> Levels:
        levels = settings.COLLATERAL_LEVELS
        return cls(
            return_ratio=Decimal(levels["return_ratio"]),
            required_ratio=Decimal(levels["required_ratio"]),
            warning_ratio=Decimal(levels["warning_ratio"]),
            call_ratio=Decimal(levels["call_ratio"]),
            critical_ratio=Decimal(levels["critical_ratio"]),
            cure_period_hours=int(levels["cure_period_hours"]),
            call_due_hours=int(levels["call_due_hours"]),
        )


def _in_force(qs: QuerySet, at: datetime) -> QuerySet:
    """The versions of one key in force at ``at``, the one that applies first: effective, from at or
    before ``at``, the latest ``effective_from`` (ties: the latest id) — models.py's rule."""
    return qs.filter(status=ConfigStatus.EFFECTIVE, effective_from__lte=at).order_by("-effective_from", "-id")


def levels_in_force(counterparty: Counterparty, at: datetime | None = None) -> Levels:
    """The counterparty's coverage levels at ``at`` (now by default); one query."""
    agreement = _in_force(
        CollateralAgreement.objects.filter(counterparty=counterparty), at or timezone.now()
    ).first()
    if agreement is None:
        return Levels.defaults()
    return Levels(
        return_ratio=agreement.return_ratio,
        required_ratio=agreement.required_ratio,
        warning_ratio=agreement.warning_ratio,
        call_ratio=agreement.call_ratio,
        critical_ratio=agreement.critical_ratio,
        cure_period_hours=agreement.cure_period_hours,
        call_due_hours=agreement.call_due_hours,
        agreement=agreement,
    )


def limit_in_force(counterparty: Counterparty, at: datetime | None = None) -> BorrowerLimit | None:
    """The counterparty's borrower limit in force at ``at`` (now by default) with its asset caps; two
    queries (the limit, its caps). None when it has no limit."""
    return (
        _in_force(BorrowerLimit.objects.filter(counterparty=counterparty), at or timezone.now())
        .select_related("proposed_by", "approved_by")
        .prefetch_related(_CAPS)
        .first()
    )


# --- loans and collateral at the current marks -----------------------------------------------------


@dataclass(frozen=True)
class LoanLine:
    loan: Loan
    mark: Decimal | None  # USD; None: the asset has no mark (never treated as zero)
    exposure: Decimal | None


def open_loans(user, counterparty: Counterparty, marks: dict[int, Any]) -> list[LoanLine]:
    """The counterparty's open loans (pending delivery or active), newest first, each with its
    exposure at the current mark (one query: the borrow book's, scoped to the user). ``marks``:
    ``marks_by_asset_id()``, read once for the page."""
    loans = book(user).filter(counterparty=counterparty, status__in=OPEN_LOAN_STATUSES)
    lines = []
    for loan in loans:
        price = marks.get(loan.asset_id)
        mark = price.price_usd if price is not None else None
        lines.append(
            LoanLine(loan=loan, mark=mark, exposure=loan.open_quantity * mark if mark is not None else None)
        )
    return lines


# How a counterparty flagged for default has its loans closed out (settings.COLLATERAL_LIQUIDATION_ORDER):
# the sort key of each order, and its words for the page. A loan whose asset has no mark sorts last.
LIQUIDATION_ORDERS: dict[str, tuple[str, Any]] = {
    "exposure_desc": (
        "largest exposure first",
        lambda line: (line.exposure is None, -(line.exposure or 0), line.loan.pk),
    ),
    "rate_desc": ("highest rate first", lambda line: (-line.loan.rate_bps, line.loan.pk)),
    "oldest_first": ("oldest first", lambda line: (line.loan.created_at, line.loan.pk)),
}


def liquidation_order(lines: list[LoanLine]) -> tuple[str, list[LoanLine]]:
    """The loans of a counterparty flagged for default in the order they are to be closed out
    (``COLLATERAL_LIQUIDATION_ORDER``: exposure_desc, rate_desc or oldest_first), and that order in
    words. Raises ``ImproperlyConfigured`` for an unknown order."""
    try:
        words, key = LIQUIDATION_ORDERS[settings.COLLATERAL_LIQUIDATION_ORDER]
    except KeyError:
        raise ImproperlyConfigured(
            f"COLLATERAL_LIQUIDATION_ORDER must be one of {', '.join(LIQUIDATION_ORDERS)}."
        ) from None
    return words, sorted(lines, key=key)


@dataclass(frozen=True)
class CollateralLine:
    """Pledged collateral of one asset at one venue, valued at the current mark and haircut in force."""

    asset: str
    venue: str
    label: str  # the chart's label: the asset, and its venue when the asset is held at two
    quantity: Decimal
    mark: Decimal | None  # None: no mark (the value is unknown, never zero)
    mark_as_of: datetime | None
    market_value: Decimal | None
    haircut_pct: Decimal | None  # None: no rule in force, the asset is not eligible (valued at 0)
    value: Decimal | None  # after the haircut
    share_pct: Decimal | None  # of the counterparty's collateral at market value
    next_expiry: date | None

    @property
    def is_eligible(self) -> bool:
        return self.haircut_pct is not None and self.haircut_pct < HUNDRED


def haircut_rules_in_force(
    counterparty: Counterparty, asset_ids: Iterable[int], at: datetime
) -> dict[tuple[int, int | None, int | None], HaircutRule]:
    """The haircut rule in force at ``at`` for every (asset, counterparty or none, venue or none) key
    that could apply to this counterparty's collateral in these assets (one query, DISTINCT ON key)."""
    rules = (
        HaircutRule.objects.filter(
            Q(counterparty=counterparty) | Q(counterparty__isnull=True),
            asset_id__in=list(asset_ids),
            status=ConfigStatus.EFFECTIVE,
            effective_from__lte=at,
        )
        .order_by("asset_id", "counterparty_id", "venue_id", "-effective_from", "-id")
        .distinct("asset_id", "counterparty_id", "venue_id")
    )
    return {(r.asset_id, r.counterparty_id, r.venue_id): r for r in rules}


def applicable_haircut(
    rules: dict[tuple[int, int | None, int | None], HaircutRule],
    asset_id: int,
    counterparty_id: int,
    venue_id: int,
) -> HaircutRule | None:
    """The most specific rule: counterparty+venue > counterparty > venue > asset only (the issue's
    order); None when no rule applies (the asset is not eligible)."""
    for key in (
        (asset_id, counterparty_id, venue_id),
        (asset_id, counterparty_id, None),
        (asset_id, None, venue_id),
        (asset_id, None, None),
    ):
        if key in rules:
            return rules[key]
    return None


def collateral_composition(
    counterparty: Counterparty, marks: dict[int, Any], at: datetime | None = None
) -> list[CollateralLine]:
    """The counterparty's pledged collateral by asset and venue, largest market value first, at the
    current marks and the haircuts in force (three queries: the pledged positions of its collateral
    accounts, the haircut rules, the next expiry of its pledges). ``marks``: ``marks_by_asset_id()``."""
    at = at or timezone.now()
    held = list(
        Position.objects.filter(
            bucket=Bucket.PLEDGED,
            account__owner=counterparty,
            account__purpose=AccountPurpose.COLLATERAL,
            quantity__gt=0,
        )
        .values("asset_id", "asset__symbol", "account__venue_id", "account__venue__code")
        .annotate(total=Sum("quantity"))
        .order_by("asset__symbol", "account__venue__code")
    )
    if not held:
        return []
    rules = haircut_rules_in_force(counterparty, {row["asset_id"] for row in held}, at)
    expiries: dict[tuple[int, int], date] = {}
    for pledge in (
        Pledge.objects.filter(counterparty=counterparty, expires_on__gte=business_date(at))
        .values("asset_id", "account__venue_id")
        .annotate(first=Min("expires_on"))
        .order_by()
    ):
        expiries[pledge["asset_id"], pledge["account__venue_id"]] = pledge["first"]
    venues_per_asset: dict[int, int] = {}
    for row in held:
        venues_per_asset[row["asset_id"]] = venues_per_asset.get(row["asset_id"], 0) + 1
    lines = []
    for row in held:
        price = marks.get(row["asset_id"])
        mark = price.price_usd if price is not None else None
        rule = applicable_haircut(rules, row["asset_id"], counterparty.pk, row["account__venue_id"])
        haircut = rule.haircut_pct if rule is not None else None
        market = row["total"] * mark if mark is not None else None
        if market is None:
            value = None
        elif haircut is None:
            value = ZERO  # not eligible: valued at 0
        else:
            value = market * (HUNDRED - haircut) / HUNDRED
        several = venues_per_asset[row["asset_id"]] > 1
        lines.append(
            CollateralLine(
                asset=row["asset__symbol"],
                venue=row["account__venue__code"],
                label=f"{row['asset__symbol']} ({row['account__venue__code']})"
                if several
                else row["asset__symbol"],
                quantity=row["total"],
                mark=mark,
                mark_as_of=price.as_of if price is not None else None,
                market_value=market,
                haircut_pct=haircut,
                value=value,
                share_pct=None,
                next_expiry=expiries.get((row["asset_id"], row["account__venue_id"])),
            )
        )
    total = sum((line.market_value for line in lines if line.market_value is not None), ZERO)
    shared = [
        CollateralLine(
            **{
                **line.__dict__,
                "share_pct": (line.market_value * HUNDRED / total).quantize(Decimal("0.1"))
                if total and line.market_value is not None
                else None,
            }
        )
        for line in lines
    ]
    return sorted(
        shared, key=lambda line: (line.market_value is None, -(line.market_value or ZERO), line.label)
    )


# --- history, calls, breaches, configuration -------------------------------------------------------


def coverage_history(counterparty: Counterparty, days: int = HISTORY_DAYS) -> list[CoverageSnapshot]:
    """The counterparty's coverage by business date, oldest first, the last ``days`` dates (one query)."""
    latest = CoverageSnapshot.objects.filter(counterparty=counterparty).order_by("-business_date")[:days]
    return list(reversed(list(latest)))


def margin_calls_of(counterparty: Counterparty, limit: int = RECENT) -> list[MarginCall]:
    """The counterparty's margin calls, the open one first, then the newest (one query)."""
    return list(
        MarginCall.objects.filter(counterparty=counterparty)
        .select_related("closed_by")
        .order_by(F("closed_at").desc(nulls_first=True), "-issued_at", "-id")[:limit]
    )


def breaches_of(counterparty: Counterparty, limit: int = RECENT) -> list[LimitBreach]:
    """The counterparty's limit breaches, open ones first, then the newest (one query)."""
    return list(
        LimitBreach.objects.filter(counterparty=counterparty)
        .select_related("asset")
        .order_by(F("resolved_at").desc(nulls_first=True), "-opened_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class ConfigHistory:
    """Every version of the counterparty's risk configuration, newest proposal first; each row carries
    ``is_in_force`` (the version of its key that applies now)."""

    haircuts: list[HaircutRule]  # the rules narrowed to this counterparty (not the asset-wide ones)
    limits: list[BorrowerLimit]
    agreements: list[CollateralAgreement]


def configuration_history(counterparty: Counterparty, at: datetime | None = None) -> ConfigHistory:
    """Haircut rules scoped to the counterparty, its limits (with their asset caps) and its
    agreements: every version with who proposed and approved it, its status and from when it applies
    (four queries: one per kind, and the limits' caps). At most ``CONFIG_VERSIONS`` of each kind."""
    at = at or timezone.now()
    people = ("proposed_by", "approved_by")
    haircuts = list(
        HaircutRule.objects.filter(counterparty=counterparty)
        .select_related("asset", "venue", *people)
        .order_by("-proposed_at", "-id")[:CONFIG_VERSIONS]
    )
    limits = list(
        BorrowerLimit.objects.filter(counterparty=counterparty)
        .select_related(*people)
        .prefetch_related(_CAPS)
        .order_by("-proposed_at", "-id")[:CONFIG_VERSIONS]
    )
    agreements = list(
        CollateralAgreement.objects.filter(counterparty=counterparty)
        .select_related(*people)
        .order_by("-proposed_at", "-id")[:CONFIG_VERSIONS]
    )
    _mark_in_force(haircuts, at, key=lambda rule: (rule.asset_id, rule.venue_id))
    _mark_in_force(limits, at)
    _mark_in_force(agreements, at)
    return ConfigHistory(haircuts=haircuts, limits=limits, agreements=agreements)


def _mark_in_force(rows: list[Any], at: datetime, key=lambda row: None) -> None:
    """Set ``is_in_force`` on each version: the effective one of its key with the latest
    ``effective_from`` at or before ``at`` (ties: the latest id), as ``_in_force`` picks it."""
    best: dict[Any, Any] = {}
    for row in rows:
        if row.status != ConfigStatus.EFFECTIVE or row.effective_from > at:
            continue
        current = best.get(key(row))
        if current is None or (row.effective_from, row.pk) > (current.effective_from, current.pk):
            best[key(row)] = row
    chosen = {row.pk for row in best.values()}
    for row in rows:
        row.is_in_force = row.pk in chosen


def breach_figures(breach: LimitBreach) -> tuple[str, str]:
    """(what the check found, what the limit allows) as the desk reads them, by kind of limit."""
    if breach.kind == BreachKind.EXPOSURE:
        return formatting.usd(breach.figure), formatting.usd(breach.limit_value)
    if breach.kind == BreachKind.COVERAGE:
        return formatting.ratio_pct(breach.figure), f"at least {formatting.ratio_pct(breach.limit_value)}"
    if breach.kind == BreachKind.TENOR:
        return f"{formatting.qty(breach.figure)} days", f"{formatting.qty(breach.limit_value)} days"
    symbol = breach.asset.symbol if breach.asset is not None else ""
    return (
        f"{formatting.qty(breach.figure)} {symbol}".strip(),
        f"{formatting.qty(breach.limit_value)} {symbol}".strip(),
    )


# --- the risk desk's home page: what needs it now --------------------------------------------------


@dataclass(frozen=True)
class Worklist:
    """A home-page panel: how many rows need attention and the first few of them."""

    count: int
    rows: list[Any]


def _worklist(qs: QuerySet, limit: int) -> Worklist:
    """The first ``limit`` rows and the total count in one query (a window count over the filter,
    computed before the LIMIT)."""
    rows = list(qs.annotate(total_count=Window(Count("pk")))[:limit])
    return Worklist(count=rows[0].total_count if rows else 0, rows=rows)


def margin_calls_due(limit: int = 5) -> Worklist:
    """Open and escalated margin calls, the soonest due first (one query)."""
    return _worklist(
        MarginCall.objects.filter(status__in=OPEN_CALL_STATUSES)
        .select_related("counterparty")
        .order_by("due_at", "id"),
        limit,
    )


def open_breaches(limit: int = 5) -> Worklist:
    """Open limit and covenant breaches, the oldest first (one query)."""
    return _worklist(
        LimitBreach.objects.filter(status=BreachStatus.OPEN)
        .select_related("counterparty", "asset")
        .order_by("opened_at", "id"),
        limit,
    )


def needing_review(limit: int = 5) -> Worklist:
    """Counterparties in ``needs_review`` (a mark missing, stale or disputed), longest first (one query)."""
    return _worklist(
        CounterpartyRisk.objects.filter(state=CoverageState.NEEDS_REVIEW)
        .select_related("counterparty")
        .order_by("state_since", "id"),
        limit,
    )


def _cure_hours() -> Subquery:
    """The cure period of the counterparty's agreement in force now (a subquery on ``counterparty``)."""
    agreements = _in_force(
        CollateralAgreement.objects.filter(counterparty=OuterRef("counterparty")), timezone.now()
    )
    return Subquery(agreements.values("cure_period_hours")[:1], output_field=IntegerField())


def critical_in_cure(limit: int = 5) -> Worklist:
    """Counterparties in their cure period (below critical since ``critical_since``, not yet flagged for
    default; the clock runs on through ``needs_review``), the cure ending soonest first; each row
    carries ``cure_ends_at`` (its agreement's cure period, else the default; one query)."""
    hours = Coalesce(_cure_hours(), Value(int(settings.COLLATERAL_LEVELS["cure_period_hours"])))
    cure_ends = ExpressionWrapper(
        F("critical_since")
        + ExpressionWrapper(hours * Value(timedelta(hours=1)), output_field=DurationField()),
        output_field=DateTimeField(),
    )
    return _worklist(
        CounterpartyRisk.objects.filter(critical_since__isnull=False, default_flagged_at__isnull=True)
        .select_related("counterparty")
        .annotate(cure_ends_at=cure_ends)
        .order_by("cure_ends_at", "id"),
        limit,
    )


def flagged_for_default(limit: int = 5) -> Worklist:
    """Counterparties whose cure period elapsed below critical, the earliest flagged first (one query)."""
    return _worklist(
        CounterpartyRisk.objects.filter(default_flagged_at__isnull=False)
        .select_related("counterparty")
        .order_by("default_flagged_at", "id"),
        limit,
    )


@dataclass(frozen=True)
class PendingChange:
    kind: str  # haircut, limit, agreement
    row: Any
    proposed_at: datetime


def pending_approvals_for(user, limit: int = 5) -> Worklist:
    """Loosenings of risk configuration waiting for a second risk user, that this user may approve
    (proposed by someone else), the oldest first (three queries: one per kind of configuration)."""
    waiting = Q(status=ConfigStatus.PENDING_APPROVAL) & ~Q(proposed_by=user)
    parts = [
        (
            "haircut",
            HaircutRule.objects.filter(waiting).select_related(
                "asset", "venue", "counterparty", "proposed_by"
            ),
        ),
        ("limit", BorrowerLimit.objects.filter(waiting).select_related("counterparty", "proposed_by")),
        (
            "agreement",
            CollateralAgreement.objects.filter(waiting).select_related("counterparty", "proposed_by"),
        ),
    ]
    count, rows = 0, []
    for kind, qs in parts:
        found = _worklist(qs.order_by("proposed_at", "id"), limit)
        count += found.count
        rows += [PendingChange(kind=kind, row=row, proposed_at=row.proposed_at) for row in found.rows]
    rows.sort(key=lambda change: change.proposed_at)
    return Worklist(count=count, rows=rows[:limit])


def expiring_collateral(limit: int = 5, days: int | None = None) -> Worklist:
    """Pledges whose collateral lapses within ``days`` (``COLLATERAL_EXPIRY_WARNING_DAYS``) from today's
    business date, the soonest first (one query)."""
    today = business_date()
    horizon = today + timedelta(days=settings.COLLATERAL_EXPIRY_WARNING_DAYS if days is None else days)
    return _worklist(
        Pledge.objects.filter(expires_on__gte=today, expires_on__lte=horizon)
        .select_related("counterparty", "asset")
        .order_by("expires_on", "id"),
        limit,
    )


@dataclass(frozen=True)
class CoverageSummary:
    """The desk's coverage in a few figures, for the home page of those who watch it."""

    counterparties: int
    by_state: dict[str, int]
    exposure_usd: Decimal
    collateral_value_usd: Decimal
    shortfall_usd: Decimal
    flagged_for_default: int
    open_calls: int
    open_calls_usd: Decimal


def coverage_summary() -> CoverageSummary:
    """Counterparties by coverage state with the desk's total exposure, collateral value after
    haircuts and shortfall, from the revaluation's stored rows; open margin calls and their amount
    (two queries)."""
    by_state: dict[str, int] = {}
    exposure = collateral = shortfall = ZERO
    flagged = 0
    for row in (
        CounterpartyRisk.objects.values("state")
        .annotate(
            n=Count("id"),
            exposure=Sum("exposure_usd"),
            collateral=Sum("collateral_value_usd"),
            shortfall=Sum("shortfall_usd"),
            flagged=Count("id", filter=Q(default_flagged_at__isnull=False)),
        )
        .order_by("state")
    ):
        by_state[row["state"]] = row["n"]
        exposure += row["exposure"] or ZERO
        collateral += row["collateral"] or ZERO
        shortfall += row["shortfall"] or ZERO
        flagged += row["flagged"]
    calls = MarginCall.objects.filter(status__in=OPEN_CALL_STATUSES).aggregate(
        n=Count("id"), usd=Sum("amount_usd")
    )
    return CoverageSummary(
        counterparties=sum(by_state.values()),
        by_state={state: by_state[state] for state in CoverageState.values if state in by_state},
        exposure_usd=exposure,
        collateral_value_usd=collateral,
        shortfall_usd=shortfall,
        flagged_for_default=flagged,
        open_calls=calls["n"],
        open_calls_usd=calls["usd"] or ZERO,
    )


def page_marks() -> dict[int, Any]:
    """The mark of every asset, by id (one query), shared by a page's loans and collateral."""
    return marks_by_asset_id()
