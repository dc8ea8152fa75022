"""Recall suggestions: an asset runs short, the page ranks its open loans for recall with the reasons,
adds them up against the quantity needed, and offers a "Recall" button per loan that posts to the
loan's own recall (inventory's ``recall_loan``, action ``loans.operate``, confirmed before it posts).
The person decides; the page starts nothing by itself.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.formatting import when
from borrowdesk.pages import csv_response
from collateral.forms_stress import RecallNeedForm
from collateral.selectors.recall import RecallPlan, recall_plan, recall_weights


def _rows(plan: RecallPlan) -> list[dict]:
    """Every ranked loan with what the plan takes from it (0 beyond the need) and the running total
    of what is recallable, against the gap."""
    planned = {p.candidate.loan_id: p for p in plan.loans}
    rows, recallable_so_far = [], Decimal(0)
    for rank, candidate in enumerate(plan.candidates, start=1):
        recallable_so_far += candidate.loan.recallable
        suggested = planned.get(candidate.loan_id)
        rows.append(
            {
                "rank": rank,
                "candidate": candidate,
                "loan": candidate.loan,
                "suggested": suggested.quantity if suggested else Decimal(0),
                "cumulative": recallable_so_far,
                "in_plan": suggested is not None,
            }
        )
    return rows


@requires("collateral.recall.view")
@require_safe
def recalls(request):
    form = RecallNeedForm(request.GET or None)
    plan, rows = None, []
    if form.is_bound and form.is_valid():
        plan = recall_plan(
            asset=form.cleaned_data["asset"], demand=form.cleaned_data["quantity"] or Decimal(0)
        )
        rows = _rows(plan)
        if request.GET.get("format") == "csv":
            return csv_response(
                f"recall-suggestions-{plan.asset_symbol}",
                [
                    "Rank",
                    "Loan",
                    "Counterparty",
                    "Rate (bps)",
                    "Term (days)",
                    "Open",
                    "Under recall",
                    "Recallable",
                    "Score",
                    "Rate points",
                    "Term points",
                    "Coverage points",
                    "Relationship points",
                    "Suggested recall",
                    "Cumulative recallable",
                    "Reasons",
                ],
                (
                    [
                        r["rank"],
                        r["loan"].loan_id,
                        r["loan"].counterparty_code,
                        r["loan"].rate_bps,
                        r["loan"].term_days,
                        r["loan"].open_quantity,
                        r["loan"].under_recall,
                        r["loan"].recallable,
                        r["candidate"].score,
                        *(r["candidate"].parts[p] for p in ("rate", "term", "coverage", "relationship")),
                        r["suggested"],
                        r["cumulative"],
                        "; ".join(r["candidate"].reasons),
                    ]
                    for r in rows
                ),
            )
    due_at = timezone.now() + timedelta(hours=settings.COLLATERAL_RECALL_DUE_HOURS)
    return render(
        request,
        "collateral/recalls.html",
        {
            "form": form,
            "plan": plan,
            "rows": rows,
            "weights": recall_weights(),
            "may_recall": allows(request.user, "loans.operate"),
            # The loan's recall form reads a naive time as UTC (the server's zone): say so on the page.
            "due_at": due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"),
            "due_at_shown": when(due_at),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )
