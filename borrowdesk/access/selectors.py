"""Reads of the audit trail (django-pghistory events) and of the access log.

Every change to an audited row is an event written by a database trigger; its context holds the
acting user's id (``pgh_context["user"]``) and the request's URL. Pages show the user's name, resolved
for a whole page of events in one query.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.db.models import Model, QuerySet
from pghistory.models import Event, Events

from borrowdesk.access.models import AccessLog, User


def _label(model: type[Model]) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def _event_models() -> dict[str, list[type[Model]]]:
    """Audited model label ("refdata.Counterparty") → the event tables that record its changes."""
    found: dict[str, list[type[Model]]] = {}
    for model in apps.get_models():
        tracked = getattr(model, "pgh_tracked_model", None)
        if issubclass(model, Event) and not model._meta.abstract and tracked is not None:
            found.setdefault(_label(tracked), []).append(model)
    return found


def tracked_models() -> list[str]:
    """The labels of every audited model, for the audit page's filter."""
    return sorted(_event_models())


def object_history(obj: Model, limit: int = 100) -> list[dict[str, Any]]:
    """One object's changes, newest first, with the acting user's name. Two queries.

    ``tracks(obj)`` narrows the events query to this object inside its own event table, instead of
    reading every audited table and filtering afterwards.
    """
    events = list(
        Events.objects.tracks(obj)
        .filter(pgh_obj_model=_label(type(obj)), pgh_obj_id=str(obj.pk))
        .order_by("-pgh_created_at", "-pgh_id")[:limit]
    )
    return with_users(events)


def audit_events(
    *,
    model: str = "",
    object_id: str = "",
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Events]:
    """Every tracked change across the desk, newest first, filtered by object type and id, acting user
    (``user_id``; a user with no changes gives an empty result) and time (``since`` ≤ t < ``until``).

    An unknown ``model`` matches nothing rather than everything.
    """
    qs = Events.objects.all()
    if model:
        event_models = _event_models().get(model)
        if not event_models:
            return Events.objects.none()
        # Read only that model's event tables, not every audited table.
        qs = Events.objects.across(*event_models).filter(pgh_obj_model=model)
    if object_id:
        qs = qs.filter(pgh_obj_id=object_id)
    if user_id is not None:
        qs = qs.filter(pgh_context__user=user_id)
    if since:
        qs = qs.filter(pgh_created_at__gte=since)
    if until:
        qs = qs.filter(pgh_created_at__lt=until)
    return qs.order_by("-pgh_created_at", "-pgh_id")


def user_id_for(username: str) -> int | None:
    """The id of the user with this username, or None. One query."""
    return User.objects.filter(username=username).values_list("pk", flat=True).first()


def with_users(events: list) -> list[dict[str, Any]]:
    """Events as plain rows with the acting user's username (one query for the whole list).

    Changes made outside a request and without ``acting_as`` (migrations, a psql session) have no
    user: they read "system". Role and counterparty grants have no object of their own (the row is
    gone once revoked): their ``subject`` says whose access changed and to what (one query each for
    the users, roles and counterparties they name).
    """
    from django.contrib.auth.models import Group

    from borrowdesk.refdata.models import Counterparty

    grants = [e.pgh_data or {} for e in events if e.pgh_obj_id is None]
    ids = {(e.pgh_context or {}).get("user") for e in events} | {d.get("user_id") for d in grants}
    ids -= {None}
    names: dict[Any, str] = dict(User.objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}
    group_ids = {d["group_id"] for d in grants if "group_id" in d}
    roles = dict(Group.objects.filter(pk__in=group_ids).values_list("pk", "name")) if group_ids else {}
    counterparty_ids = {d["content_object_id"] for d in grants if "content_object_id" in d}
    codes: dict[Any, str] = (
        dict(Counterparty.objects.filter(pk__in=counterparty_ids).values_list("pk", "code"))
        if counterparty_ids
        else {}
    )

    def subject(e) -> str:
        data = e.pgh_data or {}
        if e.pgh_obj_id is not None or "user_id" not in data:
            return ""
        who = names.get(data["user_id"], f"user {data['user_id']}")
        if "group_id" in data:
            return f"{who}: role {roles.get(data['group_id'], data['group_id'])}"
        return (
            f"{who}: counterparty {codes.get(data.get('content_object_id'), data.get('content_object_id'))}"
        )

    return [
        {
            "at": e.pgh_created_at,
            "model": e.pgh_obj_model,
            "object_id": e.pgh_obj_id,
            "subject": subject(e),
            "label": e.pgh_label,
            "diff": e.pgh_diff or {},
            "data": e.pgh_data or {},
            "user": names.get((e.pgh_context or {}).get("user"), "system"),
            "url": (e.pgh_context or {}).get("url", ""),
        }
        for e in events
    ]


def access_log(*, username: str = "", day: date | None = None) -> QuerySet[AccessLog]:
    """Sensitive reads, newest first, optionally of one user and one (UTC) day."""
    qs = AccessLog.objects.select_related("user").order_by("-at", "-id")
    if username:
        qs = qs.filter(user__username=username)
    if day:
        qs = qs.filter(at__date=day)
    return qs
