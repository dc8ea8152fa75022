"""The stress API (API.md "Collateral, limits, stress"): ``POST /api/v1/collateral/stress/``.

Thin: the input serializer checks shape and types, ``run_stress`` checks the rules (ranges, decimal
places, known symbols and scenario names: a 400 naming the field) and runs; the output is API.md's
fields, with more beside them (before and after figures, states, the scenario as run, the recall
section). Decimals as strings, without padding.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.api import PolicyPermission
from borrowdesk.formatting import plain
from collateral.models import PCT
from collateral.services.stress import StressResult, run_stress

FRACTION: dict[str, Any] = {"max_digits": 5, "decimal_places": 4}


@extend_schema_field({"type": "string", "format": "decimal", "nullable": True})
class PlainDecimal(serializers.Field):
    """A Decimal as a string without padding (``"90000"``, ``"1.333333"``); null when unknown."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return None if value is None else plain(value)


class StressIn(serializers.Serializer):
    scenario = serializers.CharField(
        max_length=80, required=False, allow_null=True, allow_blank=True, help_text="A saved scenario's name."
    )
    scenario_version = serializers.IntegerField(
        min_value=1,
        max_value=2_000_000_000,
        required=False,
        allow_null=True,
        help_text="Default: the active one.",
    )
    markdowns = serializers.DictField(
        required=False,
        allow_null=True,
        help_text='Price falls in percent by asset symbol, {"BTC": "30"}: the whole table (the scenario\'s '
        "is replaced).",
    )
    other_markdown_pct = serializers.DecimalField(**PCT, required=False, allow_null=True)
    stablecoin_markdown_pct = serializers.DecimalField(**PCT, required=False, allow_null=True)
    haircut_addon_pct = serializers.DecimalField(**PCT, required=False, allow_null=True)
    recall_fraction = serializers.DecimalField(**FRACTION, required=False, allow_null=True)


class StressScenarioOut(serializers.Serializer):
    name = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True)
    edited = serializers.BooleanField()
    markdowns = serializers.DictField(child=PlainDecimal())
    other_markdown_pct = PlainDecimal()
    stablecoin_markdown_pct = PlainDecimal()
    haircut_addon_pct = PlainDecimal()
    recall_fraction = PlainDecimal()


class StressRowOut(serializers.Serializer):
    counterparty = serializers.CharField()
    exposure_usd = PlainDecimal()
    collateral_value_usd = PlainDecimal()
    coverage_before = PlainDecimal()
    coverage_after = PlainDecimal()
    shortfall_usd = PlainDecimal()
    exposure_before_usd = PlainDecimal()
    collateral_value_before_usd = PlainDecimal()
    shortfall_before_usd = PlainDecimal()
    required_ratio = PlainDecimal()
    state_before = serializers.CharField()
    state_after = serializers.CharField()
    needs_review = serializers.BooleanField()
    review_reason = serializers.CharField()


class RecallAssetOut(serializers.Serializer):
    asset = serializers.CharField()
    lenders_inventory = PlainDecimal()
    demand = PlainDecimal(help_text="What lenders take back: the fraction of their inventory.")
    available = PlainDecimal()
    in_flight = PlainDecimal(help_text="Open recalls on the asset's loans.")
    gap = PlainDecimal(help_text="The demand that available inventory and recalls in flight do not meet.")
    recalled = PlainDecimal(help_text="What the loans below recall.")
    gap_left = PlainDecimal()


class RecallLoanOut(serializers.Serializer):
    loan = serializers.IntegerField()
    asset = serializers.CharField()
    counterparty = serializers.CharField()
    rate_bps = PlainDecimal()
    term_days = serializers.IntegerField(allow_null=True)
    recallable = PlainDecimal()
    quantity = PlainDecimal(help_text="To recall from this loan.")
    cumulative_quantity = PlainDecimal()
    score = PlainDecimal()
    parts = serializers.DictField(child=PlainDecimal())
    reasons = serializers.ListField(child=serializers.CharField())


class StressRecallOut(serializers.Serializer):
    fraction = PlainDecimal()
    by_asset = RecallAssetOut(many=True)
    loans = RecallLoanOut(many=True)


class StressOut(serializers.Serializer):
    scenario = StressScenarioOut()
    at = serializers.DateTimeField()
    results = StressRowOut(many=True)
    firm_shortfall_usd = PlainDecimal()
    firm_shortfall_before_usd = PlainDecimal()
    unknown_count = serializers.IntegerField()
    recall = StressRecallOut()
    notes = serializers.ListField(child=serializers.CharField())


def _out(result: StressResult) -> dict[str, Any]:
    by_asset = result.recall.by_asset if result.recall else []
    p = result.parameters
    return StressOut(
        {
            "scenario": {
                "name": p.name,
                "version": p.version,
                "edited": p.edited,
                "markdowns": p.markdowns,
                "other_markdown_pct": p.other_markdown_pct,
                "stablecoin_markdown_pct": p.stablecoin_markdown_pct,
                "haircut_addon_pct": p.haircut_addon_pct,
                "recall_fraction": p.recall_fraction,
            },
            "at": result.at,
            "results": result.rows,
            "firm_shortfall_usd": result.firm_shortfall_usd,
            "firm_shortfall_before_usd": result.firm_shortfall_before_usd,
            "unknown_count": result.unknown_count,
            "recall": {
                "fraction": p.recall_fraction,
                "by_asset": [
                    {
                        "asset": plan.asset_symbol,
                        "lenders_inventory": inv.quantity,
                        "demand": plan.demand,
                        "available": plan.available,
                        "in_flight": plan.in_flight,
                        "gap": plan.gap,
                        "recalled": plan.recalled,
                        "gap_left": plan.gap_left,
                    }
                    for inv, plan in by_asset
                ],
                "loans": [
                    {
                        "loan": planned.candidate.loan_id,
                        "asset": plan.asset_symbol,
                        "counterparty": planned.candidate.loan.counterparty_code,
                        "rate_bps": planned.candidate.loan.rate_bps,
                        "term_days": planned.candidate.loan.term_days,
                        "recallable": planned.candidate.loan.recallable,
                        "quantity": planned.quantity,
                        "cumulative_quantity": planned.cumulative,
                        "score": planned.candidate.score,
                        "parts": planned.candidate.parts,
                        "reasons": planned.candidate.reasons,
                    }
                    for _inv, plan in by_asset
                    for planned in plan.loans
                ],
            },
            "notes": result.notes,
        }
    ).data


class StressView(APIView):
    """Run a stress scenario (a saved one by name, and/or the parameters): every counterparty's
    coverage before and after, its shortfall, the firm's shortfall, and under a recall fraction the
    inventory gap per asset and the loans to recall. Moves and writes nothing."""

    permission_classes = [PolicyPermission]
    access = {"POST": "collateral.stress.run"}

    @extend_schema(request=StressIn, responses={200: StressOut})
    def post(self, request):
        serializer = StressIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        result = run_stress(
            actor=request.user,
            scenario=v.get("scenario") or None,
            scenario_version=v.get("scenario_version"),
            markdowns=v.get("markdowns"),
            other_markdown_pct=v.get("other_markdown_pct"),
            stablecoin_markdown_pct=v.get("stablecoin_markdown_pct"),
            haircut_addon_pct=v.get("haircut_addon_pct"),
            recall_fraction=v.get("recall_fraction"),
        )
        return Response(_out(result))
