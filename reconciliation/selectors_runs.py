"""Reads of runs and breaks for the pages, the API, the home pages and the health endpoint; each in a
fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from borrowdesk.business_day import business_date
from reconciliation.models_runs import Break, BreakActivity, ReconciliationRun, RunScope


def runs() -> QuerySet[ReconciliationRun]:
    return ReconciliationRun.objects.select_related("requested_by")


def breaks() -> QuerySet[Break]:
    """Every break with what a row shows (account, asset, owner, run), oldest first."""
    return Break.objects.select_related("account", "asset", "owner", "run", "resolved_by", "adjustment")


def break_timeline(brk: Break) -> QuerySet[BreakActivity]:
    return BreakActivity.objects.filter(brk=brk).select_related("by")


def pre_open_status(day: date | None = None) -> dict:
    """Did today's pre-open reconciliation (scope all) run, when, and how many breaks are open (all
    runs)? Two queries. For the home pages and ``/api/v1/health/``."""
    day = day or business_date()
    run = ReconciliationRun.objects.filter(business_date=day, scope=RunScope.ALL).first()
    open_breaks = Break.objects.filter(status__in=["open", "assigned"]).count()
    return {
        "business_date": day,
        "ran": bool(run and run.status == "finished"),
        "status": run.status if run else "not_run",
        "finished_at": run.finished_at if run else None,
        "run_id": run.pk if run else None,
        "open_breaks": open_breaks,
    }


_STATS_SQL = """
    SELECT
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - opened_at)),
        percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - opened_at)),
        count(*)
    FROM reconciliation_break
    WHERE status = 'resolved' AND resolved_at >= %s
"""


def break_statistics(days: int = 30) -> dict:
    """Ageing of the open breaks (buckets), resolution time (median, p95 in hours, by people, over the
    last ``days``) and break counts per account and run date over the last ``days``. Three queries."""
    now = timezone.now()
    since = business_date() - timedelta(days=days - 1)
    buckets = [("< 1 day", 0, 1), ("1–3 days", 1, 3), ("3–7 days", 3, 7), ("7+ days", 7, None)]
    open_qs = Break.objects.filter(status__in=["open", "assigned"])
    ageing_agg = {}
    for i, (_label, lo, hi) in enumerate(buckets):
        cond = Q(opened_at__lte=now - timedelta(days=lo))
        if hi is not None:
            cond &= Q(opened_at__gt=now - timedelta(days=hi))
        ageing_agg[f"b{i}"] = Count("pk", filter=cond)
    counted = open_qs.aggregate(**ageing_agg)
    ageing = {label: counted[f"b{i}"] for i, (label, _, _) in enumerate(buckets)}
    with connection.cursor() as cursor:
        cursor.execute(_STATS_SQL, [now - timedelta(days=days)])
        median, p95, resolved = cursor.fetchone()
    rows = (
        Break.objects.filter(run__business_date__gte=since)
        .values("run__business_date", "account__code")
        .annotate(n=Count("pk"))
        .order_by("run__business_date", "account__code")
    )
    dates = [since + timedelta(days=i) for i in range(days)]
    per_account: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        per_account[row["account__code"]][row["run__business_date"]] = row["n"]
    return {
        "ageing": [{"bucket": label, "open": ageing[label]} for label, _, _ in buckets],
        "resolution": {
            "resolved": resolved,
            "median_hours": None if median is None else Decimal(str(median / 3600)).quantize(Decimal("0.1")),
            "p95_hours": None if p95 is None else Decimal(str(p95 / 3600)).quantize(Decimal("0.1")),
        },
        "dates": dates,
        "per_account": {
            acct: [counts.get(d, 0) for d in dates] for acct, counts in sorted(per_account.items())
        },
    }


def held_accounts(day: date | None = None) -> dict:
    """What the pre-open gate holds today: {"enabled", "run_reason" (today's run not finished, or
    None), "accounts": [{code, reason, overridden_by}]} — the firm's accounts with aged open breaks, and
    every overridden account. Three queries; nothing when the gate is off."""
    from django.conf import settings

    if not settings.RECONCILIATION_GATE:
        return {"enabled": False, "run_reason": None, "accounts": []}
    from reconciliation.models_runs import GateOverride

    day = day or business_date()
    run = ReconciliationRun.objects.filter(business_date=day, scope=RunScope.ALL).only("status").first()
    run_reason = None
    if run is None or run.status != "finished":
        state = "has not run" if run is None else f"is {run.status}"
        run_reason = f"Today's pre-open reconciliation ({day:%Y-%m-%d}) {state}: every account is held."
    aged_before = timezone.now() - timedelta(hours=settings.RECONCILIATION_GATE_BREAK_AGE_HOURS)
    minimum = Decimal(settings.RECONCILIATION_GATE_BREAK_MIN_QUANTITY)
    aged = (
        Break.objects.filter(
            status__in=["open", "assigned"], opened_at__lt=aged_before, account__owner__isnull=True
        )
        .filter(Q(difference__isnull=True) | Q(difference__gt=minimum) | Q(difference__lt=-minimum))
        .values("account__code")
        .annotate(n=Count("pk"))
        .order_by("account__code")
    )
    overrides = {
        o.account.code: o
        for o in GateOverride.objects.filter(business_date=day).select_related("account", "by")
    }
    hours = settings.RECONCILIATION_GATE_BREAK_AGE_HOURS
    accounts = [
        {
            "code": row["account__code"],
            "reason": f"{row['n']} open break{'s' if row['n'] != 1 else ''} older than {hours} hours",
            "override": overrides.get(row["account__code"]),
        }
        for row in aged
    ]
    listed = {a["code"] for a in accounts}
    accounts += [
        {"code": code, "reason": o.held_because, "override": o}
        for code, o in sorted(overrides.items())
        if code not in listed
    ]
    return {"enabled": True, "run_reason": run_reason, "accounts": accounts}


def health_section() -> dict:
    """``/api/v1/health/``'s "reconciliation": did today's pre-open run finish, when, open breaks."""
    status = pre_open_status()
    return {
        "business_date": status["business_date"].isoformat(),
        "ran": status["ran"],
        "status": status["status"],
        "finished_at": status["finished_at"].isoformat() if status["finished_at"] else None,
        "open_breaks": status["open_breaks"],
    }
