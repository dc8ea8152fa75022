"""Reference-data pages: lists through the selectors (traders see only their counterparties), detail
pages with the object's change history. Counterparty and account pages, the counterparty list (and
its CSV) and an account list filtered by owner are sensitive reads (logged)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from borrowdesk.access.declared import requires
from borrowdesk.access.middleware import sensitive_read
from borrowdesk.access.selectors import object_history
from borrowdesk.pages import Column, table_page
from borrowdesk.refdata import filters, selectors
from borrowdesk.refdata.models import Asset, Price


def _url(name: str, attr: str):
    return lambda row: reverse(name, args=[getattr(row, attr)])


def _detail(request, obj, title: str, facts: list[tuple[str, object]], **extra):
    """A reference-data object's page: its facts and its change history (and whatever else it shows)."""
    return render(
        request,
        "refdata/detail.html",
        {"title": title, "object": obj, "history": object_history(obj), "facts": facts, **extra},
    )


@requires("refdata.view")
def asset_list(request):
    return table_page(
        request,
        title="Assets",
        queryset=selectors.assets(),
        filterset_class=filters.AssetFilter,
        csv_name="assets",
        columns=[
            Column("Symbol", "symbol", sort="symbol", link=_url("refdata:asset_detail", "symbol")),
            Column("Name", "name", sort="name"),
            Column("Decimals", "decimals", numeric=True),
            Column("Stablecoin", "is_stablecoin"),
            Column("Active", "is_active"),
        ],
    )


@requires("refdata.view")
def asset_detail(request, symbol: str):
    asset = get_object_or_404(Asset, symbol=symbol)
    prices = Price.objects.filter(asset=asset).order_by("-as_of", "-id")[:50]
    return _detail(
        request,
        asset,
        f"{asset.symbol} · {asset.name}",
        [
            ("Symbol", asset.symbol),
            ("Name", asset.name),
            ("Decimals", asset.decimals),
            ("Stablecoin", asset.is_stablecoin),
            ("Active", asset.is_active),
        ],
        prices=prices,
    )


@requires("refdata.view")
def network_list(request):
    return table_page(
        request,
        title="Networks",
        queryset=selectors.networks(),
        filterset_class=filters.NetworkFilter,
        csv_name="networks",
        columns=[
            Column("Code", "code", sort="code", link=_url("refdata:network_detail", "code")),
            Column("Name", "name", sort="name"),
            Column("Active", "is_active"),
        ],
    )


@requires("refdata.view")
def network_detail(request, code: str):
    network = get_object_or_404(selectors.networks(), code=code)
    return _detail(
        request,
        network,
        f"{network.code} · {network.name}",
        [("Code", network.code), ("Name", network.name), ("Active", network.is_active)],
    )


@requires("refdata.view")
def venue_list(request):
    return table_page(
        request,
        title="Venues",
        queryset=selectors.venues(),
        filterset_class=filters.VenueFilter,
        csv_name="venues",
        columns=[
            Column("Code", "code", sort="code", link=_url("refdata:venue_detail", "code")),
            Column("Name", "name", sort="name"),
            Column("Kind", "kind", sort="kind"),
            Column("Active", "is_active"),
        ],
    )


@requires("refdata.view")
def venue_detail(request, code: str):
    venue = get_object_or_404(selectors.venues(), code=code)
    return _detail(
        request,
        venue,
        f"{venue.code} · {venue.name}",
        [
            ("Code", venue.code),
            ("Name", venue.name),
            ("Kind", venue.kind),
            ("Active", venue.is_active),
        ],
    )


@sensitive_read  # the whole list (and its CSV) names every client: logged like one record
@requires("refdata.counterparties.view")
def counterparty_list(request):
    """Desk staff see every counterparty; a trader only the ones granted to them."""
    return table_page(
        request,
        title="Counterparties",
        queryset=selectors.visible_counterparties(request.user),
        filterset_class=filters.CounterpartyFilter,
        csv_name="counterparties",
        empty="No counterparties. An administrator adds them in the admin or through the API.",
        columns=[
            Column("Code", "code", sort="code", link=_url("refdata:counterparty_detail", "code")),
            Column("Legal name", "legal_name", sort="legal_name"),
            Column("Kind", "kind", sort="kind"),
            Column("Jurisdiction", "jurisdiction", sort="jurisdiction"),
            Column("Risk", "risk_rating", sort="risk_rating"),
            Column("Active", "is_active"),
        ],
    )


@sensitive_read
@requires("refdata.counterparties.view")
def counterparty_detail(request, code: str):
    counterparty = get_object_or_404(selectors.visible_counterparties(request.user), code=code)
    accounts = selectors.visible_accounts(request.user).filter(owner=counterparty)
    return _detail(
        request,
        counterparty,
        f"{counterparty.code} · {counterparty.legal_name}",
        [
            ("Code", counterparty.code),
            ("Legal name", counterparty.legal_name),
            ("Kind", counterparty.kind),
            ("Jurisdiction", counterparty.jurisdiction),
            ("Risk rating", counterparty.risk_rating),
            ("Active", counterparty.is_active),
        ],
        accounts=accounts,
    )


@sensitive_read(when=filters.filters_by_owner)  # one owner's wallets
@requires("refdata.counterparties.view")
def account_list(request):
    return table_page(
        request,
        title="Custody accounts",
        queryset=selectors.visible_accounts(request.user),
        filterset_class=filters.CustodyAccountFilter,
        csv_name="custody-accounts",
        columns=[
            Column("Code", "code", sort="code", link=_url("refdata:account_detail", "code")),
            Column("Venue", "venue.code", sort="venue__code"),
            Column("Network", "network.code"),
            Column("Address", "address"),
            Column("Owner", "owner.code", sort="owner__code"),
            Column("Purpose", "purpose", sort="purpose"),
            Column("Active", "is_active"),
        ],
    )


@sensitive_read
@requires("refdata.counterparties.view")
def account_detail(request, code: str):
    account = get_object_or_404(selectors.visible_accounts(request.user), code=code)
    return _detail(
        request,
        account,
        f"Account {account.code}",
        [
            ("Code", account.code),
            ("Venue", account.venue.code),
            ("Network", account.network.code if account.network else None),
            ("Address", account.address),
            ("Owner", account.owner.code if account.owner else "the firm"),
            ("Purpose", account.purpose),
            ("Active", account.is_active),
        ],
    )


@requires("refdata.view")
def price_list(request):
    """The mark of every asset (its latest price): every role may read prices."""
    return table_page(
        request,
        title="Prices (latest mark per asset)",
        queryset=selectors.latest_prices(),
        csv_name="prices",
        columns=[
            Column("Asset", "asset.symbol"),
            Column("Price (USD)", "price_usd", numeric=True),
            Column("As of", "as_of"),
            Column("Source", "source"),
        ],
    )
