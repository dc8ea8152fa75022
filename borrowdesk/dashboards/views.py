"""The home page: each role is sent to its work."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.conf import settings
from django.shortcuts import render

from borrowdesk.access.declared import requires
from borrowdesk.access.navigation import links_for
from borrowdesk.access.policy import SIGNED_IN, allows
from borrowdesk.access.roles import ROLE_LABELS, ROLES, user_roles
from borrowdesk.business_day import business_date
from borrowdesk.operations.selectors import last_job_runs
from borrowdesk.refdata import selectors as refdata

# role → what the role does at the desk, and where its work is. Only pages that exist are linked
# (a URL name that does not resolve yet is left out), and a link is shown exactly when the policy
# allows the user the action its page declares (as in the navigation).
ROLE_WORK: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "trader": (
        "Ask to borrow for your counterparties and follow your requests to delivery.",
        [
            ("New borrow request", "requests_app:new"),
            ("My requests", "requests_app:mine"),
            ("Borrow book", "inventory:loans"),
            ("My counterparties", "refdata:counterparty_list"),
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
            ("Job runs", "operations:jobrun_list"),
        ],
    ),
    "ops_senior": (
        "Give second approvals on larger requests and correct the ledger with adjustments.",
        [
            ("Approval queue", "requests_app:queue"),
            ("Adjust a balance", "inventory:adjustment"),
            ("Journals", "inventory:journals"),
            ("Positions", "inventory:positions"),
            ("Settlement queue", "treasury:settlements"),
            ("Job runs", "operations:jobrun_list"),
        ],
    ),
    "risk": (
        "Approve large and high-risk requests; watch exposure, collateral and limits.",
        [
            ("Approval queue", "requests_app:queue"),
            ("Borrow book", "inventory:loans"),
            ("Availability", "inventory:availability"),
            ("Counterparties", "refdata:counterparty_list"),
            ("Prices", "refdata:price_list"),
        ],
    ),
    "compliance": (
        "Clear counterparties (KYC) so their requests can reach the desk.",
        [
            ("KYC", "compliance:kyc"),
            ("Counterparties", "refdata:counterparty_list"),
            ("Custody accounts", "refdata:account_list"),
        ],
    ),
    "treasury": (
        "Receive inventory, settle deliveries and keep the venues funded.",
        [
            ("Settlement queue", "treasury:settlements"),
            ("Record a receipt", "inventory:receipt"),
            ("Positions", "inventory:positions"),
            ("Custody accounts", "refdata:account_list"),
            ("Prices", "refdata:price_list"),
        ],
    ),
    "manager": (
        "Watch utilization, the queues, the book and the scheduled jobs.",
        [
            ("Availability", "inventory:availability"),
            ("Borrow book", "inventory:loans"),
            ("Positions", "inventory:positions"),
            ("Job runs", "operations:jobrun_list"),
            ("Reference data", "refdata:counterparty_list"),
        ],
    ),
    "auditor": (
        "Read everything; follow every change and every sensitive read.",
        [
            ("Audit trail", "access:audit"),
            ("Access log", "access:access_log"),
            ("Journals", "inventory:journals"),
            ("Job runs", "operations:jobrun_list"),
            ("Reference data", "refdata:counterparty_list"),
        ],
    ),
    "admin": (
        "Configure the desk: users, reference data, the approval matrix, the job schedule.",
        [
            ("Django admin", "admin:index"),
            ("Reference data", "refdata:counterparty_list"),
            ("Job runs", "operations:jobrun_list"),
            ("Audit trail", "access:audit"),
            ("Access log", "access:access_log"),
            ("API docs", "api-docs"),
        ],
    ),
    "pricing": (
        "A price feed's service account: it posts the marks through the API.",
        [("Prices", "refdata:price_list"), ("API docs", "api-docs")],
    ),
}


def _job_rows(runs: list[dict]) -> list[dict]:
    """The selector's ISO strings as datetimes, so the template formats them like every other time."""
    return [
        {
            **run,
            "started_at": datetime.fromisoformat(run["started_at"]),
            "finished_at": datetime.fromisoformat(run["finished_at"]) if run["finished_at"] else None,
        }
        for run in runs
    ]


@requires(SIGNED_IN)
def home(request):
    user = request.user
    held = user_roles(user)
    panels = [
        {
            "role": role,
            "label": ROLE_LABELS[role],
            "text": ROLE_WORK[role][0],
            "links": links_for(user, ROLE_WORK[role][1]),
        }
        for role in ROLES
        if role in held
    ]
    is_desk = allows(user, "refdata.counterparties.view_all")
    context = {
        "panels": panels,
        "business_date": business_date(),
        "desk_time_zone": settings.DESK_TIME_ZONE,
        "is_desk": is_desk,
        # A trader counts only the counterparties they act for (the same selector as the list).
        "counterparty_count": refdata.visible_counterparties(user).count(),
        "asset_count": refdata.assets().filter(is_active=True).count() if is_desk else None,
        "jobs": None,
    }
    if allows(user, "operations.jobs.view"):
        jobs = _job_rows(last_job_runs(limit=12))
        context["jobs"] = jobs
        context["job_outcomes"] = sorted(Counter(run["outcome"] for run in jobs).items())
    return render(request, "dashboards/home.html", context)
