"""Stress runs: what a market shock or a wave of lender recalls would do to the desk. Moves nothing,
writes nothing.

``run_stress`` values every counterparty with the coverage SQL itself (``coverage_rows`` with a
``Scenario``): one execution returns the figures before (``base_*``) and after the shock, so stress and
coverage cannot disagree — the empty scenario gives the coverage exactly. Under a recall fraction, the
lenders' inventory is recalled in that proportion; the demand is met first from available inventory
(and recalls already in flight), and the open loans to recall for the rest are ranked by the recall
suggestions' own rule (``collateral.selectors.recall``), against the borrowers' stressed coverage.

Parameters: a saved scenario (a ``StressScenario``, or the name of the active version), and/or the
parameters themselves. A parameter given replaces the scenario's (``markdowns``, when given, is the
whole table of per-asset markdowns); one given by neither is 0. A scenario's markdowns are stored by
symbol and resolved when it runs: a symbol not in reference data is ignored, with a note in the result.
A symbol the caller names must exist (400 on ``markdowns``).

``at``: the instant of the marks, haircut rules and agreements (default now). The book and the ledger
(loans, pledged collateral, inventory) are read as they stand now.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.errors import InvalidInput
from borrowdesk.refdata.models import Asset
from collateral.models import StressScenario
from collateral.selectors.coverage import CoverageRow, Scenario, coverage_rows
from collateral.selectors.recall import LenderInventory, RecallPlan, lender_inventory, recall_plans

ZERO = Decimal(0)
HUNDRED = Decimal(100)
PCT_PLACES = 4  # StressScenario's percentages and recall fraction: at most 4 decimal places
MAX_MARKDOWNS = 500
SYMBOL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$")
PCT_FIELDS = ("other_markdown_pct", "stablecoin_markdown_pct", "haircut_addon_pct")


@dataclass(frozen=True)
class StressParameters:
    """The parameters a run used, as resolved: markdowns by symbol (only assets that exist)."""

    name: str | None
    version: int | None
    markdowns: dict[str, Decimal]
    other_markdown_pct: Decimal
    stablecoin_markdown_pct: Decimal
    haircut_addon_pct: Decimal
    recall_fraction: Decimal
    edited: bool  # a saved scenario with some parameter replaced

    @property
    def label(self) -> str:
        if self.name is None:
            return "Custom parameters"
        return f"{self.name} v{self.version}{' (edited)' if self.edited else ''}"


@dataclass(frozen=True)
class StressRow:
    """One counterparty before and after the shock. A figure that needs a missing mark is None."""

    counterparty_id: int
    counterparty: str
    exposure_before_usd: Decimal | None
    exposure_usd: Decimal | None
    collateral_value_before_usd: Decimal | None
    collateral_value_usd: Decimal | None
    coverage_before: Decimal | None
    coverage_after: Decimal | None
    shortfall_before_usd: Decimal | None
    shortfall_usd: Decimal | None
    required_ratio: Decimal
    state_before: str
    state_after: str
    needs_review: bool
    review_reason: str


@dataclass(frozen=True)
class RecallStress:
    fraction: Decimal
    by_asset: list[tuple[LenderInventory, RecallPlan]]

    @property
    def gap_left_assets(self) -> list[str]:
        return [plan.asset_symbol for _inv, plan in self.by_asset if plan.gap_left > 0]


@dataclass(frozen=True)
class StressResult:
    at: datetime
    parameters: StressParameters
    rows: list[StressRow]  # counterparties with loans or collateral, the largest shortfall after first
    firm_shortfall_usd: Decimal  # Σ shortfall after, over the counterparties whose figures are known
    firm_shortfall_before_usd: Decimal
    unknown_count: int  # counterparties whose figures need a missing mark (left out of the sums)
    recall: RecallStress | None
    notes: list[str] = field(default_factory=list)


# --- validation ----------------------------------------------------------------------------------


def _decimal(value: Any, *, field_name: str, low: Decimal, high: Decimal, what: str) -> Decimal:
    """A finite decimal within [low, high] with at most 4 decimal places, or a 400 on ``field_name``."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str | float):
        raise InvalidInput(f"{what} must be a number.", fields={field_name: ["A number is required."]})
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise InvalidInput(
            f"{what} must be a number.", fields={field_name: ["A number is required."]}
        ) from None
    if not number.is_finite():
        raise InvalidInput(
            f"{what} must be a finite number.", fields={field_name: ["A finite number is required."]}
        )
    if not low <= number <= high:
        message = f"Between {low} and {high}."
        raise InvalidInput(f"{what} must be between {low} and {high}.", fields={field_name: [message]})
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > PCT_PLACES:
        message = f"At most {PCT_PLACES} decimal places."
        raise InvalidInput(f"{what}: at most {PCT_PLACES} decimal places.", fields={field_name: [message]})
    return number


def _percent(value: Any, field_name: str, what: str) -> Decimal:
    return _decimal(value, field_name=field_name, low=ZERO, high=HUNDRED, what=what)


def _fraction(value: Any) -> Decimal:
    return _decimal(value, field_name="recall_fraction", low=ZERO, high=Decimal(1), what="recall_fraction")


def _assets_by_symbol() -> dict[str, list[Asset]]:
    """Every asset by upper-cased symbol (one query: reference data is small)."""
    found: dict[str, list[Asset]] = {}
    for asset in Asset.objects.only("id", "symbol", "decimals", "is_stablecoin"):
        found.setdefault(asset.symbol.upper(), []).append(asset)
    return found


def _match(symbol: str, assets: Mapping[str, list[Asset]]) -> Asset | None:
    """The asset a symbol names: exact first, else the one asset with that symbol in another case."""
    same = assets.get(symbol.upper(), [])
    exact = [a for a in same if a.symbol == symbol]
    if exact:
        return exact[0]
    return same[0] if len(same) == 1 else None


def _given_markdowns(markdowns: Any, assets: Mapping[str, list[Asset]]) -> dict[Asset, Decimal]:
    """The caller's markdowns: every symbol must name an asset, every value a percentage."""
    if not isinstance(markdowns, Mapping):
        raise InvalidInput(
            'markdowns must be an object of asset symbols to percentages, like {"BTC": "30"}.',
            fields={"markdowns": ['An object like {"BTC": "30"} is required.']},
        )
    if len(markdowns) > MAX_MARKDOWNS:
        raise InvalidInput(
            f"At most {MAX_MARKDOWNS} markdowns.", fields={"markdowns": [f"At most {MAX_MARKDOWNS} assets."]}
        )
    resolved: dict[Asset, Decimal] = {}
    for symbol, value in markdowns.items():
        if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
            shown = str(symbol)[:20]
            raise InvalidInput(
                f"{shown!r} is not an asset symbol.",
                fields={"markdowns": [f"{shown!r} is not an asset symbol."]},
            )
        asset = _match(symbol, assets)
        if asset is None:
            raise InvalidInput(
                f"Unknown asset {symbol!r} in markdowns.",
                fields={"markdowns": [f"Unknown asset {symbol!r}."]},
            )
        if asset in resolved:
            raise InvalidInput(
                f"{asset.symbol} is given twice in markdowns.",
                fields={"markdowns": [f"{asset.symbol} given twice."]},
            )
        resolved[asset] = _percent(value, "markdowns", f"The markdown of {asset.symbol}")
    return resolved


def _saved_markdowns(
    scenario: StressScenario, assets: Mapping[str, list[Asset]], notes: list[str]
) -> dict[Asset, Decimal]:
    """A saved scenario's markdowns: a symbol not in reference data (or a value that is not a
    percentage) is ignored, with a note."""
    resolved: dict[Asset, Decimal] = {}
    saved = scenario.markdowns if isinstance(scenario.markdowns, dict) else {}
    for symbol, value in sorted(saved.items()):
        asset = _match(str(symbol), assets) if SYMBOL_RE.match(str(symbol)) else None
        if asset is None:
            notes.append(
                f"{scenario.name}: {symbol} is not an asset in reference data; its markdown is ignored."
            )
            continue
        try:
            resolved[asset] = _percent(value, "markdowns", f"The markdown of {asset.symbol}")
        except InvalidInput:
            notes.append(
                f"{scenario.name}: the markdown of {asset.symbol} ({value!r}) is not a percentage; ignored."
            )
    return resolved


def _scenario(scenario: StressScenario | str | None, version: int | None) -> StressScenario | None:
    if scenario is None or isinstance(scenario, StressScenario):
        return scenario
    if not isinstance(scenario, str) or not scenario.strip() or len(scenario) > 80:
        raise InvalidInput("Unknown scenario.", fields={"scenario": ["Unknown scenario."]})
    found = StressScenario.objects.filter(name=scenario.strip())
    found = found.filter(version=version) if version is not None else found.filter(is_active=True)
    saved = found.first()
    if saved is None:
        which = f"{scenario!r} version {version}" if version is not None else repr(scenario)
        raise InvalidInput(f"Unknown scenario {which}.", fields={"scenario": ["Unknown scenario."]})
    return saved


# --- the run -------------------------------------------------------------------------------------


def ratio_state(
    exposure: Decimal | None, value: Decimal | None, levels: CoverageRow, needs_review: bool
) -> str:
    """The coverage state of figures under a counterparty's levels, as coverage.sql's ``ratio_state``
    (a level belongs to the better state), ``needs_review`` when a mark is missing, stale or disputed.
    The SQL states the "after" figures; this states the "before" ones of the same execution."""
    if needs_review or exposure is None or value is None:
        return "needs_review"  # a figure unknown needs a missing mark, which the SQL puts under review
    if exposure == 0 or value >= levels.warning_ratio * exposure:
        return "ok"
    if value >= levels.call_ratio * exposure:
        return "warning"
    if value >= levels.critical_ratio * exposure:
        return "call"
    return "critical"


def _in_play(row: CoverageRow) -> bool:
    """A counterparty with loans or collateral (a figure unknown counts as something)."""
    return any(
        v is None or v != 0
        for v in (row.base_exposure_usd, row.base_collateral_value_usd, row.ineligible_value_usd)
    )


def _stress_row(row: CoverageRow) -> StressRow:
    return StressRow(
        counterparty_id=row.counterparty_id,
        counterparty=row.counterparty_code,
        exposure_before_usd=row.base_exposure_usd,
        exposure_usd=row.exposure_usd,
        collateral_value_before_usd=row.base_collateral_value_usd,
        collateral_value_usd=row.collateral_value_usd,
        coverage_before=row.base_coverage_ratio,
        coverage_after=row.coverage_ratio,
        shortfall_before_usd=row.base_shortfall_usd,
        shortfall_usd=row.shortfall_usd,
        required_ratio=row.required_ratio,
        state_before=ratio_state(row.base_exposure_usd, row.base_collateral_value_usd, row, row.needs_review),
        state_after="needs_review" if row.needs_review or row.ratio_state is None else row.ratio_state,
        needs_review=row.needs_review,
        review_reason=row.review_reason,
    )


def _shortfall_order(row: StressRow) -> tuple:
    # Unknown figures first (they need review), then the largest shortfall after, then before.
    return (
        row.shortfall_usd is not None,
        -(row.shortfall_usd or ZERO),
        -(row.shortfall_before_usd or ZERO),
        row.counterparty,
    )


def _recall(
    fraction: Decimal, coverage: Mapping[int, CoverageRow], assets: Mapping[int, Asset], at: datetime
) -> RecallStress:
    """Lenders recall ``fraction`` of what they lent the desk, per asset (rounded up to the asset's
    decimals: a lender is owed whole units of its precision)."""
    inventory = lender_inventory()
    if fraction == 0 or not inventory:
        return RecallStress(fraction=fraction, by_asset=[])
    demands = {
        assets[i]: (fraction * inv.quantity).quantize(
            Decimal(1).scaleb(-inv.asset_decimals), rounding=ROUND_CEILING
        )
        for i, inv in inventory.items()
    }
    plans = recall_plans(demands=demands, coverage=coverage, at=at)
    return RecallStress(fraction=fraction, by_asset=[(inventory[p.asset_id], p) for p in plans])


def run_stress(
    *,
    actor,
    scenario: StressScenario | str | None = None,
    scenario_version: int | None = None,
    markdowns: Mapping[str, Any] | None = None,
    other_markdown_pct: Any = None,
    stablecoin_markdown_pct: Any = None,
    haircut_addon_pct: Any = None,
    recall_fraction: Any = None,
    at: datetime | None = None,
) -> StressResult:
    """Run a stress: every counterparty's coverage before and after, its shortfall to required after,
    the firm's shortfall, and under a recall fraction the inventory gap per asset and the loans to
    recall. Action ``collateral.stress.run``. Moves and writes nothing.

    Raises ``PermissionDeniedError`` (a role without the action) and ``InvalidInput`` naming the field:
    an unknown scenario, a markdown or percentage outside 0–100 or with more than 4 decimal places, an
    unknown asset symbol in ``markdowns``, a recall fraction outside 0–1.
    """
    require(actor, "collateral.stress.run", "Only risk and managers run stress scenarios.")
    notes: list[str] = []
    saved = _scenario(scenario, scenario_version)
    assets = _assets_by_symbol()
    given = {
        "other_markdown_pct": other_markdown_pct,
        "stablecoin_markdown_pct": stablecoin_markdown_pct,
        "haircut_addon_pct": haircut_addon_pct,
    }
    pcts = {
        name: _percent(value, name, name) if value is not None else (getattr(saved, name) if saved else ZERO)
        for name, value in given.items()
    }
    fraction = (
        _fraction(recall_fraction)
        if recall_fraction is not None
        else (saved.recall_fraction if saved else ZERO)
    )
    saved_notes: list[str] = []  # said only when the saved markdowns are the ones used
    saved_markdowns = _saved_markdowns(saved, assets, saved_notes) if saved else {}
    if markdowns is not None:
        by_asset = _given_markdowns(markdowns, assets)
    else:
        by_asset = saved_markdowns
        notes.extend(saved_notes)
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise InvalidInput(
            "at must carry a time zone.", fields={"at": ["A time with its offset is required."]}
        )
    # Edited: some parameter differs from the saved scenario's (given but equal is not an edit).
    edited = saved is not None and (
        by_asset != saved_markdowns
        or any(pcts[name] != getattr(saved, name) for name in PCT_FIELDS)
        or fraction != saved.recall_fraction
    )
    parameters = StressParameters(
        name=saved.name if saved else None,
        version=saved.version if saved else None,
        markdowns={a.symbol: pct for a, pct in sorted(by_asset.items(), key=lambda item: item[0].symbol)},
        other_markdown_pct=pcts["other_markdown_pct"],
        stablecoin_markdown_pct=pcts["stablecoin_markdown_pct"],
        haircut_addon_pct=pcts["haircut_addon_pct"],
        recall_fraction=fraction,
        edited=edited,
    )
    shock = Scenario(
        markdowns={a.pk: pct for a, pct in by_asset.items()},
        stablecoin_markdown_pct=parameters.stablecoin_markdown_pct,
        other_markdown_pct=parameters.other_markdown_pct,
        haircut_addon_pct=parameters.haircut_addon_pct,
    )
    coverage = coverage_rows(at=at, scenario=shock)
    rows = sorted((_stress_row(r) for r in coverage if _in_play(r)), key=_shortfall_order)
    known = [r for r in rows if r.shortfall_usd is not None]
    unknown = len(rows) - len(known)
    if unknown:
        notes.append(
            f"{unknown} counterpart{'y' if unknown == 1 else 'ies'} need review (a mark missing, stale or "
            "disputed): left out of the firm's shortfall."
        )
    recall = None
    if fraction > 0:
        by_id = {a.pk: a for same in assets.values() for a in same}
        recall = _recall(fraction, {r.counterparty_id: r for r in coverage}, by_id, at)
        if not recall.by_asset:
            notes.append("No inventory was received from lenders: a lender run recalls nothing.")
    return StressResult(
        at=at,
        parameters=parameters,
        rows=rows,
        firm_shortfall_usd=sum((r.shortfall_usd for r in known if r.shortfall_usd is not None), ZERO),
        firm_shortfall_before_usd=sum(
            (r.shortfall_before_usd for r in rows if r.shortfall_before_usd is not None), ZERO
        ),
        unknown_count=unknown,
        recall=recall,
        notes=notes,
    )
