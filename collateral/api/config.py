"""The risk configuration API (API.md "Collateral, limits, stress"): haircut rules, borrower limits,
collateral agreements (each proposed by risk, a loosening approved by another risk user) and stress
scenarios (saved as new versions).

Thin: an input serializer checks shape and types, codes become objects (an unknown code is a 400 on its
field), one service or selector does the work, an output serializer renders it. Ranges, decimals and
ordering are the services' rules, refused before anything is written.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from borrowdesk.api import PolicyPermission
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.refdata.models import Asset, Counterparty, Venue
from collateral.filters import AgreementFilter, HaircutRuleFilter, LimitFilter, ScenarioFilter
from collateral.models import (
    PCT,
    QTY,
    RATIO,
    USD,
    BorrowerLimit,
    CollateralAgreement,
    HaircutRule,
    StressScenario,
)
from collateral.selectors import config as selectors
from collateral.services import config as services

VIEW = "collateral.config.view"
PROPOSE = "collateral.config.propose"
APPROVE = "collateral.config.approve"


def by_code(model: type[Model], lookup: str, value: str, field: str, label: str) -> Any:
    """The object a code names, or a 400 on ``field``."""
    found = model.objects.filter(**{lookup: value}).first()  # type: ignore[attr-defined]
    if found is None:
        raise InvalidInput(f"Unknown {label} {value!r}.", fields={field: [f"Unknown {label}."]})
    return found


def valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- output ---------------------------------------------------------------------------------------


class VersionOut(serializers.Serializer):
    """The four-eyes fields every version carries."""

    id = serializers.IntegerField()
    status = serializers.CharField(help_text="pending_approval, effective or rejected.")
    is_loosening = serializers.BooleanField(help_text="It needed (or needs) a second risk user's approval.")
    effective_from = serializers.DateTimeField(help_text="In force from (a loosening: from its approval).")
    proposed_by = serializers.CharField(source="proposed_by.username")
    proposed_at = serializers.DateTimeField()
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True, default=None)
    approved_at = serializers.DateTimeField(allow_null=True)
    rejected_by = serializers.CharField(source="rejected_by.username", allow_null=True, default=None)
    rejected_at = serializers.DateTimeField(allow_null=True)
    rejection_reason = serializers.CharField()
    comment = serializers.CharField()


class HaircutRuleOut(VersionOut):
    asset = serializers.CharField(source="asset.symbol")
    venue = serializers.CharField(source="venue.code", allow_null=True, default=None)
    counterparty = serializers.CharField(source="counterparty.code", allow_null=True, default=None)
    haircut_pct = serializers.DecimalField(**PCT)


class LimitOut(VersionOut):
    counterparty = serializers.CharField(source="counterparty.code")
    max_exposure_usd = serializers.DecimalField(**USD)
    max_tenor_days = serializers.IntegerField(allow_null=True, help_text="Null: no tenor limit.")
    min_coverage_ratio = serializers.DecimalField(**RATIO, allow_null=True, help_text="Null: no covenant.")
    asset_caps = serializers.SerializerMethodField(help_text='Most of each asset on loan: {"BTC": "10"}.')

    @extend_schema_field(serializers.DictField(child=serializers.DecimalField(**QTY)))
    def get_asset_caps(self, limit: BorrowerLimit) -> dict[str, str]:
        field = serializers.DecimalField(**QTY)
        return {cap.asset.symbol: field.to_representation(cap.max_quantity) for cap in limit.asset_caps.all()}


class AgreementOut(VersionOut):
    counterparty = serializers.CharField(source="counterparty.code")
    return_ratio = serializers.DecimalField(**RATIO)
    required_ratio = serializers.DecimalField(**RATIO)
    warning_ratio = serializers.DecimalField(**RATIO)
    call_ratio = serializers.DecimalField(**RATIO)
    critical_ratio = serializers.DecimalField(**RATIO)
    cure_period_hours = serializers.IntegerField()
    call_due_hours = serializers.IntegerField()


class ScenarioOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    description = serializers.CharField()
    markdowns = serializers.DictField(
        child=serializers.CharField(), help_text='{"BTC": "30"}: % price falls.'
    )
    other_markdown_pct = serializers.DecimalField(**PCT)
    stablecoin_markdown_pct = serializers.DecimalField(**PCT)
    haircut_addon_pct = serializers.DecimalField(**PCT)
    recall_fraction = serializers.DecimalField(max_digits=5, decimal_places=4)
    is_active = serializers.BooleanField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


# --- input ----------------------------------------------------------------------------------------


class ProposalIn(serializers.Serializer):
    effective_from = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: now.")
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class HaircutRuleIn(ProposalIn):
    asset = serializers.CharField(max_length=16)
    venue = serializers.CharField(max_length=32, required=False, allow_null=True, allow_blank=True)
    counterparty = serializers.CharField(max_length=32, required=False, allow_null=True, allow_blank=True)
    haircut_pct = serializers.DecimalField(**PCT)


class LimitIn(ProposalIn):
    counterparty = serializers.CharField(max_length=32)
    max_exposure_usd = serializers.DecimalField(**USD)
    max_tenor_days = serializers.IntegerField(
        required=False, allow_null=True, help_text="Null: no tenor limit."
    )
    min_coverage_ratio = serializers.DecimalField(**RATIO, required=False, allow_null=True)
    asset_caps = serializers.DictField(
        child=serializers.DecimalField(**QTY), required=False, default=dict, help_text='{"BTC": "10"}'
    )


class AgreementIn(ProposalIn):
    counterparty = serializers.CharField(max_length=32)
    return_ratio = serializers.DecimalField(**RATIO)
    required_ratio = serializers.DecimalField(**RATIO)
    warning_ratio = serializers.DecimalField(**RATIO)
    call_ratio = serializers.DecimalField(**RATIO)
    critical_ratio = serializers.DecimalField(**RATIO)
    cure_period_hours = serializers.IntegerField()
    call_due_hours = serializers.IntegerField()


class RejectIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ScenarioIn(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    markdowns = serializers.DictField(child=serializers.DecimalField(**PCT), required=False, default=dict)
    other_markdown_pct = serializers.DecimalField(**PCT, required=False, default=Decimal(0))
    stablecoin_markdown_pct = serializers.DecimalField(**PCT, required=False, default=Decimal(0))
    haircut_addon_pct = serializers.DecimalField(**PCT, required=False, default=Decimal(0))
    recall_fraction = serializers.DecimalField(
        max_digits=5, decimal_places=4, required=False, default=Decimal(0)
    )


# --- the versioned configuration ------------------------------------------------------------------


class ConfigViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List, read, propose, approve and reject versions of one kind of risk configuration."""

    permission_classes = [PolicyPermission]
    access = {"list": VIEW, "retrieve": VIEW, "create": PROPOSE, "approve": APPROVE, "reject": APPROVE}
    lookup_value_regex = r"\d+"
    label = "version"

    def _get(self, pk) -> Any:
        try:
            return self.get_queryset().get(pk=int(pk))
        except (ObjectDoesNotExist, ValueError):
            raise NotFoundError(f"No such {self.label}.") from None

    def _detail(self, pk, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self._get(pk)).data, status=status_code)

    def retrieve(self, request, pk=None):
        return self._detail(pk)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        services.approve_config(actor=request.user, version=self._get(pk))
        return self._detail(pk)

    @extend_schema(request=RejectIn)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        version = self._get(pk)
        v = valid(RejectIn, request.data)
        services.reject_config(actor=request.user, version=version, reason=v["reason"])
        return self._detail(pk)


class HaircutRuleViewSet(ConfigViewSet):
    """Haircut rules by asset, optionally narrowed by venue and/or counterparty; the most specific
    rule in force wins. A higher haircut is in force at once; a lower one (or a first rule, making the
    asset eligible) waits for another risk user's approval."""

    serializer_class = HaircutRuleOut
    filterset_class = HaircutRuleFilter
    label = "haircut rule"

    def get_queryset(self) -> QuerySet[HaircutRule]:
        return selectors.haircut_rules()

    @extend_schema(request=HaircutRuleIn, responses={201: HaircutRuleOut})
    def create(self, request):
        v = valid(HaircutRuleIn, request.data)
        rule = services.propose_haircut_rule(
            actor=request.user,
            asset=by_code(Asset, "symbol", v["asset"], "asset", "asset"),
            venue=by_code(Venue, "code", v["venue"], "venue", "venue") if v.get("venue") else None,
            counterparty=(
                by_code(Counterparty, "code", v["counterparty"], "counterparty", "counterparty")
                if v.get("counterparty")
                else None
            ),
            haircut_pct=v["haircut_pct"],
            effective_from=v.get("effective_from"),
            comment=v["comment"],
        )
        return self._detail(rule.pk, status.HTTP_201_CREATED)


class LimitViewSet(ConfigViewSet):
    """Borrower limits (max exposure in USD, max tenor, minimum coverage covenant, per-asset caps), one
    version per change. A first limit or a stricter one is in force at once; a looser one waits for
    another risk user's approval."""

    serializer_class = LimitOut
    filterset_class = LimitFilter
    label = "limit"

    def get_queryset(self) -> QuerySet[BorrowerLimit]:
        return selectors.limits()

    @extend_schema(request=LimitIn, responses={201: LimitOut})
    def create(self, request):
        v = valid(LimitIn, request.data)
        caps = {
            by_code(Asset, "symbol", symbol, "asset_caps", "asset"): quantity
            for symbol, quantity in v["asset_caps"].items()
        }
        limit = services.propose_limit(
            actor=request.user,
            counterparty=by_code(Counterparty, "code", v["counterparty"], "counterparty", "counterparty"),
            max_exposure_usd=v["max_exposure_usd"],
            max_tenor_days=v.get("max_tenor_days"),
            min_coverage_ratio=v.get("min_coverage_ratio"),
            asset_caps=caps,
            effective_from=v.get("effective_from"),
            comment=v["comment"],
        )
        return self._detail(limit.pk, status.HTTP_201_CREATED)


class AgreementViewSet(ConfigViewSet):
    """Collateral agreements: a counterparty's coverage levels (return > required ≥ warning ≥ call >
    critical) and hours. Stricter than the agreement in force (or the defaults) is in force at once;
    anything else waits for another risk user's approval."""

    serializer_class = AgreementOut
    filterset_class = AgreementFilter
    label = "agreement"

    def get_queryset(self) -> QuerySet[CollateralAgreement]:
        return selectors.agreements()

    @extend_schema(request=AgreementIn, responses={201: AgreementOut})
    def create(self, request):
        v = valid(AgreementIn, request.data)
        agreement = services.propose_agreement(
            actor=request.user,
            counterparty=by_code(Counterparty, "code", v["counterparty"], "counterparty", "counterparty"),
            return_ratio=v["return_ratio"],
            required_ratio=v["required_ratio"],
            warning_ratio=v["warning_ratio"],
            call_ratio=v["call_ratio"],
            critical_ratio=v["critical_ratio"],
            cure_period_hours=v["cure_period_hours"],
            call_due_hours=v["call_due_hours"],
            effective_from=v.get("effective_from"),
            comment=v["comment"],
        )
        return self._detail(agreement.pk, status.HTTP_201_CREATED)


# --- stress scenarios -----------------------------------------------------------------------------


class ScenarioViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Stress scenarios: the active version of each by default (``?is_active=false`` or ``?name=``
    for older versions); a save is a new version."""

    serializer_class = ScenarioOut
    filterset_class = ScenarioFilter
    permission_classes = [PolicyPermission]
    access = {
        "list": "collateral.stress.view",
        "retrieve": "collateral.stress.view",
        "create": "collateral.stress.edit",
    }
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[StressScenario]:
        params = self.request.query_params if self.request else {}
        if self.action == "list" and "name" not in params and "is_active" not in params:
            return selectors.scenarios()
        return selectors.scenario_versions()

    @extend_schema(request=ScenarioIn, responses={201: ScenarioOut})
    def create(self, request):
        v = valid(ScenarioIn, request.data)
        scenario = services.save_stress_scenario(actor=request.user, **v)
        return Response(ScenarioOut(scenario).data, status=status.HTTP_201_CREATED)
