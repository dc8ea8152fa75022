"""The navigation of the base layout: each role sees the sections it works in.

Later issues add their pages here; an entry is shown when the user holds one of its roles.
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
DESK = frozenset({"ops", "ops_senior", "risk", "compliance", "treasury", "manager", "auditor", "admin"})

OPS = frozenset({"ops", "ops_senior"})
APPROVERS = frozenset({"ops", "ops_senior", "risk"})
SETTLERS = frozenset({"ops", "ops_senior", "treasury"})
BOOK = frozenset({"trader", "ops", "ops_senior", "risk", "treasury", "manager", "auditor", "admin"})

NAV: list[NavItem] = [
    NavItem("New request", "requests_app:new", frozenset({"trader"})),
    NavItem("My requests", "requests_app:mine", frozenset({"trader"})),
    NavItem("Approval queue", "requests_app:queue", APPROVERS),
    NavItem("Settlements", "treasury:settlements", SETTLERS | {"manager", "auditor", "admin"}),
    NavItem("Borrow book", "inventory:loans", BOOK),
    NavItem("Positions", "inventory:positions", DESK),
    NavItem("KYC", "compliance:kyc", frozenset({"compliance", "auditor", "admin"})),
    NavItem("Reference data", "refdata:counterparty_list", DESK),
    NavItem("Prices", "refdata:price_list", ALL),
    NavItem(
        "Jobs", "operations:jobrun_list", frozenset({"ops", "ops_senior", "manager", "auditor", "admin"})
    ),
    NavItem("Audit", "access:audit", frozenset({"auditor", "admin"})),
    NavItem("Access log", "access:access_log", frozenset({"auditor", "admin"})),
]


def navigation_for(user) -> list[dict[str, str]]:
    roles = user_roles(user)
    items = []
    for item in NAV:
        if roles & item.roles:
            try:
                items.append({"label": item.label, "url": reverse(item.url_name)})
            except NoReverseMatch:
                continue
    return items
