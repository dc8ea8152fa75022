"""The home page: each role is sent to its work."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from borrowdesk.access.roles import ROLE_LABELS, ROLES, user_roles
from borrowdesk.business_day import business_date
from borrowdesk.operations.selectors import last_job_runs

# role → what the role does at the desk, and where its work is (pages that exist are linked).
ROLE_WORK: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "trader": (
        "Ask to borrow for your counterparties and follow your requests to delivery.",
        [
            ("New borrow request", "requests_app:new"),
            ("My requests", "requests_app:mine"),
            ("Borrow book", "inventory:loans"),
            ("Prices", "refdata:price_list"),
        ],
    ),
    "ops": (
        "Approve borrow requests in priority order, allocate inventory and settle deliveries.",
        [
            ("Approval queue", "requests_app:queue"),
            ("Settlement queue", "treasury:settlements"),
            ("Positions", "inventory:positions"),
            ("Borrow book", "inventory:loans"),
            ("Reference data", "refdata:counterparty_list"),
        ],
    ),
    "ops_senior": (
        "Give second approvals on larger requests and correct the ledger with adjustments.",
        [
            ("Approval queue", "requests_app:queue"),
            ("Positions", "inventory:positions"),
            ("Journals", "inventory:journals"),
            ("Settlement queue", "treasury:settlements"),
        ],
    ),
    "risk": (
        "Approve large and high-risk requests; watch exposure, collateral and limits.",
        [
            ("Approval queue", "requests_app:queue"),
            ("Borrow book", "inventory:loans"),
            ("Availability", "inventory:availability"),
        ],
    ),
    "compliance": (
        "Clear counterparties (KYC) so their requests can reach the desk.",
        [("KYC", "compliance:kyc"), ("Counterparties", "refdata:counterparty_list")],
    ),
    "treasury": (
        "Receive inventory, settle deliveries and keep the venues funded.",
        [
            ("Settlement queue", "treasury:settlements"),
            ("Positions", "inventory:positions"),
            ("Record a receipt", "inventory:receipt"),
        ],
    ),
    "manager": (
        "Watch utilization, the queues and the book.",
        [
            ("Availability", "inventory:availability"),
            ("Borrow book", "inventory:loans"),
            ("Jobs", "operations:jobrun_list"),
        ],
    ),
    "auditor": (
        "Read everything; follow every change and every sensitive read.",
        [
            ("Audit trail", "access:audit"),
            ("Access log", "access:access_log"),
            ("Journals", "inventory:journals"),
            ("Jobs", "operations:jobrun_list"),
        ],
    ),
    "admin": (
        "Configure the desk: users, reference data, the approval matrix, the job schedule.",
        [
            ("Django admin", "admin:index"),
            ("Reference data", "refdata:counterparty_list"),
            ("Audit trail", "access:audit"),
            ("API docs", "api-docs"),
        ],
    ),
}


def _links(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    links = []
    for label, name in pairs:
        try:
            links.append({"label": label, "url": reverse(name)})
        except NoReverseMatch:
            continue  # a page that does not exist yet
    return links


@login_required
def home(request):
    held = user_roles(request.user)
    panels = [
        {
            "role": role,
            "label": ROLE_LABELS[role],
            "text": ROLE_WORK[role][0],
            "links": _links(ROLE_WORK[role][1]),
        }
        for role in ROLES
        if role in held
    ]
    context = {"panels": panels, "business_date": business_date(), "jobs": last_job_runs(limit=6)}
    return render(request, "dashboards/home.html", context)
