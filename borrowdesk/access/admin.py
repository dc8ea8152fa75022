"""Django admin for desk users: create a user with a password, pick roles and counterparty grants.

Saves go through the services (``create_desk_user``, ``update_desk_user``), like every other write,
so the rules hold in one place (known roles, at least one, ``is_staff`` exactly for the admin role, the
password validators) and the audit trail names the admin. Roles replace Django's raw groups and
permissions fields; superuser and staff status are shown, never edited (staff follows the admin role).
The password is set on the change form itself, through the service, instead of Django's separate
password page (which would save the user directly). Nothing is deleted: the access log and the
ledger refer to users; deactivate instead.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import SetPasswordMixin, UserCreationForm, UsernameField

from borrowdesk.access import services
from borrowdesk.access.models import User
from borrowdesk.access.roles import ROLE_LABELS, ROLES
from borrowdesk.admin_services import ServiceRefusalsAsMessages
from borrowdesk.refdata.models import Counterparty
from borrowdesk.refdata.selectors import counterparties_for_trader

ROLE_CHOICES = [(role, ROLE_LABELS[role]) for role in ROLES]
DETAILS = ["email", "first_name", "last_name", "desk", "is_active"]  # services.UserChanges


def _role_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="Administrators (and only they) can sign in to this admin.",
    )


def _counterparty_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        queryset=Counterparty.objects.order_by("code"),
        required=False,
        widget=FilteredSelectMultiple("counterparties", is_stacked=False),
        help_text="The counterparties a trader may act for (submit requests, see accounts).",
    )


class DeskUserCreationForm(UserCreationForm):
    roles = _role_field()
    counterparties = _counterparty_field()

    class Meta:
        model = User
        fields = ("username", "email")
        field_classes = {"username": UsernameField}


class DeskUserChangeForm(SetPasswordMixin, forms.ModelForm):
    roles = _role_field()
    counterparties = _counterparty_field()
    new_password1, new_password2 = SetPasswordMixin.create_password_fields(
        label1="New password", label2="New password confirmation"
    )

    class Meta:
        model = User
        fields = DETAILS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("new_password1", "new_password2"):
            self.fields[name].required = False
        self.fields["new_password1"].help_text = "Leave empty to keep the current password. " + (
            self.fields["new_password1"].help_text or ""
        )
        if self.instance.pk:
            self.initial["roles"] = list(
                self.instance.groups.filter(name__in=ROLES).values_list("name", flat=True)
            )
            self.initial["counterparties"] = list(
                counterparties_for_trader(self.instance).values_list("pk", flat=True)
            )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        self.validate_passwords("new_password1", "new_password2")
        if bool(cleaned.get("new_password1")) != bool(cleaned.get("new_password2")):
            self.add_error("new_password2", "Enter the new password twice, or leave both empty.")
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # the stubs omit it; BaseUserCreationForm uses it too
        # After the instance holds the form's names and email, which the similarity validator reads.
        # The service validates too (it is the rule); here the admin sees the reason beside the field.
        self.validate_password_for_user(self.instance, "new_password2")


@admin.register(User)
class DeskUserAdmin(ServiceRefusalsAsMessages, UserAdmin):
    form = DeskUserChangeForm
    add_form = DeskUserCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
        ("Access", {"fields": ("roles", "counterparties")}),
    )
    fieldsets = (
        (None, {"fields": ("username",)}),
        ("Personal info", {"fields": ("first_name", "last_name", "email", "desk")}),
        ("Access", {"fields": ("is_active", "roles", "counterparties", "is_staff", "is_superuser")}),
        ("Password", {"fields": ("new_password1", "new_password2")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("username", "is_staff", "is_superuser", "last_login", "date_joined")
    list_display = ("username", "email", "first_name", "last_name", "role_names", "is_active", "last_login")
    list_filter = ("is_active", "groups", "desk")
    filter_horizontal = ()

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def role_names(self, obj: User) -> str:
        return ", ".join(ROLE_LABELS[g.name] for g in obj.groups.all() if g.name in ROLE_LABELS)

    def get_urls(self):
        # Without UserAdmin's own password page: it saves the user directly, not through the service.
        return admin.ModelAdmin.get_urls(self)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            changed = set(form.changed_data)
            saved = services.update_desk_user(
                actor=request.user,
                user=obj,
                roles=data["roles"] if "roles" in changed else None,
                counterparties=data["counterparties"] if "counterparties" in changed else None,
                password=data.get("new_password1") or None,
                **{name: data[name] for name in DETAILS if name in changed},  # type: ignore[arg-type]
            )
            if saved.pk == request.user.pk and data.get("new_password1"):
                update_session_auth_hash(request, saved)  # a new own password keeps one signed in
        else:
            saved = services.create_desk_user(
                actor=request.user,
                username=data["username"],
                email=data.get("email", ""),
                password=data["password1"],
                roles=data["roles"],
                counterparties=data["counterparties"],
            )
        obj.pk = saved.pk  # the admin's log entry and redirect use it

    def save_related(self, request, form, formsets, change) -> None:
        # Roles and grants were saved by the service; the form has no many-to-many of its own.
        pass
