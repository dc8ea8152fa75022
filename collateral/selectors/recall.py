"""Recall suggestions: when inventory of an asset runs short, which open loans to call back, and why.

A person decides and starts each recall (inventory's ``recall_loan``, action ``loans.operate``); this
module only ranks and adds up. The stress run's recall section uses the same functions, so a lender run
and the recalls page rank loans by one rule.

The ranking (``rank_candidates``) gives each active loan of an asset a score in points, the sum of
four parts, each worth up to its weight in ``settings.COLLATERAL_RECALL_WEIGHTS``; the highest score is
suggested first:

- ``rate``: a lower rate first (the least fee revenue lost): the asset's lowest rate gets every point,
  its highest none, linearly between.
- ``term``: an open-ended loan (callable any day) gets every point, a fixed-term one none.
- ``coverage``: a weaker counterparty first: coverage at or above the counterparty's return level gets
  none, at or below its critical level every point, linearly between. A coverage under review (a
  missing, stale or disputed mark) gets none: nothing is ranked on a bad price.
- ``relationship``: a smaller relationship first: the counterparty's open notional (its exposure in
  USD, all assets) — the smallest among the asset's borrowers gets every point, the largest none.
  Unknown (no mark): none.

When every loan has the same rate (or relationship), each gets the whole part: equal points, no effect
on the order. Ties: the lower rate, then the older loan. Each part comes with its reason in words
("rate 2.00 % (lowest of 5)", "coverage 1.21 (below call)").

What is short (``recall_plan``): the demand to meet is met first from the firm's available inventory
and from recalls already in flight (open recalls on the asset's loans, units on their way back); the
rest is the gap, and the ranked loans are taken in order, each for what is still recallable on it
(open quantity less its open recalls), until the gap is covered; what they cannot cover is the gap
left. Only active loans can be recalled (inventory's rule); a loan pending delivery is not offered.

The interface (others call these)
---------------------------------
``recall_plan(*, asset, demand, at=None) -> RecallPlan``: one asset (four queries).
``recall_plans(*, demands, coverage=None, at=None) -> list[RecallPlan]``: several assets, by asset id
    (four queries whatever their number; three when ``coverage`` rows are given, as the stress passes
    its stressed ones).
``rank_candidates(loans, coverage, weights=None) -> list[RecallCandidate]``: the ranking itself (no
    query), for loans of one asset.
``lender_inventory() -> dict[int, LenderInventory]``: inventory received from lender counterparties,
    per asset (one query).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from borrowdesk.formatting import usd
from borrowdesk.refdata.models import Asset, CounterpartyKind
from collateral.selectors.coverage import CoverageRow, coverage_rows
from inventory.models import Bucket, Entry, JournalKind, Loan, LoanStatus, Recall, RecallStatus
from inventory.selectors import availability_by_asset_id, book

ZERO = Decimal(0)
POINTS = Decimal("0.01")
PARTS = ("rate", "term", "coverage", "relationship")


def recall_weights() -> dict[str, Decimal]:
    """The points of each part (settings.COLLATERAL_RECALL_WEIGHTS); a part not set weighs 0."""
    configured = settings.COLLATERAL_RECALL_WEIGHTS
    return {part: Decimal(str(configured.get(part, 0))) for part in PARTS}


@dataclass(frozen=True)
class LoanToRank:
    """What the ranking reads of one active loan."""

    loan_id: int
    counterparty_id: int
    counterparty_code: str
    asset_id: int
    asset_symbol: str
    rate_bps: Decimal
    term_days: int | None
    maturity_date: date | None
    open_quantity: Decimal
    under_recall: Decimal  # open recalls already issued on it

    @property
    def recallable(self) -> Decimal:
        return max(ZERO, self.open_quantity - self.under_recall)


@dataclass(frozen=True)
class RecallCandidate:
    loan: LoanToRank
    score: Decimal
    parts: dict[str, Decimal]
    reasons: list[str]
    coverage_ratio: Decimal | None
    coverage_state: str | None  # ok, warning, call, critical; needs_review under review
    relationship_usd: Decimal | None

    @property
    def loan_id(self) -> int:
        return self.loan.loan_id


@dataclass(frozen=True)
class PlannedRecall:
    candidate: RecallCandidate
    quantity: Decimal  # to recall from this loan
    cumulative: Decimal  # recalled so far, this loan included


@dataclass(frozen=True)
class RecallPlan:
    asset_id: int
    asset_symbol: str
    asset_decimals: int
    demand: Decimal
    available: Decimal
    in_flight: Decimal  # open recalls on the asset's loans: units already on their way back
    candidates: list[RecallCandidate] = field(default_factory=list)  # every recallable loan, ranked
    loans: list[PlannedRecall] = field(default_factory=list)  # the ones needed to cover the gap

    @property
    def gap(self) -> Decimal:
        """The demand that available inventory and recalls in flight do not meet."""
        return _gap(self.demand, self.available, self.in_flight)

    @property
    def recalled(self) -> Decimal:
        return sum((p.quantity for p in self.loans), ZERO)

    @property
    def gap_left(self) -> Decimal:
        """What recalling every suggested loan still leaves short."""
        return max(ZERO, self.gap - self.recalled)


def _gap(demand: Decimal, available: Decimal, in_flight: Decimal) -> Decimal:
    return max(ZERO, demand - available - in_flight)


# --- the ranking ---------------------------------------------------------------------------------


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _rank_phrase(value: Decimal, values: Sequence[Decimal], low: str, high: str, noun: str) -> str:
    """Where ``value`` stands among ``values`` (``lowest of 5``, ``2nd lowest of 5``, ``highest of 5``)."""
    n = len(values)
    if n == 1:
        return f"the only {noun}"
    distinct = sorted(set(values))
    if len(distinct) == 1:
        return f"the same for all {n}"
    position = distinct.index(value) + 1
    if position == 1:
        return f"{low} of {n}"
    if position == len(distinct):
        return f"{high} of {n}"
    return f"{_ordinal(position)} {low} of {n}"


def _scaled(value: Decimal, best: Decimal, worst: Decimal) -> Decimal:
    """1 at ``best``, 0 at ``worst``, linear between (clamped); 1 when they are equal."""
    if best == worst:
        return Decimal(1)
    share = (worst - value) / (worst - best)
    return min(Decimal(1), max(ZERO, share))


_BELOW = {"ok": "ok", "warning": "below warning", "call": "below call", "critical": "below critical"}


def _coverage_part(row: CoverageRow | None) -> tuple[Decimal, str, Decimal | None, str | None]:
    """(share of the coverage part 0–1, reason, ratio, state) for a counterparty's coverage row."""
    if row is None or row.needs_review or row.ratio_state is None or row.coverage_ratio is None:
        why = row.review_reason if row is not None and row.review_reason else "figures unknown"
        ratio = row.coverage_ratio if row is not None else None
        return ZERO, f"coverage under review ({why}): no points", ratio, "needs_review"
    ratio = row.coverage_ratio
    # 1 at or below the critical level, 0 at or above the return level.
    share = _scaled(ratio, row.critical_ratio, row.return_ratio)
    return share, f"coverage {ratio:.2f} ({_BELOW[row.ratio_state]})", ratio, row.ratio_state


def rank_candidates(
    loans: Iterable[LoanToRank],
    coverage: Mapping[int, CoverageRow],
    weights: Mapping[str, Decimal] | None = None,
) -> list[RecallCandidate]:
    """Rank one asset's recallable loans for recall, best first, each with its score, parts and
    reasons (see the module docstring). ``coverage``: the coverage row of each borrower, by
    counterparty id. No query."""
    w = dict(weights) if weights is not None else recall_weights()
    pool = [loan for loan in loans if loan.recallable > 0]
    if not pool:
        return []
    rates = [loan.rate_bps for loan in pool]
    relationships: dict[int, Decimal | None] = {}
    for loan in pool:
        row = coverage.get(loan.counterparty_id)
        relationships[loan.counterparty_id] = row.exposure_usd if row is not None else None
    known_relationships = [v for v in relationships.values() if v is not None]
    ranked: list[RecallCandidate] = []
    for loan in pool:
        rate_share = _scaled(loan.rate_bps, min(rates), max(rates))
        rate_rank = _rank_phrase(loan.rate_bps, rates, "lowest", "highest", "loan")
        rate_reason = f"rate {loan.rate_bps / 100:.2f} % ({rate_rank})"
        if loan.term_days is None:
            term_share, term_reason = Decimal(1), "open-ended: callable any day"
        else:
            term_share = ZERO
            term_reason = (
                f"fixed term to {loan.maturity_date.isoformat()}"
                if loan.maturity_date
                else f"fixed term of {loan.term_days} days"
            )
        row = coverage.get(loan.counterparty_id)
        coverage_share, coverage_reason, ratio, state = _coverage_part(row)
        relationship = relationships[loan.counterparty_id]
        if relationship is None:
            relationship_share, relationship_reason = ZERO, "relationship unknown (no mark): no points"
        else:
            relationship_share = _scaled(relationship, min(known_relationships), max(known_relationships))
            phrase = _rank_phrase(relationship, list(known_relationships), "smallest", "largest", "borrower")
            relationship_reason = f"relationship {usd(relationship)} open ({phrase})"
        parts = {
            "rate": (w["rate"] * rate_share).quantize(POINTS),
            "term": (w["term"] * term_share).quantize(POINTS),
            "coverage": (w["coverage"] * coverage_share).quantize(POINTS),
            "relationship": (w["relationship"] * relationship_share).quantize(POINTS),
        }
        ranked.append(
            RecallCandidate(
                loan=loan,
                score=sum(parts.values(), ZERO),
                parts=parts,
                reasons=[rate_reason, term_reason, coverage_reason, relationship_reason],
                coverage_ratio=ratio,
                coverage_state=state,
                relationship_usd=relationship,
            )
        )
    ranked.sort(key=lambda c: (-c.score, c.loan.rate_bps, c.loan.loan_id))
    return ranked


def plan_recalls(candidates: Sequence[RecallCandidate], gap: Decimal) -> list[PlannedRecall]:
    """The ranked loans taken in order, each for what is recallable on it, until ``gap`` is covered."""
    planned: list[PlannedRecall] = []
    cumulative = ZERO
    for candidate in candidates:
        if cumulative >= gap:
            break
        quantity = min(candidate.loan.recallable, gap - cumulative)
        cumulative += quantity
        planned.append(PlannedRecall(candidate=candidate, quantity=quantity, cumulative=cumulative))
    return planned


# --- reads ---------------------------------------------------------------------------------------


def loans_to_rank(asset_ids: Iterable[int]) -> dict[int, list[LoanToRank]]:
    """The active loans of the assets, by asset id, with the rate in force and the quantity under open
    recall (inventory's book selector: one query)."""
    found: dict[int, list[LoanToRank]] = defaultdict(list)
    rows = (
        book()
        .filter(status=LoanStatus.ACTIVE, asset_id__in=list(asset_ids), open_quantity__gt=0)
        .order_by("id")
    )
    for loan in rows:
        found[loan.asset_id].append(_to_rank(loan))
    return found


def _to_rank(loan: Loan) -> LoanToRank:
    return LoanToRank(
        loan_id=loan.pk,
        counterparty_id=loan.counterparty_id,
        counterparty_code=loan.counterparty.code,
        asset_id=loan.asset_id,
        asset_symbol=loan.asset.symbol,
        rate_bps=loan.rate_in_force_bps,  # type: ignore[attr-defined]  # book()'s annotation
        term_days=loan.term_days,
        maturity_date=loan.maturity_date,
        open_quantity=loan.open_quantity,
        under_recall=loan.open_recall_quantity,  # type: ignore[attr-defined]
    )


def recalls_in_flight(asset_ids: Iterable[int]) -> dict[int, Decimal]:
    """Open recalls on active loans, summed per asset: units already asked back (one query)."""
    rows = (
        Recall.objects.filter(
            status=RecallStatus.OPEN, loan__status=LoanStatus.ACTIVE, loan__asset_id__in=list(asset_ids)
        )
        .values("loan__asset_id")
        .annotate(total=Sum("quantity"))
    )
    return {r["loan__asset_id"]: r["total"] for r in rows}


@dataclass(frozen=True)
class LenderInventory:
    asset_id: int
    asset_symbol: str
    asset_decimals: int
    quantity: Decimal


def lender_inventory() -> dict[int, LenderInventory]:
    """Inventory received from lender counterparties, per asset (one query): the ``available`` lines
    of ``receipt`` journals whose ``source_counterparty`` is of kind lender.

    Gross of returns: the ledger has no journal that gives inventory back to a lender (no such kind;
    an adjustment names no counterparty), so there is nothing to net. When one is added, net it here.
    """
    rows = (
        Entry.objects.filter(
            journal__kind=JournalKind.RECEIPT,
            journal__source_counterparty__kind=CounterpartyKind.LENDER,
            bucket=Bucket.AVAILABLE,
        )
        .values("asset_id", "asset__symbol", "asset__decimals")
        .annotate(total=Sum("quantity"))
        .order_by("asset__symbol")
    )
    return {
        r["asset_id"]: LenderInventory(r["asset_id"], r["asset__symbol"], r["asset__decimals"], r["total"])
        for r in rows
        if r["total"] > 0
    }


def recall_plans(
    *,
    demands: Mapping[Asset, Decimal],
    coverage: Mapping[int, CoverageRow] | None = None,
    at: datetime | None = None,
) -> list[RecallPlan]:
    """For each asset, the demand met from available inventory and recalls in flight, and the loans
    to recall for the rest, ranked (``rank_candidates``) and added up (``plan_recalls``).

    ``coverage``: the borrowers' coverage rows by counterparty id (the stress passes its stressed
    ones); None: their coverage at ``at`` (default now), read here. Queries: availability, recalls
    in flight, the loans, and (without ``coverage``) the borrowers' coverage: four, whatever the
    number of assets. Plans come in the order of ``demands``."""
    assets = list(demands)
    asset_ids = [a.pk for a in assets]
    on_hand = availability_by_asset_id()
    in_flight = recalls_in_flight(asset_ids)
    loans = loans_to_rank(asset_ids)
    if coverage is None:
        borrowers = {loan.counterparty_id for group in loans.values() for loan in group}
        coverage = (
            {row.counterparty_id: row for row in coverage_rows(counterparty_ids=sorted(borrowers), at=at)}
            if borrowers
            else {}
        )
    weights = recall_weights()
    plans = []
    for asset in assets:
        held = on_hand.get(asset.pk)
        available = held.available if held else ZERO
        flying = in_flight.get(asset.pk, ZERO)
        candidates = rank_candidates(loans.get(asset.pk, []), coverage, weights)
        plans.append(
            RecallPlan(
                asset_id=asset.pk,
                asset_symbol=asset.symbol,
                asset_decimals=asset.decimals,
                demand=demands[asset],
                available=available,
                in_flight=flying,
                candidates=candidates,
                loans=plan_recalls(candidates, _gap(demands[asset], available, flying)),
            )
        )
    return plans


def recall_plan(*, asset: Asset, demand: Decimal, at: datetime | None = None) -> RecallPlan:
    """One asset's plan (``recall_plans``): four queries."""
    (plan,) = recall_plans(demands={asset: demand}, at=at)
    return plan
