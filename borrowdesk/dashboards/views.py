"""The home page: each role is sent to its work."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from borrowdesk.access.declared import requires
from borrowdesk.access.navigation import links_for
from borrowdesk.access.policy import SIGNED_IN, allows
from borrowdesk.access.roles import ROLE_LABELS, ROLES, user_roles
from borrowdesk.business_day import business_date
from borrowdesk.formatting import duration, label, pct, qty, ratio_pct, usd, when
from borrowdesk.operations.selectors import last_job_runs
from borrowdesk.refdata import selectors as refdata
from collateral.selectors import risk_views
from reconciliation.selectors_runs import pre_open_status

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
            ("Pledges", "collateral:pledges"),
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
        "Watch coverage, margin calls and limits; approve large and high-risk requests and another risk "
        "user's loosening of risk configuration.",
        [
            ("Coverage", "collateral:coverage"),
            ("Margin calls", "collateral:margin_calls"),
            ("Approval queue", "requests_app:queue"),
            ("Pending approvals", "collateral:pending"),
            ("Haircuts", "collateral:haircuts"),
            ("Limits", "collateral:limits"),
            ("Stress", "collateral:stress"),
            ("Pledges", "collateral:pledges"),
            ("Borrow book", "inventory:loans"),
            ("Availability", "inventory:availability"),
            ("Counterparties", "refdata:counterparty_list"),
            ("Prices", "refdata:price_list"),
        ],
    ),
    "compliance": (
        "Clear counterparties (KYC) so their requests can reach the desk.",
        [
            ("Compliance home", "compliance:home"),
            ("My cases", "compliance:my_cases"),
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
        "Watch utilization, collateral coverage, the queues, the book and the scheduled jobs.",
        [
            ("Availability", "inventory:availability"),
            ("Coverage", "collateral:coverage"),
            ("Stress", "collateral:stress"),
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


# --- the risk desk's work: what needs a risk user now -------------------------------------------
# Each panel counts its rows, shows the first few (each linking to the counterparty's risk page) and
# links to the page where the work is done: the first of its pages that exists and that the user may
# open (a page a later change adds is left out until then).
RISK_PANEL_PAGES: dict[str, list[tuple[str, str]]] = {
    "calls": [("Margin call queue", "collateral:margin_calls"), ("Coverage", "collateral:coverage")],
    "cure": [("Coverage", "collateral:coverage")],
    "default": [("Coverage", "collateral:coverage")],
    "breaches": [("Limit breaches", "collateral:breaches"), ("Limits", "collateral:limits")],
    "review": [("Coverage", "collateral:coverage")],
    "pending": [("Pending approvals", "collateral:pending")],
    "expiring": [("Expiries", "collateral:expiries"), ("Pledges", "collateral:pledges")],
}


def _cell(
    value: Any, *, numeric: bool = False, badge: str = "", link: str = "", nowrap: bool = False
) -> dict[str, Any]:
    return {"value": value, "numeric": numeric, "badge": badge, "link": link, "nowrap": nowrap}


def _counterparty_cell(counterparty) -> dict[str, Any]:
    return _cell(counterparty.code, link=reverse("collateral:counterparty_risk", args=[counterparty.code]))


def _until(at: datetime, now: datetime) -> str:
    """``in 3 h 12 min`` or ``overdue by 2 h``."""
    return f"in {duration(at - now)}" if at >= now else f"overdue by {duration(now - at)}"


def _pending_text(change: risk_views.PendingChange) -> str:
    row = change.row
    if change.kind == "haircut":
        scope = "".join(
            part
            for part in (
                f" for {row.counterparty.code}" if row.counterparty_id else "",
                f" at {row.venue.code}" if row.venue_id else "",
            )
        )
        return f"{row.asset.symbol} haircut {pct(row.haircut_pct)}{scope}"
    if change.kind == "limit":
        return f"{row.counterparty.code} limit {usd(row.max_exposure_usd)}"
    required, call = ratio_pct(row.required_ratio), ratio_pct(row.call_ratio)
    return f"{row.counterparty.code} levels: required {required}, call {call}"


def _panel(user, key: str, title: str, found: risk_views.Worklist, headers, rows, empty: str) -> dict:
    links = links_for(user, RISK_PANEL_PAGES[key])
    return {
        "key": key,
        "title": title,
        "count": found.count,
        "more": found.count - len(rows),
        "headers": headers,
        "rows": rows,
        "link": links[0] if links else None,
        "empty": empty,
    }


def _risk_work(user) -> list[dict] | None:
    """The risk desk's panels, for a user whose work is the margin calls (the policy's
    ``collateral.margin_call.operate``); None for anyone else. Eleven queries whatever the rows."""
    if not allows(user, "collateral.margin_call.operate"):
        return None
    now = timezone.now()
    calls = risk_views.margin_calls_due()
    cure = risk_views.critical_in_cure()
    flagged = risk_views.flagged_for_default()
    breaches = risk_views.open_breaches()
    review = risk_views.needing_review()
    pending = risk_views.pending_approvals_for(user) if allows(user, "collateral.config.approve") else None
    expiring = risk_views.expiring_collateral()
    today = business_date()
    panels = [
        _panel(
            user,
            "calls",
            "Margin calls due",
            calls,
            ["Counterparty", "Top-up", "Due", "Status"],
            [
                {
                    "overdue": call.due_at < now,
                    "cells": [
                        _counterparty_cell(call.counterparty),
                        _cell(usd(call.amount_usd), numeric=True),
                        _cell(_until(call.due_at, now), nowrap=True),
                        _cell(label(call.status), badge=call.status),
                    ],
                }
                for call in calls.rows
            ],
            "No margin call is open.",
        ),
        _panel(
            user,
            "cure",
            "Below critical, in cure",
            cure,
            ["Counterparty", "Coverage", "Shortfall", "Cure ends"],
            [
                {
                    "overdue": risk.cure_ends_at < now,
                    "cells": [
                        _counterparty_cell(risk.counterparty),
                        _cell(ratio_pct(risk.coverage_ratio), numeric=True),
                        _cell(usd(risk.shortfall_usd), numeric=True),
                        _cell(
                            f"{duration(risk.cure_ends_at - now)} left"
                            if risk.cure_ends_at >= now
                            else "elapsed"
                        ),
                    ],
                }
                for risk in cure.rows
            ],
            "No counterparty is below its critical level.",
        ),
        _panel(
            user,
            "default",
            "Flagged for default",
            flagged,
            ["Counterparty", "Coverage", "Shortfall", "Flagged"],
            [
                {
                    "overdue": True,
                    "cells": [
                        _counterparty_cell(risk.counterparty),
                        _cell(ratio_pct(risk.coverage_ratio), numeric=True),
                        _cell(usd(risk.shortfall_usd), numeric=True),
                        _cell(when(risk.default_flagged_at)),
                    ],
                }
                for risk in flagged.rows
            ],
            "No counterparty is flagged for default handling.",
        ),
        _panel(
            user,
            "breaches",
            "Open limit breaches",
            breaches,
            ["Counterparty", "Limit", "Found", "Allowed"],
            [
                {
                    "overdue": False,
                    "cells": [
                        _counterparty_cell(breach.counterparty),
                        _cell(breach.get_kind_display()),
                        *(_cell(text, numeric=True) for text in risk_views.breach_figures(breach)),
                    ],
                }
                for breach in breaches.rows
            ],
            "No limit or covenant is broken.",
        ),
        _panel(
            user,
            "review",
            "Needs review",
            review,
            ["Counterparty", "Why", "Since"],
            [
                {
                    "overdue": False,
                    "cells": [
                        _counterparty_cell(risk.counterparty),
                        _cell(risk.review_reason or "a mark is missing, stale or disputed"),
                        _cell(when(risk.state_since)),
                    ],
                }
                for risk in review.rows
            ],
            "Every mark is fresh and its sources agree.",
        ),
    ]
    if pending is not None:
        panels.append(
            _panel(
                user,
                "pending",
                "Waiting for your approval",
                pending,
                ["Change", "Proposed by", "Proposed"],
                [
                    {
                        "overdue": False,
                        "cells": [
                            _cell(_pending_text(change)),
                            _cell(change.row.proposed_by.username),
                            _cell(when(change.proposed_at)),
                        ],
                    }
                    for change in pending.rows
                ],
                "No loosening is waiting for a second risk user.",
            )
        )
    panels.append(
        _panel(
            user,
            "expiring",
            f"Collateral expiring within {settings.COLLATERAL_EXPIRY_WARNING_DAYS} days",
            expiring,
            ["Counterparty", "Pledged", "Expires"],
            [
                {
                    "overdue": pledge.expires_on <= today,
                    "cells": [
                        _counterparty_cell(pledge.counterparty),
                        _cell(f"{qty(pledge.quantity)} {pledge.asset.symbol}", numeric=True),
                        _cell(
                            f"{pledge.expires_on.isoformat()} ("
                            + (
                                "today"
                                if pledge.expires_on == today
                                else f"in {(pledge.expires_on - today).days} d"
                            )
                            + ")"
                        ),
                    ],
                }
                for pledge in expiring.rows
            ],
            "No pledged collateral expires soon.",
        )
    )
    return panels


def _coverage_summary(user, is_desk: bool) -> dict | None:
    """The desk's coverage in a few figures (two queries), for desk roles who may see collateral."""
    if not (is_desk and allows(user, "collateral.view")):
        return None
    links = links_for(user, [("Coverage table", "collateral:coverage")])
    return {"summary": risk_views.coverage_summary(), "link": links[0] if links else None}


def _regulator_flags(user) -> dict | None:
    """Outstanding and overdue regulator requests (drills apart), for those who read the log."""
    if not allows(user, "compliance.regulator.view"):
        return None
    from compliance.travel_rule.selectors import regulator_summary

    return regulator_summary()


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
        "risk_work": _risk_work(user),
        "coverage": _coverage_summary(user, is_desk),
        "regulator": _regulator_flags(user),
        # Did today's pre-open reconciliation run, when, how many breaks are open (reconruns).
        "pre_open": pre_open_status() if allows(user, "reconciliation.view") else None,
    }
    if allows(user, "operations.jobs.view"):
        jobs = _job_rows(last_job_runs(limit=12))
        context["jobs"] = jobs
        context["job_outcomes"] = sorted(Counter(run["outcome"] for run in jobs).items())
    return render(request, "dashboards/home.html", context)
