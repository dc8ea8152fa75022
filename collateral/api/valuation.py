"""Coverage, margin calls and releases (API.md "Collateral, limits, stress").

- ``GET /api/v1/collateral/coverage/?counterparty=`` — live coverage (the coverage query now) of the
  counterparties the user may see, by code, paginated; ``status`` joins the live figures with the
  counterparty's open margin call (``selectors.coverage.live_state``); ``default_flagged`` and
  ``state`` are the revaluation's stored view. A fixed number of queries whatever the page holds.
- ``GET /api/v1/collateral/margin-calls/?status=&counterparty=``, ``…/{id}/``; risk:
  ``POST …/{id}/note/ {text}``, ``…/cancel/ {reason}``, ``…/escalate/ {reason?}``.
- ``POST /api/v1/collateral/releases/`` (ops) ``{counterparty, asset, account, quantity, reference?}``
  → 201, or 409 ``coverage_breach`` / ``insufficient_inventory`` / ``invalid_state``.

Traders see only the counterparties they act for; another's coverage or call is a 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.api import Pagination, PolicyPermission
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from borrowdesk.refdata.selectors import visible_counterparties
from collateral.filters_valuation import MarginCallFilter
from collateral.models import CounterpartyRisk, MarginCall
from collateral.selectors.coverage import coverage_rows, live_state, open_calls_by_counterparty
from collateral.selectors.margin_calls import margin_call, margin_calls
from collateral.services import valuation as services

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
USD: dict[str, Any] = {"max_digits": 24, "decimal_places": 8}
RATIO: dict[str, Any] = {"max_digits": 12, "decimal_places": 6}


def _by_code(model: type[Model], lookup: str, value: str, field: str, label: str) -> Any:
    found = model.objects.filter(**{lookup: value}).first()  # type: ignore[attr-defined]
    if found is None:
        raise InvalidInput(f"Unknown {label} {value!r}.", fields={field: [f"Unknown {label}."]})
    return found


# --- coverage -------------------------------------------------------------------------------------


class CoverageOut(serializers.Serializer):
    counterparty = serializers.CharField()
    exposure_usd = serializers.DecimalField(**USD, allow_null=True, help_text="Null: a mark is missing.")
    collateral_value_usd = serializers.DecimalField(
        **USD, allow_null=True, help_text="After haircuts; null: a mark is missing."
    )
    ineligible_value_usd = serializers.DecimalField(
        **USD, allow_null=True, help_text="Market value of collateral with no haircut rule (worth 0)."
    )
    coverage_ratio = serializers.DecimalField(**RATIO, allow_null=True, help_text="Null: no exposure.")
    return_ratio = serializers.DecimalField(**RATIO)
    required_ratio = serializers.DecimalField(**RATIO)
    warning_ratio = serializers.DecimalField(**RATIO)
    call_ratio = serializers.DecimalField(**RATIO)
    critical_ratio = serializers.DecimalField(**RATIO)
    shortfall_usd = serializers.DecimalField(**USD, allow_null=True, help_text="Top-up to required.")
    excess_usd = serializers.DecimalField(**USD, help_text="Suggested release (above the return level).")
    status = serializers.CharField(help_text="ok, warning, call, breach, critical, needs_review")
    review_reason = serializers.CharField()
    margin_call = serializers.IntegerField(allow_null=True, help_text="The open margin call's id.")
    default_flagged = serializers.BooleanField(help_text="Below critical beyond the cure period.")
    default_flagged_at = serializers.DateTimeField(allow_null=True)


class CoverageView(APIView):
    """Live coverage of the counterparties the user may see (a trader: theirs), by code."""

    permission_classes = [PolicyPermission]
    access = {"GET": "collateral.view"}

    @extend_schema(
        parameters=[OpenApiParameter("counterparty", str, description="Counterparty code")],
        responses=CoverageOut(many=True),
    )
    def get(self, request):
        counterparties = visible_counterparties(request.user).order_by("code")
        code = request.query_params.get("counterparty")
        if code:
            counterparties = counterparties.filter(code=code)
        paginator = Pagination()
        page = paginator.paginate_queryset(counterparties.only("id", "code"), request, view=self)
        assert page is not None
        if code and not page:
            raise NotFoundError("No such counterparty.")
        ids = [c.pk for c in page]
        # The queries: the coverage statement, the open calls, the stored risk rows (default flags).
        rows = coverage_rows(counterparty_ids=ids)
        calls = open_calls_by_counterparty(ids)
        risks = {r.counterparty_id: r for r in CounterpartyRisk.objects.filter(counterparty_id__in=ids)}
        results = []
        for row in rows:
            call = calls.get(row.counterparty_id)
            risk = risks.get(row.counterparty_id)
            results.append(
                {
                    **row._asdict(),
                    "counterparty": row.counterparty_code,
                    "status": live_state(row, call.status if call else None),
                    "margin_call": call.pk if call else None,
                    "default_flagged": bool(risk and risk.default_flagged_at),
                    "default_flagged_at": risk.default_flagged_at if risk else None,
                }
            )
        return paginator.get_paginated_response(CoverageOut(results, many=True).data)


# --- margin calls ---------------------------------------------------------------------------------


class MarginCallOut(serializers.Serializer):
    id = serializers.IntegerField()
    counterparty = serializers.CharField(source="counterparty.code")
    status = serializers.CharField(help_text="open, escalated, met, cancelled")
    amount_usd = serializers.DecimalField(**USD, help_text="Top-up to required, as last revalued.")
    initial_amount_usd = serializers.DecimalField(**USD)
    exposure_usd = serializers.DecimalField(**USD)
    collateral_value_usd = serializers.DecimalField(**USD)
    coverage_ratio = serializers.DecimalField(**RATIO)
    required_ratio = serializers.DecimalField(**RATIO)
    issued_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    is_past_due = serializers.BooleanField()
    updated_at = serializers.DateTimeField()
    escalated_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = serializers.CharField(source="closed_by.username", allow_null=True, default=None)
    note = serializers.CharField()


class NoteIn(serializers.Serializer):
    text = serializers.CharField(max_length=500)


class MarginCallReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class OptionalReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class MarginCallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Margin calls, open and escalated first by due time. Risk notes, cancels and escalates."""

    serializer_class = MarginCallOut
    filterset_class = MarginCallFilter
    permission_classes = [PolicyPermission]
    access = {
        "list": "collateral.view",
        "retrieve": "collateral.view",
        "note": "collateral.margin_call.operate",
        "cancel": "collateral.margin_call.operate",
        "escalate": "collateral.margin_call.operate",
    }
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return margin_calls(self.request.user)

    def _get(self, pk) -> MarginCall:
        try:
            return margin_call(self.request.user, int(pk))
        except (MarginCall.DoesNotExist, ValueError):
            raise NotFoundError("No such margin call.") from None

    def _detail(self, pk) -> Response:
        return Response(MarginCallOut(self._get(pk)).data)

    @extend_schema(responses=MarginCallOut)
    def retrieve(self, request, pk=None):
        return self._detail(pk)

    @extend_schema(request=NoteIn, responses=MarginCallOut)
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        call = self._get(pk)
        v = _valid(NoteIn, request.data)
        services.add_note(actor=request.user, call=call, text=v["text"])
        return self._detail(pk)

    @extend_schema(request=MarginCallReasonIn, responses=MarginCallOut)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        call = self._get(pk)
        v = _valid(MarginCallReasonIn, request.data)
        services.cancel_margin_call(actor=request.user, call=call, reason=v["reason"])
        return self._detail(pk)

    @extend_schema(request=OptionalReasonIn, responses=MarginCallOut)
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        call = self._get(pk)
        v = _valid(OptionalReasonIn, request.data)
        services.escalate_margin_call(actor=request.user, call=call, reason=v["reason"])
        return self._detail(pk)


# --- releases -------------------------------------------------------------------------------------


class ReleaseIn(serializers.Serializer):
    counterparty = serializers.CharField(max_length=32)
    asset = serializers.CharField(max_length=16)
    account = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(**QTY)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class ReleaseOut(serializers.Serializer):
    id = serializers.IntegerField()
    counterparty = serializers.CharField(source="counterparty.code")
    asset = serializers.CharField(source="asset.symbol")
    account = serializers.CharField(source="account.code")
    quantity = serializers.DecimalField(**QTY)
    reference = serializers.CharField()
    coverage_after = serializers.DecimalField(**RATIO, allow_null=True, help_text="Null: no exposure.")
    journal = serializers.IntegerField(source="journal_id")
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class ReleaseView(APIView):
    """Give pledged collateral back (ops): refused with 409 ``coverage_breach`` below required."""

    permission_classes = [PolicyPermission]
    access = {"POST": "collateral.pledge"}

    @extend_schema(request=ReleaseIn, responses={201: ReleaseOut})
    def post(self, request):
        v = _valid(ReleaseIn, request.data)
        release = services.release_collateral(
            actor=request.user,
            counterparty=_by_code(Counterparty, "code", v["counterparty"], "counterparty", "counterparty"),
            asset=_by_code(Asset, "symbol", v["asset"], "asset", "asset"),
            account=_by_code(CustodyAccount, "code", v["account"], "account", "account"),
            quantity=v["quantity"],
            reference=v["reference"],
        )
        return Response(ReleaseOut(release).data, status=status.HTTP_201_CREATED)
