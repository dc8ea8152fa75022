"""Pledge and collateral position pages.

Everyone who sees collateral (``collateral.view``) reads them, a trader only for the counterparties
granted to them (another counterparty, in the filter too, is a 404); operations book pledges
(``collateral.pledge``). A refused pledge comes back beside its fields (200, the form as typed).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError, NotFoundError
from borrowdesk.formatting import qty
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, table_page
from collateral.filters import CollateralPositionFilter, PledgeFilter
from collateral.forms import PledgeForm
from collateral.selectors import positions as selectors
from collateral.services.pledges import book_pledge


def _check_scope(request) -> None:
    """``?counterparty=`` outside the user's scope (or unknown) is a 404, as its pages are."""
    code = request.GET.get("counterparty")
    if code:
        try:
            selectors.visible_counterparty(request.user, code)
        except NotFoundError:
            raise Http404("No such counterparty.") from None


@requires("collateral.view")
def pledges(request):
    """Pledges booked, newest first; "Book a pledge" for operations."""
    _check_scope(request)
    actions = []
    if allows(request.user, "collateral.pledge"):
        actions.append({"label": "Book a pledge", "url": reverse("collateral:pledge_new")})
    return table_page(
        request,
        title="Pledges",
        queryset=selectors.pledges(request.user),
        filterset_class=PledgeFilter,
        csv_name="pledges",
        intro="Collateral booked into counterparties' collateral accounts, by operations or by a settled "
        "collateral receipt.",
        empty="No pledges match.",
        columns=[
            Column("#", "pk", sort="id"),
            Column("Booked", "created_at", sort="created_at"),
            Column("Counterparty", "counterparty.code", sort="counterparty__code"),
            Column("Asset", "asset.symbol", sort="asset__symbol"),
            Column("Account", "account.code"),
            Column("Quantity", "quantity", sort="quantity", numeric=True),
            Column("Expires", "expires_on", sort="expires_on"),
            Column("Reference", "reference"),
            Column("Settlement", "settlement_id"),
            Column("Journal", "journal_id"),
            Column("By", "created_by.username"),
        ],
        actions=actions,
    )


@requires("collateral.pledge")
def pledge_new(request):
    """Book a pledge (operations): external → pledged in the counterparty's collateral account."""
    form = PledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pledge = book_pledge(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                f"Pledge #{pledge.pk} booked: {qty(pledge.quantity)} {pledge.asset.symbol} from "
                f"{pledge.counterparty.code} into {pledge.account.code}.",
            )
            query = urlencode({"counterparty": pledge.counterparty.code})
            return redirect(f"{reverse('collateral:pledges')}?{query}")
    return render(request, "collateral/pledge_new.html", {"form": form})


@requires("collateral.view")
def positions(request):
    """Pledged quantity per counterparty, asset and account, from the ledger."""
    _check_scope(request)
    return table_page(
        request,
        title="Collateral positions",
        queryset=selectors.collateral_positions(request.user),
        filterset_class=CollateralPositionFilter,
        csv_name="collateral-positions",
        intro="What each counterparty has pledged, per asset and collateral account, in the asset's units.",
        empty="No collateral is pledged. Pledges appear here once booked.",
        columns=[
            Column("Counterparty", "account.owner.code", sort="account__owner__code"),
            Column("Asset", "asset.symbol", sort="asset__symbol"),
            Column("Account", "account.code", sort="account__code"),
            Column("Venue", "account.venue.code"),
            Column("Pledged", "quantity", sort="quantity", numeric=True),
        ],
    )
