"""Writes of the access app: users, roles, counterparty grants, the access log.

The rules of a desk user live here and nowhere else, whoever writes (the Django admin, the
``create_desk_user`` command, the demo seed, tests): roles are the names in ``ROLES`` and a user holds
at least one; ``is_staff`` (entry to the Django admin) is true exactly when the user holds the
``admin`` role; a password passes the project's validators. Role changes and counterparty grants
are audited by database triggers (access/models.py); given an ``actor``, a service checks the actor's
permission in the access policy and names them in the audit context (``acting_as``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict, Unpack

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from borrowdesk.access.errors import UnknownRole
from borrowdesk.access.models import AccessLog, Desk, User
from borrowdesk.access.policy import require
from borrowdesk.access.roles import ROLES
from borrowdesk.audit import acting_as, acting_as_if
from borrowdesk.errors import InvalidInput
from borrowdesk.refdata.models import Counterparty
from borrowdesk.refdata.selectors import counterparties_for_trader

ACT_FOR_COUNTERPARTY = "refdata.act_for_counterparty"


class UserChanges(TypedDict, total=False):
    email: str
    first_name: str
    last_name: str
    desk: Desk | None
    is_active: bool


def _require(actor: User | None) -> None:
    """Refuse an actor the policy does not allow to manage users (access/policy.py; inactive users are
    allowed nothing). No actor: a command or the seed, run by whoever operates the server."""
    if actor is not None:
        require(actor, "access.users.manage", "Your role does not allow managing users.")


def _checked_roles(roles: Iterable[str]) -> list[str]:
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise UnknownRole(f"Unknown role(s): {', '.join(unknown)}. Roles: {' '.join(ROLES)}.")
    if not roles:
        raise InvalidInput("Give the user at least one role.", fields={"roles": ["Pick at least one role."]})
    return roles


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), fields={"password": list(exc.messages)}) from exc


def _set_roles(user: User, roles: list[str]) -> None:
    # The through rows are what the audit trigger records: ``set`` adds and removes only the
    # difference, so an unchanged role leaves no event.
    user.groups.set(Group.objects.filter(name__in=roles))


def _set_counterparties(user: User, counterparties: Iterable[Counterparty]) -> None:
    wanted = {c.pk: c for c in counterparties}
    held = {c.pk: c for c in counterparties_for_trader(user)}
    for pk in held.keys() - wanted.keys():
        remove_perm(ACT_FOR_COUNTERPARTY, user, held[pk])
    for pk in wanted.keys() - held.keys():
        assign_perm(ACT_FOR_COUNTERPARTY, user, wanted[pk])


@transaction.atomic
def create_desk_user(
    *,
    username: str,
    password: str,
    roles: Iterable[str],
    counterparties: Iterable[Counterparty] = (),
    email: str = "",
    validate: bool = True,
    actor: User | None = None,
) -> User:
    """Create (or update) a user with the given roles and counterparty grants.

    Raises ``PermissionDeniedError`` for an actor the policy does not allow ``access.users.manage``,
    ``UnknownRole`` for a role not in ROLES and ``InvalidInput`` for no role or a weak password.
    Re-running for the same username updates password, roles and grants (idempotent seeding); grants
    are added, never revoked.
    """
    _require(actor)
    roles = _checked_roles(roles)
    existing = User.objects.filter(username=username).first()
    if existing is not None and actor is not None:
        # Re-running over an existing user is for the command and the seed; a person adding a user
        # must not reset another one's password and roles (that is update_desk_user, with its rules).
        raise InvalidInput(
            f"A user named {username} exists already.", fields={"username": ["Already taken."]}
        )
    user = existing or User(username=username, email=email)
    if validate:
        _check_password(password, user)
    with acting_as_if(actor):
        user.set_password(password)
        user.is_staff = "admin" in roles
        user.is_superuser = False
        user.save()
        _set_roles(user, roles)
        for counterparty in counterparties:
            assign_perm(ACT_FOR_COUNTERPARTY, user, counterparty)
    return user


@transaction.atomic
def update_desk_user(
    *,
    actor: User,
    user: User,
    roles: Iterable[str] | None = None,
    counterparties: Iterable[Counterparty] | None = None,
    password: str | None = None,
    **changes: Unpack[UserChanges],
) -> User:
    """Change a user's details, roles (the whole set), counterparty grants (the whole set: missing
    ones are revoked) or password; ``None`` leaves roles, grants or password as they are.

    An actor cannot take the admin role away from themselves nor deactivate themselves, so the
    desk is never left without anyone able to manage users. Raises ``PermissionDeniedError`` (no
    ``access.change_user``), ``UnknownRole``, or ``InvalidInput`` (no role, weak password, self-lockout).
    """
    _require(actor)
    unknown = set(changes) - set(UserChanges.__annotations__)
    if unknown:
        raise TypeError(f"A user cannot change {', '.join(sorted(unknown))} here.")
    # Lock the user and every active administrator, in id order: two administrators editing the same
    # user, or taking each other's admin role at once, apply one after the other, and the second is
    # checked against what the first did (it may no longer hold the permission). An instance the
    # caller changed in memory (as the admin's form does) is compared with what is really stored.
    admins = list(User.objects.filter(groups__name="admin", is_active=True).values_list("pk", flat=True))
    locked = {
        u.pk: u
        for u in User.objects.select_for_update().filter(pk__in={*admins, user.pk, actor.pk}).order_by("pk")
    }
    user = locked[user.pk]
    _require(User.objects.get(pk=actor.pk))  # fresh: no cached roles
    checked = _checked_roles(roles) if roles is not None else None
    if user.pk == actor.pk:
        if checked is not None and "admin" not in checked and user.groups.filter(name="admin").exists():
            raise InvalidInput(
                "You cannot remove your own admin role; ask another administrator.",
                fields={"roles": ["You cannot remove your own admin role."]},
            )
        if changes.get("is_active") is False:
            raise InvalidInput(
                "You cannot deactivate yourself; ask another administrator.",
                fields={"is_active": ["You cannot deactivate yourself."]},
            )
    if password is not None:
        _check_password(password, user)
    changed = [name for name, value in changes.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, changes[name])  # type: ignore[literal-required]
    with acting_as(actor):
        if password is not None:
            user.set_password(password)
            changed.append("password")
        if checked is not None and user.is_staff != ("admin" in checked):
            user.is_staff = "admin" in checked
            changed.append("is_staff")
        if changed:
            user.save(update_fields=changed)
        if checked is not None:
            _set_roles(user, checked)
        if counterparties is not None:
            _set_counterparties(user, counterparties)
    return user


@transaction.atomic
def grant_counterparty(*, user: User, counterparty: Counterparty, actor: User | None = None) -> None:
    """Let a trader act for a counterparty (an object permission, django-guardian). Idempotent.

    Raises ``PermissionDeniedError`` for an actor the policy does not allow ``access.users.manage``."""
    _require(actor)
    with acting_as_if(actor):
        assign_perm(ACT_FOR_COUNTERPARTY, user, counterparty)


@transaction.atomic
def revoke_counterparty(*, user: User, counterparty: Counterparty, actor: User | None = None) -> None:
    """Take back a counterparty grant. Idempotent.

    Raises ``PermissionDeniedError`` for an actor the policy does not allow ``access.users.manage``."""
    _require(actor)
    with acting_as_if(actor):
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
