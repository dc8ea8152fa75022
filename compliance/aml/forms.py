"""AML pages' forms: a rule's parameters (built from the rule's declared parameters) and a dismissal."""

from __future__ import annotations

from django import forms

from borrowdesk.forms import DeskForm
from compliance.aml.rules import PARAMETERS


class RuleForm(DeskForm):
    """Whether a rule runs and its parameters. Shapes only: the service validates the bounds and
    its errors come back beside their fields."""

    enabled = forms.BooleanField(required=False, label="Enabled")

    def __init__(self, *args, code: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.code = code
        for spec in PARAMETERS[code]:
            self.fields[spec.name] = forms.CharField(
                label=spec.label,
                help_text=spec.help,
                max_length=40,
                required=True,
                widget=forms.TextInput(attrs={"class": "form-control form-control-sm num"}),
            )

    def parameters(self) -> dict:
        return {spec.name: self.cleaned_data[spec.name] for spec in PARAMETERS[self.code]}


class DismissForm(DeskForm):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Reason")
