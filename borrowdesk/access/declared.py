"""How a view declares the action it serves, and how that declaration is read.

Pages declare with ``@requires("inventory.view")`` (optionally a different action per HTTP method:
``@requires("compliance.kyc.view", POST="compliance.kyc.write")``); the decorator checks the policy
(anonymous → the login page, a role without the action → 403) and records the declaration on the
view as ``access``. API views declare a class attribute ``access``: viewsets map their actions
(``{"list": "loans.view", "return_": "loans.operate"}``), plain API views their HTTP methods
(``{"POST": "inventory.receive"}``); ``borrowdesk.api.PolicyPermission`` checks it.

``declared_actions`` reads either form from a URL pattern's callback: the navigation shows a link
exactly when its view's action allows the user, and the access-matrix test checks every pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from borrowdesk.access.policy import allows, roles_for

ANY_METHOD = "*"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def requires(action: str, **by_method: str) -> Callable:
    """Declare and check the action a page serves (``by_method``: another action for that method)."""
    for name in (action, *by_method.values()):
        roles_for(name)  # an unknown action is a typo: fail at import, not at the first request

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(request, *args: Any, **kwargs: Any):
            needed = by_method.get(request.method, action)
            if not allows(request.user, needed):
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                raise PermissionDenied
            return view(request, *args, **kwargs)

        checked.access = {ANY_METHOD: action, **by_method}  # type: ignore[attr-defined]
        return checked

    return decorate


def api_action(view: Any, method: str) -> str | None:
    """The action an API view (class or instance) declares for ``method`` (or, on a viewset instance,
    for the action being dispatched); None when it declares none."""
    access: dict[str, str] = getattr(view, "access", None) or {}
    name = getattr(view, "action", None)
    if name and name in access:
        return access[name]
    return access.get("GET" if method == "HEAD" else method)


def declared_actions(callback: Callable) -> dict[str, str]:
    """Method → action for a URL pattern's callback, as its view declares them ({} when it declares
    none). A page's ``"*"`` stands for every method it has no action of its own for."""
    if "access" in getattr(callback, "__dict__", {}):
        return dict(callback.access)  # type: ignore[attr-defined]  # declared with @requires (a page, or a third-party view wrapped)
    cls = getattr(callback, "cls", None)
    if cls is None:
        return {}
    access: dict[str, str] = getattr(cls, "access", None) or {}
    actions = getattr(callback, "actions", None)
    if actions:  # a viewset route: method → viewset action → its declared action
        found = {}
        for method, name in actions.items():
            if method.upper() in ("HEAD", "OPTIONS"):
                continue
            if name in access or method.upper() in access:
                found[method.upper()] = access.get(name) or access[method.upper()]
        return found
    return {
        method: action
        for method, action in access.items()
        if method.isupper() and hasattr(cls, method.lower())
    }


def allows_page(user, callback: Callable, method: str = "GET") -> bool:
    """May ``user`` open this callback with ``method``, by its declaration (False when undeclared)?"""
    actions = declared_actions(callback)
    action = actions.get(method, actions.get(ANY_METHOD))
    return action is not None and allows(user, action)
