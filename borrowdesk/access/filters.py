"""Filters of the access log page: a user's name and a day, as labelled form fields."""

import django_filters
from django import forms

from borrowdesk.access.models import AccessLog
from borrowdesk.dates import INVALID_DAY


class AccessLogFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(field_name="user__username", label="User")
    date = django_filters.DateFilter(
        field_name="at",
        lookup_expr="date",
        label="Day (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": INVALID_DAY},
    )

    class Meta:
        model = AccessLog
        fields = ["user", "date"]
