"""Filters of the reference-data lists, one per list, shared by the API and the pages.

References are filtered by code (``?venue=COINVAULT``), like everywhere in the API; an unknown code
matches nothing rather than being an error, so a filter never tells a trader what exists outside
their scope. Every filter is a labelled form field (choices by label, flags as any / yes / no).
"""

import django_filters

from borrowdesk.filters import choice, code, yes_no
from borrowdesk.refdata.models import (
    AccountPurpose,
    Asset,
    Counterparty,
    CounterpartyKind,
    CustodyAccount,
    Network,
    Price,
    RiskRating,
    Venue,
    VenueKind,
)


class AssetFilter(django_filters.FilterSet):
    is_stablecoin = yes_no("Stablecoin")
    is_active = yes_no("Active")

    class Meta:
        model = Asset
        fields = ["is_stablecoin", "is_active"]


class NetworkFilter(django_filters.FilterSet):
    is_active = yes_no("Active")

    class Meta:
        model = Network
        fields = ["is_active"]


class VenueFilter(django_filters.FilterSet):
    kind = choice(VenueKind.choices, "Kind")
    is_active = yes_no("Active")

    class Meta:
        model = Venue
        fields = ["kind", "is_active"]


class CounterpartyFilter(django_filters.FilterSet):
    kind = choice(CounterpartyKind.choices, "Kind")
    risk_rating = choice(RiskRating.choices, "Risk")
    jurisdiction = django_filters.CharFilter(label="Jurisdiction")
    is_active = yes_no("Active")

    class Meta:
        model = Counterparty
        fields = ["kind", "risk_rating", "jurisdiction", "is_active"]


class CustodyAccountFilter(django_filters.FilterSet):
    venue = code("venue__code", "Venue")
    network = code("network__code", "Network")
    owner = code("owner__code", "Owner")
    firm = yes_no("Owned by the firm", field_name="owner", lookup_expr="isnull")
    purpose = choice(AccountPurpose.choices, "Purpose")
    is_active = yes_no("Active")

    class Meta:
        model = CustodyAccount
        fields = ["venue", "network", "owner", "firm", "purpose", "is_active"]


class PriceFilter(django_filters.FilterSet):
    asset = code("asset__symbol", "Asset")

    class Meta:
        model = Price
        fields = ["asset"]


def filters_by_owner(request) -> bool:
    """Whether a custody-account list is narrowed to one owner: it then reads that counterparty's
    wallets, a sensitive read (logged)."""
    return bool(request.GET.get("owner"))
