"""Borrow request pages: the trader portal, my requests, the approval queue, a request's page."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.formatting import qty, unpadded
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import CappedPaginator, csv_response
from borrowdesk.refdata.models import Asset
from borrowdesk.refdata.selectors import mark
from inventory.selectors import availability_by_asset_id, availability_for
from requests_app import priority, selectors, services
from requests_app.api import render_new
from requests_app.forms import ApproveForm, RejectForm, SubmitForm
from requests_app.models import AWAITING_APPROVAL, BorrowRequest, RequestStatus

QUEUE_PAGE_SIZE = 50
QUEUE_CAP = 1000  # the page counts at most this many (LIMIT, not COUNT(*)); the API counts all


def _request_or_404(user, pk: int) -> BorrowRequest:
    try:
        return selectors.request_detail(user, pk)
    except BorrowRequest.DoesNotExist:
        raise Http404("No such borrow request.") from None


@requires("requests.submit")
def new_request(request):
    """The trader portal: ask to borrow, seeing availability and an indicative rate first."""
    if request.method == "POST":
        form = SubmitForm(request.POST, user=request.user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            key = data.pop("idempotency_key")
            user = request.user
            try:
                _, body = services.submit_idempotent(
                    actor=user,
                    key=f"web:{key}",
                    fingerprint=services.request_fingerprint(
                        {k: (v.pk if hasattr(v, "pk") else v) for k, v in data.items()}
                    ),
                    submit=lambda: services.submit_request(actor=user, **data),
                    render=render_new,
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                status = RequestStatus(body["status"]).label.lower()
                messages.success(request, f"Request #{body['id']} submitted: {status}.")
                shown = _quote(data["asset"].symbol, str(data["quantity"]))
                if shown.get("exceeds"):
                    messages.warning(
                        request,
                        f"{qty(data['quantity'])} {data['asset'].symbol} is more than the "
                        f"{qty(shown['availability'].available)} available now: the desk may fill part "
                        "of it (down to your minimum) or decline it.",
                    )
                return redirect("requests_app:mine")
        symbol, typed = request.POST.get("asset", ""), request.POST.get("quantity", "")
    else:
        symbol, typed = request.GET.get("asset", ""), request.GET.get("quantity", "")
        initial = {"idempotency_key": uuid.uuid4().hex, "asset": symbol or None, "quantity": typed or None}
        form = SubmitForm(user=request.user, initial=initial)
    # The panel beside the form shows the asset's figures on the first view and after a form error.
    return render(request, "requests_app/new.html", {"form": form, **_quote(symbol, typed)})


@requires("requests.submit")
def quote(request):
    """htmx partial beside the intake form: availability, mark, notional and an indicative rate."""
    context = _quote(request.GET.get("asset", ""), request.GET.get("quantity", ""))
    return render(request, "requests_app/new.html#quote", context)


def _quote(symbol: str, quantity_text: str) -> dict:
    """What the panel beside the form shows for an asset and a typed quantity: availability, mark,
    notional, an indicative rate, and whether the quantity is more than is available now (a warning,
    not a refusal: the desk may fill part of it, down to the minimum)."""
    asset = Asset.objects.filter(symbol=symbol or "", is_active=True).first()
    context: dict = {"asset": asset}
    if asset is None:
        return context
    availability = availability_for(asset)
    price = mark(asset)
    try:
        quantity = Decimal(quantity_text or "0")
    except InvalidOperation:
        quantity = Decimal(0)
    if not quantity.is_finite():
        quantity = Decimal(0)
    context.update(
        availability=availability,
        price=price,
        rate=priority.indicative_rate_bps(availability),
        quantity=quantity,
        notional=(quantity * price.price_usd) if price and quantity else None,
        exceeds=quantity > availability.available,
    )
    return context


@requires("requests.submit")
def my_requests(request):
    """A trader's requests with live status (the table polls itself), cancel and offer answers."""
    rows = selectors.visible_requests(request.user).filter(requested_by=request.user).order_by("-id")
    status = request.GET.get("status", "")
    if status in RequestStatus.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "statuses": RequestStatus.choices,
        "cancellable": {RequestStatus.SUBMITTED, RequestStatus.COMPLIANCE_HOLD, *AWAITING_APPROVAL},
    }
    template = "requests_app/mine.html#rows" if request.htmx else "requests_app/mine.html"
    return render(request, template, context)


@requires("requests.approve")
def queue(request):
    """The approval queue: exactly what this user may act on now, best first, with the score's parts."""
    page = CappedPaginator(selectors.approval_queue(request.user), QUEUE_PAGE_SIZE, cap=QUEUE_CAP).get_page(
        request.GET.get("page")
    )
    availability = availability_by_asset_id()
    rows = [
        {
            "r": r,
            "score": priority.live_score(r),
            "parts": priority.live_parts(r),
            "available": availability.get(r.asset_id),
        }
        for r in page
    ]
    return render(request, "requests_app/queue.html", {"page": page, "rows": rows})


@requires("requests.view")
def detail(request, pk: int):
    obj = _request_or_404(request.user, pk)
    context = {
        "r": obj,
        "score": priority.live_score(obj),
        "parts": priority.live_parts(obj),
        "approve_form": ApproveForm(initial={"quantity": unpadded(obj.quantity)}),
        "reject_form": RejectForm(),
        "can_decide": obj.status in AWAITING_APPROVAL and allows(request.user, "requests.approve"),
        "internals": allows(request.user, "desk.internals.view"),  # priority and source account
    }
    return render(request, "requests_app/detail.html", context)


def _act(request, pk: int, action, success: str, **kwargs):
    obj = _request_or_404(request.user, pk)  # scope first: out of scope is 404
    try:
        action(actor=request.user, request=obj.pk, **kwargs)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, success.format(id=obj.pk))
    return _back(request, obj.pk)


def _back(request, pk: int):
    """Back to the page the action was taken from (same host only), else the request's page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("requests_app:detail", pk=pk)


@requires("requests.approve")
@require_POST
def approve(request, pk: int):
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        )
        return _back(request, pk)
    data = form.cleaned_data
    return _act(
        request,
        pk,
        services.approve_request,
        "Request #{id} approved.",
        rate_bps=data["rate_bps"],
        quantity=data.get("quantity"),
        account=data.get("account"),
    )


@requires("requests.approve")
@require_POST
def reject(request, pk: int):
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A rejection needs a reason.")
        return _back(request, pk)
    return _act(
        request, pk, services.reject_request, "Request #{id} rejected.", reason=form.cleaned_data["reason"]
    )


@requires("requests.submit")
@require_POST
def cancel(request, pk: int):
    return _act(request, pk, services.cancel_request, "Request #{id} cancelled.")


@requires("requests.submit")
@require_POST
def accept(request, pk: int):
    return _act(request, pk, services.accept_offer, "Offer on request #{id} accepted.")


@requires("requests.submit")
@require_POST
def decline(request, pk: int):
    return _act(request, pk, services.decline_offer, "Offer on request #{id} declined.")


@requires("requests.view")
def export_csv(request):
    """CSV of the requests this user may see (filters as in the list)."""
    rows = selectors.visible_requests(request.user).order_by("-id")[:10000]
    header = [
        "id",
        "status",
        "counterparty",
        "asset",
        "quantity",
        "min_quantity",
        "max_rate_bps",
        "approved_quantity",
        "approved_rate_bps",
        "urgency",
        "submitted_at",
        "first_action_at",
        "decided_at",
        "delivered_at",
    ]
    return csv_response(
        "borrow-requests",
        header,
        (
            [
                r.pk,
                r.status,
                r.counterparty.code,
                r.asset.symbol,
                r.quantity,
                r.min_quantity,
                r.max_rate_bps,
                r.approved_quantity,
                r.approved_rate_bps,
                r.urgency,
                r.submitted_at,
                r.first_action_at,
                r.decided_at,
                r.delivered_at,
            ]
            for r in rows
        ),
    )
