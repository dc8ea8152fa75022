"""``{% load reconciliation_gate %}{% preopen_gate_notice %}``: what the pre-open gate holds today, for
pages of other apps (the approval queue) without touching their views."""

from django import template

from reconciliation.selectors_runs import held_accounts

register = template.Library()


@register.inclusion_tag("reconciliation/_gate_notice.html")
def preopen_gate_notice() -> dict:
    return {"gate": held_accounts()}
