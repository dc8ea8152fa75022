"""A counterparty's risk page: coverage, its loans and collateral, history, calls, limits and the
versions of its risk configuration.

Coverage figures are the revaluation's (the stored ``CounterpartyRisk`` row, with the time it was
valued): the page never computes coverage again. Desk roles see every counterparty; a trader only the
counterparties they act for (another is a 404). Limits, breaches and the configuration history are
shown to those who may read risk configuration (``collateral.config.view``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.charts import Chart, ChartColumn, Level, chart_csv
from borrowdesk.refdata.models import Counterparty
from collateral.models import CoverageState
from collateral.selectors import risk_views
from collateral.selectors.risk_views import CollateralLine, Levels

NOT_ELIGIBLE = "not eligible"
NO_MARK = "no mark"


def composition_chart(lines: list[CollateralLine]) -> Chart:
    """The counterparty's collateral by asset: market value and value after haircut, drawn as bars,
    with quantity, mark, haircut, share and next expiry in the table."""
    return Chart(
        key="composition",
        title="Collateral by asset",
        kind="bar",
        unit="usd",
        axis_label="Asset",
        labels=[line.label for line in lines],
        columns=[
            ChartColumn("Pledged", [line.quantity for line in lines], "qty"),
            ChartColumn(
                "Mark", [line.mark if line.mark is not None else NO_MARK for line in lines], "usd_price"
            ),
            ChartColumn("Market value", [line.market_value for line in lines], "usd", plot=True),
            ChartColumn(
                "Haircut",
                [line.haircut_pct if line.haircut_pct is not None else NOT_ELIGIBLE for line in lines],
                "pct",
            ),
            ChartColumn("After haircut", [line.value for line in lines], "usd", plot=True),
            ChartColumn("Share", [line.share_pct for line in lines], "pct"),
            ChartColumn("Expires", [line.next_expiry for line in lines], "date"),
        ],
        empty="No collateral pledged. Operations book pledges into the counterparty's collateral account.",
        note="At the current marks and the haircuts in force now; an asset without a haircut rule is not "
        "eligible (valued at 0). Share: of the market value. Expires: the next expiry of its pledges.",
        csv_name="collateral-by-asset",
    )


def history_chart(snapshots: list[Any], levels: Levels) -> Chart:
    """Coverage by business date (the day's latest revaluation) against the required and call levels."""
    return Chart(
        key="coverage-history",
        title="Coverage history",
        kind="line",
        unit="ratio",
        axis_label="Business date",
        labels=[s.business_date for s in snapshots],
        columns=[
            ChartColumn("Coverage", [s.coverage_ratio for s in snapshots], "ratio", plot=True),
            ChartColumn("Exposure", [s.exposure_usd for s in snapshots], "usd"),
            ChartColumn("Collateral value", [s.collateral_value_usd for s in snapshots], "usd"),
            ChartColumn("State", [s.state for s in snapshots], "state"),
        ],
        levels=[
            Level("Required", levels.required_ratio, "ok"),
            Level("Call", levels.call_ratio, "call"),
        ],
        newest_first=True,
        empty="No history yet: the revaluation records one point per business date.",
        note=f"The last {risk_views.HISTORY_DAYS} business dates at most; no point on a day without "
        "exposure. The dashed lines are the levels in force now.",
        csv_name="coverage-history",
    )


def _ratio_of(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    return part / whole if part is not None and whole else None


@requires("collateral.view")
@require_safe
def counterparty_risk(request, code: str):
    try:
        counterparty = risk_views.counterparty_for(request.user, code)
    except Counterparty.DoesNotExist:
        raise Http404("No such counterparty.") from None
    now = timezone.now()
    marks = risk_views.page_marks()
    levels = risk_views.levels_in_force(counterparty, now)
    composition = risk_views.collateral_composition(counterparty, marks, now)
    charts = [
        composition_chart(composition),
        history_chart(risk_views.coverage_history(counterparty), levels),
    ]
    csv = chart_csv(request, charts)
    if csv is not None:
        return csv

    risk = risk_views.risk_of(counterparty)
    cure_ends_at = None
    if risk is not None and risk.critical_since is not None and risk.default_flagged_at is None:
        cure_ends_at = risk.critical_since + timedelta(hours=levels.cure_period_hours)
    loans = risk_views.open_loans(request.user, counterparty, marks)
    liquidation = None
    if risk is not None and risk.default_flagged_at is not None:
        # Flagged for default: the loans in the order they are to be closed out.
        liquidation, loans = risk_views.liquidation_order(loans)
    calls = risk_views.margin_calls_of(counterparty)
    may_see_config = allows(request.user, "collateral.config.view")
    context: dict[str, Any] = {
        "counterparty": counterparty,
        "risk": risk,
        "levels": levels,
        "now": now,
        "cure_ends_at": cure_ends_at,
        "cure_left": cure_ends_at - now if cure_ends_at is not None else None,
        "composition_chart": charts[0],
        "history_chart": charts[1],
        "loans": loans,
        "liquidation": liquidation,
        "loans_exposure": sum((line.exposure for line in loans if line.exposure is not None), Decimal(0)),
        "loans_unmarked": any(line.exposure is None for line in loans),
        "calls": calls,
        "may_see_config": may_see_config,
        "is_desk": allows(request.user, "refdata.counterparties.view_all"),
        "states": CoverageState,
    }
    if may_see_config:
        limit = risk_views.limit_in_force(counterparty, now)
        breaches = risk_views.breaches_of(counterparty)
        context.update(
            limit=limit,
            limit_used=_ratio_of(
                risk.exposure_usd if risk else None, limit.max_exposure_usd if limit else None
            ),
            breaches=[{"breach": b, "figures": risk_views.breach_figures(b)} for b in breaches],
            history=risk_views.configuration_history(counterparty, now),
        )
    return render(request, "collateral/counterparty_risk.html", context)
