"""Filters of the collateral lists, one per list, shared by the API and the pages.

References by code (``?asset=BTC&counterparty=ACME``); an unknown code matches nothing. A value outside
a choice list (``?status=x``) is a 400 in the API and on the page.
"""

import django_filters

from borrowdesk.filters import choice, code, yes_no
from collateral.models import (
    BorrowerLimit,
    CollateralAgreement,
    ConfigStatus,
    HaircutRule,
    Pledge,
    StressScenario,
)
from inventory.models import Position


class HaircutRuleFilter(django_filters.FilterSet):
    asset = code("asset__symbol", "Asset")
    venue = code("venue__code", "Venue")
    counterparty = code("counterparty__code", "Counterparty")
    status = choice(ConfigStatus.choices, "Status")

    class Meta:
        model = HaircutRule
        fields = ["asset", "venue", "counterparty", "status"]


class LimitFilter(django_filters.FilterSet):
    counterparty = code("counterparty__code", "Counterparty")
    status = choice(ConfigStatus.choices, "Status")

    class Meta:
        model = BorrowerLimit
        fields = ["counterparty", "status"]


class AgreementFilter(django_filters.FilterSet):
    counterparty = code("counterparty__code", "Counterparty")
    status = choice(ConfigStatus.choices, "Status")

    class Meta:
        model = CollateralAgreement
        fields = ["counterparty", "status"]


class PledgeFilter(django_filters.FilterSet):
    """The views check ``counterparty`` against the user's scope first (out of scope: 404)."""

    counterparty = code("counterparty__code", "Counterparty")
    asset = code("asset__symbol", "Asset")
    account = code("account__code", "Account")
    expires_before = django_filters.DateFilter(
        field_name="expires_on", lookup_expr="lte", label="Expires by (YYYY-MM-DD)"
    )

    class Meta:
        model = Pledge
        fields = ["counterparty", "asset", "account", "expires_before"]


class CollateralPositionFilter(django_filters.FilterSet):
    """Over ``selectors.positions.collateral_positions``; the views check ``counterparty`` against the
    user's scope first (out of scope: 404)."""

    counterparty = code("account__owner__code", "Counterparty")
    asset = code("asset__symbol", "Asset")
    account = code("account__code", "Account")
    venue = code("account__venue__code", "Venue")

    class Meta:
        model = Position
        fields = ["counterparty", "asset", "account", "venue"]


class ScenarioFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(field_name="name", label="Name")
    is_active = yes_no("Active version", field_name="is_active")

    class Meta:
        model = StressScenario
        fields = ["name", "is_active"]
