from django.contrib import admin

from requests_app.models import Approval, ApprovalRule, BorrowRequest


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(admin.ModelAdmin):
    """The approval matrix is configuration: administrators edit it here (changes are audited)."""

    list_display = (
        "precedence",
        "name",
        "min_notional_usd",
        "max_notional_usd",
        "risk_ratings",
        "steps",
        "is_active",
    )
    list_editable = ("is_active",)
    ordering = ("precedence",)


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    can_delete = False
    readonly_fields = ("step", "role", "user", "decision", "quantity", "rate_bps", "account", "comment", "at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BorrowRequest)
class BorrowRequestAdmin(admin.ModelAdmin):
    """Read-only: requests change only through their workflow (the services)."""

    list_display = ("id", "counterparty", "asset", "quantity", "status", "urgency", "submitted_at")
    list_filter = ("status", "urgency", "asset")
    search_fields = ("counterparty__code", "asset__symbol")
    inlines = [ApprovalInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
