"""Collateral forms: shape and types here; the rules (ranges, decimals, ordering, the pledge's account)
are the services', and a refused action comes back as a form error through ``add_domain_error``."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone

from borrowdesk.business_day import desk_zone
from borrowdesk.forms import DeskForm
from borrowdesk.refdata.models import AccountPurpose, Asset, Counterparty, CustodyAccount, Venue
from collateral.selectors.config import default_levels

# Wide enough for any figure the desk types; the services say what is out of range, beside the field.
NUMBER: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}


class DeskDateTimeField(forms.DateTimeField):
    """A date and time typed in the desk's time zone (the pages show times in it too)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value):
        with timezone.override(desk_zone()):
            return super().to_python(value)


def _assets() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Asset.objects.filter(is_active=True).order_by("symbol"), to_field_name="symbol"
    )


def _counterparties(required: bool = True, **kwargs) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Counterparty.objects.filter(is_active=True).order_by("code"),
        to_field_name="code",
        required=required,
        **kwargs,
    )


class ProposalForm(DeskForm):
    effective_from = DeskDateTimeField(
        required=False,
        label="From",
        help_text="Desk time; empty: now. A loosening applies from its approval.",
    )
    comment = forms.CharField(max_length=500, required=False, widget=forms.TextInput())


class HaircutRuleForm(ProposalForm):
    field_order = ["asset", "venue", "counterparty", "haircut_pct", "effective_from", "comment"]
    asset = _assets()
    venue = forms.ModelChoiceField(
        queryset=Venue.objects.filter(is_active=True).order_by("code"),
        to_field_name="code",
        required=False,
        empty_label="any venue",
    )
    counterparty = _counterparties(required=False, empty_label="any counterparty")
    haircut_pct = forms.DecimalField(**NUMBER, label="Haircut (%)", help_text="0 to 100, at most 4 decimals.")


class LimitForm(ProposalForm):
    field_order = [
        "counterparty",
        "max_exposure_usd",
        "max_tenor_days",
        "min_coverage_ratio",
        "asset_caps",
        "effective_from",
        "comment",
    ]
    counterparty = _counterparties()
    max_exposure_usd = forms.DecimalField(**NUMBER, label="Max exposure (USD)")
    max_tenor_days = forms.IntegerField(
        required=False, label="Max tenor (days)", help_text="Empty: no limit."
    )
    min_coverage_ratio = forms.DecimalField(
        **NUMBER, required=False, label="Min coverage", help_text="A ratio: 1.2 = 120 %. Empty: no covenant."
    )
    asset_caps = forms.CharField(
        required=False,
        max_length=2000,
        label="Asset caps",
        help_text="Most of each asset on loan, e.g. BTC 10, ETH 250.",
    )

    def clean_asset_caps(self) -> dict[Asset, Decimal]:
        text = self.cleaned_data.get("asset_caps") or ""
        pairs = [p.strip() for p in re.split(r"[,;\n]", text) if p.strip()]
        caps: dict[str, Decimal] = {}
        for pair in pairs:
            parts = re.split(r"[\s=:]+", pair)
            if len(parts) != 2:
                raise forms.ValidationError(f"{pair!r}: write a symbol and a quantity, e.g. BTC 10.")
            symbol, quantity = parts[0].upper(), parts[1]
            if symbol in caps:
                raise forms.ValidationError(f"{symbol} is named twice.")
            try:
                caps[symbol] = Decimal(quantity)
            except InvalidOperation:
                raise forms.ValidationError(f"{symbol}: {quantity!r} is not a number.") from None
        assets = {a.symbol: a for a in Asset.objects.filter(symbol__in=caps)}
        unknown = sorted(set(caps) - set(assets))
        if unknown:
            raise forms.ValidationError(f"Unknown asset {', '.join(unknown)}.")
        return {assets[symbol]: quantity for symbol, quantity in caps.items()}


class AgreementForm(ProposalForm):
    field_order = [
        "counterparty",
        "return_ratio",
        "required_ratio",
        "warning_ratio",
        "call_ratio",
        "critical_ratio",
        "cure_period_hours",
        "call_due_hours",
        "effective_from",
        "comment",
    ]
    counterparty = _counterparties()
    return_ratio = forms.DecimalField(
        **NUMBER, label="Return", help_text="Ratios: 1.6 = 160 %. Above it, excess may be released."
    )
    required_ratio = forms.DecimalField(**NUMBER, label="Required", help_text="A call tops up to it.")
    warning_ratio = forms.DecimalField(**NUMBER, label="Warning")
    call_ratio = forms.DecimalField(**NUMBER, label="Call", help_text="Below it: a margin call.")
    critical_ratio = forms.DecimalField(**NUMBER, label="Critical")
    cure_period_hours = forms.IntegerField(label="Cure period (hours)")
    call_due_hours = forms.IntegerField(label="Call due in (hours)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:  # start from the defaults in settings
            defaults = default_levels()
            for name in (
                "return_ratio",
                "required_ratio",
                "warning_ratio",
                "call_ratio",
                "critical_ratio",
                "cure_period_hours",
                "call_due_hours",
            ):
                self.initial.setdefault(name, getattr(defaults, name))


class RejectForm(DeskForm):
    reason = forms.CharField(max_length=500)


class PledgeForm(DeskForm):
    counterparty = _counterparties()
    asset = _assets()
    account = forms.ModelChoiceField(
        queryset=CustodyAccount.objects.filter(purpose=AccountPurpose.COLLATERAL, is_active=True)
        .select_related("owner")
        .order_by("code"),
        to_field_name="code",
        help_text="The counterparty's collateral account.",
    )
    quantity = forms.DecimalField(**NUMBER)
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional.",
    )
    reference = forms.CharField(max_length=120, required=False)
