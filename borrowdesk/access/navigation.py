"""Who opens which section, and the navigation of the base layout built from it.

The role sets below are the pages' access rules: each view checks the same set its navigation entry
uses, so a user is shown a link exactly when the page opens for them. Later issues add their pages
here; an entry is shown when the user holds one of its roles and its URL exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from borrowdesk.access.roles import user_roles


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]


ALL = frozenset(
    {"trader", "ops", "ops_senior", "risk", "compliance", "treasury", "manager", "auditor", "admin"}
)
# Everyone but traders: reference data lists, asset pages.
DESK = frozenset({"ops", "ops_senior", "risk", "compliance", "treasury", "manager", "auditor", "admin"})

OPS = frozenset({"ops", "ops_senior"})
APPROVERS = frozenset({"ops", "ops_senior", "risk"})
SETTLERS = frozenset({"ops", "ops_senior", "treasury"})
BOOK = frozenset({"trader", "ops", "ops_senior", "risk", "treasury", "manager", "auditor", "admin"})
JOBS = frozenset({"ops", "ops_senior", "manager", "auditor", "admin"})  # the job runs page
AUDITORS = frozenset({"auditor", "admin"})  # the audit trail and the access log

NAV: list[NavItem] = [
    NavItem("New request", "requests_app:new", frozenset({"trader"})),
    NavItem("My requests", "requests_app:mine", frozenset({"trader"})),
    NavItem("Approval queue", "requests_app:queue", APPROVERS),
    NavItem("Settlements", "treasury:settlements", SETTLERS | {"manager", "auditor", "admin"}),
    NavItem("Borrow book", "inventory:loans", BOOK),
    NavItem("Positions", "inventory:positions", DESK),
    NavItem("KYC", "compliance:kyc", frozenset({"compliance", "auditor", "admin"})),
    NavItem("Reference data", "refdata:counterparty_list", DESK),
    # A trader's reference data is their own counterparties (the list is scoped by the selector).
    NavItem("My counterparties", "refdata:counterparty_list", ALL - DESK),
    NavItem("Prices", "refdata:price_list", ALL),
    NavItem("Jobs", "operations:jobrun_list", JOBS),
    NavItem("Audit", "access:audit", AUDITORS),
    NavItem("Access log", "access:access_log", AUDITORS),
]


def navigation_for(user) -> list[dict[str, str]]:
    """The navbar entries this user may open, in the order above, as ``{label, url}``."""
    roles = user_roles(user)
    items: list[dict[str, str]] = []
    urls: set[str] = set()
    for item in NAV:
        if not roles & item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue  # a page a later issue adds
        if url not in urls:  # a user with trader and a desk role gets "Reference data" once
            urls.add(url)
            items.append({"label": item.label, "url": url})
    return items
