"""The statement upload form (the upload page's first step)."""

from __future__ import annotations

from django import forms
from django.conf import settings

from borrowdesk.forms import DeskForm
from reconciliation.statements.adapters import FORMAT_CHOICES


class StatementUploadForm(DeskForm):
    format = forms.ChoiceField(choices=FORMAT_CHOICES, label="Format")
    as_of = forms.CharField(
        max_length=40,
        label="As of",
        help_text="A business date (its end; now for today) or a timestamp with its offset.",
    )
    account = forms.CharField(
        max_length=128,
        required=False,
        label="Custodian's account id",
        help_text="Coinbase Prime: the portfolio id, when the file does not name it.",
    )
    file = forms.FileField(label="Statement file")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.RECONCILIATION_MAX_FILE_BYTES:
            raise forms.ValidationError(f"Larger than {settings.RECONCILIATION_MAX_FILE_BYTES:,} bytes.")
        return upload
