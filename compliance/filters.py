"""Filtersets shared by the compliance API lists and pages (KYC, sanctions)."""

from datetime import timedelta

import django_filters
from django.db.models import Q

from borrowdesk.business_day import business_date
from borrowdesk.filters import choice, code, yes_no
from borrowdesk.refdata.models import Counterparty, RiskRating
from compliance.models import (
    KycStatus,
    ListFormat,
    MatchKind,
    MatchStatus,
    SanctionsListVersion,
    SanctionsMatch,
    SubjectKind,
)


class SanctionsMatchFilter(django_filters.FilterSet):
    status = choice(MatchStatus.choices, "Status")
    subject_kind = choice([c for c in SubjectKind.choices if c[0] != SubjectKind.QUERY], "Subject")
    kind = choice(MatchKind.choices, "Matched on")
    counterparty = code("counterparty__code", "Counterparty")
    list = django_filters.CharFilter(field_name="list_version__source_name", label="List")

    class Meta:
        model = SanctionsMatch
        fields = ["status", "subject_kind", "kind", "counterparty", "list"]


class SanctionsListVersionFilter(django_filters.FilterSet):
    source_format = choice(ListFormat.choices, "Format")
    source_name = django_filters.CharFilter(label="List")
    is_active = yes_no("In force")

    class Meta:
        model = SanctionsListVersion
        fields = ["source_format", "source_name", "is_active"]


NO_KYC = "none"
DUE_WINDOWS = [("overdue", "Overdue"), ("30", "Within 30 days"), ("90", "Within 90 days")]


class KycFilter(django_filters.FilterSet):
    """The KYC page's counterparties: by KYC status (or none yet), risk rating, review due, name."""

    status = choice([*KycStatus.choices, (NO_KYC, "No KYC yet")], "KYC", method="filter_status")
    risk_rating = choice(RiskRating.choices, "Risk")
    due = choice(DUE_WINDOWS, "Review due", method="filter_due")
    q = django_filters.CharFilter(label="Counterparty", method="filter_q")

    class Meta:
        model = Counterparty
        fields = ["status", "risk_rating", "due", "q"]

    def filter_status(self, queryset, name, value):
        if value == NO_KYC:
            return queryset.filter(kyc__isnull=True)
        return queryset.filter(kyc__status=value)

    def filter_due(self, queryset, name, value):
        today = business_date()
        if value == "overdue":
            return queryset.filter(kyc_due_on__lt=today)
        return queryset.filter(kyc_due_on__lte=today + timedelta(days=int(value)))

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(legal_name__icontains=value))
