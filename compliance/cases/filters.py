"""The case filterset, shared by the API list and the pages (queue, my cases)."""

from __future__ import annotations

import django_filters

from borrowdesk.filters import choice, code, yes_no
from compliance.cases.models import Case, CaseKind, CasePriority, CaseStatus


class CaseFilter(django_filters.FilterSet):
    kind = choice(CaseKind.choices, "Kind")
    status = choice(CaseStatus.choices, "Status")
    priority = choice(CasePriority.choices, "Priority")
    assignee = code("assignee__username", "Assignee")
    counterparty = code("counterparty__code", "Counterparty")
    # ``overdue`` is annotated by the selectors (open and past its SLA due time).
    overdue = yes_no("Overdue", field_name="overdue")

    class Meta:
        model = Case
        fields = ["kind", "status", "priority", "assignee", "counterparty", "overdue"]
