"""Risk configuration in force, and its history.

The version in force at an instant T for a key is the ``effective`` row of that key with the greatest
``effective_from`` ≤ T (ties: the greatest id). A pending or rejected row is never in force. Haircut
rules have four keys per asset; the most specific one with a version in force wins:
counterparty+venue > counterparty > venue > asset only. No rule in force: the asset is not eligible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from borrowdesk.formatting import plain, qty, usd
from borrowdesk.refdata.models import Asset, Counterparty, Venue
from collateral.models import (
    AssetCap,
    BorrowerLimit,
    CollateralAgreement,
    ConfigStatus,
    HaircutRule,
    StressScenario,
)

ConfigVersion = HaircutRule | BorrowerLimit | CollateralAgreement

# Most specific first: counterparty+venue (3) > counterparty (2) > venue (1) > asset only (0).
_SPECIFICITY = Case(
    When(counterparty__isnull=False, venue__isnull=False, then=Value(3)),
    When(counterparty__isnull=False, then=Value(2)),
    When(venue__isnull=False, then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)


def _in_force(qs: QuerySet, at: datetime | None) -> QuerySet:
    return qs.filter(status=ConfigStatus.EFFECTIVE, effective_from__lte=at or timezone.now())


# --- haircut rules --------------------------------------------------------------------------------


def haircut_in_force(
    *,
    asset: Asset,
    venue: Venue | None = None,
    counterparty: Counterparty | None = None,
    at: datetime | None = None,
) -> HaircutRule | None:
    """The haircut rule that applies to ``asset`` held at ``venue`` for ``counterparty`` at ``at``
    (default now): the most specific key with a version in force, and that key's latest version.
    None: the asset is not eligible there. One query."""
    venue_q = Q(venue__isnull=True) | Q(venue=venue) if venue is not None else Q(venue__isnull=True)
    party_q = (
        Q(counterparty__isnull=True) | Q(counterparty=counterparty)
        if counterparty is not None
        else Q(counterparty__isnull=True)
    )
    return (
        _in_force(HaircutRule.objects.filter(asset=asset), at)
        .filter(venue_q, party_q)
        .annotate(specificity=_SPECIFICITY)
        .order_by("-specificity", "-effective_from", "-id")
        .first()
    )


def haircut_rules() -> QuerySet[HaircutRule]:
    """Every version of every haircut rule, newest proposal first, with its references (one query)."""
    return HaircutRule.objects.select_related(
        "asset", "venue", "counterparty", "proposed_by", "approved_by", "rejected_by"
    ).order_by("-proposed_at", "-id")


def haircuts_in_force(at: datetime | None = None) -> QuerySet[HaircutRule]:
    """For each key (asset, venue, counterparty), the version in force at ``at`` (default now), by
    asset then scope (one query: DISTINCT ON the key inside)."""
    latest = (
        _in_force(HaircutRule.objects.all(), at)
        .order_by("asset_id", "venue_id", "counterparty_id", "-effective_from", "-id")
        .distinct("asset_id", "venue_id", "counterparty_id")
        .values("pk")
    )
    return (
        haircut_rules()
        .filter(pk__in=latest)
        .annotate(specificity=_SPECIFICITY)
        .order_by("asset__symbol", "specificity", "counterparty__code", "venue__code")
    )


# --- limits ---------------------------------------------------------------------------------------


def limits() -> QuerySet[BorrowerLimit]:
    """Every version of every borrower limit, newest proposal first, with its asset caps (two queries)."""
    return (
        BorrowerLimit.objects.select_related("counterparty", "proposed_by", "approved_by", "rejected_by")
        .prefetch_related(Prefetch("asset_caps", queryset=AssetCap.objects.select_related("asset")))
        .order_by("-proposed_at", "-id")
    )


def limit_in_force(counterparty: Counterparty, at: datetime | None = None) -> BorrowerLimit | None:
    """The counterparty's limits in force at ``at`` (default now), with their asset caps; None when
    it has none (unlimited)."""
    return (
        _in_force(limits().filter(counterparty=counterparty), at).order_by("-effective_from", "-id").first()
    )


def limits_in_force(at: datetime | None = None) -> QuerySet[BorrowerLimit]:
    """For each counterparty with limits, the version in force at ``at`` (default now)."""
    latest = (
        _in_force(BorrowerLimit.objects.all(), at)
        .order_by("counterparty_id", "-effective_from", "-id")
        .distinct("counterparty_id")
        .values("pk")
    )
    return limits().filter(pk__in=latest).order_by("counterparty__code")


# --- agreements and levels ------------------------------------------------------------------------


def agreements() -> QuerySet[CollateralAgreement]:
    """Every version of every collateral agreement, newest proposal first (one query)."""
    return CollateralAgreement.objects.select_related(
        "counterparty", "proposed_by", "approved_by", "rejected_by"
    ).order_by("-proposed_at", "-id")


def agreement_in_force(counterparty: Counterparty, at: datetime | None = None) -> CollateralAgreement | None:
    """The counterparty's collateral agreement in force at ``at`` (default now), or None (the
    defaults in settings apply)."""
    return (
        _in_force(agreements().filter(counterparty=counterparty), at)
        .order_by("-effective_from", "-id")
        .first()
    )


def agreements_in_force(at: datetime | None = None) -> QuerySet[CollateralAgreement]:
    """For each counterparty with an agreement, the version in force at ``at`` (default now)."""
    latest = (
        _in_force(CollateralAgreement.objects.all(), at)
        .order_by("counterparty_id", "-effective_from", "-id")
        .distinct("counterparty_id")
        .values("pk")
    )
    return agreements().filter(pk__in=latest).order_by("counterparty__code")


@dataclass(frozen=True)
class Levels:
    """A counterparty's coverage levels (ratios: 1.5 = 150 %) and hours, from its agreement in force
    (``agreement_id``) or the defaults in settings (``agreement_id`` None)."""

    return_ratio: Decimal
    required_ratio: Decimal
    warning_ratio: Decimal
    call_ratio: Decimal
    critical_ratio: Decimal
    cure_period_hours: int
    call_due_hours: int
    agreement_id: int | None = None


def default_levels() -> Levels:
    """``settings.COLLATERAL_LEVELS``, as decimals and whole hours."""
    levels = settings.COLLATERAL_LEVELS
    return Levels(
        return_ratio=Decimal(str(levels["return_ratio"])),
        required_ratio=Decimal(str(levels["required_ratio"])),
        warning_ratio=Decimal(str(levels["warning_ratio"])),
        call_ratio=Decimal(str(levels["call_ratio"])),
        critical_ratio=Decimal(str(levels["critical_ratio"])),
        cure_period_hours=int(levels["cure_period_hours"]),
        call_due_hours=int(levels["call_due_hours"]),
    )


def levels_for(counterparty: Counterparty, at: datetime | None = None) -> Levels:
    """The coverage levels that apply to ``counterparty`` at ``at`` (default now): its agreement in
    force, else the defaults. One query."""
    agreement = agreement_in_force(counterparty, at)
    if agreement is None:
        return default_levels()
    return Levels(
        return_ratio=agreement.return_ratio,
        required_ratio=agreement.required_ratio,
        warning_ratio=agreement.warning_ratio,
        call_ratio=agreement.call_ratio,
        critical_ratio=agreement.critical_ratio,
        cure_period_hours=agreement.cure_period_hours,
        call_due_hours=agreement.call_due_hours,
        agreement_id=agreement.pk,
    )


# --- changes across the three kinds ---------------------------------------------------------------

KIND_LABELS = {"haircut": "Haircut rule", "limit": "Limit", "agreement": "Agreement"}


def kind_of(version: ConfigVersion) -> str:
    """``haircut``, ``limit`` or ``agreement``: how URLs and lists name a version's kind."""
    if isinstance(version, HaircutRule):
        return "haircut"
    if isinstance(version, BorrowerLimit):
        return "limit"
    return "agreement"


def describe(version: ConfigVersion) -> str:
    """One line saying what a version sets, in the desk's words (its asset caps prefetched)."""
    if isinstance(version, HaircutRule):
        scope = [f"at {version.venue.code}"] if version.venue else []
        scope += [f"for {version.counterparty.code}"] if version.counterparty else []
        return f"{version.asset.symbol} haircut {qty(version.haircut_pct)} %" + (
            f" ({', '.join(scope)})" if scope else ""
        )
    if isinstance(version, BorrowerLimit):
        parts = [f"max exposure {usd(version.max_exposure_usd)}"]
        parts.append(
            f"max tenor {version.max_tenor_days} days" if version.max_tenor_days else "no tenor limit"
        )
        if version.min_coverage_ratio is not None:
            parts.append(f"min coverage {plain(version.min_coverage_ratio)}")
        caps = [f"{c.asset.symbol} {qty(c.max_quantity)}" for c in version.asset_caps.all()]
        if caps:
            parts.append("caps " + ", ".join(caps))
        return "; ".join(parts)
    return (
        f"return {plain(version.return_ratio)}, required {plain(version.required_ratio)}, "
        f"warning {plain(version.warning_ratio)}, call {plain(version.call_ratio)}, "
        f"critical {plain(version.critical_ratio)}; cure {version.cure_period_hours} h, "
        f"call due {version.call_due_hours} h"
    )


@dataclass(frozen=True)
class ConfigChange:
    """One version of a haircut rule, limit or agreement, as the pending queue and the counterparty's
    configuration history list them."""

    kind: str
    version: ConfigVersion

    @property
    def pk(self) -> int:
        return self.version.pk

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def counterparty(self) -> Counterparty | None:
        return self.version.counterparty

    @property
    def summary(self) -> str:
        return describe(self.version)

    def __getattr__(self, name: str):
        # status, effective_from, proposed_by, proposed_at, approved_by, … read through to the version.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.version, name)


def _changes(*querysets: QuerySet) -> list[ConfigChange]:
    rows = [ConfigChange(kind_of(v), v) for qs in querysets for v in qs]
    return sorted(rows, key=lambda c: (c.version.proposed_at, c.version.pk), reverse=True)


def pending_approvals() -> list[ConfigChange]:
    """Every loosening awaiting a second risk user, newest first (four queries: three kinds and the
    limits' caps)."""
    pending = Q(status=ConfigStatus.PENDING_APPROVAL)
    return _changes(haircut_rules().filter(pending), limits().filter(pending), agreements().filter(pending))


def pending_count() -> int:
    """How many changes await a second risk user (three counts)."""
    pending = Q(status=ConfigStatus.PENDING_APPROVAL)
    return sum(
        model.objects.filter(pending).count() for model in (HaircutRule, BorrowerLimit, CollateralAgreement)
    )


def config_history(counterparty: Counterparty) -> list[ConfigChange]:
    """Every version of the haircut rules narrowed to ``counterparty``, of its limits and of its
    agreements, newest first, each with its proposer, approver (or rejecter), status and
    ``effective_from`` (four queries)."""
    mine = Q(counterparty=counterparty)
    return _changes(haircut_rules().filter(mine), limits().filter(mine), agreements().filter(mine))


# --- stress scenarios -----------------------------------------------------------------------------


def scenarios() -> QuerySet[StressScenario]:
    """The active version of each named scenario, by name."""
    return StressScenario.objects.filter(is_active=True).select_related("created_by").order_by("name")


def scenario_versions(name: str | None = None) -> QuerySet[StressScenario]:
    """Every version of the scenario ``name`` (of all scenarios when None), newest version first."""
    qs = StressScenario.objects.select_related("created_by").order_by("name", "-version")
    return qs.filter(name=name) if name is not None else qs
