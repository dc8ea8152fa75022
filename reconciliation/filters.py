"""Filters shared by the statements API list and page."""

from __future__ import annotations

import django_filters

from reconciliation.models import ExternalStatement, StatementSource


class StatementFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__code", label="Account (code)")
    source = django_filters.ChoiceFilter(choices=StatementSource.choices)
    business_date = django_filters.DateFilter()

    class Meta:
        model = ExternalStatement
        fields = ["account", "source", "business_date"]
