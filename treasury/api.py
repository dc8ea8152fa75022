"""The settlement queue's API (API.md "Treasury, settlement, reconciliation")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from borrowdesk.api import PolicyPermission
from borrowdesk.errors import NotFoundError
from treasury import selectors, services
from treasury.filters import SettlementFilter
from treasury.models import SettlementInstruction

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}


class SettlementOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    loan = serializers.IntegerField(source="loan_id", allow_null=True)
    counterparty = serializers.CharField(source="counterparty_code", allow_null=True, default=None)
    asset = serializers.CharField(source="asset.symbol")
    from_account = serializers.CharField(source="from_account.code")
    to_account = serializers.CharField(source="to_account.code", allow_null=True, default=None)
    quantity = serializers.DecimalField(**QTY)
    status = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    failure_reason = serializers.CharField()
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True, help_text="Collateral receipts: the pledge's expiry.")
    reference = serializers.CharField()


class FailIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class SettlementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The settlement queue: read by the desk, settled or failed by operations and treasury."""

    serializer_class = SettlementOut
    filterset_class = SettlementFilter
    permission_classes = [PolicyPermission]
    access = {
        "list": "settlements.view",
        "retrieve": "settlements.view",
        "settle": "settlements.settle",
        "fail": "settlements.settle",
    }

    def get_queryset(self):
        return selectors.settlements()

    def _get(self, pk) -> SettlementInstruction:
        try:
            return selectors.settlements().get(pk=int(pk))
        except (SettlementInstruction.DoesNotExist, ValueError):
            raise NotFoundError("No such settlement instruction.") from None

    @extend_schema(request=None, responses=SettlementOut)
    @action(detail=True, methods=["post"])
    def settle(self, request, pk=None):
        services.settle_instruction(actor=request.user, instruction=self._get(pk))
        return Response(SettlementOut(self._get(pk)).data)

    @extend_schema(request=FailIn, responses=SettlementOut)
    @action(detail=True, methods=["post"])
    def fail(self, request, pk=None):
        data = FailIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.fail_instruction(
            actor=request.user, instruction=self._get(pk), reason=data.validated_data["reason"]
        )
        return Response(SettlementOut(self._get(pk)).data)
