"""Writes the access log for views marked sensitive (see ``sensitive_read``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from borrowdesk.access.services import record_access

Condition = Callable[..., bool]  # (request) -> whether this read is sensitive


def sensitive_read(
    view=None,
    *,
    actions: tuple[str, ...] | Mapping[str, Condition | None] = (),
    when: Condition | None = None,
):
    """Mark a view (function or class) as a sensitive read: every successful GET is logged.

    On a DRF viewset, ``@sensitive_read(actions=("retrieve",))`` logs only those actions (reading one
    record), not the list; ``actions={"retrieve": None, "list": has_owner}`` logs the list only when
    ``has_owner(request)`` says so (a list filtered to one owner reads that owner's records).
    ``when=`` does the same for a page.
    """

    def mark(view):
        view.sensitive_read = (
            dict(actions) if isinstance(actions, Mapping) else dict.fromkeys(actions)
        ) or True
        view.sensitive_read_when = when
        return view

    return mark(view) if view is not None else mark


def mark_sensitive(request, view_name: str, **kwargs: object) -> None:
    """Log this request as a sensitive read once it has succeeded (for views that cannot be
    decorated: the Django admin's change pages)."""
    request._sensitive_view = view_name
    request._sensitive_kwargs = kwargs


def _is_sensitive(view_func, request) -> bool:
    marked_on = next(
        (
            v
            for v in (view_func, getattr(view_func, "cls", None), getattr(view_func, "view_class", None))
            if v is not None and getattr(v, "sensitive_read", False)
        ),
        None,
    )
    if marked_on is None:
        return False
    marked = marked_on.sensitive_read
    if isinstance(marked, dict):  # a viewset's actions: the one this route dispatches GET to
        action = (getattr(view_func, "actions", None) or {}).get("get")
        if action not in marked:
            return False
        condition = marked[action]
        return condition is None or bool(condition(request))
    when = getattr(marked_on, "sensitive_read_when", None)
    return when is None or bool(when(request))


class AccessLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        view_name = getattr(request, "_sensitive_view", None)
        if view_name and request.method in ("GET", "HEAD") and response.status_code < 400:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                kwargs = getattr(request, "_sensitive_kwargs", {})
                record_access(
                    user=user,
                    method=request.method,
                    path=request.get_full_path(),
                    view_name=view_name,
                    object_ref=",".join(f"{k}={v}" for k, v in sorted(kwargs.items())),
                    ip_address=request.META.get("REMOTE_ADDR"),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if _is_sensitive(view_func, request):
            mark_sensitive(
                request, request.resolver_match.view_name if request.resolver_match else "", **view_kwargs
            )
        return None
