"""Filtersets shared by the sanctions API lists and pages."""

import django_filters

from borrowdesk.filters import choice, code, yes_no
from compliance.models import (
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
