"""Django admin for reference data.

Saves go through the services, like every other write: the same permission check, the same rules,
and the audit trail names the admin. Nothing is deleted (the ledger refers to these rows; set
``is_active`` off instead), a code never changes once created, and prices are read-only here (they
come from the price API and feeds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin

from borrowdesk.access.middleware import mark_sensitive
from borrowdesk.admin_services import ServiceRefusalsAsMessages
from borrowdesk.refdata import services
from borrowdesk.refdata.models import (
    Asset,
    Counterparty,
    CustodianMapping,
    CustodyAccount,
    Network,
    Price,
    Venue,
)


class SensitiveChangePage:
    """The change page of a sensitive record (a counterparty, a custody account) is a sensitive read:
    the access log records who opened it, as for the record's page and API."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        opts = self.model._meta  # type: ignore[attr-defined]
        mark_sensitive(request, f"admin:{opts.app_label}_{opts.model_name}_change", object_id=object_id)
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]


class ReferenceAdmin(ServiceRefusalsAsMessages):
    key = "code"  # set on creation, read-only afterwards
    create: Callable[..., Any]
    update: Callable[..., Any]
    update_arg: str  # the update service's keyword for the object

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return (self.key,) if obj is not None else ()

    def save_model(self, request, obj, form, change) -> None:
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            saved = self.update(actor=request.user, **{self.update_arg: obj}, **changes)
        else:
            saved = self.create(actor=request.user, **form.cleaned_data)
        obj.pk = saved.pk  # the admin's log entry and redirect use it


class AssetForm(forms.ModelForm):
    # Not named "networks": the admin edits a many-to-many with its own table only through this field,
    # and the service sets it (audited), like every other change.
    carried_on = forms.ModelMultipleChoiceField(
        queryset=Network.objects.order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Networks",
        help_text="The networks that carry this asset.",
    )

    class Meta:
        model = Asset
        fields = ["symbol", "name", "decimals", "is_stablecoin", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["carried_on"].initial = list(self.instance.networks.all())


@admin.register(Asset)
class AssetAdmin(ReferenceAdmin):
    key = "symbol"
    form = AssetForm
    create = staticmethod(services.create_asset)
    update = staticmethod(services.update_asset)
    update_arg = "asset"
    fields = ["symbol", "name", "decimals", "is_stablecoin", "is_active", "carried_on"]

    def save_model(self, request, obj, form, change) -> None:
        data = dict(form.cleaned_data)
        networks = list(data.pop("carried_on", []))
        if change:
            changes = {name: data[name] for name in form.changed_data if name in data}
            new_networks = networks if "carried_on" in form.changed_data else None
            saved = services.update_asset(actor=request.user, asset=obj, networks=new_networks, **changes)
        else:
            saved = services.create_asset(actor=request.user, networks=networks, **data)
        obj.pk = saved.pk

    list_display = ["symbol", "name", "decimals", "is_stablecoin", "is_active"]
    list_filter = ["is_stablecoin", "is_active"]
    search_fields = ["symbol", "name"]


@admin.register(Network)
class NetworkAdmin(ReferenceAdmin):
    create = staticmethod(services.create_network)
    update = staticmethod(services.update_network)
    update_arg = "network"
    fields = ["code", "name", "is_active"]
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]


@admin.register(Venue)
class VenueAdmin(ReferenceAdmin):
    create = staticmethod(services.create_venue)
    update = staticmethod(services.update_venue)
    update_arg = "venue"
    fields = ["code", "name", "kind", "is_active"]
    list_display = ["code", "name", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Counterparty)
class CounterpartyAdmin(SensitiveChangePage, ReferenceAdmin):
    create = staticmethod(services.create_counterparty)
    update = staticmethod(services.update_counterparty)
    update_arg = "counterparty"
    fields = ["code", "legal_name", "kind", "jurisdiction", "risk_rating", "is_active"]
    list_display = ["code", "legal_name", "kind", "jurisdiction", "risk_rating", "is_active"]
    list_filter = ["kind", "risk_rating", "jurisdiction", "is_active"]
    search_fields = ["code", "legal_name"]

    def get_readonly_fields(self, request, obj=None):
        # Compliance's, set with the KYC: it decides approval paths, so the admin does not edit it.
        return (*super().get_readonly_fields(request, obj), "risk_rating")


@admin.register(CustodyAccount)
class CustodyAccountAdmin(SensitiveChangePage, ReferenceAdmin):
    create = staticmethod(services.create_custody_account)
    update = staticmethod(services.update_custody_account)
    update_arg = "account"
    fields = ["code", "venue", "network", "address", "owner", "purpose", "is_active"]
    list_display = ["code", "venue", "network", "owner", "purpose", "address", "is_active"]
    list_filter = ["purpose", "is_active", "venue", "network"]
    list_select_related = ["venue", "network", "owner"]
    search_fields = ["code", "address", "venue__code", "owner__code", "owner__legal_name"]
    autocomplete_fields = ["owner"]


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ["asset", "price_usd", "as_of", "source", "created_at"]
    list_filter = ["source"]
    list_select_related = ["asset"]
    search_fields = ["asset__symbol", "source"]
    date_hierarchy = "as_of"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CustodianMapping)
class CustodianMappingAdmin(ServiceRefusalsAsMessages):
    """Custodians' ids for the desk's accounts and assets (the statement adapters read them). Added
    through the refdata service; never edited or deleted here (a statement read with it stays right)."""

    list_display = ["custodian", "kind", "external_id", "account", "asset"]
    list_filter = ["custodian", "kind"]
    search_fields = ["external_id", "account__code", "asset__symbol"]
    fields = ["custodian", "kind", "external_id", "account", "asset"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        saved = services.map_custodian_id(actor=request.user, **form.cleaned_data)
        obj.pk = saved.pk
