"""The limits API's breaches list (API.md "Collateral, limits, stress": ``GET /api/v1/limits/breaches/``).

Thin, like every API here: the selector scopes (a trader sees their counterparties' breaches only), the
shared filterset filters, an output serializer renders references by code and decimals as strings.
"""

from __future__ import annotations

from typing import Any

from rest_framework import generics, serializers

from borrowdesk.api import PolicyPermission
from collateral.filters_limits import BreachFilter
from collateral.selectors import limits as selectors

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}


class BreachOut(serializers.Serializer):
    id = serializers.IntegerField()
    counterparty = serializers.CharField(source="counterparty.code")
    kind = serializers.CharField(help_text="exposure, asset_cap, tenor or coverage")
    asset = serializers.CharField(source="asset.symbol", allow_null=True, default=None, help_text="asset_cap")
    loan = serializers.IntegerField(source="loan_id", allow_null=True, help_text="tenor")
    figure = serializers.DecimalField(
        **QTY,
        help_text="What the check found: exposure in USD, the asset's open quantity, the loan's term in "
        "days (an open-ended loan: the days it has been on loan), or the coverage ratio.",
    )
    limit_value = serializers.DecimalField(**QTY, help_text="What the limit allows, in the same unit.")
    status = serializers.CharField(help_text="open or resolved")
    opened_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField(help_text="The latest check that found it.")
    resolved_at = serializers.DateTimeField(allow_null=True)


class BreachListView(generics.ListAPIView):
    """Limit and covenant breaches found by the scheduled check, newest first. Traders see only the
    counterparties they act for."""

    serializer_class = BreachOut
    filterset_class = BreachFilter
    permission_classes = [PolicyPermission]
    access = {"GET": "collateral.view"}

    def get_queryset(self):
        return selectors.breaches(self.request.user)
