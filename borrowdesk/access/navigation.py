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
    group: str = ""  # entries of one group next to each other show as one menu (when more than one)


NAV: list[NavItem] = [
    NavItem("New request", "requests_app:new"),
    NavItem("My requests", "requests_app:mine"),
    NavItem("Approval queue", "requests_app:queue"),
    NavItem("Settlements", "treasury:settlements"),
    # Inventory, one menu: the borrow book and the positions (so every role's bar is one row at 1280 px).
    NavItem("Borrow book", "inventory:loans", group="Inventory"),
    NavItem("Positions", "inventory:positions", group="Inventory"),
    # Collateral, one menu: coverage and margin calls, limit breaches, pledges (a trader: their
    # counterparties'), risk configuration (haircut rules, limits, agreements, approvals), concentration
    # and expiries, stress (risk, oversight), recall suggestions (operations, risk).
    NavItem("Coverage", "collateral:coverage", group="Collateral"),
    NavItem("Margin calls", "collateral:margin_calls", group="Collateral"),
    NavItem("Limit breaches", "collateral:breaches", group="Collateral"),
    NavItem("Pledges", "collateral:pledges", group="Collateral"),
    NavItem("Risk config", "collateral:haircuts", group="Collateral"),
    NavItem("Concentration", "collateral:concentration", group="Collateral"),
    NavItem("Stress", "collateral:stress", group="Collateral"),
    NavItem("Recalls", "collateral:recalls", group="Collateral"),
    # Compliance, one menu: its home (what breaches its SLA today), my cases, the case queue, the backlog,
    # KYC, sanctions matches and screening.
    NavItem("Compliance home", "compliance:home", group="Compliance"),
    NavItem("My cases", "compliance:my_cases", group="Compliance"),
    NavItem("Case queue", "compliance:cases", group="Compliance"),
    NavItem("Case backlog", "compliance:case_backlog", group="Compliance"),
    NavItem("KYC", "compliance:kyc", group="Compliance"),
    NavItem("Sanctions", "compliance:match_queue", group="Compliance"),
    NavItem("Screen", "compliance:screen", group="Compliance"),
    NavItem("AML alerts", "compliance:aml_alerts", group="Compliance"),
    NavItem("Travel rule", "compliance:travel_rule_list", group="Compliance"),
    NavItem("Regulator requests", "compliance:regulator_list", group="Compliance"),
    # Reconciliation, one menu (issue 11): statements; runs and breaks join it.
    NavItem("Statements", "reconciliation:statements", group="Reconciliation"),
    NavItem("Breaks", "reconciliation_runs:breaks", group="Reconciliation"),
    NavItem("Runs", "reconciliation_runs:runs", group="Reconciliation"),
    NavItem("Break statistics", "reconciliation_runs:statistics", group="Reconciliation"),
    NavItem("Pre-open gate", "reconciliation_runs:gate", group="Reconciliation"),
    NavItem("Reconciled accounts", "reconciliation_runs:reconciled", group="Reconciliation"),
    # Reference data, one menu ("Reference"). A trader's counterparties are their own (the selector
    # scopes the list).
    NavItem("Counterparties", "refdata:counterparty_list", group="Reference"),
    NavItem("Prices", "refdata:price_list", group="Reference"),
    # Oversight, one menu: the scheduled jobs' runs, the audit trail, the access log.
    NavItem("Jobs", "operations:jobrun_list", group="Oversight"),
    NavItem("Audit", "access:audit", group="Oversight"),
    NavItem("Access log", "access:access_log", group="Oversight"),
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


def links_for(user, items: list[tuple[str, str]] | list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """``{label, url}`` of each (label, URL name) the user may open, in order, each URL once."""
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for label, url_name, *group in items:
        found = page_action(url_name)
        if found is None:
            continue  # a page a later issue adds
        url, action = found
        if url not in seen and allows(user, action):
            seen.add(url)
            links.append({"label": label, "url": url, "group": group[0] if group else ""})
    return links


def navigation_for(user) -> list[dict[str, str]]:
    """The navbar entries this user may open, in the order above, as ``{label, url, group}``."""
    return links_for(user, [(item.label, item.url_name, item.group) for item in NAV])


def navbar_for(user) -> list[dict]:
    """The navbar as shown: a group's entries side by side become one menu ``{label, menu}`` when the
    user may open more than one of them, else a plain ``{label, url}`` entry."""
    shown: list[dict] = []
    for link in navigation_for(user):
        group = link["group"]
        if group and shown and shown[-1].get("group") == group:
            shown[-1]["menu"].append(link)
        else:
            shown.append({"group": group, "label": group, "menu": [link]} if group else link)
    return [
        entry if not entry.get("group") or len(entry["menu"]) > 1 else entry["menu"][0] for entry in shown
    ]
