from django import forms
from django.conf import settings

from borrowdesk.forms import DeskForm
from borrowdesk.refdata.models import RiskRating
from compliance.models import DocumentKind, KycStatus, ListFormat
from compliance.sanctions.files import SourceFile


class KycForm(DeskForm):
    status = forms.ChoiceField(choices=KycStatus.choices, label="KYC status")
    risk_rating = forms.ChoiceField(choices=RiskRating.choices, label="Risk rating")
    expires_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        required=False,
        label="Expires on",
        help_text="Empty on an approval: the next periodic review, by risk rating.",
    )


class KycDocumentForm(DeskForm):
    """A KYC document: what it is and the file (checked by content in the service)."""

    kind = forms.ChoiceField(choices=DocumentKind.choices, label="Document")
    file = forms.FileField(label="File (PDF, PNG or JPEG)", allow_empty_file=True)
    description = forms.CharField(max_length=300, required=False, label="Description")


class ListUploadForm(DeskForm):
    """A sanctions list's files, to preview and then import."""

    source_format = forms.ChoiceField(choices=ListFormat.choices, label="Format")
    source_name = forms.CharField(
        max_length=64, required=False, label="List name", help_text="Default: OFAC SDN, or OpenSanctions."
    )
    list_file = forms.FileField(label="sdn.csv, or targets.simple.csv")
    alt_file = forms.FileField(required=False, label="alt.csv (aliases)")
    add_file = forms.FileField(required=False, label="add.csv (addresses)")
    comments_file = forms.FileField(required=False, label="sdn_comments.csv (continued remarks)")

    OFAC_ROLES = {
        "list_file": "sdn.csv",
        "alt_file": "alt.csv",
        "add_file": "add.csv",
        "comments_file": "sdn_comments.csv",
    }

    def clean(self):
        data = super().clean()
        limit = settings.SANCTIONS_UPLOAD_MAX_BYTES
        for field in self.OFAC_ROLES:
            upload = data.get(field)
            if upload is not None and upload.size > limit:
                self.add_error(field, f"Larger than {limit // (1024 * 1024)} MB.")
        if data.get("source_format") == ListFormat.OPENSANCTIONS_CSV:
            for field in ("alt_file", "add_file", "comments_file"):
                if data.get(field) is not None:
                    self.add_error(field, "OpenSanctions' export is one file: leave this empty.")
        return data

    def sources(self) -> dict[str, SourceFile]:
        """The uploaded files by their role in the list (the browser's names play no part)."""
        data = self.cleaned_data
        if data["source_format"] == ListFormat.OPENSANCTIONS_CSV:
            return {"targets.simple.csv": SourceFile("targets.simple.csv", data["list_file"].read())}
        return {
            role: SourceFile(role, data[field].read())
            for field, role in self.OFAC_ROLES.items()
            if data.get(field) is not None
        }


class ScreenForm(DeskForm):
    name = forms.CharField(max_length=500, required=False, label="Name")
    address = forms.CharField(max_length=200, required=False, label="Wallet address")

    def clean(self):
        data = super().clean()
        if not (data.get("name") or "").strip() and not (data.get("address") or "").strip():
            raise forms.ValidationError("Give a name or a wallet address to screen.")
        return data


class ReasonForm(DeskForm):
    reason = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class FalsePositiveForm(ReasonForm):
    decision = forms.ChoiceField(
        choices=[("propose", "propose"), ("confirm", "confirm"), ("withdraw", "withdraw")]
    )
