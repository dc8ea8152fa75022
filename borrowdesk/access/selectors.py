"""Reads of the audit trail (django-pghistory events) and of the access log."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Model, QuerySet
from pghistory.models import Events

from borrowdesk.access.models import AccessLog, User


def _label(model: type[Model]) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def object_history(obj: Model, limit: int = 100) -> list[dict]:
    """An object's changes, newest first, with the acting user's name (two queries)."""
    events = list(
        Events.objects.filter(pgh_obj_model=_label(type(obj)), pgh_obj_id=str(obj.pk)).order_by(
            "-pgh_created_at"
        )[:limit]
    )
    return _with_users(events)


def audit_events(
    *,
    model: str = "",
    object_id: str = "",
    username: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    """Every tracked change across the desk, filtered by object, acting user and time, newest first."""
    qs = Events.objects.all()
    if model:
        qs = qs.filter(pgh_obj_model=model)
    if object_id:
        qs = qs.filter(pgh_obj_id=object_id)
    if username:
        user = User.objects.filter(username=username).first()
        qs = qs.filter(pgh_context__user=user.pk if user else -1)
    if since:
        qs = qs.filter(pgh_created_at__gte=since)
    if until:
        qs = qs.filter(pgh_created_at__lt=until)
    return qs.order_by("-pgh_created_at")


def with_users(events: list) -> list[dict]:
    return _with_users(events)


def _with_users(events: list) -> list[dict]:
    ids = {(e.pgh_context or {}).get("user") for e in events} - {None}
    names = dict(User.objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}
    return [
        {
            "at": e.pgh_created_at,
            "model": e.pgh_obj_model,
            "object_id": e.pgh_obj_id,
            "label": e.pgh_label,
            "diff": e.pgh_diff or {},
            "data": e.pgh_data,
            "user": names.get((e.pgh_context or {}).get("user") or 0, "system"),
            "url": (e.pgh_context or {}).get("url", ""),
        }
        for e in events
    ]


def tracked_models() -> list[str]:
    """The labels of every audited model, for the audit page's filter."""
    from django.apps import apps
    from pghistory.models import Event

    labels = set()
    for model in apps.get_models():
        tracked = getattr(model, "pgh_tracked_model", None)
        if issubclass(model, Event) and not model._meta.abstract and tracked is not None:
            labels.add(_label(tracked))
    return sorted(labels)


def access_log() -> QuerySet[AccessLog]:
    return AccessLog.objects.select_related("user").order_by("-at")
