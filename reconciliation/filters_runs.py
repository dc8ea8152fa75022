"""The break queue's filter, shared by the API list and the page: account, asset, kind, status, owner,
age (open for at least N days), run date."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.utils import timezone

from borrowdesk.filters import choice, code
from reconciliation.models_runs import Break, BreakKind, BreakStatus, RunScope

STATE_CHOICES = [("open", "open or assigned"), *BreakStatus.choices]


class BreakFilter(django_filters.FilterSet):
    account = code("account__code", "Account")
    asset = code("asset__symbol", "Asset")
    kind = choice(BreakKind.choices, "Kind")
    status = choice(STATE_CHOICES, "Status", method="filter_status")
    owner = code("owner__username", "Owner")
    min_age_days = django_filters.NumberFilter(
        label="Open at least (days)", method="filter_age", min_value=0, max_value=3650
    )
    business_date = django_filters.DateFilter(field_name="run__business_date", label="Run date")
    scope = choice(RunScope.choices, "Scope", field_name="run__scope")

    class Meta:
        model = Break
        fields = ["account", "asset", "kind", "status", "owner", "min_age_days", "business_date", "scope"]

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=["open", "assigned"])
        return queryset.filter(status=value)

    def filter_age(self, queryset, name, value):
        return queryset.filter(opened_at__lte=timezone.now() - timedelta(days=float(value)))
