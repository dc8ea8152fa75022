"""``GET /api/v1/dashboard/summary/``: the desk in one JSON object, for the desk's screens and tools.

Thin: one selector (``borrowdesk.dashboards.selectors.desk_summary``) and its output serializers.
Quantities, amounts and ratios are decimal strings, times ISO 8601 in UTC, as everywhere in the API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.api import PolicyPermission
from borrowdesk.dashboards.selectors import DeskSummary, desk_summary
from collateral.models import CoverageState
from compliance.cases.models import CaseStatus
from inventory.api import AvailabilityOut

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
USD: dict[str, Any] = {"max_digits": 24, "decimal_places": 8}
RATIO: dict[str, Any] = {"max_digits": 12, "decimal_places": 6}
SHARE: dict[str, Any] = {"max_digits": 6, "decimal_places": 4}


class SummaryAgeCountOut(serializers.Serializer):
    bucket = serializers.CharField(
        help_text="Time since submission: under_1h, 1h_to_4h, 4h_to_24h, 24h_or_more."
    )
    count = serializers.IntegerField()


class SummaryRequestStatusOut(serializers.Serializer):
    status = serializers.CharField(
        help_text="An open status: submitted, compliance_hold, pending_approval, "
        "pending_second_approval, offered."
    )
    count = serializers.IntegerField()
    oldest_submitted_at = serializers.DateTimeField(allow_null=True)
    by_age = SummaryAgeCountOut(many=True)


class SummaryRequestsOut(serializers.Serializer):
    open = serializers.IntegerField(help_text="Requests not yet approved or ended.")
    age_buckets = serializers.ListField(
        child=serializers.CharField(), help_text="The buckets' keys, youngest first."
    )
    by_status = SummaryRequestStatusOut(many=True, help_text="One row per open status, zeros included.")


class SummaryCoverageStateOut(serializers.Serializer):
    state = serializers.CharField(help_text="ok, warning, call, breach, critical or needs_review.")
    count = serializers.IntegerField()


class SummaryCoverageOut(serializers.Serializer):
    counterparties = serializers.IntegerField(help_text="Counterparties the revaluation holds a view of.")
    by_state = SummaryCoverageStateOut(many=True, help_text="One row per coverage state, zeros included.")
    exposure_usd = serializers.DecimalField(**USD)
    collateral_value_usd = serializers.DecimalField(**USD, help_text="After haircuts.")
    coverage_ratio = serializers.DecimalField(
        **RATIO, allow_null=True, help_text="collateral_value_usd / exposure_usd; null without exposure."
    )
    shortfall_usd = serializers.DecimalField(**USD)
    flagged_for_default = serializers.IntegerField()
    open_margin_calls = serializers.IntegerField()
    open_margin_calls_usd = serializers.DecimalField(**USD)


class SummarySettlementsOut(serializers.Serializer):
    pending = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Legs whose last attempt failed, waiting for a retry.")
    overdue = serializers.IntegerField(help_text="Pending or failed legs past their due time.")
    oldest_due_at = serializers.DateTimeField(allow_null=True, help_text="Of the pending and failed legs.")
    fail_rate = serializers.DecimalField(
        **SHARE,
        allow_null=True,
        help_text="failed_attempts / attempts on the legs queued in the last window_days; "
        "null without attempts.",
    )
    attempts = serializers.IntegerField()
    failed_attempts = serializers.IntegerField()
    window_days = serializers.IntegerField()


class SummaryPreOpenOut(serializers.Serializer):
    business_date = serializers.DateField()
    status = serializers.CharField(help_text="The run's status, or not_run.")
    ran = serializers.BooleanField(help_text="Today's pre-open reconciliation finished.")
    finished_at = serializers.DateTimeField(allow_null=True)


class SummaryReconciliationOut(serializers.Serializer):
    open_breaks = serializers.IntegerField(help_text="Open or assigned breaks, of every run.")
    pre_open = SummaryPreOpenOut()


class SummaryCaseKindOut(serializers.Serializer):
    kind = serializers.CharField(help_text="kyc, aml, sanctions or travel_rule.")
    open = serializers.IntegerField(help_text="Cases not closed.")
    sla_breaches = serializers.IntegerField(help_text="Open cases past their SLA due time.")
    in_review = serializers.IntegerField()
    escalated = serializers.IntegerField()


class SummaryComplianceOut(serializers.Serializer):
    open_cases = serializers.IntegerField()
    sla_breaches = serializers.IntegerField(help_text="Open cases past their SLA due time.")
    by_kind = SummaryCaseKindOut(many=True)


class SummaryBufferOut(serializers.Serializer):
    asset = serializers.CharField()
    venue = serializers.CharField()
    balance = serializers.DecimalField(**QTY, help_text="The firm's available balance at the venue.")
    min_quantity = serializers.DecimalField(**QTY)
    target_quantity = serializers.DecimalField(**QTY)
    to_target = serializers.DecimalField(**QTY, help_text="What funds the venue back to its target.")
    state = serializers.CharField(help_text="below_min, below_target or ok.")


class DashboardSummaryOut(serializers.Serializer):
    as_of = serializers.DateTimeField(help_text="When the figures were read (UTC).")
    business_date = serializers.DateField(help_text="The desk's business date at as_of.")
    utilization = AvailabilityOut(many=True, help_text="Per asset across the firm's accounts.")
    requests = SummaryRequestsOut()
    coverage = SummaryCoverageOut()
    settlements = SummarySettlementsOut()
    reconciliation = SummaryReconciliationOut()
    compliance = SummaryComplianceOut()
    buffers = SummaryBufferOut(many=True, help_text="Every buffer target with its level.")


def _output(summary: DeskSummary) -> dict[str, Any]:
    """The selector's figures in the response's shape (the serializer renders them)."""
    coverage, settlements, cases, pre_open = (
        summary.coverage,
        summary.settlements,
        summary.cases,
        summary.reconciliation,
    )
    return {
        "as_of": summary.as_of,
        "business_date": summary.business_date,
        "utilization": summary.utilization,
        "requests": {
            "open": sum(row.count for row in summary.requests),
            "age_buckets": summary.request_age_buckets,
            "by_status": [
                {
                    "status": row.status,
                    "count": row.count,
                    "oldest_submitted_at": row.oldest_submitted_at,
                    "by_age": [{"bucket": key, "count": n} for key, n in row.by_age.items()],
                }
                for row in summary.requests
            ],
        },
        "coverage": {
            "counterparties": coverage.counterparties,
            "by_state": [
                {"state": state, "count": coverage.by_state.get(state, 0)} for state in CoverageState.values
            ],
            "exposure_usd": coverage.exposure_usd,
            "collateral_value_usd": coverage.collateral_value_usd,
            "coverage_ratio": summary.coverage_ratio,
            "shortfall_usd": coverage.shortfall_usd,
            "flagged_for_default": coverage.flagged_for_default,
            "open_margin_calls": coverage.open_calls,
            "open_margin_calls_usd": coverage.open_calls_usd,
        },
        "settlements": {
            "pending": settlements.pending,
            "failed": settlements.failed,
            "overdue": settlements.overdue,
            "oldest_due_at": settlements.oldest_due_at,
            "fail_rate": settlements.fail_rate,
            "attempts": settlements.attempts,
            "failed_attempts": settlements.failed_attempts,
            "window_days": settlements.window_days,
        },
        "reconciliation": {"open_breaks": pre_open["open_breaks"], "pre_open": pre_open},
        "compliance": {
            "open_cases": sum(cases.totals),
            "sla_breaches": sum(cases.overdue.values()),
            "by_kind": [
                {
                    "kind": kind,
                    "open": sum(cases.counts[kind]),
                    "sla_breaches": cases.overdue[kind],
                    "in_review": cases.by_status[kind][CaseStatus.IN_REVIEW],
                    "escalated": cases.by_status[kind][CaseStatus.ESCALATED],
                }
                for kind, _label in cases.kinds
            ],
        },
        "buffers": [
            {
                "asset": level.asset,
                "venue": level.venue,
                "balance": level.balance,
                "min_quantity": level.min_quantity,
                "target_quantity": level.target_quantity,
                "to_target": level.to_target,
                "state": level.state,
            }
            for level in summary.buffers
        ],
    }


class DashboardSummaryView(APIView):
    """The desk in figures: utilization by asset, open requests by status and age, collateral coverage,
    the settlement queue and its fail rate, open breaks, the compliance backlog and its SLA breaches,
    the treasury buffers. Desk-wide counts and totals, in a fixed number of queries."""

    permission_classes = [PolicyPermission]
    access = {"GET": "dashboard.summary.view"}

    @extend_schema(responses=DashboardSummaryOut)
    def get(self, request):
        return Response(DashboardSummaryOut(_output(desk_summary())).data)
