"""The desk's roles: Django groups, and the model permissions each holds (permissions as data).

A role's permissions are patterns ``app_label.action_model`` (fnmatch). ``sync_roles`` makes the
groups match this table; it runs in the access migration and after every ``migrate``.
"""

from __future__ import annotations

from fnmatch import fnmatch

ROLES = (
    "trader",
    "ops",
    "ops_senior",
    "risk",
    "compliance",
    "treasury",
    "manager",
    "auditor",
    "admin",
    "pricing",
)

ROLE_LABELS = {
    "trader": "Trader",
    "ops": "Operations",
    "ops_senior": "Senior operations",
    "risk": "Risk",
    "compliance": "Compliance",
    "treasury": "Treasury",
    "manager": "Manager",
    "auditor": "Auditor",
    "admin": "Administrator",
    "pricing": "Price feed",
}

_READ_ALL = ["refdata.view_*"]
_APPS = (
    "access",
    "refdata",
    "operations",
    "inventory",
    "requests_app",
    "collateral",
    "compliance",
    "treasury",
)

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "trader": [*_READ_ALL, "requests_app.add_borrowrequest", "requests_app.view_borrowrequest"],
    "ops": [
        *_READ_ALL,
        "refdata.add_*",
        "refdata.change_*",
        "inventory.*",
        "requests_app.*",
        "treasury.view_*",
        "treasury.change_settlementinstruction",
        "operations.view_*",
    ],
    "ops_senior": [
        *_READ_ALL,
        "refdata.add_*",
        "refdata.change_*",
        "inventory.*",
        "requests_app.*",
        "treasury.view_*",
        "treasury.change_settlementinstruction",
        "operations.view_*",
    ],
    "risk": [*_READ_ALL, "collateral.*", "inventory.view_*", "requests_app.view_*", "requests_app.change_*"],
    "compliance": [*_READ_ALL, "compliance.*", "requests_app.view_*"],
    "treasury": [*_READ_ALL, "treasury.*", "inventory.view_*", "inventory.add_journal"],
    "manager": [*_READ_ALL, *(f"{app}.view_*" for app in _APPS)],
    "auditor": [*_READ_ALL, *(f"{app}.view_*" for app in _APPS), "access.view_accesslog", "pghistory.view_*"],
    "admin": [*(f"{app}.*" for app in _APPS), "pghistory.view_*", "django_celery_beat.*"],
    "pricing": [*_READ_ALL],  # a price feed's service account (what it may post: access/policy.py)
}


def sync_roles(apps=None) -> None:
    """Create the role groups and give each exactly the permissions its patterns match."""
    if apps is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    else:  # inside a migration: the historical models
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    perms = list(permission_model.objects.select_related("content_type"))
    for role in ROLES:
        group, _ = group_model.objects.get_or_create(name=role)
        patterns = ROLE_PERMISSIONS[role]
        wanted = [
            p
            for p in perms
            if any(fnmatch(f"{p.content_type.app_label}.{p.codename}", pat) for pat in patterns)
        ]
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, **kwargs) -> None:
    # Runs once per app config; only the last one (after every app's permissions exist) matters,
    # but syncing is idempotent and cheap.
    if sender.label == "requests_app" or sender.name == "borrowdesk.access":
        sync_roles()


def user_roles(user) -> set[str]:
    """The role names a user holds (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_borrowdesk_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._borrowdesk_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
