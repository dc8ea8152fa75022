"""The audit trail and the access log (auditor, admin)."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date

from borrowdesk.access import selectors
from borrowdesk.access.filters import AccessLogFilter
from borrowdesk.access.middleware import sensitive_read
from borrowdesk.access.roles import has_role
from borrowdesk.pages import Column, table_page


def _auditors_only(user) -> None:
    if not has_role(user, "auditor", "admin"):
        raise PermissionDenied


def _day_start(value: str) -> datetime | None:
    day = parse_date(value or "")
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone()) if day else None


@sensitive_read
@login_required
def audit(request):
    """Every change to business rows (database triggers), by object, acting user and time."""
    _auditors_only(request.user)
    g = request.GET
    since, until = _day_start(g.get("since", "")), _day_start(g.get("until", ""))
    if until:
        until = until + timezone.timedelta(days=1)
    user_id = None
    if username := g.get("user", ""):
        # An unknown name matches no change rather than every change.
        user_id = selectors.user_id_for(username) or -1
    events = selectors.audit_events(
        model=g.get("model", ""),
        object_id=g.get("object_id", ""),
        user_id=user_id,
        since=since,
        until=until,
    )
    page = Paginator(events, 50).get_page(g.get("page"))
    query = g.copy()
    query.pop("page", None)
    return render(
        request,
        "access/audit.html",
        {
            "page": page,
            "events": selectors.with_users(list(page)),
            "models": selectors.tracked_models(),
            "f": g,
            "query": query.urlencode(),
        },
    )


@login_required
def access_log(request):
    """Who read which sensitive page or record, when, and from where."""
    _auditors_only(request.user)
    return table_page(
        request,
        title="Access log",
        queryset=selectors.access_log(),
        filterset_class=AccessLogFilter,
        csv_name="access-log",
        intro="Every read of a sensitive page or record: who, when and from where.",
        empty="No sensitive reads recorded for this filter.",
        columns=[
            Column("When", "at", sort="at"),
            Column("User", "user.username", sort="user__username"),
            Column("Method", "method"),
            Column("Path", "path"),
            Column("Object", "object_ref"),
            Column("From", "ip_address"),
        ],
    )
