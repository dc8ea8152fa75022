"""The pledges and collateral positions API (API.md "Collateral, limits, stress").

Ops books pledges (``collateral.pledge``); everyone who sees collateral (``collateral.view``) reads
them, a trader only for the counterparties granted to them: another counterparty is a 404, in a path
or in ``?counterparty=``.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.response import Response

from borrowdesk.api import PolicyPermission
from borrowdesk.errors import NotFoundError
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from collateral.api.config import by_code, valid
from collateral.filters import CollateralPositionFilter, PledgeFilter
from collateral.models import QTY, Pledge
from collateral.selectors import positions as selectors
from collateral.services.pledges import book_pledge
from inventory.models import Position

COUNTERPARTY_PARAM = OpenApiParameter(
    "counterparty", str, description="Counterparty code (outside your scope: 404)"
)


class PledgeOut(serializers.Serializer):
    id = serializers.IntegerField()
    counterparty = serializers.CharField(source="counterparty.code")
    asset = serializers.CharField(source="asset.symbol")
    account = serializers.CharField(source="account.code")
    quantity = serializers.DecimalField(**QTY)
    expires_on = serializers.DateField(allow_null=True)
    reference = serializers.CharField()
    journal = serializers.IntegerField(source="journal_id")
    settlement = serializers.IntegerField(
        source="settlement_id", allow_null=True, help_text="The collateral_receipt leg that brought it."
    )
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class PledgeIn(serializers.Serializer):
    counterparty = serializers.CharField(max_length=32)
    asset = serializers.CharField(max_length=16)
    account = serializers.CharField(max_length=40, help_text="The counterparty's collateral account.")
    quantity = serializers.DecimalField(**QTY)
    expires_on = serializers.DateField(required=False, allow_null=True)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class CollateralPositionOut(serializers.Serializer):
    counterparty = serializers.CharField(source="account.owner.code")
    asset = serializers.CharField(source="asset.symbol")
    account = serializers.CharField(source="account.code")
    venue = serializers.CharField(source="account.venue.code")
    quantity = serializers.DecimalField(**QTY, help_text="Pledged, in the asset's units.")


def _scoped_to(request, qs: QuerySet, field: str) -> QuerySet:
    """Narrow to ``?counterparty=`` once the user may see it (else 404)."""
    code = request.query_params.get("counterparty")
    if code:
        return qs.filter(**{field: selectors.visible_counterparty(request.user, code)})
    return qs


class PledgeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Collateral pledged, newest first. ``POST``: ops books a pledge into the counterparty's
    collateral account (external → pledged in the ledger)."""

    serializer_class = PledgeOut
    filterset_class = PledgeFilter
    permission_classes = [PolicyPermission]
    access = {"list": "collateral.view", "retrieve": "collateral.view", "create": "collateral.pledge"}
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Pledge]:
        return selectors.pledges(self.request.user)

    @extend_schema(parameters=[COUNTERPARTY_PARAM])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, queryset):
        return super().filter_queryset(_scoped_to(self.request, queryset, "counterparty"))

    def _get(self, pk) -> Pledge:
        try:
            return self.get_queryset().get(pk=int(pk))
        except (Pledge.DoesNotExist, ValueError):
            raise NotFoundError("No such pledge.") from None

    def retrieve(self, request, pk=None):
        return Response(PledgeOut(self._get(pk)).data)

    @extend_schema(request=PledgeIn, responses={201: PledgeOut})
    def create(self, request):
        v = valid(PledgeIn, request.data)
        pledge = book_pledge(
            actor=request.user,
            counterparty=by_code(Counterparty, "code", v["counterparty"], "counterparty", "counterparty"),
            asset=by_code(Asset, "symbol", v["asset"], "asset", "asset"),
            account=by_code(CustodyAccount, "code", v["account"], "account", "account"),
            quantity=v["quantity"],
            expires_on=v.get("expires_on"),
            reference=v["reference"],
        )
        return Response(PledgeOut(self._get(pledge.pk)).data, status=status.HTTP_201_CREATED)


class CollateralPositionsView(generics.ListAPIView):
    """Pledged quantities per counterparty, asset and account (from the ledger's pledged bucket)."""

    serializer_class = CollateralPositionOut
    filterset_class = CollateralPositionFilter
    permission_classes = [PolicyPermission]
    access = {"GET": "collateral.view"}

    @extend_schema(parameters=[COUNTERPARTY_PARAM])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Position]:
        return selectors.collateral_positions(self.request.user)

    def filter_queryset(self, queryset):
        return super().filter_queryset(_scoped_to(self.request, queryset, "account__owner"))
