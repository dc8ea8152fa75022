"""Risk configuration with four eyes: haircut rules, borrower limits, collateral agreements, stress
scenarios and mark policies.

Haircut rules, limits and agreements are versioned and effective-dated (collateral/models.py): a
proposal is a new row, never an edit. It is judged against the version that would otherwise be in
force, for exactly its key, at the instant it would take effect (now, unless ``effective_from`` is
later; then a change already scheduled for that instant is the reference, so a "tightening" dated next
week cannot undercut a stricter version already scheduled for next week):

- at least as strict → a tightening → ``effective`` at once, from ``effective_from``;
- less strict, or nothing to compare with where "nothing" means "not allowed" (an asset with no
  haircut rule is ineligible) → a loosening → ``pending_approval`` until a risk user other than the
  proposer approves it; it is then in force from max(its proposed ``effective_from``, the approval).

Every function checks the policy first (``collateral.config.propose`` / ``.approve``,
``collateral.stress.edit``), validates everything before writing (``InvalidInput`` naming the
fields, ahead of the database's CHECK constraints), and writes inside ``acting_as(actor)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.errors import InvalidInput, InvalidState, SegregationOfDuties
from borrowdesk.formatting import plain
from borrowdesk.refdata.models import Asset, Counterparty, Venue
from collateral.models import (
    AssetCap,
    BorrowerLimit,
    CollateralAgreement,
    ConfigStatus,
    HaircutRule,
    MarkPolicy,
    StressScenario,
    VersionedConfig,
)
from collateral.selectors.config import agreement_in_force, default_levels, haircut_in_force, limit_in_force
from inventory.errors import InvalidQuantity
from inventory.services import check_quantity

Config = TypeVar("Config", HaircutRule, BorrowerLimit, CollateralAgreement)

PROPOSE = "collateral.config.propose"
APPROVE = "collateral.config.approve"

HUNDRED = Decimal(100)
MAX_USD = Decimal("1e16")  # USD columns are Decimal(24, 8): 16 integer digits
MAX_RATIO = Decimal("1e6")  # ratio columns are Decimal(12, 6): 6 integer digits
MAX_HOURS = 8760  # a year: longer cure periods or call deadlines are typing mistakes
MAX_TENOR_DAYS = 36500
MAX_MARK_AGE_MINUTES = 43200  # 30 days
# A proposal dated "now" by a client whose clock is a little behind is not in the past.
CLOCK_SKEW_SECONDS = 60


# --- checks ---------------------------------------------------------------------------------------


def _decimal(
    errors: dict[str, list[str]],
    field: str,
    value: Any,
    *,
    places: int,
    low: Decimal,
    high: Decimal,
    low_open: bool = False,
    high_open: bool = False,
    unit: str = "",
) -> Decimal | None:
    """Record on ``errors[field]`` why ``value`` is not a finite decimal in range with at most
    ``places`` decimals; return it when it is."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        errors.setdefault(field, []).append("A decimal number is required.")
        return None
    value = Decimal(value)
    if not value.is_finite():
        errors.setdefault(field, []).append("A finite number is required.")
        return None
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        left, right = ("above" if low_open else "from"), ("below" if high_open else "to")
        errors.setdefault(field, []).append(f"Must be {left} {plain(low)} {right} {plain(high)}{unit}.")
        return None
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        errors.setdefault(field, []).append(f"At most {places} decimal places.")
        return None
    return value


def _pct(errors: dict[str, list[str]], field: str, value: Any) -> Decimal | None:
    """A percentage from 0 to 100 with at most 4 decimals (the columns' Decimal(7, 4))."""
    return _decimal(errors, field, value, places=4, low=Decimal(0), high=HUNDRED, unit=" %")


def _whole(errors: dict[str, list[str]], field: str, value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        errors.setdefault(field, []).append("A whole number is required.")
        return None
    if isinstance(value, Decimal) and (not value.is_finite() or value != value.to_integral_value()):
        errors.setdefault(field, []).append("A whole number is required.")
        return None
    if not low <= value <= high:
        errors.setdefault(field, []).append(f"Must be from {low} to {high}.")
        return None
    return int(value)


def _effective_from(errors: dict[str, list[str]], value: datetime | None, now: datetime) -> datetime:
    """None is now; a moment in the past is refused (history is not rewritten), beyond a minute of
    clock skew, which is taken as now."""
    if value is None:
        return now
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if (now - value).total_seconds() > CLOCK_SKEW_SECONDS:
        errors.setdefault("effective_from", []).append("Cannot be in the past.")
        return now
    return max(value, now)


def _comment(errors: dict[str, list[str]], value: str, field: str = "comment") -> str:
    value = (value or "").strip()
    if len(value) > 500:
        errors.setdefault(field, []).append("At most 500 characters.")
    return value


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        first, messages = next(iter(errors.items()))
        raise InvalidInput(f"Invalid {first.replace('_', ' ')}: {messages[0]}", fields=errors)


def _new_version(row: Config, *, actor, is_loosening: bool, effective_from: datetime) -> Config:
    row.proposed_by = actor
    row.effective_from = effective_from
    row.is_loosening = is_loosening
    row.status = ConfigStatus.PENDING_APPROVAL if is_loosening else ConfigStatus.EFFECTIVE
    row.save()
    return row


# --- haircut rules --------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def propose_haircut_rule(
    *,
    actor,
    asset: Asset,
    venue: Venue | None = None,
    counterparty: Counterparty | None = None,
    haircut_pct: Decimal,
    effective_from: datetime | None = None,
    comment: str = "",
) -> HaircutRule:
    """Propose the haircut of ``asset`` as collateral, optionally narrowed to a venue and/or a
    counterparty. A haircut at least as high as the one that applies to exactly that scope is a
    tightening, in force at once; a lower one, or a first rule making the asset eligible there, waits
    for a second risk user (``pending_approval``).

    Raises ``PermissionDeniedError`` (not risk) and ``InvalidInput`` (haircut outside 0–100 % or with
    more than 4 decimals, an inactive asset, ``effective_from`` in the past, comment too long).
    """
    require(actor, PROPOSE, "Only risk proposes haircut rules.")
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if not asset.is_active:
        errors["asset"] = [f"{asset.symbol} is inactive."]
    if venue is not None and not venue.is_active:
        errors["venue"] = [f"{venue.code} is inactive."]
    if counterparty is not None and not counterparty.is_active:
        errors["counterparty"] = [f"{counterparty.code} is inactive."]
    pct = _pct(errors, "haircut_pct", haircut_pct)
    start = _effective_from(errors, effective_from, now)
    comment = _comment(errors, comment)
    _raise(errors)
    assert pct is not None
    current = haircut_in_force(asset=asset, venue=venue, counterparty=counterparty, at=start)
    # Lower haircut = more collateral value = looser; no rule = ineligible, so any rule loosens.
    is_loosening = current is None or pct < current.haircut_pct
    with acting_as(actor):
        rule = HaircutRule(
            asset=asset, venue=venue, counterparty=counterparty, haircut_pct=pct, comment=comment
        )
        return _new_version(rule, actor=actor, is_loosening=is_loosening, effective_from=start)


# --- borrower limits ------------------------------------------------------------------------------


def _caps(errors: dict[str, list[str]], asset_caps: Mapping[Asset, Any] | None) -> dict[Asset, Decimal]:
    checked: dict[Asset, Decimal] = {}
    for asset, quantity in (asset_caps or {}).items():
        try:
            checked[asset] = check_quantity(quantity, asset, field="asset_caps", allow_zero=True)
        except InvalidQuantity as error:
            for message in error.fields.get("asset_caps", [error.detail]):
                errors.setdefault("asset_caps", []).append(f"{asset.symbol}: {message}")
    return checked


def _limit_is_tightening(
    current: BorrowerLimit | None,
    *,
    max_exposure_usd: Decimal,
    max_tenor_days: int | None,
    min_coverage_ratio: Decimal | None,
    caps: dict[Asset, Decimal],
) -> bool:
    """Every dimension at least as strict as the version in force (a first limit restricts an
    unlimited counterparty: a tightening). None is unlimited tenor and no covenant; an existing cap
    dropped loosens, a new cap tightens."""
    if current is None:
        return True
    if max_exposure_usd > current.max_exposure_usd:
        return False
    if current.max_tenor_days is not None and (
        max_tenor_days is None or max_tenor_days > current.max_tenor_days
    ):
        return False
    if current.min_coverage_ratio is not None and (
        min_coverage_ratio is None or min_coverage_ratio < current.min_coverage_ratio
    ):
        return False
    new_caps = {asset.pk: quantity for asset, quantity in caps.items()}
    for cap in current.asset_caps.all():
        if cap.asset_id not in new_caps or new_caps[cap.asset_id] > cap.max_quantity:
            return False
    return True


@transaction.atomic(durable=True)
def propose_limit(
    *,
    actor,
    counterparty: Counterparty,
    max_exposure_usd: Decimal,
    max_tenor_days: int | None = None,
    min_coverage_ratio: Decimal | None = None,
    asset_caps: Mapping[Asset, Decimal] | None = None,
    effective_from: datetime | None = None,
    comment: str = "",
) -> BorrowerLimit:
    """Propose a new version of a counterparty's limits (max exposure in USD, max tenor, minimum
    coverage covenant, per-asset quantity caps, the caps belonging to this version). A first limit, or
    one at least as strict in every dimension as the version in force, is in force at once; otherwise
    it waits for a second risk user.

    Raises ``PermissionDeniedError`` (not risk) and ``InvalidInput`` (a negative or too-large figure,
    more decimals than the column or the asset allows, a tenor below one day, ``effective_from`` in the
    past).
    """
    require(actor, PROPOSE, "Only risk proposes limits.")
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if not counterparty.is_active:
        errors["counterparty"] = [f"{counterparty.code} is inactive."]
    exposure = _decimal(
        errors, "max_exposure_usd", max_exposure_usd, places=8, low=Decimal(0), high=MAX_USD, high_open=True
    )
    tenor = None
    if max_tenor_days is not None:
        tenor = _whole(errors, "max_tenor_days", max_tenor_days, 1, MAX_TENOR_DAYS)
    coverage = None
    if min_coverage_ratio is not None:
        coverage = _decimal(
            errors,
            "min_coverage_ratio",
            min_coverage_ratio,
            places=6,
            low=Decimal(0),
            high=MAX_RATIO,
            low_open=True,
            high_open=True,
        )
    caps = _caps(errors, asset_caps)
    start = _effective_from(errors, effective_from, now)
    comment = _comment(errors, comment)
    _raise(errors)
    assert exposure is not None
    current = limit_in_force(counterparty, at=start)
    tightening = _limit_is_tightening(
        current, max_exposure_usd=exposure, max_tenor_days=tenor, min_coverage_ratio=coverage, caps=caps
    )
    with acting_as(actor):
        limit = BorrowerLimit(
            counterparty=counterparty,
            max_exposure_usd=exposure,
            max_tenor_days=tenor,
            min_coverage_ratio=coverage,
            comment=comment,
        )
        _new_version(limit, actor=actor, is_loosening=not tightening, effective_from=start)
        AssetCap.objects.bulk_create(
            [
                AssetCap(limit=limit, asset=asset, max_quantity=quantity)
                for asset, quantity in sorted(caps.items(), key=lambda item: item[0].symbol)
            ]
        )
        return limit


# --- collateral agreements ------------------------------------------------------------------------

RATIO_FIELDS = ("return_ratio", "required_ratio", "warning_ratio", "call_ratio", "critical_ratio")


@dataclass(frozen=True)
class _Levels:
    return_ratio: Decimal
    required_ratio: Decimal
    warning_ratio: Decimal
    call_ratio: Decimal
    critical_ratio: Decimal
    cure_period_hours: int
    call_due_hours: int


def _check_order(errors: dict[str, list[str]], levels: _Levels) -> None:
    """return > required ≥ warning ≥ call > critical > 0 (the CHECK ``agreement_levels_ordered``),
    said beside the field that breaks it."""
    if not levels.return_ratio > levels.required_ratio:
        errors.setdefault("return_ratio", []).append("Must be above the required ratio.")
    if not levels.required_ratio >= levels.warning_ratio:
        errors.setdefault("warning_ratio", []).append("Must not be above the required ratio.")
    if not levels.warning_ratio >= levels.call_ratio:
        errors.setdefault("call_ratio", []).append("Must not be above the warning ratio.")
    if not levels.call_ratio > levels.critical_ratio:
        errors.setdefault("critical_ratio", []).append("Must be below the call ratio.")


@transaction.atomic(durable=True)
def propose_agreement(
    *,
    actor,
    counterparty: Counterparty,
    return_ratio: Decimal,
    required_ratio: Decimal,
    warning_ratio: Decimal,
    call_ratio: Decimal,
    critical_ratio: Decimal,
    cure_period_hours: int,
    call_due_hours: int,
    effective_from: datetime | None = None,
    comment: str = "",
) -> CollateralAgreement:
    """Propose a counterparty's coverage levels. Compared with the agreement in force or, without one,
    the defaults in settings (``COLLATERAL_LEVELS``): every ratio at least as high and both hour
    figures at most as long is stricter, in force at once; anything else waits for a second risk user.

    Raises ``PermissionDeniedError`` (not risk) and ``InvalidInput`` (a ratio not positive, with more
    than 6 decimals or out of order — return > required ≥ warning ≥ call > critical > 0 —, hours
    outside 0–8760 or a call due in less than an hour, ``effective_from`` in the past).
    """
    require(actor, PROPOSE, "Only risk proposes collateral agreements.")
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if not counterparty.is_active:
        errors["counterparty"] = [f"{counterparty.code} is inactive."]
    given = dict(
        zip(
            RATIO_FIELDS,
            (return_ratio, required_ratio, warning_ratio, call_ratio, critical_ratio),
            strict=True,
        )
    )
    ratios = {
        name: _decimal(
            errors, name, value, places=6, low=Decimal(0), high=MAX_RATIO, low_open=True, high_open=True
        )
        for name, value in given.items()
    }
    cure = _whole(errors, "cure_period_hours", cure_period_hours, 0, MAX_HOURS)
    due = _whole(errors, "call_due_hours", call_due_hours, 1, MAX_HOURS)
    start = _effective_from(errors, effective_from, now)
    comment = _comment(errors, comment)
    if not errors:
        levels = _Levels(**ratios, cure_period_hours=cure, call_due_hours=due)  # type: ignore[arg-type]
        _check_order(errors, levels)
    _raise(errors)
    current = agreement_in_force(counterparty, at=start)
    reference = current if current is not None else default_levels()
    stricter = (
        all(getattr(levels, name) >= getattr(reference, name) for name in RATIO_FIELDS)
        and levels.cure_period_hours <= reference.cure_period_hours
        and levels.call_due_hours <= reference.call_due_hours
    )
    with acting_as(actor):
        agreement = CollateralAgreement(
            counterparty=counterparty,
            return_ratio=levels.return_ratio,
            required_ratio=levels.required_ratio,
            warning_ratio=levels.warning_ratio,
            call_ratio=levels.call_ratio,
            critical_ratio=levels.critical_ratio,
            cure_period_hours=levels.cure_period_hours,
            call_due_hours=levels.call_due_hours,
            comment=comment,
        )
        return _new_version(agreement, actor=actor, is_loosening=not stricter, effective_from=start)


# --- the second pair of eyes ----------------------------------------------------------------------


def _locked_pending(version: Config, actor) -> Config:
    # Two risk users deciding the same change at once: the row lock makes one wait, and it then sees
    # the change already decided (409) instead of deciding it a second time.
    locked = type(version).objects.select_for_update().get(pk=version.pk)
    if locked.proposed_by_id == actor.pk:
        raise SegregationOfDuties("A change is approved or rejected by a risk user other than its proposer.")
    if locked.status != ConfigStatus.PENDING_APPROVAL:
        raise InvalidState(
            f"This change is {locked.get_status_display().lower()}; only a change pending approval can be "
            "approved or rejected."
        )
    return locked


@transaction.atomic(durable=True)
def approve_config(*, actor, version: Config) -> Config:
    """Approve a pending loosening (a haircut rule, a limit or an agreement): it is ``effective`` from
    max(its proposed ``effective_from``, now), so a loosening never applies before its approval.

    Raises ``PermissionDeniedError`` (not risk), ``SegregationOfDuties`` (the proposer) and
    ``InvalidState`` (not pending approval).
    """
    require(actor, APPROVE, "Only risk approves risk configuration.")
    with acting_as(actor):
        locked = _locked_pending(version, actor)
        now = timezone.now()
        locked.status = ConfigStatus.EFFECTIVE
        locked.approved_by = actor
        locked.approved_at = now
        locked.effective_from = max(locked.effective_from, now)
        locked.save(update_fields=["status", "approved_by", "approved_at", "effective_from"])
        return locked


@transaction.atomic(durable=True)
def reject_config(*, actor, version: Config, reason: str) -> Config:
    """Refuse a pending loosening, with a reason: it is ``rejected`` and never in force.

    Raises ``PermissionDeniedError`` (not risk), ``InvalidInput`` (no reason, or one over 500
    characters), ``SegregationOfDuties`` (the proposer) and ``InvalidState`` (not pending approval).
    """
    require(actor, APPROVE, "Only risk rejects risk configuration.")
    errors: dict[str, list[str]] = {}
    reason = _comment(errors, reason, "reason")
    if not reason and not errors:
        errors["reason"] = ["A rejection needs a reason."]
    _raise(errors)
    with acting_as(actor):
        locked = _locked_pending(version, actor)
        locked.status = ConfigStatus.REJECTED
        locked.rejected_by = actor
        locked.rejected_at = timezone.now()
        locked.rejection_reason = reason
        locked.save(update_fields=["status", "rejected_by", "rejected_at", "rejection_reason"])
        return locked


# --- stress scenarios -----------------------------------------------------------------------------


@transaction.atomic(durable=True)
def save_stress_scenario(
    *,
    actor,
    name: str,
    description: str = "",
    markdowns: Mapping[str, Any],
    other_markdown_pct: Decimal = Decimal(0),
    stablecoin_markdown_pct: Decimal = Decimal(0),
    haircut_addon_pct: Decimal = Decimal(0),
    recall_fraction: Decimal = Decimal(0),
) -> StressScenario:
    """Save a scenario as a new version (the latest version + 1, or 1) and deactivate the previous one,
    in one transaction. Markdowns are stored as {"SYMBOL": "decimal string"}. Running a scenario moves
    nothing, so a save needs no second approval; every version is kept.

    Raises ``PermissionDeniedError`` (not risk) and ``InvalidInput`` naming the field (a blank or
    too-long name, an unknown symbol, a percentage outside 0–100 or with more than 4 decimals, a recall
    fraction outside 0–1).
    """
    require(actor, "collateral.stress.edit", "Only risk edits stress scenarios.")
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Required."]
    elif len(name) > 80:
        errors["name"] = ["At most 80 characters."]
    description = _comment(errors, description, "description")
    if not isinstance(markdowns, Mapping):
        errors["markdowns"] = ['An object of asset symbols to percentages, e.g. {"BTC": "30"}.']
        markdowns = {}
    known = set(Asset.objects.filter(symbol__in=[str(s) for s in markdowns]).values_list("symbol", flat=True))
    stored: dict[str, str] = {}
    for symbol, value in markdowns.items():
        if symbol not in known:
            errors.setdefault("markdowns", []).append(f"Unknown asset {symbol!r}.")
            continue
        inner: dict[str, list[str]] = {}
        pct = _pct(inner, "markdowns", _parsed(value))
        if pct is None:
            errors.setdefault("markdowns", []).extend(f"{symbol}: {m}" for m in inner["markdowns"])
        else:
            stored[symbol] = plain(pct)
    other = _pct(errors, "other_markdown_pct", other_markdown_pct)
    stable = _pct(errors, "stablecoin_markdown_pct", stablecoin_markdown_pct)
    addon = _pct(errors, "haircut_addon_pct", haircut_addon_pct)
    recall = _decimal(errors, "recall_fraction", recall_fraction, places=4, low=Decimal(0), high=Decimal(1))
    _raise(errors)
    assert other is not None and stable is not None and addon is not None and recall is not None
    with acting_as(actor):
        # Two saves of one name at once would both take version n+1 (and the first version has no row
        # to lock yet): a transaction-scoped advisory lock on the name serialises them.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"collateral.stress:{name}"])
        latest = StressScenario.objects.filter(name=name).order_by("-version").first()
        # The previous version leaves first: one active version per name (a partial unique index).
        StressScenario.objects.filter(name=name, is_active=True).update(is_active=False)
        return StressScenario.objects.create(
            name=name,
            version=(latest.version + 1) if latest else 1,
            description=description,
            markdowns=dict(sorted(stored.items())),
            other_markdown_pct=other,
            stablecoin_markdown_pct=stable,
            haircut_addon_pct=addon,
            recall_fraction=recall,
            is_active=True,
            created_by=actor,
        )


def _parsed(value: Any) -> Any:
    """A markdown given as text ("30") as a Decimal; anything else as it came (refused by ``_pct``)."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


# --- mark policies --------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def set_mark_policy(*, actor, asset: Asset, max_age_minutes: int, divergence_pct: Decimal) -> MarkPolicy:
    """Set how old an asset's mark may be and how far two sources may disagree before the
    counterparties holding or owing it are ``needs_review``.

    Not versioned and not four-eyes, unlike haircuts and limits: a mark policy decides only whether a
    margin call waits for a person to look (a stricter or looser policy never values collateral
    differently), so it is one row per asset, changed in place; its every change is in the audit trail
    (pghistory). Action ``collateral.config.propose`` (risk).

    Raises ``PermissionDeniedError`` (not risk) and ``InvalidInput`` (age outside 1–43,200 minutes,
    divergence outside 0–100 % or with more than 4 decimals).
    """
    require(actor, PROPOSE, "Only risk sets mark policies.")
    errors: dict[str, list[str]] = {}
    age = _whole(errors, "max_age_minutes", max_age_minutes, 1, MAX_MARK_AGE_MINUTES)
    pct = _pct(errors, "divergence_pct", divergence_pct)
    _raise(errors)
    with acting_as(actor):
        policy, _ = MarkPolicy.objects.select_for_update().update_or_create(
            asset=asset, defaults={"max_age_minutes": age, "divergence_pct": pct}
        )
        return policy


def config_model(kind: str) -> type[VersionedConfig]:
    """The model of a kind of configuration named in a URL (haircut, limit, agreement)."""
    return {"haircut": HaircutRule, "limit": BorrowerLimit, "agreement": CollateralAgreement}[kind]
