from django import forms

from borrowdesk.forms import DeskForm
from borrowdesk.refdata.models import RiskRating
from compliance.models import KycStatus


class KycForm(DeskForm):
    status = forms.ChoiceField(choices=KycStatus.choices)
    risk_rating = forms.ChoiceField(choices=RiskRating.choices)
    expires_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
