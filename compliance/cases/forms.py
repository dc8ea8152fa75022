"""Case page forms: shape and types here, rules in the services."""

from __future__ import annotations

from django import forms

from borrowdesk.forms import DeskForm
from compliance.cases import services
from compliance.cases.models import CaseDisposition, CaseKind, CasePriority


class CaseForm(DeskForm):
    kind = forms.ChoiceField(choices=CaseKind.choices)
    counterparty = forms.CharField(max_length=32, required=False, help_text="Its code; empty for none.")
    subject = forms.CharField(max_length=services.MAX_SUBJECT)
    priority = forms.ChoiceField(choices=CasePriority.choices, initial=CasePriority.MEDIUM)
    detail = forms.CharField(
        max_length=services.MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class AssignForm(DeskForm):
    user = forms.CharField(max_length=150, label="Assign to")


class NoteForm(DeskForm):
    text = forms.CharField(
        max_length=services.MAX_TEXT, label="Note", widget=forms.Textarea(attrs={"rows": 3})
    )


class AttachForm(DeskForm):
    file = forms.FileField(label="File (PDF, image or text)")


class ReasonForm(DeskForm):
    reason = forms.CharField(max_length=services.MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2}))


class OptionalReasonForm(DeskForm):
    reason = forms.CharField(
        max_length=services.MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(OptionalReasonForm):
    disposition = forms.ChoiceField(choices=CaseDisposition.choices)
    field_order = ["disposition", "reason"]
