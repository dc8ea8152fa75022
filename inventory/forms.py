"""Inventory forms: shape and types here; the rules (asset decimals, open quantities, roles) are the
services', and a refused action comes back as a form error through ``add_domain_error``."""

from typing import Any

from django import forms

from borrowdesk.forms import DeskForm
from borrowdesk.refdata.models import Asset, Counterparty, CounterpartyKind, CustodyAccount

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
RATE: dict[str, Any] = {"max_digits": 12, "decimal_places": 4}


def _assets():
    return forms.ModelChoiceField(
        queryset=Asset.objects.filter(is_active=True).order_by("symbol"), to_field_name="symbol"
    )


def _firm_accounts():
    return forms.ModelChoiceField(
        queryset=CustodyAccount.objects.filter(owner__isnull=True, is_active=True).order_by("code"),
        to_field_name="code",
        help_text="One of the firm's accounts.",
    )


class ReceiptForm(DeskForm):
    asset = _assets()
    account = _firm_accounts()
    quantity = forms.DecimalField(**QTY)
    source_counterparty = forms.ModelChoiceField(
        queryset=Counterparty.objects.filter(
            kind__in=[CounterpartyKind.LENDER, CounterpartyKind.INTERNAL_DESK], is_active=True
        ).order_by("code"),
        required=False,
        to_field_name="code",
        empty_label="the firm",
        label="From",
    )
    cost_rate_bps = forms.DecimalField(**RATE, required=False, label="Cost rate (bps/yr)")
    reference = forms.CharField(max_length=120, required=False)


class AdjustmentForm(DeskForm):
    asset = _assets()
    account = _firm_accounts()
    quantity = forms.DecimalField(**QTY, help_text="Signed: positive adds to available, negative removes.")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class ReturnForm(DeskForm):
    prefix = "return"
    quantity = forms.DecimalField(**QTY, label="Return quantity")


class RecallForm(DeskForm):
    prefix = "recall"
    quantity = forms.DecimalField(**QTY, label="Recall quantity")
    due_at = forms.DateTimeField(
        label="Due", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )


class RerateForm(DeskForm):
    prefix = "rerate"
    rate_bps = forms.DecimalField(**RATE, label="New rate (bps/yr)")
    effective_date = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
