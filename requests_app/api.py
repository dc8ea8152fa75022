"""The borrow-request API of API.md: intake with Idempotency-Key, approvals, the approval queue."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowdesk.api import PolicyPermission
from borrowdesk.errors import InvalidInput, NotFoundError
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount
from borrowdesk.serializers import DeskOnlyFields
from inventory.selectors import availability_by_asset_id
from requests_app import priority, selectors, services
from requests_app.filters import BorrowRequestFilter
from requests_app.models import BorrowRequest, Urgency

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
RATE: dict[str, Any] = {"max_digits": 12, "decimal_places": 4}


# --- output ---------------------------------------------------------------------------------------


class ApprovalOut(DeskOnlyFields, serializers.Serializer):
    desk_only = ("account",)

    step = serializers.IntegerField()
    role = serializers.CharField()
    who = serializers.CharField(source="user.username")
    decision = serializers.CharField()
    quantity = serializers.DecimalField(**QTY, allow_null=True)
    rate_bps = serializers.DecimalField(**RATE, allow_null=True)
    account = serializers.CharField(source="account.code", allow_null=True, default=None)
    comment = serializers.CharField()
    at = serializers.DateTimeField()


class BorrowRequestOut(DeskOnlyFields, serializers.Serializer):
    desk_only = ("priority_score", "priority_parts", "source_account")
    id = serializers.IntegerField()
    status = serializers.CharField()
    counterparty = serializers.CharField(source="counterparty.code")
    asset = serializers.CharField(source="asset.symbol")
    quantity = serializers.DecimalField(**QTY)
    min_quantity = serializers.DecimalField(**QTY)
    max_rate_bps = serializers.DecimalField(**RATE, allow_null=True)
    term_days = serializers.IntegerField(allow_null=True)
    settlement_account = serializers.CharField(
        source="settlement_account.code", allow_null=True, default=None
    )
    urgency = serializers.CharField()
    needed_by = serializers.DateTimeField(allow_null=True)
    notes = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.username")
    priority_score = serializers.SerializerMethodField()
    priority_parts = serializers.SerializerMethodField()
    notional_usd = serializers.DecimalField(max_digits=24, decimal_places=8, allow_null=True)
    required_steps = serializers.ListField(child=serializers.CharField())
    next_role = serializers.CharField()
    approved_quantity = serializers.DecimalField(**QTY, allow_null=True)
    approved_rate_bps = serializers.DecimalField(**RATE, allow_null=True)
    source_account = serializers.CharField(source="source_account.code", allow_null=True, default=None)
    reason = serializers.CharField()
    loan = serializers.IntegerField(source="loan_id", allow_null=True)
    submitted_at = serializers.DateTimeField()
    first_action_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    offer_expires_at = serializers.DateTimeField(allow_null=True)

    def get_priority_score(self, obj) -> str:
        return str(priority.live_score(obj))

    def get_priority_parts(self, obj) -> dict[str, str]:
        return priority.live_parts(obj)


class BorrowRequestDetailOut(BorrowRequestOut):
    approvals = ApprovalOut(many=True)


class QueueItemOut(BorrowRequestOut):
    # The queue's query reads these three as columns, not joins (see selectors.approval_queue).
    requested_by = serializers.CharField(source="requested_by_username")
    settlement_account = serializers.CharField(source="settlement_account_code", allow_null=True)
    source_account = serializers.CharField(source="source_account_code", allow_null=True)
    age_hours = serializers.SerializerMethodField()
    available = serializers.SerializerMethodField()

    def get_age_hours(self, obj) -> str:
        from django.utils import timezone

        return f"{(timezone.now() - obj.submitted_at).total_seconds() / 3600:.2f}"

    def get_available(self, obj) -> str:
        found = self.context["availability"].get(obj.asset_id)
        return str(found.available) if found else "0"


def render_new(request_obj: BorrowRequest) -> dict:
    """A just-submitted request as its detail GET renders it to its submitter, a trader (no approvals
    yet; no re-read): without the desk's priority score and its parts."""
    return {**BorrowRequestOut(request_obj).data, "approvals": []}


# --- input ----------------------------------------------------------------------------------------


class SubmitIn(serializers.Serializer):
    counterparty = serializers.CharField(max_length=32)
    asset = serializers.CharField(max_length=16)
    quantity = serializers.DecimalField(**QTY)
    min_quantity = serializers.DecimalField(**QTY, required=False, allow_null=True)
    max_rate_bps = serializers.DecimalField(**RATE, required=False, allow_null=True)
    term_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3650)
    settlement_account = serializers.CharField(
        max_length=40, required=False, allow_null=True, allow_blank=True
    )
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.NORMAL)
    needed_by = serializers.DateTimeField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ApproveIn(serializers.Serializer):
    quantity = serializers.DecimalField(**QTY, required=False, allow_null=True)
    rate_bps = serializers.DecimalField(**RATE)
    account = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


# The service's words for a refused counterparty or settlement account: whether it exists is not revealed.
UNKNOWN_COUNTERPARTY = services.UNKNOWN_COUNTERPARTY
UNKNOWN_SETTLEMENT_ACCOUNT = services.UNKNOWN_SETTLEMENT_ACCOUNT


def _resolve_submit(user, data: dict) -> dict:
    """Turn codes into objects; an unknown code is a 400 on its field. Whether the trader acts for
    the counterparty is the service's check (the same 400, the same message)."""
    counterparty = Counterparty.objects.filter(code=data["counterparty"], is_active=True).first()
    if counterparty is None:
        raise InvalidInput(UNKNOWN_COUNTERPARTY, fields={"counterparty": [UNKNOWN_COUNTERPARTY]})
    asset = Asset.objects.filter(symbol=data["asset"]).first()
    if asset is None:
        raise InvalidInput(f"Unknown asset {data['asset']!r}.", fields={"asset": ["Unknown asset."]})
    account = None
    if data.get("settlement_account"):
        account = CustodyAccount.objects.filter(code=data["settlement_account"]).first()
        if account is None:  # the words of the service's refusal: existence is not revealed
            raise InvalidInput(
                UNKNOWN_SETTLEMENT_ACCOUNT, fields={"settlement_account": [UNKNOWN_SETTLEMENT_ACCOUNT]}
            )
    return {**data, "counterparty": counterparty, "asset": asset, "settlement_account": account}


def _firm_account(code: str | None) -> CustodyAccount | None:
    if not code:
        return None
    account = CustodyAccount.objects.filter(code=code).first()
    if account is None:
        raise InvalidInput("Unknown account.", fields={"account": ["Unknown account."]})
    return account


# --- views ----------------------------------------------------------------------------------------


class BorrowRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Borrow requests. Traders see only their counterparties' requests; others' are 404 to them."""

    serializer_class = BorrowRequestOut
    filterset_class = BorrowRequestFilter
    permission_classes = [PolicyPermission]
    access = {
        "list": "requests.view",
        "retrieve": "requests.view",
        "create": "requests.submit",
        "approve": "requests.approve",
        "reject": "requests.approve",
        "cancel": "requests.submit",
        "accept": "requests.submit",
        "decline": "requests.submit",
    }

    def get_queryset(self):
        return selectors.visible_requests(self.request.user).order_by("-id")

    def _get(self, pk) -> BorrowRequest:
        try:
            return selectors.request_detail(self.request.user, int(pk))
        except (BorrowRequest.DoesNotExist, ValueError):
            raise NotFoundError("No such borrow request.") from None

    @extend_schema(responses=BorrowRequestDetailOut)
    def retrieve(self, request, pk=None):
        return Response(BorrowRequestDetailOut(self._get(pk), context={"request": request}).data)

    @extend_schema(
        request=SubmitIn,
        responses={201: BorrowRequestDetailOut},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="One key per submission: a repeat with the same body returns the first response.",
            )
        ],
    )
    def create(self, request):
        data = SubmitIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = _resolve_submit(request.user, data.validated_data)
        user = request.user
        status_code, body = services.submit_idempotent(
            actor=user,
            key=request.headers.get("Idempotency-Key", ""),
            fingerprint=services.request_fingerprint(data.validated_data),
            submit=lambda: services.submit_request(actor=user, **fields),
            render=render_new,
        )
        return Response(body, status=status_code)

    def _act(self, pk, service, **kwargs):
        obj = self._get(pk)  # scope first: out of scope is 404, never 403
        service(actor=self.request.user, request=obj.pk, **kwargs)
        return Response(BorrowRequestDetailOut(self._get(pk), context={"request": self.request}).data)

    @extend_schema(request=ApproveIn, responses=BorrowRequestDetailOut)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = ApproveIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return self._act(
            pk,
            services.approve_request,
            rate_bps=v["rate_bps"],
            quantity=v.get("quantity"),
            account=_firm_account(v.get("account")),
        )

    @extend_schema(request=ReasonIn, responses=BorrowRequestDetailOut)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(pk, services.reject_request, reason=data.validated_data["reason"])

    @extend_schema(request=None, responses=BorrowRequestDetailOut)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._act(pk, services.cancel_request)

    @extend_schema(request=None, responses=BorrowRequestDetailOut)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._act(pk, services.accept_offer)

    @extend_schema(request=None, responses=BorrowRequestDetailOut)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._act(pk, services.decline_offer)


class ApprovalQueueView(APIView):
    """The requests the caller may act on now, highest priority first, with the score's parts."""

    permission_classes = [PolicyPermission]
    access = {"GET": "requests.approve"}

    @extend_schema(responses=QueueItemOut(many=True))
    def get(self, request):
        from borrowdesk.api import Pagination

        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.approval_queue(request.user), request, view=self)
        context = {"availability": availability_by_asset_id(), "request": request}
        return paginator.get_paginated_response(QueueItemOut(page, many=True, context=context).data)
