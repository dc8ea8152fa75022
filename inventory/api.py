"""The inventory and loans API (API.md "Inventory and loans")."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.access.roles import has_role
from borrowdesk.api import HasRole, Pagination
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from borrowdesk.refdata.selectors import acts_for
from inventory import selectors, services
from inventory.models import Journal, Loan, Rerate

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
RATE: dict[str, Any] = {"max_digits": 12, "decimal_places": 4}
DESK_READERS = ("ops", "ops_senior", "risk", "treasury", "manager", "auditor", "admin", "compliance")


def _asset(symbol: str) -> Asset:
    asset = Asset.objects.filter(symbol=symbol).first()
    if asset is None:
        raise InvalidInput(f"Unknown asset {symbol!r}.", fields={"asset": ["Unknown asset."]})
    return asset


def _account(code: str) -> CustodyAccount:
    account = CustodyAccount.objects.filter(code=code).first()
    if account is None:
        raise InvalidInput(f"Unknown account {code!r}.", fields={"account": ["Unknown account."]})
    return account


class EntryOut(serializers.Serializer):
    asset = serializers.CharField(source="asset.symbol")
    account = serializers.CharField(source="account.code")
    bucket = serializers.CharField()
    quantity = serializers.DecimalField(**QTY)


class JournalOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    reference = serializers.CharField()
    memo = serializers.CharField()
    source_counterparty = serializers.CharField(
        source="source_counterparty.code", allow_null=True, default=None
    )
    cost_rate_bps = serializers.DecimalField(**RATE, allow_null=True)
    loan = serializers.IntegerField(source="loan_id", allow_null=True)
    entries = EntryOut(many=True)


class ReceiptIn(serializers.Serializer):
    asset = serializers.CharField(max_length=16)
    account = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(**QTY)
    source_counterparty = serializers.CharField(
        max_length=32, required=False, allow_null=True, allow_blank=True
    )
    cost_rate_bps = serializers.DecimalField(**RATE, required=False, allow_null=True)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class AdjustmentIn(serializers.Serializer):
    asset = serializers.CharField(max_length=16)
    account = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(**QTY, help_text="Signed: + adds to available, - removes.")
    reason = serializers.CharField(max_length=500)


def _journal_out(journal: Journal) -> dict:
    return JournalOut(selectors.journals().get(pk=journal.pk)).data


class ReceiptView(APIView):
    """Inventory comes in from the firm or a lender (external → available)."""

    permission_classes = [HasRole]
    write_roles = ("ops", "ops_senior", "treasury", "admin")

    @extend_schema(request=ReceiptIn, responses={201: JournalOut})
    def post(self, request):
        data = ReceiptIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        source = None
        if v.get("source_counterparty"):
            source = Counterparty.objects.filter(code=v["source_counterparty"]).first()
            if source is None:
                raise InvalidInput(
                    "Unknown counterparty.", fields={"source_counterparty": ["Unknown counterparty."]}
                )
        journal = services.receive(
            actor=request.user,
            asset=_asset(v["asset"]),
            account=_account(v["account"]),
            quantity=v["quantity"],
            source_counterparty=source,
            cost_rate_bps=v.get("cost_rate_bps"),
            reference=v.get("reference", ""),
        )
        return Response(_journal_out(journal), status=status.HTTP_201_CREATED)


class AdjustmentView(APIView):
    """Correct an available balance with a reason (ops_senior only)."""

    permission_classes = [HasRole]
    write_roles = ("ops_senior",)

    @extend_schema(request=AdjustmentIn, responses={201: JournalOut})
    def post(self, request):
        data = AdjustmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with transaction.atomic():
            journal = services.adjust(
                actor=request.user,
                asset=_asset(v["asset"]),
                account=_account(v["account"]),
                quantity=v["quantity"],
                reason=v["reason"],
            )
        return Response(_journal_out(journal), status=status.HTTP_201_CREATED)


class PositionOut(serializers.Serializer):
    asset = serializers.CharField(source="asset__symbol")
    account = serializers.CharField(source="account__code")
    available = serializers.DecimalField(**QTY)
    allocated = serializers.DecimalField(**QTY)
    on_loan = serializers.DecimalField(**QTY)
    in_transit = serializers.DecimalField(**QTY)


class PositionsView(APIView):
    permission_classes = [HasRole]
    read_roles = DESK_READERS

    @extend_schema(responses=PositionOut(many=True))
    def get(self, request):
        paginator = Pagination()
        rows = selectors.positions_by_account(asset_symbol=request.query_params.get("asset") or None)
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(PositionOut(page, many=True).data)


class AvailabilityOut(serializers.Serializer):
    asset = serializers.CharField()
    available = serializers.DecimalField(**QTY)
    allocated = serializers.DecimalField(**QTY)
    on_loan = serializers.DecimalField(**QTY)
    utilization = serializers.DecimalField(max_digits=6, decimal_places=4)


class AvailabilityView(APIView):
    permission_classes = [IsAuthenticated]  # traders see availability before they ask

    @extend_schema(responses=AvailabilityOut(many=True))
    def get(self, request):
        rows = selectors.availability(request.query_params.get("asset") or None)
        return Response(
            {
                "count": len(rows),
                "next": None,
                "previous": None,
                "results": AvailabilityOut(rows, many=True).data,
            }
        )


class JournalViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = JournalOut
    permission_classes = [HasRole]
    read_roles = DESK_READERS

    def get_queryset(self):
        return selectors.journals(
            asset_symbol=self.request.query_params.get("asset") or None,
            kind=self.request.query_params.get("kind") or None,
        )


class RecallOut(serializers.Serializer):
    id = serializers.IntegerField()
    quantity = serializers.DecimalField(**QTY)
    due_at = serializers.DateTimeField()
    status = serializers.CharField()


class RerateOut(serializers.Serializer):
    id = serializers.IntegerField()
    rate_bps = serializers.DecimalField(**RATE)
    effective_date = serializers.DateField()
    status = serializers.CharField()


class LoanOut(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.IntegerField(source="request_id", allow_null=True)
    counterparty = serializers.CharField(source="counterparty.code")
    asset = serializers.CharField(source="asset.symbol")
    account = serializers.CharField(source="account.code")
    quantity = serializers.DecimalField(**QTY)
    open_quantity = serializers.DecimalField(**QTY)
    rate_bps = serializers.DecimalField(**RATE)
    status = serializers.CharField()
    start_date = serializers.DateField(allow_null=True)
    maturity_date = serializers.DateField(allow_null=True)
    accrued_fee = serializers.DecimalField(**QTY)
    recalled_quantity = serializers.DecimalField(**QTY)
    buy_in = serializers.BooleanField(help_text="An open recall is past due: flagged for buy-in.")
    past_maturity = serializers.BooleanField()


class LoanDetailOut(LoanOut):
    recalls = RecallOut(many=True)
    rerates = RerateOut(many=True)


class QuantityIn(serializers.Serializer):
    quantity = serializers.DecimalField(**QTY)


class RecallIn(QuantityIn):
    due_at = serializers.DateTimeField()


class RerateIn(serializers.Serializer):
    rate_bps = serializers.DecimalField(**RATE)
    effective_date = serializers.DateField()


def may_act_for(user, counterparty) -> bool:
    return has_role(user, "trader") and acts_for(user, counterparty)


class LoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The borrow book. Traders see only their counterparties' loans (others' are 404)."""

    serializer_class = LoanOut

    def get_queryset(self):
        qs = selectors.book(self.request.user)
        params = self.request.query_params
        if params.get("counterparty"):
            qs = qs.filter(counterparty__code=params["counterparty"])
        if params.get("asset"):
            qs = qs.filter(asset__symbol=params["asset"])
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        return qs

    def _get(self, pk) -> Loan:
        try:
            return selectors.book(self.request.user).prefetch_related("recalls", "rerates").get(pk=int(pk))
        except (Loan.DoesNotExist, ValueError):
            raise NotFoundError("No such loan.") from None

    @extend_schema(responses=LoanDetailOut)
    def retrieve(self, request, pk=None):
        return Response(LoanDetailOut(self._get(pk)).data)

    @extend_schema(request=QuantityIn, responses=LoanDetailOut, operation_id="loans_return")
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        data = QuantityIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.return_loan(actor=request.user, loan=self._get(pk), quantity=data.validated_data["quantity"])
        return Response(LoanDetailOut(self._get(pk)).data)

    @extend_schema(request=RecallIn, responses=LoanDetailOut)
    @action(detail=True, methods=["post"])
    def recall(self, request, pk=None):
        data = RecallIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.recall_loan(actor=request.user, loan=self._get(pk), **data.validated_data)
        return Response(LoanDetailOut(self._get(pk)).data)

    @extend_schema(request=RerateIn, responses=LoanDetailOut)
    @action(detail=True, methods=["post"])
    def rerates(self, request, pk=None):
        data = RerateIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.propose_rerate(actor=request.user, loan=self._get(pk), **data.validated_data)
        return Response(LoanDetailOut(self._get(pk)).data)

    def _decide(self, pk, rerate_id, accept: bool):
        loan = self._get(pk)
        rerate = Rerate.objects.filter(loan=loan, pk=rerate_id).first()
        if rerate is None:
            raise NotFoundError("No such rerate on this loan.")
        services.decide_rerate(actor=self.request.user, rerate=rerate, accept=accept, may_act_for=may_act_for)
        return Response(LoanDetailOut(self._get(pk)).data)

    @extend_schema(request=None, responses=LoanDetailOut)
    @action(detail=True, methods=["post"], url_path=r"rerates/(?P<rerate_id>\d+)/accept")
    def accept_rerate(self, request, pk=None, rerate_id=None):
        return self._decide(pk, rerate_id, True)

    @extend_schema(request=None, responses=LoanDetailOut)
    @action(detail=True, methods=["post"], url_path=r"rerates/(?P<rerate_id>\d+)/reject")
    def reject_rerate(self, request, pk=None, rerate_id=None):
        return self._decide(pk, rerate_id, False)
