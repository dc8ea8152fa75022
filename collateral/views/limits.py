"""Limit pages: the limit breaches list (what the scheduled check found: open ones first).

Desk roles see every counterparty's breaches; a trader sees only the counterparties they act for. A
figure is shown in its unit (USD, the asset's quantity, days, a coverage percentage); the CSV keeps the
plain numbers beside the kind that says their unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.urls import reverse

from borrowdesk.access.declared import requires
from borrowdesk.formatting import qty, ratio_pct, usd
from borrowdesk.operations.models import JobOutcome, JobRun
from borrowdesk.pages import Column, table_page
from collateral.filters_limits import BreachFilter
from collateral.models import BreachKind, LimitBreach
from collateral.selectors import limits as selectors

CHECK_JOBS = ("collateral.check_limits", "collateral.check_limits_before_open")


def figure_text(breach: LimitBreach, value: Decimal | None, *, found: bool) -> str:
    """A breach's figure (``found``) or its limit, in the unit of its kind."""
    if value is None:
        return "—"
    if breach.kind == BreachKind.EXPOSURE:
        return usd(value)
    if breach.kind == BreachKind.ASSET_CAP:
        return f"{qty(value)} {breach.asset.symbol if breach.asset else ''}".strip()
    if breach.kind == BreachKind.COVERAGE:
        return ratio_pct(value)  # as every coverage ratio reads: 135.0%
    if found and breach.loan is not None and breach.loan.term_days is None:
        return f"open-ended ({qty(value)} days so far)"
    return f"{qty(value)} days"


@dataclass(frozen=True)
class FigureColumn(Column):
    """A figure shown in its kind's unit on the page; the plain number in the CSV."""

    found: bool = True

    def shown(self, row: Any) -> Any:
        return figure_text(row, self.value(row), found=self.found)


@requires("collateral.view")
def breaches(request):
    last_check = (
        JobRun.objects.filter(job__in=CHECK_JOBS, outcome=JobOutcome.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return table_page(
        request,
        title="Limit breaches",
        queryset=selectors.breaches(request.user).order_by("status", "-opened_at", "-id"),
        filterset_class=BreachFilter,
        csv_name="limit-breaches",
        intro="Borrower limits and covenants found broken by the limit check (every 15 minutes and before "
        "the open): open while they last, resolved when a check no longer finds them. Open ones first.",
        empty="No breaches match. The limit check records one whenever a counterparty breaks a limit.",
        template="collateral/limit_breaches.html",
        extra={"last_check": last_check},
        columns=[
            Column("#", "pk", sort="id", numeric=True),
            Column(
                "Counterparty",
                "counterparty.code",
                sort="counterparty__code",
                link=lambda b: reverse("refdata:counterparty_detail", args=[b.counterparty.code]),
            ),
            Column("Kind", "kind", sort="kind"),
            Column("Asset", "asset.symbol"),
            Column(
                "Loan",
                "loan_id",
                link=lambda b: reverse("inventory:loan_detail", args=[b.loan_id]) if b.loan_id else None,
            ),
            FigureColumn("Found", "figure", numeric=True),
            FigureColumn("Limit", "limit_value", numeric=True, found=False),
            Column("Status", "status", sort="status", badge=True),
            Column("Opened", "opened_at", sort="opened_at"),
            Column("Last seen", "last_seen_at", sort="last_seen_at"),
            Column("Resolved", "resolved_at", sort="resolved_at"),
        ],
    )
