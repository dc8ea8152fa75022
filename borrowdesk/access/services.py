"""Writes of the access app: users, roles, counterparty grants, the access log."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from borrowdesk.access.errors import UnknownRole
from borrowdesk.access.models import AccessLog, User
from borrowdesk.access.roles import ROLES
from borrowdesk.errors import InvalidInput

ACT_FOR_COUNTERPARTY = "refdata.act_for_counterparty"


@transaction.atomic
def create_desk_user(
    *,
    username: str,
    password: str,
    roles: Iterable[str],
    counterparties: Iterable[object] = (),
    email: str = "",
    validate: bool = True,
) -> User:
    """Create (or update) a user with the given roles and counterparty grants.

    Raises ``UnknownRole`` for a role not in ROLES and ``InvalidInput`` for a weak password.
    Re-running for the same username updates password, roles and grants (idempotent seeding).
    """
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise UnknownRole(f"Unknown role(s): {', '.join(unknown)}. Roles: {' '.join(ROLES)}.")
    if not roles:
        raise InvalidInput("Give the user at least one role.")
    user = User.objects.filter(username=username).first() or User(username=username, email=email)
    if validate:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), fields={"password": list(exc.messages)}) from exc
    user.set_password(password)
    user.is_staff = "admin" in roles
    user.is_superuser = False
    user.save()
    user.groups.set(Group.objects.filter(name__in=roles))
    for counterparty in counterparties:
        grant_counterparty(user=user, counterparty=counterparty)
    return user


def grant_counterparty(*, user: User, counterparty) -> None:
    """Let a trader act for a counterparty (an object permission, django-guardian)."""
    assign_perm(ACT_FOR_COUNTERPARTY, user, counterparty)


def revoke_counterparty(*, user: User, counterparty) -> None:
    remove_perm(ACT_FOR_COUNTERPARTY, user, counterparty)


def record_access(
    *, user, method: str, path: str, view_name: str, object_ref: str, ip_address: str | None, user_agent: str
) -> AccessLog:
    """Append one row to the access log (a sensitive read)."""
    return AccessLog.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        method=method,
        path=path[:500],
        view_name=view_name[:200],
        object_ref=object_ref[:200],
        ip_address=ip_address,
        user_agent=user_agent[:300],
    )
