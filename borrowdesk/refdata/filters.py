"""Filters of the reference-data lists, one per list, shared by the API and the pages.

References are filtered by code (``?venue=COINVAULT``), like everywhere in the API; an unknown code
matches nothing rather than being an error, so a filter never tells a trader what exists outside
their scope.
"""

import django_filters

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
    class Meta:
        model = Asset
        fields = ["is_stablecoin", "is_active"]


class NetworkFilter(django_filters.FilterSet):
    class Meta:
        model = Network
        fields = ["is_active"]


class VenueFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=VenueKind.choices)

    class Meta:
        model = Venue
        fields = ["kind", "is_active"]


class CounterpartyFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=CounterpartyKind.choices)
    risk_rating = django_filters.ChoiceFilter(choices=RiskRating.choices)
    jurisdiction = django_filters.CharFilter()

    class Meta:
        model = Counterparty
        fields = ["kind", "risk_rating", "jurisdiction", "is_active"]


class CustodyAccountFilter(django_filters.FilterSet):
    venue = django_filters.CharFilter(field_name="venue__code")
    network = django_filters.CharFilter(field_name="network__code")
    owner = django_filters.CharFilter(field_name="owner__code")
    firm = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull", label="Owned by the firm")
    purpose = django_filters.ChoiceFilter(choices=AccountPurpose.choices)

    class Meta:
        model = CustodyAccount
        fields = ["venue", "network", "owner", "firm", "purpose", "is_active"]


class PriceFilter(django_filters.FilterSet):
    asset = django_filters.CharFilter(field_name="asset__symbol")

    class Meta:
        model = Price
        fields = ["asset"]


def filters_by_owner(request) -> bool:
    """Whether a custody-account list is narrowed to one owner: it then reads that counterparty's
    wallets, a sensitive read (logged)."""
    return bool(request.GET.get("owner"))
