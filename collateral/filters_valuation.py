"""Filters of the coverage and margin call lists, shared by the API and the pages (a value outside a
choice list is a 400; an unknown code matches nothing)."""

import django_filters

from borrowdesk.filters import choice, code, yes_no
from collateral.models import CounterpartyRisk, CoverageState, MarginCall, MarginCallStatus


class CoverageFilter(django_filters.FilterSet):
    """Over ``selectors.coverage.coverage_page_queryset`` (the stored state of each counterparty)."""

    counterparty = code("counterparty__code", "Counterparty")
    state = choice(CoverageState.choices, "State")
    # Flagged for default handling: default_flagged_at is set (true: exclude the rows where it is null).
    default_flagged = yes_no(
        "Default flag", field_name="default_flagged_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = CounterpartyRisk
        fields = ["counterparty", "state", "default_flagged"]


class MarginCallFilter(django_filters.FilterSet):
    counterparty = code("counterparty__code", "Counterparty")
    status = choice(MarginCallStatus.choices, "Status")

    class Meta:
        model = MarginCall
        fields = ["counterparty", "status"]
