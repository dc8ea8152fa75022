"""The audit trail and the access log (auditor, admin)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import render

from borrowdesk.access import selectors
from borrowdesk.access.declared import requires
from borrowdesk.access.filters import AccessLogFilter
from borrowdesk.access.middleware import sensitive_read
from borrowdesk.dates import day_bounds
from borrowdesk.errors import InvalidInput
from borrowdesk.pages import Column, table_page


@sensitive_read
@requires("audit.view")
def audit(request):
    """Every change to business rows (database triggers), by object, acting user and time."""
    g = request.GET
    status = 200
    try:
        since, until = day_bounds(g.get("since"), g.get("until"))
    except InvalidInput as exc:  # an impossible date: say so, and match nothing
        messages.error(request, exc.detail)
        since, until, status = None, None, 400
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
    if status != 200:
        events = events.none()
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
        status=status,
    )


@requires("access_log.view")
def access_log(request):
    """Who read which sensitive page or record, when, and from where."""
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
