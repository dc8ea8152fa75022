from typing import Any

from django import forms

from borrowdesk.forms import DeskForm
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
RATE: dict[str, Any] = {"max_digits": 12, "decimal_places": 4}


class ReceiptForm(DeskForm):
    asset = forms.ModelChoiceField(queryset=Asset.objects.filter(is_active=True), to_field_name="symbol")
    account = forms.ModelChoiceField(
        queryset=CustodyAccount.objects.filter(owner__isnull=True, is_active=True), to_field_name="code"
    )
    quantity = forms.DecimalField(**QTY)
    source_counterparty = forms.ModelChoiceField(
        queryset=Counterparty.objects.filter(kind="lender"),
        required=False,
        to_field_name="code",
        empty_label="the firm",
    )
    cost_rate_bps = forms.DecimalField(**RATE, required=False, label="Cost rate (bps/yr)")
    reference = forms.CharField(max_length=120, required=False)


class ReturnForm(DeskForm):
    quantity = forms.DecimalField(**QTY)


class RecallForm(DeskForm):
    quantity = forms.DecimalField(**QTY)
    due_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class RerateForm(DeskForm):
    rate_bps = forms.DecimalField(**RATE, label="New rate (bps/yr)")
    effective_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
