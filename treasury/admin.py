"""Django admin for treasury's configuration: buffer targets (the administrator sets them; every change
is audited by the table's triggers). Settlement legs move the ledger, so they are not edited here."""

from __future__ import annotations

from django.contrib import admin

from treasury.models import BufferTarget


@admin.register(BufferTarget)
class BufferTargetAdmin(admin.ModelAdmin):
    list_display = ["asset", "venue", "min_quantity", "target_quantity", "updated_at"]
    list_filter = ["asset", "venue"]
