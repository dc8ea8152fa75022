"""The inventory and loans API (API.md "Inventory and loans").

Thin, like every API here: an input serializer checks shape and types, codes become objects (an
unknown code is a 400 on its field), one service or selector does the work, an output serializer
renders it. Rules (asset decimals, firm accounts, open quantities, roles) live in the services, which
raise domain errors before anything is written; ``borrowdesk.api.exception_handler`` renders them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.api import PolicyPermission
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from borrowdesk.serializers import DeskOnlyFields
from inventory import selectors, services
from inventory.filters import JournalFilter, LoanFilter, PositionFilter
from inventory.models import Journal, Loan, Rerate

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
RATE: dict[str, Any] = {"max_digits": 12, "decimal_places": 4}


def _by_code(model: type[Model], lookup: str, value: str, field: str, label: str) -> Any:
    """The object a code names, or a 400 on ``field``."""
    found = model.objects.filter(**{lookup: value}).first()  # type: ignore[attr-defined]
    if found is None:
        raise InvalidInput(f"Unknown {label} {value!r}.", fields={field: [f"Unknown {label}."]})
    return found


def _asset(symbol: str) -> Asset:
    return _by_code(Asset, "symbol", symbol, "asset", "asset")


def _account(code: str) -> CustodyAccount:
    return _by_code(CustodyAccount, "code", code, "account", "account")


# --- output ---------------------------------------------------------------------------------------


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


class PositionOut(serializers.Serializer):
    asset = serializers.CharField(source="asset__symbol")
    account = serializers.CharField(source="account__code")
    venue = serializers.CharField(source="account__venue__code")
    available = serializers.DecimalField(**QTY)
    allocated = serializers.DecimalField(**QTY)
    on_loan = serializers.DecimalField(**QTY)
    in_transit = serializers.DecimalField(**QTY)


class AvailabilityOut(serializers.Serializer):
    asset = serializers.CharField()
    available = serializers.DecimalField(**QTY)
    allocated = serializers.DecimalField(**QTY)
    on_loan = serializers.DecimalField(**QTY)
    utilization = serializers.DecimalField(
        max_digits=6, decimal_places=4, help_text="(allocated + on_loan) / (available + allocated + on_loan)"
    )


class RecallOut(serializers.Serializer):
    id = serializers.IntegerField()
    quantity = serializers.DecimalField(**QTY, help_text="Still owed (reduced by partial returns).")
    due_at = serializers.DateTimeField()
    status = serializers.CharField()
    is_past_due = serializers.SerializerMethodField(help_text="Open and past due: flagged for buy-in.")
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()

    def get_is_past_due(self, obj) -> bool:
        return obj.status == "open" and obj.due_at < timezone.now()


class RerateOut(serializers.Serializer):
    id = serializers.IntegerField()
    rate_bps = serializers.DecimalField(**RATE)
    effective_date = serializers.DateField()
    status = serializers.CharField()
    proposed_by = serializers.CharField(source="proposed_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)


class AccrualSummaryOut(serializers.Serializer):
    days = serializers.IntegerField(source="accrual_days")
    first_date = serializers.DateField(source="first_accrual_date", allow_null=True)
    last_date = serializers.DateField(source="last_accrual_date", allow_null=True)
    total_fee = serializers.DecimalField(**QTY, source="accrued_fee")


class LoanOut(DeskOnlyFields, serializers.Serializer):
    desk_only = ("account",)  # the firm's account the loan was delivered from: not the borrower's business
    id = serializers.IntegerField()
    request = serializers.IntegerField(source="request_id", allow_null=True)
    counterparty = serializers.CharField(source="counterparty.code")
    asset = serializers.CharField(source="asset.symbol")
    account = serializers.CharField(source="account.code")
    quantity = serializers.DecimalField(**QTY)
    open_quantity = serializers.DecimalField(**QTY)
    rate_bps = serializers.DecimalField(**RATE, help_text="The rate the loan was opened at.")
    rate_in_force_bps = serializers.DecimalField(
        **RATE, help_text="Today's rate: the latest accepted rerate in effect, else rate_bps."
    )
    status = serializers.CharField()
    term_days = serializers.IntegerField(allow_null=True)
    start_date = serializers.DateField(allow_null=True)
    maturity_date = serializers.DateField(allow_null=True)
    accrued_fee = serializers.DecimalField(**QTY, help_text="Fees accrued so far, in the asset.")
    open_recall_quantity = serializers.DecimalField(**QTY, help_text="Quantity under open recalls.")
    buy_in = serializers.BooleanField(help_text="An open recall is past due: flagged for buy-in.")
    is_past_maturity = serializers.BooleanField(help_text="Active after its maturity date.")
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


class LoanDetailOut(LoanOut):
    recalls = RecallOut(many=True)
    rerates = RerateOut(many=True)
    accruals = serializers.SerializerMethodField()

    @extend_schema_field(AccrualSummaryOut)
    def get_accruals(self, obj) -> dict:
        return AccrualSummaryOut(obj).data


# --- input ----------------------------------------------------------------------------------------


class ReceiptIn(serializers.Serializer):
    asset = serializers.CharField(max_length=16)
    account = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(**QTY)
    source_counterparty = serializers.CharField(
        max_length=32,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The lender; none: the firm.",
    )
    cost_rate_bps = serializers.DecimalField(**RATE, required=False, allow_null=True)
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class AdjustmentIn(serializers.Serializer):
    asset = serializers.CharField(max_length=16)
    account = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(**QTY, help_text="Signed: + adds to available, - removes.")
    reason = serializers.CharField(max_length=500)


class QuantityIn(serializers.Serializer):
    quantity = serializers.DecimalField(**QTY)


class RecallIn(QuantityIn):
    due_at = serializers.DateTimeField()


class RerateIn(serializers.Serializer):
    rate_bps = serializers.DecimalField(**RATE)
    effective_date = serializers.DateField()


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _journal_out(journal: Journal) -> dict:
    return JournalOut(selectors.journals().get(pk=journal.pk)).data


# --- ledger ---------------------------------------------------------------------------------------


class ReceiptView(APIView):
    """Inventory comes in from the firm or a lender (external → available) into a firm account."""

    permission_classes = [PolicyPermission]
    access = {"POST": "inventory.receive"}

    @extend_schema(request=ReceiptIn, responses={201: JournalOut})
    def post(self, request):
        v = _valid(ReceiptIn, request.data)
        source = None
        if v.get("source_counterparty"):
            source = _by_code(
                Counterparty, "code", v["source_counterparty"], "source_counterparty", "counterparty"
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
    """Correct an available balance by a signed quantity, with a reason (ops_senior only)."""

    permission_classes = [PolicyPermission]
    access = {"POST": "inventory.adjust"}

    @extend_schema(request=AdjustmentIn, responses={201: JournalOut})
    def post(self, request):
        v = _valid(AdjustmentIn, request.data)
        journal = services.adjust(
            actor=request.user,
            asset=_asset(v["asset"]),
            account=_account(v["account"]),
            quantity=v["quantity"],
            reason=v["reason"],
        )
        return Response(_journal_out(journal), status=status.HTTP_201_CREATED)


class PositionsView(generics.ListAPIView):
    """Balances per asset and account, the buckets side by side."""

    serializer_class = PositionOut
    filterset_class = PositionFilter
    permission_classes = [PolicyPermission]
    access = {"GET": "inventory.view"}

    def get_queryset(self):
        return selectors.positions_by_account()


class AvailabilityView(generics.ListAPIView):
    """Per asset across the firm's accounts: available, allocated, on loan and utilization."""

    serializer_class = AvailabilityOut
    permission_classes = [PolicyPermission]
    access = {"GET": "inventory.availability.view"}  # traders see availability before they ask
    filter_backends: list = []  # one optional ?asset=, read below

    @extend_schema(parameters=[OpenApiParameter("asset", str, description="Asset symbol")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.availability(self.request.query_params.get("asset") or None)


class JournalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The append-only ledger, newest first, each journal with its entries."""

    serializer_class = JournalOut
    filterset_class = JournalFilter
    permission_classes = [PolicyPermission]
    access = {"list": "inventory.view", "retrieve": "inventory.view"}
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.journals()


# --- the borrow book ------------------------------------------------------------------------------


class LoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The borrow book. Traders see only their counterparties' loans (others' are 404 to them)."""

    serializer_class = LoanOut
    filterset_class = LoanFilter
    permission_classes = [PolicyPermission]
    # Turned away early by the policy (403); the services check again, and the scope (404) and the
    # borrower's grant (checked by decide_rerate) come after.
    access = {
        "list": "loans.view",
        "retrieve": "loans.view",
        "return_": "loans.operate",
        "recall": "loans.operate",
        "rerates": "loans.operate",
        "accept_rerate": "loans.answer_rerate",
        "reject_rerate": "loans.answer_rerate",
    }
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.book(self.request.user)

    def _get(self, pk) -> Loan:
        try:
            return selectors.loan_detail(self.request.user, int(pk))
        except (Loan.DoesNotExist, ValueError):
            raise NotFoundError("No such loan.") from None

    def _detail(self, pk) -> Response:
        return Response(LoanDetailOut(self._get(pk), context={"request": self.request}).data)

    @extend_schema(responses=LoanDetailOut)
    def retrieve(self, request, pk=None):
        return self._detail(pk)

    @extend_schema(request=QuantityIn, responses=LoanDetailOut, operation_id="loans_return")
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        loan = self._get(pk)  # scope first: out of scope is 404
        v = _valid(QuantityIn, request.data)
        services.return_loan(actor=request.user, loan=loan, quantity=v["quantity"])
        return self._detail(pk)

    @extend_schema(request=RecallIn, responses=LoanDetailOut)
    @action(detail=True, methods=["post"])
    def recall(self, request, pk=None):
        loan = self._get(pk)
        v = _valid(RecallIn, request.data)
        services.recall_loan(actor=request.user, loan=loan, quantity=v["quantity"], due_at=v["due_at"])
        return self._detail(pk)

    @extend_schema(request=RerateIn, responses=LoanDetailOut, operation_id="loans_rerates_propose")
    @action(detail=True, methods=["post"])
    def rerates(self, request, pk=None):
        loan = self._get(pk)
        v = _valid(RerateIn, request.data)
        services.propose_rerate(
            actor=request.user, loan=loan, rate_bps=v["rate_bps"], effective_date=v["effective_date"]
        )
        return self._detail(pk)

    def _decide(self, pk, rerate_id, accept: bool) -> Response:
        loan = self._get(pk)
        rerate = Rerate.objects.filter(loan=loan, pk=rerate_id).first()
        if rerate is None:
            raise NotFoundError("No such rerate on this loan.")
        services.decide_rerate(actor=self.request.user, rerate=rerate, accept=accept)
        return self._detail(pk)

    @extend_schema(request=None, responses=LoanDetailOut)
    @action(detail=True, methods=["post"], url_path=r"rerates/(?P<rerate_id>\d+)/accept")
    def accept_rerate(self, request, pk=None, rerate_id=None):
        return self._decide(pk, rerate_id, True)

    @extend_schema(request=None, responses=LoanDetailOut)
    @action(detail=True, methods=["post"], url_path=r"rerates/(?P<rerate_id>\d+)/reject")
    def reject_rerate(self, request, pk=None, rerate_id=None):
        return self._decide(pk, rerate_id, False)
