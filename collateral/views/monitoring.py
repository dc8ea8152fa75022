"""Concentration and expiries of pledged collateral: one page, three tables, a CSV of each.

Desk roles see every counterparty and the firm's book; a trader sees the counterparties they act for
and not the firm's book (the desk's own figures, ``desk.internals.view``). Each table is one query
(``collateral.selectors.monitoring``); the page shows at most ``PAGE_ROWS`` rows of a table (the most
concentrated, the soonest to expire) and its CSV has them all.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.pages import csv_response
from borrowdesk.refdata.models import Counterparty
from borrowdesk.refdata.selectors import counterparties_for_trader, is_trader_only
from collateral.forms_stress import ConcentrationFilter
from collateral.selectors import monitoring

PAGE_ROWS = 500


def _counterparty_ids(user, code: str) -> list[int] | None:
    """The counterparties the tables cover: a trader's own (narrowed to ``code``), or ``code``'s, or
    all (None). An unknown or out-of-scope code covers none."""
    if is_trader_only(user):
        scope = counterparties_for_trader(user)
        if code:
            scope = scope.filter(code=code)
        return list(scope.values_list("id", flat=True))
    if code:
        return list(Counterparty.objects.filter(code=code).values_list("id", flat=True))
    return None


def _csv(table: str, rows) -> object:
    if table == "counterparty":
        return csv_response(
            "concentration-by-counterparty",
            [
                "Counterparty",
                "Asset",
                "Quantity",
                "Mark (USD)",
                "Value (USD)",
                "Counterparty's collateral (USD)",
                "Share of counterparty (%)",
                "Above limit",
            ],
            (
                [
                    r.counterparty_code,
                    r.asset_symbol,
                    r.quantity,
                    r.mark,
                    r.value_usd,
                    r.counterparty_total_usd,
                    r.counterparty_share_pct,
                    r.over_counterparty_limit,
                ]
                for r in rows
            ),
        )
    if table == "firm":
        return csv_response(
            "concentration-firm",
            [
                "Asset",
                "Quantity",
                "Counterparties",
                "Mark (USD)",
                "Value (USD)",
                "Firm's book (USD)",
                "Share (%)",
                "Above limit",
            ],
            (
                [
                    r.asset_symbol,
                    r.quantity,
                    r.holders,
                    r.mark,
                    r.value_usd,
                    r.firm_total_usd,
                    r.share_pct,
                    r.over_limit,
                ]
                for r in rows
            ),
        )
    return csv_response(
        "collateral-expiries",
        [
            "Pledge",
            "Counterparty",
            "Asset",
            "Account",
            "Pledged",
            "Still held (at most)",
            "Expires on",
            "Days left",
            "Value (USD)",
            "Reference",
        ],
        (
            [
                r.pledge_id,
                r.counterparty_code,
                r.asset_symbol,
                r.account_code,
                r.pledged_quantity,
                r.held_quantity,
                r.expires_on,
                r.days_left,
                r.value_usd,
                r.reference,
            ]
            for r in rows
        ),
    )


@requires("collateral.view")
@require_safe
def concentration(request):
    form = ConcentrationFilter(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound and valid else {}
    ids = _counterparty_ids(request.user, (data.get("counterparty") or "").strip())
    asset = data.get("asset")
    show_firm = allows(request.user, "desk.internals.view")
    table = request.GET.get("table", "")
    wants_csv = request.GET.get("format") == "csv"
    if wants_csv and (
        table not in ("counterparty", "firm", "expiries") or (table == "firm" and not show_firm)
    ):
        raise Http404("This page has no such table.")
    if not valid:
        ids, asset = [], None  # a filter that does not parse shows its error and no rows
    limit = None if wants_csv else PAGE_ROWS + 1
    rows = {
        "counterparty": lambda: monitoring.concentration_rows(
            counterparty_ids=ids,
            asset_id=asset.pk if asset else None,
            flagged_only=bool(data.get("flagged")),
            limit=limit,
        ),
        "firm": lambda: (
            monitoring.firm_concentration_rows(flagged_only=bool(data.get("flagged"))) if show_firm else []
        ),
        "expiries": lambda: monitoring.expiry_rows(counterparty_ids=ids, days=data.get("days"), limit=limit),
    }
    if wants_csv:
        return _csv(table, rows[table]())
    concentrated, expiring = rows["counterparty"](), rows["expiries"]()
    firm = rows["firm"]()
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    return render(
        request,
        "collateral/concentration.html",
        {
            "form": form,
            "concentrated": concentrated[:PAGE_ROWS],
            "concentrated_more": len(concentrated) > PAGE_ROWS,
            "firm": firm,
            "show_firm": show_firm,
            "expiring": expiring[:PAGE_ROWS],
            "expiring_more": len(expiring) > PAGE_ROWS,
            "counterparty_limit": monitoring.counterparty_limit_pct(),
            "firm_limit": monitoring.firm_limit_pct(),
            "days": data.get("days") if data.get("days") is not None else monitoring.expiry_warning_days(),
            "query": query.urlencode(),
            "no_mark": [r.asset_symbol for r in firm if r.value_usd is None],
        },
        status=200 if valid else 400,
    )


@requires("collateral.view")
@require_safe
def expiries(request):
    """The expiries table lives on the concentration page (the risk home page links here)."""
    return redirect(f"{reverse('collateral:concentration')}#expiries")
