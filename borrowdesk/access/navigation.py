"""The navigation of the base layout, built from the access policy.

A ``NavItem`` names a URL only. Its link is shown exactly when the policy allows the user the action
that URL's view declares (``@requires`` on a page), so a user is offered a page exactly when it opens
for them: there is no second list of roles to keep in step. Later issues add their pages here; an
entry whose URL does not exist yet is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.urls import NoReverseMatch, resolve, reverse

from borrowdesk.access.declared import ANY_METHOD, declared_actions
from borrowdesk.access.policy import allows


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str


NAV: list[NavItem] = [
    NavItem("New request", "requests_app:new"),
    NavItem("My requests", "requests_app:mine"),
    NavItem("Approval queue", "requests_app:queue"),
    NavItem("Settlements", "treasury:settlements"),
    NavItem("Borrow book", "inventory:loans"),
    NavItem("Positions", "inventory:positions"),
    NavItem("KYC", "compliance:kyc"),
    NavItem("Sanctions", "compliance:match_queue"),
    NavItem("Screen", "compliance:screen"),
    # A trader's list is their own counterparties (the selector scopes it).
    NavItem("Counterparties", "refdata:counterparty_list"),
    NavItem("Prices", "refdata:price_list"),
    NavItem("Jobs", "operations:jobrun_list"),
    NavItem("Audit", "access:audit"),
    NavItem("Access log", "access:access_log"),
]

# The Django admin is gated by Django itself (is_staff, which the admin role sets); its links read
# this action from the table.
ADMIN_NAMESPACE_ACTION = "admin.site"


@lru_cache(maxsize=256)
def page_action(url_name: str) -> tuple[str, str] | None:
    """(url, the action its view declares for GET) for a URL name; None when it does not resolve."""
    try:
        url = reverse(url_name)
    except NoReverseMatch:
        return None
    match = resolve(url)
    if match.namespace == "admin":
        return url, ADMIN_NAMESPACE_ACTION
    actions = declared_actions(match.func)
    action = actions.get("GET", actions.get(ANY_METHOD))
    if action is None:
        raise LookupError(f"The view of {url_name} declares no action (see access/declared.py).")
    return url, action


def links_for(user, items: list[tuple[str, str]]) -> list[dict[str, str]]:
    """``{label, url}`` of each (label, URL name) the user may open, in order, each URL once."""
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for label, url_name in items:
        found = page_action(url_name)
        if found is None:
            continue  # a page a later issue adds
        url, action = found
        if url not in seen and allows(user, action):
            seen.add(url)
            links.append({"label": label, "url": url})
    return links


def navigation_for(user) -> list[dict[str, str]]:
    """The navbar entries this user may open, in the order above, as ``{label, url}``."""
    return links_for(user, [(item.label, item.url_name) for item in NAV])
