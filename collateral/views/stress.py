"""The stress page: start from a saved scenario or from nothing, edit the parameters, run.

A run moves and writes nothing (``collateral.services.stress.run_stress``). The form posts the run
(``collateral.stress.run``); the page with its results carries a link that runs the same parameters
again (``?run=1&…``, also ``collateral.stress.run``: a role that may only look at the page gets a 403),
and the CSV downloads are that link with ``format=csv``. Results: the counterparties by shortfall after
the shock, coverage before and after with their states, a chart of the worst coverage before and
after (with its table and CSV), the firm's shortfall, and under a recall fraction the inventory gap
per asset and the loans to recall.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.charts import Chart, ChartColumn, Level
from borrowdesk.errors import DomainError
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import csv_response
from collateral.forms_stress import StressForm, scenario_initial
from collateral.models import StressScenario
from collateral.services.stress import StressResult, run_stress

CHART_COUNTERPARTIES = 10


@dataclass(frozen=True)
class RunChart(Chart):
    """A chart of one run: its CSV link runs the same parameters again (``query``)."""

    query: str = ""

    @property
    def csv_query(self) -> str:
        return f"{self.query}&chart={self.key}&format=csv"


def coverage_chart(result: StressResult, query: str) -> RunChart:
    """The counterparties with the lowest coverage after the shock, before and after, against the
    desk's default required and call levels."""
    worst = sorted(
        (r for r in result.rows if r.coverage_after is not None),
        key=lambda r: (r.coverage_after, r.counterparty),
    )[:CHART_COUNTERPARTIES]
    levels = settings.COLLATERAL_LEVELS
    return RunChart(
        key="stress-coverage",
        title=f"Coverage before and after: the {CHART_COUNTERPARTIES} lowest after",
        kind="bar",
        unit="ratio",
        axis_label="Counterparty",
        labels=[r.counterparty for r in worst],
        columns=[
            ChartColumn("Coverage before", [r.coverage_before for r in worst], "ratio", plot=True),
            ChartColumn("Coverage after", [r.coverage_after for r in worst], "ratio", plot=True),
            ChartColumn("State after", [r.state_after for r in worst], "state"),
            ChartColumn("Shortfall after", [r.shortfall_usd for r in worst], "usd"),
        ],
        levels=[
            Level("Required (default)", Decimal(str(levels["required_ratio"])), "ok"),
            Level("Call (default)", Decimal(str(levels["call_ratio"])), "call"),
        ],
        empty="No counterparty has exposure: there is no coverage to stress.",
        note="Counterparties with no exposure have no coverage and are left out. Each counterparty's own "
        "levels decide its state; the lines are the desk's defaults.",
        csv_name="stress-coverage",
        query=query,
    )


RESULT_HEADER = [
    "Counterparty",
    "Exposure before (USD)",
    "Exposure after (USD)",
    "Collateral value before (USD)",
    "Collateral value after (USD)",
    "Coverage before",
    "Coverage after",
    "State before",
    "State after",
    "Shortfall before (USD)",
    "Shortfall after (USD)",
    "Review",
]


def _results_csv(result: StressResult) -> HttpResponse:
    return csv_response(
        "stress-results",
        RESULT_HEADER,
        (
            [
                r.counterparty,
                r.exposure_before_usd,
                r.exposure_usd,
                r.collateral_value_before_usd,
                r.collateral_value_usd,
                r.coverage_before,
                r.coverage_after,
                r.state_before,
                r.state_after,
                r.shortfall_before_usd,
                r.shortfall_usd,
                r.review_reason,
            ]
            for r in result.rows
        ),
    )


def _recall_assets_csv(result: StressResult) -> HttpResponse:
    by_asset = result.recall.by_asset if result.recall else []
    return csv_response(
        "stress-recall-by-asset",
        [
            "Asset",
            "Lenders' inventory",
            "Recalled by lenders",
            "Available",
            "Recalls in flight",
            "Gap",
            "To recall from loans",
            "Gap left",
        ],
        (
            [p.asset_symbol, inv.quantity, p.demand, p.available, p.in_flight, p.gap, p.recalled, p.gap_left]
            for inv, p in by_asset
        ),
    )


def _recall_loans_csv(result: StressResult) -> HttpResponse:
    by_asset = result.recall.by_asset if result.recall else []
    return csv_response(
        "stress-recall-loans",
        [
            "Asset",
            "Loan",
            "Counterparty",
            "Rate (bps)",
            "Recallable",
            "Recall",
            "Cumulative",
            "Score",
            "Reasons",
        ],
        (
            [
                p.asset_symbol,
                planned.candidate.loan.loan_id,
                planned.candidate.loan.counterparty_code,
                planned.candidate.loan.rate_bps,
                planned.candidate.loan.recallable,
                planned.quantity,
                planned.cumulative,
                planned.candidate.score,
                "; ".join(planned.candidate.reasons),
            ]
            for _inv, p in by_asset
            for planned in p.loans
        ),
    )


TABLE_CSV = {"results": _results_csv, "recall-assets": _recall_assets_csv, "recall-loans": _recall_loans_csv}


def _csv(data, result: StressResult, chart: RunChart) -> HttpResponse | None:
    if data.get("format") != "csv":
        return None
    if data.get("chart"):
        if data["chart"] != chart.key:
            raise Http404("This page has no such chart.")
        return chart.csv()
    export = TABLE_CSV.get(data.get("table", "results"))
    if export is None:
        raise Http404("This page has no such table.")
    return export(result)


@requires("collateral.stress.view", POST="collateral.stress.run")
def stress(request):
    scenarios = list(StressScenario.objects.filter(is_active=True).order_by("name"))
    may_run = allows(request.user, "collateral.stress.run")
    context: dict[str, Any] = {"scenarios": scenarios, "may_run": may_run, "result": None}
    if request.method == "POST":
        data = request.POST
    elif "run" in request.GET:
        if not may_run:
            raise PermissionDenied
        data = request.GET
    else:
        chosen = next((s for s in scenarios if s.name == request.GET.get("scenario")), None)
        context["chosen"] = chosen
        context["form"] = StressForm(initial=scenario_initial(chosen), scenarios=scenarios)
        return render(request, "collateral/stress.html", context)
    form = StressForm(data, scenarios=scenarios)
    context["form"] = form
    if form.is_valid():
        chosen = next((s for s in scenarios if s.name == form.cleaned_data["scenario"]), None)
        context["chosen"] = chosen
        parameters = form.run_parameters()
        if chosen is not None:
            parameters["scenario"] = chosen  # read above with the list; a name not there: the service's 400
        try:
            result = run_stress(actor=request.user, **parameters)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            query = form.query()
            chart = coverage_chart(result, query)
            csv = _csv(data, result, chart)
            if csv is not None:
                return csv
            context.update(result=result, chart=chart, query=query)
    elif data.get("format") == "csv":
        return HttpResponse("Invalid parameters.", status=400, content_type="text/plain")
    return render(request, "collateral/stress.html", context)
