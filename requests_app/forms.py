"""Browser forms for borrow requests: shape here, rules in the services."""

from __future__ import annotations

from typing import Any

from django import forms

from borrowdesk.forms import DeskForm
from borrowdesk.refdata.models import Asset, CustodyAccount
from borrowdesk.refdata.selectors import visible_counterparties
from requests_app.models import Urgency

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
RATE: dict[str, Any] = {"max_digits": 12, "decimal_places": 4}


class SubmitForm(DeskForm):
    counterparty: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, to_field_name="code", empty_label="choose a counterparty"
    )
    asset = forms.ModelChoiceField(
        queryset=Asset.objects.filter(is_active=True), to_field_name="symbol", empty_label="choose an asset"
    )
    quantity = forms.DecimalField(**QTY, min_value=0)
    min_quantity = forms.DecimalField(
        **QTY, required=False, min_value=0, help_text="The least you would take; blank = all or nothing."
    )
    max_rate_bps = forms.DecimalField(
        **RATE,
        required=False,
        min_value=0,
        label="Max rate (bps/yr)",
        help_text="Above it, approval becomes an offer you accept or decline.",
    )
    term_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Term (days)", help_text="Blank = open-ended."
    )
    settlement_account: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, required=False, to_field_name="code", empty_label="none given"
    )
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.NORMAL)
    needed_by = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        granted = visible_counterparties(user).filter(is_active=True)
        self.fields["counterparty"].queryset = granted
        self.fields["settlement_account"].queryset = CustodyAccount.objects.filter(
            owner__in=granted, is_active=True
        )


class ApproveForm(DeskForm):
    quantity = forms.DecimalField(**QTY, required=False, min_value=0)
    rate_bps = forms.DecimalField(**RATE, min_value=0, label="Rate (bps/yr)")
    account = forms.ModelChoiceField(
        queryset=CustodyAccount.objects.filter(owner__isnull=True, is_active=True),
        required=False,
        to_field_name="code",
        empty_label="automatic",
    )


class RejectForm(DeskForm):
    reason = forms.CharField(max_length=500)
