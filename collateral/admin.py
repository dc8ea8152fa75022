"""Django admin for the risk desk's tables: read-only.

Risk configuration is versioned with four eyes and pledges post to the ledger, so every write goes
through the services (which check roles, segregation of duties and the ledger); the admin is for
looking things up.
"""

from __future__ import annotations

from django.contrib import admin

from collateral.models import (
    AssetCap,
    BorrowerLimit,
    CollateralAgreement,
    HaircutRule,
    MarkPolicy,
    Pledge,
    StressScenario,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


VERSION_FIELDS = ["status", "effective_from", "is_loosening", "proposed_by", "approved_by", "rejected_by"]


@admin.register(HaircutRule)
class HaircutRuleAdmin(ReadOnlyAdmin):
    list_display = ["id", "asset", "venue", "counterparty", "haircut_pct", *VERSION_FIELDS]
    list_filter = ["status", "asset"]
    search_fields = ["asset__symbol", "venue__code", "counterparty__code", "comment"]
    list_select_related = ["asset", "venue", "counterparty", "proposed_by", "approved_by", "rejected_by"]


class AssetCapInline(admin.TabularInline):
    model = AssetCap
    fields = readonly_fields = ("asset", "max_quantity")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BorrowerLimit)
class BorrowerLimitAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "counterparty",
        "max_exposure_usd",
        "max_tenor_days",
        "min_coverage_ratio",
        *VERSION_FIELDS,
    ]
    list_filter = ["status"]
    search_fields = ["counterparty__code", "comment"]
    list_select_related = ["counterparty", "proposed_by", "approved_by", "rejected_by"]
    inlines = [AssetCapInline]


@admin.register(CollateralAgreement)
class CollateralAgreementAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "counterparty",
        "return_ratio",
        "required_ratio",
        "warning_ratio",
        "call_ratio",
        "critical_ratio",
        *VERSION_FIELDS,
    ]
    list_filter = ["status"]
    search_fields = ["counterparty__code", "comment"]
    list_select_related = ["counterparty", "proposed_by", "approved_by", "rejected_by"]


@admin.register(MarkPolicy)
class MarkPolicyAdmin(ReadOnlyAdmin):
    list_display = ["asset", "max_age_minutes", "divergence_pct"]


@admin.register(StressScenario)
class StressScenarioAdmin(ReadOnlyAdmin):
    list_display = ["name", "version", "is_active", "haircut_addon_pct", "recall_fraction", "created_by"]
    list_filter = ["is_active", "name"]


@admin.register(Pledge)
class PledgeAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "counterparty",
        "asset",
        "account",
        "quantity",
        "expires_on",
        "reference",
        "created_at",
    ]
    list_filter = ["asset"]
    search_fields = ["counterparty__code", "account__code", "reference"]
    list_select_related = ["counterparty", "asset", "account"]
    date_hierarchy = "created_at"
