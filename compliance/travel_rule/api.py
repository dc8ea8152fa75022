"""Travel-rule API (API.md "Compliance"): a leg's or transfer's IVMS101 messages and their status,
the payload's JSON export, and compliance's actions (rebuild, send, acknowledge, reject); the
travel-rule data on file for a counterparty."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.api import PolicyPermission
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.refdata.models import Counterparty
from compliance.travel_rule import selectors, services
from compliance.travel_rule.filters import TravelRuleMessageFilter
from compliance.travel_rule.models import TravelRuleMessage

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
USD: dict[str, Any] = {"max_digits": 24, "decimal_places": 8}


class TravelRuleProblemOut(serializers.Serializer):
    path = serializers.CharField()
    message = serializers.CharField()


class TravelRuleMessageOut(serializers.Serializer):
    id = serializers.IntegerField()
    subject_kind = serializers.CharField(help_text="settlement (a settlement leg) or transfer.")
    leg = serializers.SerializerMethodField(help_text="The settlement leg's id, for a leg's message.")
    transfer = serializers.SerializerMethodField(help_text="The transfer's id, for a transfer's message.")
    direction = serializers.CharField()
    counterparty = serializers.CharField(source="counterparty.code")
    asset = serializers.CharField(source="asset.symbol")
    amount = serializers.DecimalField(**QTY)
    amount_usd = serializers.DecimalField(**USD, allow_null=True)
    threshold_usd = serializers.DecimalField(**USD, allow_null=True)
    jurisdiction = serializers.CharField()
    originator_name = serializers.CharField()
    originator_account = serializers.CharField()
    beneficiary_name = serializers.CharField()
    beneficiary_account = serializers.CharField()
    originating_vasp_name = serializers.CharField()
    beneficiary_vasp_name = serializers.CharField()
    status = serializers.CharField()
    is_current = serializers.BooleanField()
    # A declared field, popped from the class by DRF's metaclass: it does not shadow is_valid().
    is_valid = serializers.BooleanField()  # type: ignore[assignment]
    lets_settle = serializers.BooleanField()
    spelling = serializers.CharField(help_text="IVMS101 2020 or 2023.")
    validation_errors = TravelRuleProblemOut(many=True)
    validation_warnings = TravelRuleProblemOut(many=True)
    payload = serializers.JSONField(help_text="The IVMS101 identity payload.")
    transport = serializers.CharField()
    transport_reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    sent_by = serializers.CharField(source="sent_by.username", allow_null=True, default=None)
    responded_at = serializers.DateTimeField(allow_null=True)
    responded_by = serializers.CharField(source="responded_by.username", allow_null=True, default=None)
    response_reason = serializers.CharField()

    def get_leg(self, obj) -> int | None:
        return obj.subject_id if obj.subject_kind == "settlement" else None

    def get_transfer(self, obj) -> int | None:
        return obj.subject_id if obj.subject_kind == "transfer" else None


class TravelRuleRejectIn(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


def export_response(message: TravelRuleMessage) -> HttpResponse:
    """The IVMS101 payload as a JSON download (what a manual transport sends)."""
    response = HttpResponse(
        json.dumps(message.payload, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="travel-rule-{message.pk}-ivms101.json"'
    return response


class TravelRuleMessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """IVMS101 messages: filter by ``?leg=`` or ``?transfer=`` (and status, counterparty); compliance
    rebuilds, sends, and records the other VASP's answer."""

    serializer_class = TravelRuleMessageOut
    permission_classes = [PolicyPermission]
    filterset_class = TravelRuleMessageFilter
    access = {
        "list": "compliance.travel_rule.view",
        "retrieve": "compliance.travel_rule.view",
        "export": "compliance.travel_rule.view",
        "rebuild": "compliance.travel_rule.work",
        "send": "compliance.travel_rule.work",
        "acknowledge": "compliance.travel_rule.work",
        "reject": "compliance.travel_rule.work",
    }

    def get_queryset(self):
        return selectors.messages()

    def _get(self, pk) -> TravelRuleMessage:
        try:
            return selectors.messages().get(pk=int(pk))
        except (TravelRuleMessage.DoesNotExist, ValueError, OverflowError):
            raise NotFoundError("No such travel-rule message.") from None

    def _out(self, message: TravelRuleMessage, status: int = 200) -> Response:
        return Response(TravelRuleMessageOut(self._get(message.pk)).data, status=status)

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """The IVMS101 identity payload as a JSON file."""
        return export_response(self._get(pk))

    @extend_schema(request=None, responses={201: TravelRuleMessageOut})
    @action(detail=True, methods=["post"])
    def rebuild(self, request, pk=None):
        """Build the message again from the data on file: answers 201 with the new current message."""
        return self._out(services.rebuild_message(actor=request.user, message=self._get(pk)), status=201)

    @extend_schema(request=None, responses=TravelRuleMessageOut)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        return self._out(services.send_message(actor=request.user, message=self._get(pk)))

    @extend_schema(request=None, responses=TravelRuleMessageOut)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._out(services.record_response(actor=request.user, message=self._get(pk), accepted=True))

    @extend_schema(request=TravelRuleRejectIn, responses=TravelRuleMessageOut)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = TravelRuleRejectIn(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.record_response(
            actor=request.user, message=self._get(pk), accepted=False, reason=data.validated_data["reason"]
        )
        return self._out(message)


class TravelRulePartyIn(serializers.Serializer):
    counterparty = serializers.CharField(max_length=32)
    lei = serializers.CharField(max_length=20, required=False, allow_blank=True)
    registration_id = serializers.CharField(max_length=35, required=False, allow_blank=True)
    registration_authority = serializers.CharField(max_length=8, required=False, allow_blank=True)
    street = serializers.CharField(max_length=70, required=False, allow_blank=True)
    building_number = serializers.CharField(max_length=16, required=False, allow_blank=True)
    post_code = serializers.CharField(max_length=16, required=False, allow_blank=True)
    town = serializers.CharField(max_length=35, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)


class TravelRulePartyOut(serializers.Serializer):
    counterparty = serializers.CharField(source="counterparty.code")
    lei = serializers.CharField()
    registration_id = serializers.CharField()
    registration_authority = serializers.CharField()
    street = serializers.CharField()
    building_number = serializers.CharField()
    post_code = serializers.CharField()
    town = serializers.CharField()
    country = serializers.CharField()
    updated_at = serializers.DateTimeField()


class TravelRulePartyView(APIView):
    """``POST`` a counterparty's travel-rule data on file (address, LEI, register); the fields sent
    replace those on file, the others stay."""

    permission_classes = [PolicyPermission]
    access = {"POST": "compliance.travel_rule.work"}

    @extend_schema(request=TravelRulePartyIn, responses=TravelRulePartyOut)
    def post(self, request):
        data = TravelRulePartyIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        counterparty = Counterparty.objects.filter(code=values.pop("counterparty")).first()
        if counterparty is None:
            raise InvalidInput("Unknown counterparty.", fields={"counterparty": ["Unknown counterparty."]})
        party = services.set_party_data(actor=request.user, counterparty=counterparty, **values)
        return Response(TravelRulePartyOut(party).data)
