"""The filters of the limit breaches list, shared by its API and its page.

``?status=open&kind=exposure&counterparty=ACME``: references by code (an unknown code matches nothing),
a value outside a choice list is a 400 in the API and on the page.
"""

import django_filters

from borrowdesk.filters import choice, code
from collateral.models import BreachKind, BreachStatus, LimitBreach


class BreachFilter(django_filters.FilterSet):
    status = choice(BreachStatus.choices, "Status")
    kind = choice(BreachKind.choices, "Kind")
    counterparty = code("counterparty__code", "Counterparty")

    class Meta:
        model = LimitBreach
        fields = ["status", "kind", "counterparty"]
