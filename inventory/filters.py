"""Filters of the inventory lists, one per list, shared by the API and the pages.

References are filtered by code (``?asset=BTC&account=INV-MAIN``), like everywhere in the API; an
unknown code matches nothing rather than being an error. A value outside a choice list (``?kind=x``,
``?status=x``) is a 400 in the API.
"""

import django_filters

from borrowdesk.filters import choice, code, yes_no
from inventory.models import Journal, JournalKind, Loan, LoanStatus, Position
from inventory.selectors import journals_touching


class PositionFilter(django_filters.FilterSet):
    """Over ``selectors.positions_by_account()`` (rows per asset and account)."""

    asset = code("asset__symbol", "Asset")
    account = code("account__code", "Account")
    venue = code("account__venue__code", "Venue")

    class Meta:
        model = Position
        fields = ["asset", "account", "venue"]


class JournalFilter(django_filters.FilterSet):
    asset = django_filters.CharFilter(method="filter_asset", label="Asset")
    kind = choice(JournalKind.choices, "Kind")
    loan = django_filters.NumberFilter(field_name="loan_id", label="Loan")

    class Meta:
        model = Journal
        fields = ["asset", "kind", "loan"]

    def filter_asset(self, queryset, name, value):
        return journals_touching(queryset, value) if value else queryset


class LoanFilter(django_filters.FilterSet):
    counterparty = code("counterparty__code", "Counterparty")
    asset = code("asset__symbol", "Asset")
    account = code("account__code", "Account")
    status = choice(LoanStatus.choices, "Status")
    buy_in = yes_no("Buy-in", field_name="buy_in")
    is_past_maturity = yes_no("Past maturity", field_name="is_past_maturity")

    class Meta:
        model = Loan
        fields = ["counterparty", "asset", "account", "status", "buy_in", "is_past_maturity"]
