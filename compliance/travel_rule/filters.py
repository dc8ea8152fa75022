"""Filtersets shared by the travel-rule and regulator-request API lists and pages."""

import django_filters
from django.db.models import Q
from django.utils import timezone

from borrowdesk.filters import choice, code, yes_no
from compliance.regulator.models import OUTSTANDING, RegulatorRequest, RegulatorRequestStatus
from compliance.travel_rule.models import TravelRuleDirection, TravelRuleMessage, TravelRuleStatus


class TravelRuleMessageFilter(django_filters.FilterSet):
    status = choice(TravelRuleStatus.choices, "Status")
    leg = django_filters.NumberFilter(method="_leg", label="Settlement leg", min_value=1)
    transfer = django_filters.NumberFilter(method="_transfer", label="Transfer", min_value=1)
    counterparty = code("counterparty__code", "Counterparty")
    direction = choice(TravelRuleDirection.choices, "Direction")
    is_valid = yes_no("Valid")
    is_current = yes_no("Current")

    class Meta:
        model = TravelRuleMessage
        fields = ["status", "leg", "transfer", "counterparty", "direction", "is_valid", "is_current"]

    def _leg(self, queryset, name, value):
        return queryset.filter(subject_kind="settlement", subject_id=value)

    def _transfer(self, queryset, name, value):
        return queryset.filter(subject_kind="transfer", subject_id=value)


class RegulatorRequestFilter(django_filters.FilterSet):
    status = choice(RegulatorRequestStatus.choices, "Status")
    is_drill = yes_no("Drill")
    overdue = yes_no("Overdue", method="_overdue")
    regulator = django_filters.CharFilter(lookup_expr="icontains", label="Regulator")

    class Meta:
        model = RegulatorRequest
        fields = ["status", "is_drill", "overdue", "regulator"]

    def _overdue(self, queryset, name, value):
        late = Q(status__in=OUTSTANDING, due_at__lt=timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)
