"""Django admin for the ledger and the borrow book: read-only.

Journals, entries and accruals are immutable in the database; positions, loans, recalls and rerates
change only through the services (which check roles, lock rows and keep the ledger balanced). The
admin is for looking things up; the pages and the API are where the desk acts.
"""

from __future__ import annotations

from django.contrib import admin

from inventory.models import Entry, Journal, Loan, LoanAccrual, Position, Recall, Rerate


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    fields = readonly_fields = ("asset", "account", "bucket", "quantity")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("asset", "account")


@admin.register(Journal)
class JournalAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "created_at", "created_by", "reference", "loan"]
    list_filter = ["kind"]
    search_fields = ["reference", "memo"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    inlines = [EntryInline]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["asset", "account", "bucket", "quantity", "updated_at"]
    list_filter = ["bucket", "asset"]
    search_fields = ["account__code", "asset__symbol"]
    list_select_related = ["asset", "account"]


class RecallInline(admin.TabularInline):
    model = Recall
    fields = readonly_fields = ("quantity", "due_at", "status", "created_by", "created_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class RerateInline(admin.TabularInline):
    model = Rerate
    fields = readonly_fields = (
        "rate_bps",
        "effective_date",
        "status",
        "proposed_by",
        "decided_by",
        "decided_at",
    )
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Loan)
class LoanAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "counterparty",
        "asset",
        "quantity",
        "open_quantity",
        "rate_bps",
        "status",
        "start_date",
        "maturity_date",
    ]
    list_filter = ["status", "asset"]
    search_fields = ["counterparty__code", "counterparty__legal_name"]
    list_select_related = ["counterparty", "asset"]
    inlines = [RecallInline, RerateInline]


@admin.register(LoanAccrual)
class LoanAccrualAdmin(ReadOnlyAdmin):
    list_display = ["loan", "business_date", "open_quantity", "rate_bps", "fee"]
    list_filter = ["business_date"]
    list_select_related = ["loan"]
