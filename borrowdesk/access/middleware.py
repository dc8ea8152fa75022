"""Writes the access log for views marked sensitive (see ``sensitive_read``)."""

from __future__ import annotations

from borrowdesk.access.services import record_access


def sensitive_read(view=None, *, actions: tuple[str, ...] = ()):
    """Mark a view (function or class) as a sensitive read: every successful GET is logged.

    On a DRF viewset, ``@sensitive_read(actions=("retrieve",))`` logs only those actions (reading one
    record), not the list.
    """

    def mark(view):
        view.sensitive_read = actions or True
        return view

    return mark(view) if view is not None else mark


def _is_sensitive(view_func) -> bool:
    marked = (
        getattr(view_func, "sensitive_read", False)
        or getattr(getattr(view_func, "cls", None), "sensitive_read", False)
        or getattr(getattr(view_func, "view_class", None), "sensitive_read", False)
    )
    if isinstance(marked, tuple):  # a viewset's actions: the one this route dispatches GET to
        return (getattr(view_func, "actions", None) or {}).get("get") in marked
    return bool(marked)


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
        if _is_sensitive(view_func):
            request._sensitive_view = request.resolver_match.view_name if request.resolver_match else ""
            request._sensitive_kwargs = view_kwargs
        return None
