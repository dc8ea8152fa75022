"""The reference-data API of API.md: assets, networks, venues, counterparties, custody accounts, prices.

Who may read and write is the access policy's (``access`` on each viewset): any person reads; a trader
sees only the counterparties granted to them and those counterparties' accounts (never the firm's
wallets; the rest is 404 to them); ``refdata.write`` writes, and prices come from the feed
(``refdata.price.*``). Nothing is deleted:
reference data is referenced by the ledger, so DELETE is 405 and ``is_active=false`` retires a row.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from borrowdesk.access.middleware import sensitive_read
from borrowdesk.api import PolicyPermission
from borrowdesk.errors import NotFoundError
from borrowdesk.refdata import selectors, services
from borrowdesk.refdata.filters import (
    AssetFilter,
    CounterpartyFilter,
    CustodyAccountFilter,
    NetworkFilter,
    PriceFilter,
    VenueFilter,
    filters_by_owner,
)
from borrowdesk.refdata.models import (
    AccountPurpose,
    Asset,
    Counterparty,
    CounterpartyKind,
    CustodyAccount,
    Network,
    Price,
    PriceStatus,
    RiskRating,
    Venue,
    VenueKind,
)

PRICE_DIGITS, PRICE_PLACES = 24, 8  # Price.price_usd: USD values are Decimal(24, 8)
COUNTERPARTY_READ = "refdata.counterparties.view"  # scoped: a trader reads their counterparties' only


# --- output ---------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class CodeOut(serializers.SlugRelatedField):
    """A reference rendered by its code (or an asset by its symbol), as everywhere in the API."""

    def __init__(self, slug_field: str = "code", **kwargs: Any):
        super().__init__(slug_field=slug_field, read_only=True, **kwargs)


class AssetOut(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    decimals = serializers.IntegerField()
    is_stablecoin = serializers.BooleanField()
    is_active = serializers.BooleanField()
    networks = CodeOut(many=True, help_text="Codes of the networks that carry the asset.")


class NetworkOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()


class VenueOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=VenueKind.choices)
    is_active = serializers.BooleanField()


class CounterpartyOut(serializers.Serializer):
    code = serializers.CharField()
    legal_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=CounterpartyKind.choices)
    jurisdiction = serializers.CharField()
    risk_rating = serializers.ChoiceField(
        choices=RiskRating.choices, read_only=True, help_text="Set by compliance with the counterparty's KYC."
    )
    is_active = serializers.BooleanField()


class CustodyAccountOut(serializers.Serializer):
    code = serializers.CharField()
    venue = CodeOut()
    network = CodeOut(allow_null=True)
    address = serializers.CharField()
    owner = CodeOut(allow_null=True, help_text="Counterparty code; null for the firm.")
    purpose = serializers.ChoiceField(choices=AccountPurpose.choices)
    is_active = serializers.BooleanField()


class PriceOut(serializers.Serializer):
    id = serializers.IntegerField()
    asset = CodeOut(slug_field="symbol")
    price_usd = serializers.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)
    as_of = serializers.DateTimeField()
    source = serializers.CharField()  # type: ignore[assignment]  # the API's field, not Field.source
    status = serializers.ChoiceField(
        choices=PriceStatus.choices,
        help_text="applied, or pending: an override awaiting another administrator (not the mark).",
    )


# --- input ----------------------------------------------------------------------------------------
# Shape and types only; the desk's rules (code formats, active references, …) are the services'.


def code_in(
    queryset: models.QuerySet, *, slug_field: str = "code", **kwargs: Any
) -> serializers.SlugRelatedField:
    """A reference given by its code (an asset by its symbol); an unknown one is a 400 on the field."""
    label = queryset.model._meta.verbose_name
    return serializers.SlugRelatedField(
        slug_field=slug_field,
        queryset=queryset,
        error_messages={
            "does_not_exist": f"Unknown {label}: {{value}}.",
            "invalid": f"Give the {label}'s {slug_field}.",
        },
        **kwargs,
    )


class FixedKey(serializers.Serializer):
    """An update may repeat the object's code but not change it: other systems refer to it by code."""

    key = "code"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if self.key in attrs and attrs[self.key] != getattr(self.instance, self.key):
            raise serializers.ValidationError(
                {self.key: ["Cannot change; create a new one and deactivate this one."]}
            )
        attrs.pop(self.key, None)
        return attrs


class AssetIn(serializers.Serializer):
    symbol = serializers.CharField(max_length=16)
    name = serializers.CharField(max_length=100)
    decimals = serializers.IntegerField(min_value=0, max_value=services.MAX_DECIMALS)
    is_stablecoin = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
    networks = code_in(
        Network.objects.all(),
        many=True,
        required=False,
        help_text="Codes of the networks that carry the asset; on an update, the whole new set.",
    )


class AssetUpdateIn(FixedKey, AssetIn):
    key = "symbol"
    symbol = serializers.CharField(max_length=16, required=False)


class NetworkIn(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=100)
    is_active = serializers.BooleanField(required=False)


class NetworkUpdateIn(FixedKey, NetworkIn):
    code = serializers.CharField(max_length=32, required=False)


class VenueIn(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=VenueKind.choices)
    is_active = serializers.BooleanField(required=False)


class VenueUpdateIn(FixedKey, VenueIn):
    code = serializers.CharField(max_length=32, required=False)


class CounterpartyIn(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    legal_name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=CounterpartyKind.choices)
    jurisdiction = serializers.CharField(max_length=2, min_length=2, help_text="ISO 3166-1 alpha-2, e.g. GB.")
    is_active = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Read-only here: the rating decides approval paths, so compliance sets it with the KYC.
        if "risk_rating" in self.initial_data:
            raise serializers.ValidationError({"risk_rating": [services.RISK_RATING_IS_COMPLIANCES]})
        return super().validate(attrs)


class CounterpartyUpdateIn(FixedKey, CounterpartyIn):
    code = serializers.CharField(max_length=32, required=False)


class CustodyAccountIn(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    venue = code_in(Venue.objects.all())
    network = code_in(Network.objects.all(), allow_null=True, required=False)
    address = serializers.CharField(max_length=128, allow_blank=True, required=False)
    owner = code_in(
        Counterparty.objects.all(),
        allow_null=True,
        required=False,
        help_text="Counterparty code; null (or absent) for the firm.",
    )
    purpose = serializers.ChoiceField(choices=AccountPurpose.choices)
    is_active = serializers.BooleanField(required=False)


class CustodyAccountUpdateIn(FixedKey, CustodyAccountIn):
    code = serializers.CharField(max_length=40, required=False)


class PriceIn(serializers.Serializer):
    asset = code_in(Asset.objects.all(), slug_field="symbol")
    price_usd = serializers.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)
    as_of = serializers.DateTimeField(required=False, help_text="Default: now.")
    source = serializers.CharField(max_length=64, required=False)  # type: ignore[assignment]  # as PriceOut


# --- views ----------------------------------------------------------------------------------------


class ReferenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List, retrieve (by code), create and update; each write is one service call."""

    permission_classes = [PolicyPermission]
    access = {
        "list": "refdata.view",
        "retrieve": "refdata.view",
        "create": "refdata.write",
        "update": "refdata.write",
        "partial_update": "refdata.write",
    }
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"  # codes may contain dots (the router's default refuses them)
    model: type[models.Model]
    create_in: type[serializers.Serializer]
    update_in: type[serializers.Serializer]

    def create(self, request, *args, **kwargs):
        data = self.create_in(data=request.data)
        data.is_valid(raise_exception=True)
        obj = self.call_create(data.validated_data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, partial: bool = False, **kwargs):
        obj = self.get_object()  # scoped: what the user may not see is a 404
        data = self.update_in(instance=obj, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        obj = self.call_update(obj, data.validated_data)
        return Response(self.get_serializer(obj).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def call_create(self, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def call_update(self, obj: Any, data: dict[str, Any]) -> models.Model:
        raise NotImplementedError


def _write_schema(create_in, update_in, out):
    return extend_schema_view(
        create=extend_schema(request=create_in, responses={201: out}),
        update=extend_schema(request=update_in, responses=out),
        partial_update=extend_schema(request=update_in, responses=out),
    )


@_write_schema(AssetIn, AssetUpdateIn, AssetOut)
class AssetViewSet(ReferenceViewSet):
    """Assets, by symbol."""

    model = Asset
    lookup_field = "symbol"
    serializer_class = AssetOut
    create_in, update_in = AssetIn, AssetUpdateIn
    filterset_class = AssetFilter

    def get_queryset(self):
        return selectors.assets()

    def call_create(self, data):
        return services.create_asset(actor=self.request.user, **data)

    def call_update(self, obj, data):
        return services.update_asset(actor=self.request.user, asset=obj, **data)


@_write_schema(NetworkIn, NetworkUpdateIn, NetworkOut)
class NetworkViewSet(ReferenceViewSet):
    """Networks (chains), by lower-case code."""

    model = Network
    serializer_class = NetworkOut
    create_in, update_in = NetworkIn, NetworkUpdateIn
    filterset_class = NetworkFilter

    def get_queryset(self):
        return selectors.networks()

    def call_create(self, data):
        return services.create_network(actor=self.request.user, **data)

    def call_update(self, obj, data):
        return services.update_network(actor=self.request.user, network=obj, **data)


@_write_schema(VenueIn, VenueUpdateIn, VenueOut)
class VenueViewSet(ReferenceViewSet):
    """Venues: exchanges, custodians, prime brokers, on-chain, banks."""

    model = Venue
    serializer_class = VenueOut
    create_in, update_in = VenueIn, VenueUpdateIn
    filterset_class = VenueFilter

    def get_queryset(self):
        return selectors.venues()

    def call_create(self, data):
        return services.create_venue(actor=self.request.user, **data)

    def call_update(self, obj, data):
        return services.update_venue(actor=self.request.user, venue=obj, **data)


@_write_schema(CounterpartyIn, CounterpartyUpdateIn, CounterpartyOut)
@sensitive_read(actions=("retrieve", "list"))
class CounterpartyViewSet(ReferenceViewSet):
    """Counterparties. A trader sees only those granted to them; any other is 404 to them."""

    model = Counterparty
    access = {**ReferenceViewSet.access, "list": COUNTERPARTY_READ, "retrieve": COUNTERPARTY_READ}
    serializer_class = CounterpartyOut
    create_in, update_in = CounterpartyIn, CounterpartyUpdateIn
    filterset_class = CounterpartyFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to scope by
            return Counterparty.objects.none()
        return selectors.visible_counterparties(self.request.user)

    def call_create(self, data):
        return services.create_counterparty(actor=self.request.user, **data)

    def call_update(self, obj, data):
        return services.update_counterparty(actor=self.request.user, counterparty=obj, **data)


@_write_schema(CustodyAccountIn, CustodyAccountUpdateIn, CustodyAccountOut)
@sensitive_read(actions={"retrieve": None, "list": filters_by_owner})
class CustodyAccountViewSet(ReferenceViewSet):
    """Custody accounts. A trader sees the firm's and their counterparties'; any other is 404 to them."""

    model = CustodyAccount
    access = {**ReferenceViewSet.access, "list": COUNTERPARTY_READ, "retrieve": COUNTERPARTY_READ}
    serializer_class = CustodyAccountOut
    create_in, update_in = CustodyAccountIn, CustodyAccountUpdateIn
    filterset_class = CustodyAccountFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to scope by
            return CustodyAccount.objects.none()
        return selectors.visible_accounts(self.request.user)

    def call_create(self, data):
        return services.create_custody_account(actor=self.request.user, **data)

    def call_update(self, obj, data):
        return services.update_custody_account(actor=self.request.user, account=obj, **data)


class PriceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Prices: GET lists the mark (latest applied price) of every asset; POST records a price (the
    feed's applies at once, an administrator's is an override); ``{id}/confirm/`` confirms an override."""

    permission_classes = [PolicyPermission]
    access = {
        "list": "refdata.view",
        "create": "refdata.price.write",
        "pending": "refdata.price.confirm",
        "confirm": "refdata.price.confirm",
    }
    model = Price
    serializer_class = PriceOut
    filterset_class = PriceFilter

    def get_queryset(self):
        return selectors.latest_prices()

    @extend_schema(request=PriceIn, responses={201: PriceOut})
    def create(self, request, *args, **kwargs):
        data = PriceIn(data=request.data)
        data.is_valid(raise_exception=True)
        price = services.record_price(actor=request.user, **data.validated_data)
        return Response(PriceOut(price).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=PriceOut(many=True))
    @action(detail=False, methods=["get"])
    def pending(self, request):
        """Overrides awaiting another administrator's confirmation, oldest first."""
        page = self.paginate_queryset(selectors.pending_overrides())
        return self.get_paginated_response(PriceOut(page, many=True).data)

    @extend_schema(request=None, responses=PriceOut)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """Another administrator confirms a pending override; it then counts for the mark."""
        price = Price.objects.filter(pk=pk).first() if str(pk).isdigit() else None
        if price is None:
            raise NotFoundError("No such price.")
        return Response(PriceOut(services.confirm_price(actor=request.user, price=price)).data)
