"""Forms of the valuation pages: shape and types here; the rules (coverage after a release, pledged
quantities, roles) are the services', and a refusal comes back as a form error (``add_domain_error``)."""

from typing import Any

from django import forms

from borrowdesk.forms import DeskForm
from borrowdesk.refdata.models import AccountPurpose, Asset, Counterparty, CustodyAccount

QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}


class ReleaseForm(DeskForm):
    counterparty = forms.ModelChoiceField(
        queryset=Counterparty.objects.order_by("code"), to_field_name="code", label="Counterparty"
    )
    account = forms.ModelChoiceField(
        queryset=CustodyAccount.objects.filter(purpose=AccountPurpose.COLLATERAL)
        .select_related("owner")
        .order_by("code"),
        to_field_name="code",
        label="Collateral account",
        help_text="The counterparty's segregated collateral account.",
    )
    asset = forms.ModelChoiceField(queryset=Asset.objects.order_by("symbol"), to_field_name="symbol")
    quantity = forms.DecimalField(**QTY)
    reference = forms.CharField(max_length=120, required=False)


class NoteForm(DeskForm):
    prefix = "note"
    text = forms.CharField(max_length=500, label="Note")


class CancelForm(DeskForm):
    prefix = "cancel"
    reason = forms.CharField(max_length=500, label="Reason for cancelling")


class EscalateForm(DeskForm):
    prefix = "escalate"
    reason = forms.CharField(max_length=500, required=False, label="Reason (optional)")
