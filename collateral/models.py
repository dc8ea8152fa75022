"""Collateral and limits: the risk desk's tables.

Pledged collateral itself is not here: it lives in inventory's double-entry ledger, in the ``pledged``
bucket of segregated collateral accounts (``CustodyAccount`` with purpose ``collateral`` owned by the
pledging counterparty), posted through inventory's one primitive, so a balance can never go negative
and every movement is a journal. ``Pledge`` and ``Release`` record the business events (who, why,
expiry) beside the journal each one posted.

Risk configuration (haircut rules, borrower limits, collateral agreements) is **versioned and
effective-dated with four eyes**: every change is a new row, never an edit. A change that tightens risk
is ``effective`` at once; one that loosens it is ``pending_approval`` until a second risk user approves
it (never the proposer: a CHECK says so too), and takes effect from its approval. The version in force
at an instant T for a key is the ``effective`` row of that key with the greatest ``effective_from`` ≤ T
(ties: the greatest id), so "which haircut applied on 3 March at 09:00" has one answer.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from borrowdesk.audit import audited
from borrowdesk.refdata.models import Asset, Counterparty, CustodyAccount, Venue
from inventory.models import QTY, Journal, Loan

USD: dict[str, Any] = {"max_digits": 24, "decimal_places": 8}
PCT: dict[str, Any] = {"max_digits": 7, "decimal_places": 4}  # 0–100.0000 %
RATIO: dict[str, Any] = {"max_digits": 12, "decimal_places": 6}  # coverage ratios: 1.5 = 150 %


class ConfigStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval"  # a loosening, waiting for a second risk user
    EFFECTIVE = "effective"  # in force from effective_from (until a later version of the same key)
    REJECTED = "rejected"  # a loosening the second risk user refused; never in force


class VersionedConfig(models.Model):
    """The four-eyes, effective-dated fields every risk configuration row carries."""

    status = models.CharField(max_length=16, choices=ConfigStatus.choices)
    effective_from = models.DateTimeField(help_text="In force from this instant (a loosening: its approval).")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    is_loosening = models.BooleanField(default=False, help_text="Needed a second risk user's approval.")
    comment = models.CharField(max_length=500, blank=True)
    # A refused loosening keeps who refused it, when and why (never its proposer, like an approval).
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        abstract = True

    @classmethod
    def config_constraints(cls, prefix: str) -> list[models.BaseConstraint]:
        return [
            models.CheckConstraint(
                condition=Q(status__in=ConfigStatus.values), name=f"{prefix}_status_valid"
            ),
            # Four eyes in the database too: the approver is never the proposer.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("proposed_by")),
                name=f"{prefix}_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(rejected_by__isnull=True) | ~Q(rejected_by=models.F("proposed_by")),
                name=f"{prefix}_four_eyes_reject",
            ),
            # A loosening is in force only once approved.
            models.CheckConstraint(
                condition=~Q(status=ConfigStatus.EFFECTIVE, is_loosening=True, approved_by__isnull=True),
                name=f"{prefix}_loosening_approved",
            ),
        ]


@audited
class HaircutRule(VersionedConfig):
    """The haircut of an asset as collateral, optionally narrowed to a venue and/or a counterparty.

    The most specific rule in force wins: counterparty+venue > counterparty > venue > asset only. No
    rule in force: the asset is not eligible (valued at 0). A haircut of 100 % makes it ineligible too.
    """

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    venue = models.ForeignKey(Venue, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    counterparty = models.ForeignKey(
        Counterparty, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    haircut_pct = models.DecimalField(**PCT)

    class Meta:
        ordering = ["asset", "counterparty", "venue", "-effective_from", "-id"]
        indexes = [models.Index(fields=["asset", "counterparty", "venue", "status", "-effective_from"])]
        constraints = [
            *VersionedConfig.config_constraints("haircut"),
            models.CheckConstraint(
                condition=Q(haircut_pct__gte=0, haircut_pct__lte=100), name="haircut_pct_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"Haircut {self.asset_id} {self.haircut_pct}% ({self.status})"


@audited
class BorrowerLimit(VersionedConfig):
    """A counterparty's limits and covenant, one version per row (its ``AssetCap`` rows belong to it).

    Checked at final approval inside the approval's transaction (409 ``limit_exceeded``) and by the
    scheduled limit check, which records ``LimitBreach`` rows.
    """

    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="+")
    max_exposure_usd = models.DecimalField(**USD)
    max_tenor_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Null: no tenor limit (an open-ended loan is allowed)."
    )
    min_coverage_ratio = models.DecimalField(
        **RATIO, null=True, blank=True, help_text="Covenant: coverage must stay at or above (1.2 = 120 %)."
    )

    class Meta:
        ordering = ["counterparty", "-effective_from", "-id"]
        indexes = [models.Index(fields=["counterparty", "status", "-effective_from"])]
        constraints = [
            *VersionedConfig.config_constraints("limit"),
            models.CheckConstraint(condition=Q(max_exposure_usd__gte=0), name="limit_exposure_not_negative"),
            models.CheckConstraint(
                condition=Q(min_coverage_ratio__isnull=True) | Q(min_coverage_ratio__gte=0),
                name="limit_coverage_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Limit {self.counterparty_id} ${self.max_exposure_usd} ({self.status})"


class AssetCap(models.Model):
    """Part of one ``BorrowerLimit`` version: the most of an asset the counterparty may have on loan."""

    limit = models.ForeignKey(BorrowerLimit, on_delete=models.CASCADE, related_name="asset_caps")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    max_quantity = models.DecimalField(**QTY)

    class Meta:
        ordering = ["limit", "asset"]
        constraints = [
            models.UniqueConstraint(fields=["limit", "asset"], name="asset_cap_once"),
            models.CheckConstraint(condition=Q(max_quantity__gte=0), name="asset_cap_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Cap {self.asset_id} {self.max_quantity} (limit {self.limit_id})"


@audited
class CollateralAgreement(VersionedConfig):
    """A counterparty's coverage levels (ratios of collateral value after haircuts to exposure).

    return > required > warning > call > critical. Without an agreement in force, the defaults in
    settings (``COLLATERAL_LEVELS``) apply. Below ``call``: a margin call for the top-up to ``required``,
    due ``call_due_hours`` after it is issued. Below ``critical`` for longer than ``cure_period_hours``:
    flagged for default handling. Above ``return``: the excess over ``required`` may be released.
    """

    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="+")
    return_ratio = models.DecimalField(**RATIO)
    required_ratio = models.DecimalField(**RATIO)
    warning_ratio = models.DecimalField(**RATIO)
    call_ratio = models.DecimalField(**RATIO)
    critical_ratio = models.DecimalField(**RATIO)
    cure_period_hours = models.PositiveIntegerField()
    call_due_hours = models.PositiveIntegerField()

    class Meta:
        ordering = ["counterparty", "-effective_from", "-id"]
        indexes = [models.Index(fields=["counterparty", "status", "-effective_from"])]
        constraints = [
            *VersionedConfig.config_constraints("agreement"),
            models.CheckConstraint(
                condition=Q(return_ratio__gt=models.F("required_ratio"))
                & Q(required_ratio__gte=models.F("warning_ratio"))
                & Q(warning_ratio__gte=models.F("call_ratio"))
                & Q(call_ratio__gt=models.F("critical_ratio"))
                & Q(critical_ratio__gt=0),
                name="agreement_levels_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Agreement {self.counterparty_id} required {self.required_ratio} ({self.status})"


@audited
class MarkPolicy(models.Model):
    """How old a mark may be, and how far two price sources may disagree, before the counterparties
    holding or owing the asset are ``needs_review`` instead of being called on a bad price.
    An asset without a policy uses ``COLLATERAL_MARK_MAX_AGE_MINUTES`` and
    ``COLLATERAL_MARK_DIVERGENCE_PCT``."""

    asset = models.OneToOneField(Asset, on_delete=models.PROTECT, related_name="+")
    max_age_minutes = models.PositiveIntegerField()
    divergence_pct = models.DecimalField(**PCT)

    class Meta:
        ordering = ["asset"]
        constraints = [
            models.CheckConstraint(
                condition=Q(divergence_pct__gte=0, divergence_pct__lte=100), name="mark_policy_pct_0_100"
            )
        ]

    def __str__(self) -> str:
        return f"Mark policy {self.asset_id}: {self.max_age_minutes} min, {self.divergence_pct}%"


@audited
class StressScenario(models.Model):
    """A named stress, saved and versioned: each save is a new version (name, version unique).

    ``markdowns``: {"BTC": "30", …} percentage price falls by asset symbol; assets not named fall by
    ``stablecoin_markdown_pct`` (stablecoins) or ``other_markdown_pct`` (the rest). ``haircut_addon_pct``
    adds to every haircut (capped at 100). ``recall_fraction``: the share of lenders' inventory recalled.
    Running a scenario moves nothing, so a save needs no second approval; every version is kept.
    """

    name = models.CharField(max_length=80)
    version = models.PositiveIntegerField()
    description = models.CharField(max_length=500, blank=True)
    markdowns = models.JSONField(default=dict, blank=True)
    other_markdown_pct = models.DecimalField(**PCT, default=0)
    stablecoin_markdown_pct = models.DecimalField(**PCT, default=0)
    haircut_addon_pct = models.DecimalField(**PCT, default=0)
    recall_fraction = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    is_active = models.BooleanField(default=True, help_text="False: an older version, kept for history.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="scenario_version_once"),
            models.UniqueConstraint(fields=["name"], condition=Q(is_active=True), name="scenario_one_active"),
            models.CheckConstraint(
                condition=Q(other_markdown_pct__gte=0, other_markdown_pct__lte=100)
                & Q(stablecoin_markdown_pct__gte=0, stablecoin_markdown_pct__lte=100)
                & Q(haircut_addon_pct__gte=0, haircut_addon_pct__lte=100),
                name="scenario_pcts_0_100",
            ),
            models.CheckConstraint(
                condition=Q(recall_fraction__gte=0, recall_fraction__lte=1), name="scenario_recall_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


@audited
class Pledge(models.Model):
    """Collateral a counterparty pledged: booked into the ``pledged`` bucket of its collateral account
    (``journal``), directly by ops or when a ``collateral_receipt`` settlement leg settles."""

    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(CustodyAccount, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(**QTY)
    expires_on = models.DateField(null=True, blank=True, help_text="Collateral that lapses on this date.")
    reference = models.CharField(max_length=120, blank=True)
    journal = models.OneToOneField(Journal, on_delete=models.PROTECT, related_name="+")
    settlement_id = models.BigIntegerField(
        null=True, blank=True, help_text="The collateral_receipt leg that brought it (treasury's id)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["counterparty", "asset"]), models.Index(fields=["expires_on"])]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="pledge_quantity_positive")]

    def __str__(self) -> str:
        return f"Pledge {self.pk}: {self.quantity} {self.asset_id} by {self.counterparty_id}"


@audited
class Release(models.Model):
    """Collateral given back to a counterparty (pledged → external), refused when it would leave
    coverage below the required level; treasury queues its ``collateral_return`` leg."""

    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(CustodyAccount, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(**QTY)
    reference = models.CharField(max_length=120, blank=True)
    journal = models.OneToOneField(Journal, on_delete=models.PROTECT, related_name="+")
    coverage_after = models.DecimalField(**RATIO, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="release_quantity_positive")]

    def __str__(self) -> str:
        return f"Release {self.pk}: {self.quantity} {self.asset_id} to {self.counterparty_id}"


class CoverageState(models.TextChoices):
    OK = "ok"
    WARNING = "warning"
    CALL = "call"
    BREACH = "breach"  # on call and the call is past due (escalated)
    CRITICAL = "critical"
    NEEDS_REVIEW = "needs_review"  # a mark held or owed is missing, stale or its sources disagree


@audited
class CounterpartyRisk(models.Model):
    """The revaluation's latest view of one counterparty, and the state machine's memory.

    ``state_since``: when the current state began; ``critical_since``: when coverage last fell below
    critical (kept through needs_review, cleared on recovery), so the cure period is measured;
    ``default_flagged_at``: the cure period elapsed below critical (flagged for default handling).
    """

    counterparty = models.OneToOneField(Counterparty, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=CoverageState.choices, default=CoverageState.OK)
    state_since = models.DateTimeField()
    exposure_usd = models.DecimalField(**USD, default=0)
    collateral_value_usd = models.DecimalField(**USD, default=0)
    coverage_ratio = models.DecimalField(**RATIO, null=True, blank=True, help_text="Null: no exposure.")
    shortfall_usd = models.DecimalField(**USD, default=0)
    review_reason = models.CharField(max_length=300, blank=True)
    critical_since = models.DateTimeField(null=True, blank=True)
    default_flagged_at = models.DateTimeField(null=True, blank=True)
    valued_at = models.DateTimeField()

    class Meta:
        ordering = ["counterparty"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=CoverageState.values), name="risk_state_valid")
        ]

    def __str__(self) -> str:
        return f"{self.counterparty_id} {self.state}"


class CoverageSnapshot(models.Model):
    """Coverage history: one row per counterparty per business date (the day's latest revaluation)."""

    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField()
    exposure_usd = models.DecimalField(**USD)
    collateral_value_usd = models.DecimalField(**USD)
    coverage_ratio = models.DecimalField(**RATIO, null=True, blank=True)
    state = models.CharField(max_length=16, choices=CoverageState.choices)
    valued_at = models.DateTimeField()

    class Meta:
        ordering = ["counterparty", "business_date"]
        constraints = [
            models.UniqueConstraint(fields=["counterparty", "business_date"], name="snapshot_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.counterparty_id} {self.business_date} {self.coverage_ratio}"


class MarginCallStatus(models.TextChoices):
    OPEN = "open"
    ESCALATED = "escalated"  # past due and not met
    MET = "met"  # coverage back at the required level
    CANCELLED = "cancelled"  # withdrawn by risk (with a reason)


OPEN_CALL_STATUSES = (MarginCallStatus.OPEN, MarginCallStatus.ESCALATED)


@audited
class MarginCall(models.Model):
    """A demand for collateral: the top-up in USD that brings coverage back to the required level.

    One open call per counterparty (a partial unique index): a revaluation updates its amount rather
    than issuing another. Met when coverage recovers to the required level (collateral arrived or the
    market moved); escalated when past due.
    """

    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=MarginCallStatus.choices, default=MarginCallStatus.OPEN)
    amount_usd = models.DecimalField(**USD, help_text="Top-up to the required level, as last revalued.")
    initial_amount_usd = models.DecimalField(**USD)
    exposure_usd = models.DecimalField(**USD)
    collateral_value_usd = models.DecimalField(**USD)
    coverage_ratio = models.DecimalField(**RATIO)
    required_ratio = models.DecimalField(**RATIO)
    issued_at = models.DateTimeField()
    due_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MarginCallStatus.values), name="margin_call_status_valid"
            ),
            models.CheckConstraint(condition=Q(amount_usd__gte=0), name="margin_call_amount_not_negative"),
            models.UniqueConstraint(
                fields=["counterparty"],
                condition=Q(status__in=["open", "escalated"]),
                name="margin_call_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"Margin call {self.pk} {self.counterparty_id} ${self.amount_usd} ({self.status})"


class BreachKind(models.TextChoices):
    EXPOSURE = "exposure"  # exposure above max_exposure_usd
    ASSET_CAP = "asset_cap"  # quantity of an asset on loan above its cap
    TENOR = "tenor"  # a loan's term (or an open-ended loan) beyond max_tenor_days
    COVERAGE = "coverage"  # the minimum coverage covenant


class BreachStatus(models.TextChoices):
    OPEN = "open"
    RESOLVED = "resolved"


@audited
class LimitBreach(models.Model):
    """A limit or covenant found broken by the scheduled check: opened once, kept while it lasts
    (``last_seen_at``, the latest figures), resolved when a check no longer finds it."""

    counterparty = models.ForeignKey(Counterparty, on_delete=models.PROTECT, related_name="+")
    limit = models.ForeignKey(BorrowerLimit, on_delete=models.PROTECT, related_name="breaches")
    kind = models.CharField(max_length=12, choices=BreachKind.choices)
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    figure = models.DecimalField(**QTY, help_text="What was found (USD, quantity, days or ratio).")
    limit_value = models.DecimalField(**QTY, help_text="What the limit allows.")
    status = models.CharField(max_length=10, choices=BreachStatus.choices, default=BreachStatus.OPEN)
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=BreachKind.values), name="breach_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=BreachStatus.values), name="breach_status_valid"),
            # One open breach per (counterparty, kind, asset, loan): repeated runs keep it, never copy it.
            models.UniqueConstraint(
                fields=["counterparty", "kind", "asset", "loan"],
                condition=Q(status="open"),
                nulls_distinct=False,
                name="breach_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"Breach {self.pk} {self.counterparty_id} {self.kind} ({self.status})"
