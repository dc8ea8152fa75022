"""The AML alerts' filterset, shared by the API list and the page."""

import django_filters

from borrowdesk.filters import choice, code
from compliance.aml.models import AlertStatus, AmlAlert, AmlRuleCode


class AmlAlertFilter(django_filters.FilterSet):
    rule = choice(AmlRuleCode.choices, "Rule", field_name="rule__code")
    status = choice(AlertStatus.choices, "Status")
    counterparty = code("counterparty__code", "Counterparty")

    class Meta:
        model = AmlAlert
        fields = ["rule", "status", "counterparty"]
