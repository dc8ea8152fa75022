"""AML monitoring's API: the alerts (filters by rule, status, counterparty) with the dismissal, and the
rules (read; compliance changes them with PUT)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from borrowdesk.api import PolicyPermission
from borrowdesk.errors import NotFoundError
from compliance.aml import selectors, services
from compliance.aml.filters import AmlAlertFilter


class AmlAlertOut(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.CharField(source="rule.code")
    rule_version = serializers.IntegerField()
    counterparty = serializers.CharField(source="counterparty.code")
    subject = serializers.CharField()
    score = serializers.DecimalField(max_digits=24, decimal_places=4, coerce_to_string=True)
    figures = serializers.JSONField()
    request_id = serializers.IntegerField(allow_null=True)
    loan_ids = serializers.ListField(child=serializers.IntegerField())
    settlement_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    case = serializers.IntegerField(source="case_id", allow_null=True)
    detected_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    dismissed_by = serializers.CharField(source="dismissed_by.username", allow_null=True, default=None)
    dismissed_at = serializers.DateTimeField(allow_null=True)
    dismissal_reason = serializers.CharField()


class DismissIn(serializers.Serializer):
    reason = serializers.CharField(max_length=services.MAX_REASON)


class AmlAlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """GET /api/v1/compliance/aml/alerts/ (?rule=, ?status=, ?counterparty=);
    POST …/{id}/dismiss/ {reason}."""

    serializer_class = AmlAlertOut
    permission_classes = [PolicyPermission]
    access = {
        "list": "compliance.aml.view",
        "retrieve": "compliance.aml.view",
        "dismiss": "compliance.aml.work",
    }
    filterset_class = AmlAlertFilter

    def get_queryset(self):
        return selectors.alerts()

    @extend_schema(request=DismissIn, responses=AmlAlertOut)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        """Dismiss an alert with a reason (409 ``invalid_state`` when it already is)."""
        alert = self.get_object()
        data = DismissIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.dismiss_alert(actor=request.user, alert=alert, reason=data.validated_data["reason"])
        return Response(AmlAlertOut(selectors.alert_detail(alert.pk)).data)


class AmlRuleOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="get_code_display")
    enabled = serializers.BooleanField()
    parameters = serializers.JSONField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)


class AmlRuleIn(serializers.Serializer):
    enabled = serializers.BooleanField()
    parameters = serializers.DictField()


class AmlRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """GET /api/v1/compliance/aml/rules/; PUT …/{code}/ {enabled, parameters} (every parameter; an
    unknown, missing or out-of-bounds one is a 400 naming it, and nothing changes)."""

    serializer_class = AmlRuleOut
    permission_classes = [PolicyPermission]
    access = {
        "list": "compliance.aml.view",
        "retrieve": "compliance.aml.view",
        "update": "compliance.aml.configure",
    }
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self):
        return selectors.rules()

    @extend_schema(request=AmlRuleIn, responses=AmlRuleOut)
    def update(self, request, code=None):
        rule = selectors.rules().filter(code=code).first()
        if rule is None:
            raise NotFoundError("No such AML rule.")
        data = AmlRuleIn(data=request.data)
        data.is_valid(raise_exception=True)
        saved = services.update_rule(actor=request.user, rule=rule, **data.validated_data)
        return Response(AmlRuleOut(selectors.rules().get(pk=saved.pk)).data)
