"""Filters of the inventory lists, one per list, shared by the API and the pages.

References are filtered by code (``?asset=BTC&account=INV-MAIN``), like everywhere in the API; an
unknown code matches nothing rather than being an error. A value outside a choice list (``?kind=x``,
``?status=x``) is a 400 in the API.
"""

import django_filters
from django import forms

from inventory.models import Journal, JournalKind, Loan, LoanStatus, Position
from inventory.selectors import journals_touching

# Flags filter as ?buy_in=true / false; the page's select says "any" rather than django's "Unknown".
_YES_NO = forms.Select(choices=[("", "any"), ("true", "yes"), ("false", "no")])


class PositionFilter(django_filters.FilterSet):
    """Over ``selectors.positions_by_account()`` (rows per asset and account)."""

    asset = django_filters.CharFilter(field_name="asset__symbol", label="Asset")
    account = django_filters.CharFilter(field_name="account__code", label="Account")
    venue = django_filters.CharFilter(field_name="account__venue__code", label="Venue")

    class Meta:
        model = Position
        fields = ["asset", "account", "venue"]


class JournalFilter(django_filters.FilterSet):
    asset = django_filters.CharFilter(method="filter_asset", label="Asset")
    kind = django_filters.ChoiceFilter(choices=JournalKind.choices, label="Kind")
    loan = django_filters.NumberFilter(field_name="loan_id", label="Loan")

    class Meta:
        model = Journal
        fields = ["asset", "kind", "loan"]

    def filter_asset(self, queryset, name, value):
        return journals_touching(queryset, value) if value else queryset


class LoanFilter(django_filters.FilterSet):
    counterparty = django_filters.CharFilter(field_name="counterparty__code", label="Counterparty")
    asset = django_filters.CharFilter(field_name="asset__symbol", label="Asset")
    account = django_filters.CharFilter(field_name="account__code", label="Account")
    status = django_filters.ChoiceFilter(choices=LoanStatus.choices, label="Status")
    buy_in = django_filters.BooleanFilter(field_name="buy_in", label="Buy-in", widget=_YES_NO)
    is_past_maturity = django_filters.BooleanFilter(
        field_name="is_past_maturity", label="Past maturity", widget=_YES_NO
    )

    class Meta:
        model = Loan
        fields = ["counterparty", "asset", "account", "status", "buy_in", "is_past_maturity"]
