"""Bench-only bare views: the baselines the HTTP and queue benches divide by.

Each authenticates like the endpoint it is compared with (an API token, or the session when there is
no ``Authorization`` header), runs one query and returns JSON, through the same middleware. The
production URL conf (``borrowdesk.urls``) follows them unchanged, with its error handlers.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from borrowdesk import urls as production
from borrowdesk.refdata.models import Asset
from requests_app.models import AWAITING_APPROVAL, Approval, BorrowRequest

# The columns of a queue row the API shows, read the plainest way: the request's own columns and the
# two codes every queue row shows (counterparty, asset).
QUEUE_VALUES = (
    "id",
    "status",
    "counterparty__code",
    "asset__symbol",
    "quantity",
    "min_quantity",
    "max_rate_bps",
    "term_days",
    "settlement_account_id",
    "urgency",
    "needed_by",
    "notes",
    "requested_by_id",
    "priority_static",
    "priority_parts",
    "notional_usd",
    "required_steps",
    "next_role",
    "approved_quantity",
    "approved_rate_bps",
    "source_account_id",
    "reason",
    "loan_id",
    "submitted_at",
    "first_action_at",
    "decided_at",
    "delivered_at",
    "expires_at",
    "offer_expires_at",
)


def _user(request: HttpRequest):
    if get_authorization_header(request):
        found = TokenAuthentication().authenticate(request)  # one query: the token with its user
        return found[0] if found else AnonymousUser()
    return request.user  # the session's user (the session and user queries, as for any page)


def _refuse() -> JsonResponse:
    return JsonResponse({"code": "not_authenticated", "detail": "Sign in."}, status=401)


def one_query(request: HttpRequest) -> JsonResponse:
    """A bare authenticated JSON view doing one query."""
    user = _user(request)
    if not user.is_authenticated:
        return _refuse()
    asset = Asset.objects.filter(symbol="BTC").values("id", "symbol", "decimals").first()
    return JsonResponse({"user": user.pk, "asset": asset})


def queue_page(request: HttpRequest) -> JsonResponse:
    """The approval queue's first page for ``?role=`` (default ops) as one ``.values()`` query."""
    user = _user(request)
    if not user.is_authenticated:
        return _refuse()
    rows = list(
        BorrowRequest.objects.filter(status__in=AWAITING_APPROVAL, next_role=request.GET.get("role", "ops"))
        .exclude(requested_by=user)
        .exclude(Exists(Approval.objects.filter(request=OuterRef("pk"), user=user)))
        .order_by("-rank_key", "id")
        .values(*QUEUE_VALUES)[:50]
    )
    return JsonResponse({"results": rows})


urlpatterns = [
    path("bench/one-query/", one_query),
    path("bench/queue-page/", queue_page),
    *production.urlpatterns,
]
# The production error handlers (handler404, handler500, …), whichever it defines.
globals().update({k: v for k, v in vars(production).items() if k.startswith("handler")})
