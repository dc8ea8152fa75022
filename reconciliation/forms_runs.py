"""Forms of the runs and breaks pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from borrowdesk.business_day import business_date
from borrowdesk.forms import DeskForm
from borrowdesk.refdata.models import CustodyAccount
from inventory.models import QTY
from reconciliation.models_runs import BreakReason, RunScope


class RunForm(DeskForm):
    business_date = forms.DateField(label="Business date", widget=forms.DateInput(attrs={"type": "date"}))
    scope = forms.ChoiceField(choices=RunScope.choices, initial=RunScope.ALL)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business_date"].initial = business_date()


class AssignForm(DeskForm):
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.none(), label="Owner")

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners if owners is not None else get_user_model().objects.none()


class CommentForm(DeskForm):
    text = forms.CharField(label="Comment", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(DeskForm):
    reason = forms.ChoiceField(choices=[c for c in BreakReason.choices if c[0] != BreakReason.BOOKING_ERROR])
    text = forms.CharField(
        label="Explanation", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AdjustForm(DeskForm):
    quantity = forms.DecimalField(
        label="Adjust the book by", max_digits=QTY["max_digits"], decimal_places=QTY["decimal_places"],
        required=False, help_text="Signed, in the asset's units; empty: the break's difference.",
    )  # fmt: skip
    text = forms.CharField(
        label="What was booked wrong", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class OverrideForm(DeskForm):
    account = forms.ModelChoiceField(
        queryset=CustodyAccount.objects.filter(owner__isnull=True, is_active=True), to_field_name="code"
    )
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ReconciledStatementForm(DeskForm):
    account = forms.ModelChoiceField(queryset=CustodyAccount.objects.all(), to_field_name="code")
    business_date = forms.DateField(label="Business date", widget=forms.DateInput(attrs={"type": "date"}))
