"""AML monitoring's read side: the alerts (list and one with its evidence) and the rules."""

from __future__ import annotations

from django.db.models import QuerySet

from compliance.aml.models import AmlAlert, AmlRule
from compliance.aml.rules import PARAMETERS
from inventory.models import Loan


def alerts() -> QuerySet[AmlAlert]:
    """Every alert, newest first, with what its list row shows (one query whatever the rows)."""
    return AmlAlert.objects.select_related("rule", "counterparty", "case", "dismissed_by").order_by(
        "-created_at", "-id"
    )


def alert_detail(pk: int) -> AmlAlert:
    """One alert. Raises ``AmlAlert.DoesNotExist``."""
    return alerts().get(pk=pk)


def alert_loans(alert: AmlAlert) -> list[Loan]:
    """The loans an alert names as evidence (the wash pattern's round trips), oldest first."""
    if not alert.loan_ids:
        return []
    return list(Loan.objects.select_related("asset").filter(pk__in=alert.loan_ids).order_by("id"))


def rules() -> QuerySet[AmlRule]:
    return AmlRule.objects.select_related("updated_by").order_by("code")


def rule_parameters(rule: AmlRule) -> list[dict]:
    """A rule's parameters in their declared order, each with its label, value and explanation."""
    return [
        {"name": p.name, "label": p.label, "value": rule.parameters.get(p.name, ""), "help": p.help}
        for p in PARAMETERS[rule.code]
    ]
