"""Forms of the stress, recall suggestions and concentration pages: shape and types only; the rules
(ranges, known assets) are the services' and selectors' (a refusal comes back on its field)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms

from borrowdesk.formatting import unpadded
from borrowdesk.forms import DeskForm
from borrowdesk.refdata.models import Asset
from collateral.models import PCT, StressScenario

FRACTION: dict[str, Any] = {"max_digits": 5, "decimal_places": 4}
QTY: dict[str, Any] = {"max_digits": 38, "decimal_places": 18}
_PAIR = re.compile(r"^\s*([^=:\s]+)\s*[=:]\s*(\S+)\s*$")


def markdowns_text(markdowns: dict[str, Any]) -> str:
    """``{"BTC": "30", "ETH": "40"}`` → ``BTC=30, ETH=40`` (what the form's field shows)."""
    return ", ".join(f"{symbol}={unpadded(value)}" for symbol, value in sorted(markdowns.items()))


class StressForm(DeskForm):
    """A saved scenario to start from, and the parameters (which the run uses as given)."""

    scenario = forms.ChoiceField(label="Scenario", required=False)
    markdowns = forms.CharField(
        label="Markdowns by asset (%)",
        required=False,
        max_length=4000,
        help_text="Price falls by asset symbol, like BTC=30, ETH=40.",
    )
    other_markdown_pct = forms.DecimalField(
        **PCT, label="Other assets (%)", required=False, min_value=0, max_value=100
    )
    stablecoin_markdown_pct = forms.DecimalField(
        **PCT, label="Stablecoins (%)", required=False, min_value=0, max_value=100
    )
    haircut_addon_pct = forms.DecimalField(
        **PCT, label="Haircut add-on (points)", required=False, min_value=0, max_value=100
    )
    recall_fraction = forms.DecimalField(
        **FRACTION,
        label="Recall of lenders' inventory (0–1)",
        required=False,
        min_value=0,
        max_value=1,
    )

    def __init__(self, *args, scenarios: list[StressScenario], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].choices = [("", "— custom parameters —")] + [  # type: ignore[attr-defined]
            (s.name, f"{s.name} (v{s.version})") for s in scenarios
        ]
        self.fields["markdowns"].widget.attrs["placeholder"] = "BTC=30, ETH=40"

    def clean_markdowns(self) -> dict[str, str]:
        text = self.cleaned_data.get("markdowns") or ""
        found: dict[str, str] = {}
        for part in re.split(r"[,;\n]+", text):
            if not part.strip():
                continue
            match = _PAIR.match(part)
            if match is None:
                raise forms.ValidationError(f"{part.strip()[:30]!r}: write SYMBOL=percent, like BTC=30.")
            symbol, value = match.groups()
            if symbol.upper() in {s.upper() for s in found}:
                raise forms.ValidationError(f"{symbol} is given twice.")
            found[symbol] = value
        return found

    def run_parameters(self) -> dict[str, Any]:
        """The keyword arguments of ``run_stress`` (every parameter given: the form shows them all)."""
        d = self.cleaned_data
        zero = Decimal(0)
        return {
            "scenario": d.get("scenario") or None,
            "markdowns": d.get("markdowns") or {},
            **{
                name: d.get(name) if d.get(name) is not None else zero
                for name in (
                    "other_markdown_pct",
                    "stablecoin_markdown_pct",
                    "haircut_addon_pct",
                    "recall_fraction",
                )
            },
        }

    def query(self) -> str:
        """The run as a query string (a link that runs it again, and its CSV downloads)."""
        d = self.cleaned_data
        pairs = [("run", "1")]
        if d.get("scenario"):
            pairs.append(("scenario", d["scenario"]))
        if d.get("markdowns"):
            pairs.append(("markdowns", markdowns_text(d["markdowns"])))
        for name in ("other_markdown_pct", "stablecoin_markdown_pct", "haircut_addon_pct", "recall_fraction"):
            if d.get(name):
                pairs.append((name, unpadded(d[name])))
        return urlencode(pairs)


def scenario_initial(scenario: StressScenario | None) -> dict[str, Any]:
    """The form's fields filled from a saved scenario (what "Load" shows before a run)."""
    if scenario is None:
        return {}
    saved = scenario.markdowns if isinstance(scenario.markdowns, dict) else {}
    return {
        "scenario": scenario.name,
        "markdowns": markdowns_text(saved),
        "other_markdown_pct": unpadded(scenario.other_markdown_pct),
        "stablecoin_markdown_pct": unpadded(scenario.stablecoin_markdown_pct),
        "haircut_addon_pct": unpadded(scenario.haircut_addon_pct),
        "recall_fraction": unpadded(scenario.recall_fraction),
    }


class RecallNeedForm(DeskForm):
    """Which asset is short and how much is needed (a lender's recall, demand waiting)."""

    asset = forms.ModelChoiceField(
        queryset=Asset.objects.order_by("symbol"), to_field_name="symbol", label="Asset", empty_label="—"
    )
    quantity = forms.DecimalField(
        **QTY,
        label="Quantity needed",
        required=False,
        min_value=0,
        help_text="Demand to meet: available inventory and recalls already in flight count first.",
    )


class ConcentrationFilter(DeskForm):
    counterparty = forms.CharField(label="Counterparty", required=False, max_length=32)
    asset = forms.ModelChoiceField(
        queryset=Asset.objects.order_by("symbol"),
        to_field_name="symbol",
        label="Asset",
        required=False,
        empty_label="All",
    )
    flagged = forms.BooleanField(label="Above the limit only", required=False)
    days = forms.IntegerField(label="Expiring within (days)", required=False, min_value=0, max_value=3650)
