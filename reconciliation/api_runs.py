"""The runs and breaks API (API.md "Treasury, settlement, reconciliation"), part reconruns.

``POST runs/ {business_date, scope}`` → 202 ``{id, status}``, then ``GET runs/{id}/`` until
``finished`` or ``failed``; ``GET runs/{id}/breaks/``; ``breaks/`` (the queue, filtered as the page);
``POST breaks/{id}/resolve/ {reason, text?}``, ``…/assign/ {owner}``, ``…/comment/ {text}``,
``…/adjust/ {text, quantity?}`` (ops_senior: a booking error's ledger fix); ``gate-overrides/``.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from borrowdesk.api import PolicyPermission
from borrowdesk.errors import NotFoundError
from borrowdesk.refdata.models import CustodyAccount
from collateral.api.config import by_code, valid
from inventory.models import QTY
from reconciliation import selectors_runs as selectors
from reconciliation.filters_runs import BreakFilter
from reconciliation.models_runs import Break, BreakReason, GateOverride, ReconciliationRun, RunScope
from reconciliation.services.breaks import adjust_break, assign_break, comment_on_break, resolve_break
from reconciliation.services.gate import override_gate
from reconciliation.services.runs import request_run


class RunIn(serializers.Serializer):
    business_date = serializers.DateField()
    scope = serializers.ChoiceField(choices=RunScope.choices, default=RunScope.ALL)


class RunAccepted(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class RunOut(serializers.Serializer):
    id = serializers.IntegerField()
    business_date = serializers.DateField()
    scope = serializers.CharField()
    status = serializers.CharField(help_text="queued, running, finished or failed.")
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    cutoff = serializers.DateTimeField(allow_null=True, help_text="The latest statement up to it counted.")
    counts = serializers.JSONField()
    error = serializers.CharField()


class BreakOut(serializers.Serializer):
    id = serializers.IntegerField()
    run = serializers.IntegerField(source="run_id")
    business_date = serializers.DateField(source="run.business_date")
    account = serializers.CharField(source="account.code")
    asset = serializers.CharField(source="asset.symbol", allow_null=True, default=None)
    internal_quantity = serializers.DecimalField(**QTY, allow_null=True)
    external_quantity = serializers.DecimalField(**QTY, allow_null=True)
    difference = serializers.DecimalField(**QTY, allow_null=True, help_text="external − internal")
    kind = serializers.CharField(help_text="mismatch, missing_internal, missing_external or statement_gap.")
    status = serializers.CharField(help_text="open, assigned, resolved or auto_resolved.")
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    reason = serializers.CharField()
    resolution_text = serializers.CharField()
    opened_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField(source="resolved_by.username", allow_null=True, default=None)
    adjustment = serializers.IntegerField(source="adjustment_id", allow_null=True)


class ResolveIn(serializers.Serializer):
    reason = serializers.ChoiceField(choices=BreakReason.choices)
    text = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class BreakAssignIn(serializers.Serializer):
    owner = serializers.CharField(max_length=150, help_text="Username of someone who works breaks.")


class CommentIn(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


class AdjustIn(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
    quantity = serializers.DecimalField(**QTY, required=False, help_text="Signed; default the difference.")


class OverrideIn(serializers.Serializer):
    account = serializers.CharField(max_length=40)
    reason = serializers.CharField(max_length=2000)


class OverrideOut(serializers.Serializer):
    id = serializers.IntegerField()
    business_date = serializers.DateField()
    account = serializers.CharField(source="account.code")
    reason = serializers.CharField()
    held_because = serializers.CharField()
    by = serializers.CharField(source="by.username")
    at = serializers.DateTimeField()


def _get(qs: QuerySet, pk, what: str):
    try:
        return qs.get(pk=int(pk))
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(f"No such {what}.") from None


class RunViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Reconciliation runs, newest date first. ``POST``: queue a run (202); a re-run of a date and
    scope updates the same run and its breaks."""

    serializer_class = RunOut
    permission_classes = [PolicyPermission]
    access = {"list": "reconciliation.view", "retrieve": "reconciliation.view",
              "breaks": "reconciliation.view",
              "create": "reconciliation.run"}  # fmt: skip
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ReconciliationRun]:
        return selectors.runs()

    def retrieve(self, request, pk=None):
        return Response(RunOut(_get(self.get_queryset(), pk, "run")).data)

    @extend_schema(request=RunIn, responses={202: RunAccepted})
    def create(self, request):
        v = valid(RunIn, request.data)
        run = request_run(actor=request.user, business_date=v["business_date"], scope=v["scope"])
        return Response({"id": run.pk, "status": run.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=BreakOut(many=True), filters=True)
    @action(detail=True, methods=["get"])
    def breaks(self, request, pk=None):
        run = _get(self.get_queryset(), pk, "run")
        qs = BreakFilter(request.query_params, queryset=selectors.breaks().filter(run=run), request=request)
        if not qs.is_valid():
            from rest_framework.exceptions import ValidationError

            raise ValidationError(qs.errors)
        page = self.paginate_queryset(qs.qs)
        return self.get_paginated_response(BreakOut(page, many=True).data)


class BreakViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The break queue (filters: account, asset, kind, status, owner, min_age_days, business_date,
    scope) and the actions that work a break."""

    serializer_class = BreakOut
    filterset_class = BreakFilter
    permission_classes = [PolicyPermission]
    access = {
        "list": "reconciliation.view",
        "retrieve": "reconciliation.view",
        "resolve": "reconciliation.break.work",
        "assign": "reconciliation.break.work",
        "comment": "reconciliation.break.work",
        "adjust": "reconciliation.break.adjust",
    }
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Break]:
        return selectors.breaks().order_by("opened_at", "id")

    def _out(self, pk) -> Response:
        return Response(BreakOut(_get(self.get_queryset(), pk, "break")).data)

    def retrieve(self, request, pk=None):
        return self._out(pk)

    @extend_schema(request=ResolveIn, responses=BreakOut)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        brk = _get(self.get_queryset(), pk, "break")
        v = valid(ResolveIn, request.data)
        resolve_break(actor=request.user, brk=brk, reason=v["reason"], text=v["text"])
        return self._out(pk)

    @extend_schema(request=BreakAssignIn, responses=BreakOut)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        brk = _get(self.get_queryset(), pk, "break")
        v = valid(BreakAssignIn, request.data)
        assign_break(actor=request.user, brk=brk, owner=v["owner"])
        return self._out(pk)

    @extend_schema(request=CommentIn, responses=BreakOut)
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        brk = _get(self.get_queryset(), pk, "break")
        v = valid(CommentIn, request.data)
        comment_on_break(actor=request.user, brk=brk, text=v["text"])
        return self._out(pk)

    @extend_schema(request=AdjustIn, responses=BreakOut)
    @action(detail=True, methods=["post"])
    def adjust(self, request, pk=None):
        brk = _get(self.get_queryset(), pk, "break")
        v = valid(AdjustIn, request.data)
        adjust_break(actor=request.user, brk=brk, text=v["text"], quantity=v.get("quantity"))
        return self._out(pk)


class GateOverrideViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The pre-open gate's overrides, newest first. ``POST {account, reason}``: senior operations
    release an account held by the gate for today's business date."""

    serializer_class = OverrideOut
    permission_classes = [PolicyPermission]
    access = {"list": "reconciliation.view", "create": "reconciliation.gate.override"}

    def get_queryset(self) -> QuerySet[GateOverride]:
        return GateOverride.objects.select_related("account", "by")

    @extend_schema(request=OverrideIn, responses={201: OverrideOut})
    def create(self, request):
        v = valid(OverrideIn, request.data)
        account = by_code(CustodyAccount, "code", v["account"], "account", "account")
        override = override_gate(actor=request.user, account=account, reason=v["reason"])
        return Response(OverrideOut(override).data, status=status.HTTP_201_CREATED)
