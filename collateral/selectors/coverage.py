"""Coverage: what every counterparty owes, what its collateral is worth after haircuts, and its state.

One set-based SQL statement (``collateral/sql/coverage.sql``, read once at import, so what runs is the
file) computes the figures for all counterparties, or for a list of ids, at an instant, under an
optional stress scenario. Everything that values collateral calls it: the coverage page and API, the
revaluation job and its margin calls, a release's check, stress scenarios and the limit checks. There is
no second implementation.

The interface (others call these)
---------------------------------
``coverage_rows(*, counterparty_ids=None, at=None, scenario=None, pledged_deltas=()) -> list[CoverageRow]``
    ONE query whatever the number of counterparties. ``counterparty_ids=None``: every counterparty;
    a list: those (unknown ids are simply absent). ``at``: the instant (default now): marks, haircut
    rules and agreements as they stood then; staleness measured at ``at``. ``scenario``: a
    ``Scenario`` (markdowns by asset id, a markdown for stablecoins and one for other assets, a
    haircut add-on; haircuts capped at 100); ``None`` or ``Scenario()`` gives exactly the coverage.
    ``pledged_deltas``: hypothetical changes of existing pledged positions, ``(account_id, asset_id,
    quantity)`` signed (a release checks its "after" with ``-quantity``). Rows come ordered by
    counterparty code. The book (loans, pledged positions) is read as it stands; ``at`` applies to
    marks and configuration. Over the issue's book (5,000 counterparties, 50,000 loans, 20,000
    positions) it runs in about 1.6 times a plain SQL aggregate of the same figures
    (tests/bench/test_collateral_bench.py).
``coverage_for(counterparty, *, at=None, scenario=None) -> CoverageRow``
    One counterparty (one query).
``COVERAGE_SQL`` and ``coverage_params(*, counterparty_ids, at)``
    The statement itself and its parameters, for a caller that must read coverage inside a statement
    of its own (the limit check at final approval: one prepared statement reads the limit, this
    coverage and the capped asset's open quantity in one round trip).
``live_state(row, call_status) -> str``
    The state a counterparty is in: ``needs_review`` on a missing, stale or disputed mark, else
    ``critical`` below the critical level, else ``breach`` when its margin call is escalated, ``call``
    while a call is open (or coverage is below the call level), else ``warning`` or ``ok`` by ratio.
``coverage_page_queryset(user)``
    The coverage page: the revaluation's stored ``CounterpartyRisk`` rows (state with breach and the
    default flag, figures as of the last revaluation), scoped to what the user may see, annotated
    with the levels in force and the open call.

A ``CoverageRow`` (all USD figures ``Decimal`` rounded to 8 places, ratios to 6):
``exposure_usd``: Σ open loans (pending delivery, active) × price. ``collateral_value_usd``: Σ pledged
quantity × price × (1 − haircut/100) over eligible collateral. ``ineligible_value_usd``: the market value
of pledged collateral with no haircut rule in force (or a haircut of 100). ``coverage_ratio``: value /
exposure, ``None`` when there is no exposure. The levels in force (``return_ratio`` > ``required_ratio``
≥ ``warning_ratio`` ≥ ``call_ratio`` > ``critical_ratio``, ``cure_period_hours``, ``call_due_hours``):
the counterparty's ``CollateralAgreement`` in force, else ``settings.COLLATERAL_LEVELS``.
``shortfall_usd``: max(0, required × exposure − value), the top-up a margin call asks for.
``excess_usd``: value − required × exposure when coverage is above the return level (a suggested
release), else 0, and 0 while under review. ``needs_review`` and ``review_reason``: some asset the
counterparty holds or owes has no mark, a stale mark, or sources that disagree. ``ratio_state``: ok
(≥ warning, or no exposure), warning (≥ call), call (≥ critical), critical; ``None`` when unknown.
A figure that needs a missing mark is ``None`` (never zero). ``base_*``: the same figures without
the scenario (equal to the main ones when there is none), so a stress run reads before and after
from one execution.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from borrowdesk.refdata.models import Counterparty
from borrowdesk.refdata.selectors import counterparties_for_trader, is_trader_only, mark_sql
from collateral.models import (
    OPEN_CALL_STATUSES,
    RATIO,
    USD,
    CollateralAgreement,
    ConfigStatus,
    CounterpartyRisk,
    CoverageState,
    MarginCall,
    MarginCallStatus,
)
from inventory.selectors import reading_open_totals

SQL_PATH = Path(__file__).resolve().parent.parent / "sql" / "coverage.sql"
# The mark is refdata's rule (mark_sql), as it stood at the valuation's instant, with its as_of for
# the staleness check; substituted once, at import, into the file's placeholder.
COVERAGE_SQL = SQL_PATH.read_text().replace(
    "{mark_of_asset}", mark_sql("ast.id", select="p.price_usd, p.as_of", at="%(at)s::timestamptz")
)


@dataclass(frozen=True)
class Scenario:
    """A stress: percentage price falls (0–100) and a haircut add-on (percentage points).

    ``markdowns``: by asset id; an asset not named falls by ``stablecoin_markdown_pct`` when it is a
    stablecoin, else by ``other_markdown_pct``. ``Scenario()`` is the empty scenario: the coverage."""

    markdowns: Mapping[int, Decimal] = field(default_factory=dict)
    stablecoin_markdown_pct: Decimal = Decimal(0)
    other_markdown_pct: Decimal = Decimal(0)
    haircut_addon_pct: Decimal = Decimal(0)


EMPTY_SCENARIO = Scenario()


class CoverageRow(NamedTuple):
    """One counterparty's coverage (see the module docstring). A named tuple, immutable, its fields in
    the order of the query's columns: the revaluation and the coverage API build 5,000 of them, and
    one ``_make`` per row costs half what filling an object's attributes does (the collateral bench)."""

    counterparty_id: int
    counterparty_code: str
    exposure_usd: Decimal | None
    collateral_value_usd: Decimal | None
    ineligible_value_usd: Decimal | None
    coverage_ratio: Decimal | None
    return_ratio: Decimal
    required_ratio: Decimal
    warning_ratio: Decimal
    call_ratio: Decimal
    critical_ratio: Decimal
    cure_period_hours: int
    call_due_hours: int
    shortfall_usd: Decimal | None
    excess_usd: Decimal
    needs_review: bool
    review_reason: str
    ratio_state: str | None
    base_exposure_usd: Decimal | None
    base_collateral_value_usd: Decimal | None
    base_coverage_ratio: Decimal | None
    base_shortfall_usd: Decimal | None

    @property
    def has_exposure(self) -> bool:
        """Open loans to value (an unknown exposure is one: only open loans make it unknown)."""
        return self.exposure_usd != 0

    @property
    def figures_known(self) -> bool:
        return self.exposure_usd is not None and self.collateral_value_usd is not None

    @property
    def below_call(self) -> bool:
        return self.ratio_state in (CoverageState.CALL, CoverageState.CRITICAL)

    @property
    def meets_required(self) -> bool:
        """Coverage at or above the required level (no exposure meets it); False when unknown."""
        if self.exposure_usd == 0:
            return True
        if not self.figures_known:
            return False
        assert self.exposure_usd is not None and self.collateral_value_usd is not None
        return self.collateral_value_usd >= self.required_ratio * self.exposure_usd


# The unstressed figure each base_* field repeats when there is no scenario.
BASE_FIGURES = {
    "base_exposure_usd": "exposure_usd",
    "base_collateral_value_usd": "collateral_value_usd",
    "base_coverage_ratio": "coverage_ratio",
    "base_shortfall_usd": "shortfall_usd",
}

LEVEL_NAMES = (
    "return_ratio",
    "required_ratio",
    "warning_ratio",
    "call_ratio",
    "critical_ratio",
    "cure_period_hours",
    "call_due_hours",
)
# Where the levels and the base figures sit in a row (the base figures last).
_LEVELS_AT = CoverageRow._fields.index(LEVEL_NAMES[0])
_LEVELS_END = _LEVELS_AT + len(LEVEL_NAMES)
_BASE_AT = len(CoverageRow._fields) - len(BASE_FIGURES)
assert CoverageRow._fields[_LEVELS_AT:_LEVELS_END] == LEVEL_NAMES
assert CoverageRow._fields[_BASE_AT:] == tuple(BASE_FIGURES)
_copy_base = itemgetter(*(CoverageRow._fields.index(figure) for figure in BASE_FIGURES.values()))


def default_levels() -> dict[str, Any]:
    """The levels without an agreement in force (settings.COLLATERAL_LEVELS), as SQL parameters."""
    levels = settings.COLLATERAL_LEVELS
    return {
        **{
            name: Decimal(str(levels[name]))
            for name in ("return_ratio", "required_ratio", "warning_ratio", "call_ratio", "critical_ratio")
        },
        "cure_period_hours": int(levels["cure_period_hours"]),
        "call_due_hours": int(levels["call_due_hours"]),
    }


def _params(
    *,
    counterparty_ids: Iterable[int] | None,
    at: datetime,
    scenario: Scenario,
    pledged_deltas: Iterable[tuple[int, int, Decimal]],
) -> dict[str, Any]:
    deltas = list(pledged_deltas)
    return {
        "at": at,
        "counterparty_ids": None if counterparty_ids is None else [int(i) for i in counterparty_ids],
        "delta_account_ids": [int(d[0]) for d in deltas],
        "delta_asset_ids": [int(d[1]) for d in deltas],
        "delta_quantities": [Decimal(d[2]) for d in deltas],
        # Without deltas the positions are read as they are: the SQL does not look each one up.
        "has_deltas": bool(deltas),
        "default_max_age_minutes": int(settings.COLLATERAL_MARK_MAX_AGE_MINUTES),
        "default_divergence_pct": Decimal(str(settings.COLLATERAL_MARK_DIVERGENCE_PCT)),
        "markdowns": json.dumps({str(int(k)): str(v) for k, v in scenario.markdowns.items()}),
        "stablecoin_markdown_pct": Decimal(scenario.stablecoin_markdown_pct),
        "other_markdown_pct": Decimal(scenario.other_markdown_pct),
        "haircut_addon_pct": Decimal(scenario.haircut_addon_pct),
        # Without a scenario the base figures are the figures: the SQL does not compute them twice.
        "has_scenario": scenario != EMPTY_SCENARIO,
        **default_levels(),
    }


def coverage_params(*, counterparty_ids: Iterable[int] | None, at: datetime) -> dict[str, Any]:
    """The parameters of ``COVERAGE_SQL`` without a scenario or deltas, for a caller that runs the same
    statement inside one of its own (the limit check at final approval embeds it, to read the
    coverage in the statement that reads the limit): the same SQL text, not a second valuation."""
    return _params(counterparty_ids=counterparty_ids, at=at, scenario=EMPTY_SCENARIO, pledged_deltas=())


def coverage_rows(
    *,
    counterparty_ids: Iterable[int] | None = None,
    at: datetime | None = None,
    scenario: Scenario | None = None,
    pledged_deltas: Iterable[tuple[int, int, Decimal]] = (),
) -> list[CoverageRow]:
    """Coverage of every counterparty (or of ``counterparty_ids``) at ``at`` (default now), under
    ``scenario`` (default none), with ``pledged_deltas`` applied: one query. See the module docstring."""
    params = _params(
        counterparty_ids=counterparty_ids,
        at=at or timezone.now(),
        scenario=scenario or EMPTY_SCENARIO,
        pledged_deltas=pledged_deltas,
    )
    with connection.cursor() as cursor:
        # Inside a transaction, its own loan changes count (inventory's open totals are kept by a
        # deferred trigger): inventory's rule for reading them.
        cursor.execute(reading_open_totals(COVERAGE_SQL), params)
        names = [c.name for c in cursor.description]
        values = cursor.fetchall()
    if tuple(names) != CoverageRow._fields:  # the one place the two orders meet
        raise RuntimeError(f"coverage.sql's columns {names} are not CoverageRow's fields.")
    # Without an agreement in force the levels come back NULL (5,000 rows do not carry 5,000 copies of
    # the same figures): the defaults go in their place. Without a scenario the base figures come back
    # NULL too, being the figures: each is a copy of its figure.
    defaults = tuple(params[name] for name in LEVEL_NAMES)
    make = CoverageRow._make
    rows: list[CoverageRow] = []
    append = rows.append
    if params["has_scenario"]:
        for row_values in values:
            if row_values[_LEVELS_AT] is None:
                row_values = row_values[:_LEVELS_AT] + defaults + row_values[_LEVELS_END:]
            append(make(row_values))
        return rows
    for row_values in values:
        figures = (
            row_values[:_BASE_AT]
            if row_values[_LEVELS_AT] is not None
            else row_values[:_LEVELS_AT] + defaults + row_values[_LEVELS_END:_BASE_AT]
        )
        append(make(figures + _copy_base(row_values)))
    return rows


def coverage_for(
    counterparty: Counterparty, *, at: datetime | None = None, scenario: Scenario | None = None
) -> CoverageRow:
    """The coverage of one counterparty (one query)."""
    (row,) = coverage_rows(counterparty_ids=[counterparty.pk], at=at, scenario=scenario)
    return row


def live_state(row: CoverageRow, call_status: str | None) -> str:
    """The state of a counterparty from its live figures and its open margin call's status (None: no
    open call). A price under review comes first: no call is acted on a bad price."""
    if row.needs_review or row.ratio_state is None:
        return CoverageState.NEEDS_REVIEW
    if row.ratio_state == CoverageState.CRITICAL:
        return CoverageState.CRITICAL
    if call_status == MarginCallStatus.ESCALATED:
        return CoverageState.BREACH
    if call_status == MarginCallStatus.OPEN or row.ratio_state == CoverageState.CALL:
        return CoverageState.CALL
    return row.ratio_state


def open_calls_by_counterparty(counterparty_ids: Iterable[int] | None = None) -> dict[int, MarginCall]:
    """The open (or escalated) margin call of each counterparty that has one (one query)."""
    qs = MarginCall.objects.filter(status__in=OPEN_CALL_STATUSES)
    if counterparty_ids is not None:
        qs = qs.filter(counterparty_id__in=list(counterparty_ids))
    return {call.counterparty_id: call for call in qs}


def _level_in_force(name: str) -> Coalesce:
    """The agreement in force now for the row's counterparty, else the default level."""
    in_force = (
        CollateralAgreement.objects.filter(
            counterparty=OuterRef("counterparty"),
            status=ConfigStatus.EFFECTIVE,
            effective_from__lte=timezone.now(),
        )
        .order_by("-effective_from", "-id")
        .values(name)[:1]
    )
    return Coalesce(
        Subquery(in_force),
        Value(default_levels()[name], output_field=DecimalField(**RATIO)),
        output_field=DecimalField(**RATIO),
    )


def coverage_page_queryset(user) -> QuerySet[CounterpartyRisk]:
    """The coverage page's rows: each counterparty's state as the last revaluation stored it (breach
    and the default flag included), its figures then, the required and call levels in force, and its
    open margin call; a trader sees their counterparties only. One query per page."""
    open_call = MarginCall.objects.filter(
        counterparty=OuterRef("counterparty"), status__in=OPEN_CALL_STATUSES
    )
    qs = (
        CounterpartyRisk.objects.select_related("counterparty")
        .annotate(
            required_ratio=_level_in_force("required_ratio"),
            call_ratio=_level_in_force("call_ratio"),
            open_call_id=Subquery(open_call.values("id")[:1]),
            open_call_amount_usd=Subquery(
                open_call.values("amount_usd")[:1], output_field=DecimalField(**USD)
            ),
            open_call_due_at=Subquery(open_call.values("due_at")[:1]),
        )
        .order_by("counterparty__code")
    )
    if is_trader_only(user):
        qs = qs.filter(counterparty__in=counterparties_for_trader(user))
    return qs
