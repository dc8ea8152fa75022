"""The one helper that turns a domain error into form errors (STYLE.md: "one form helper")."""

from __future__ import annotations

from django import forms

from borrowdesk.errors import DomainError


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Attach a refused action's message to the form: on its fields when it names them, else on top."""
    placed = False
    for field, messages in error.fields.items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.detail)


class DeskForm(forms.Form):
    """A form whose widgets carry the desk's compact Bootstrap classes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            css = (
                "form-select form-select-sm"
                if isinstance(widget, forms.Select)
                else "form-control form-control-sm"
            )
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
