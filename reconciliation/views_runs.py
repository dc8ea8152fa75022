"""Pages of runs and breaks (part reconruns): the break queue, a break with its timeline and actions,
the runs (start one), statistics with a chart, the pre-open gate, and the reconciled statement of an
account and date (CSV and printable)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Q, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import ACTIONS, allows
from borrowdesk.charts import Chart, ChartColumn, chart_csv
from borrowdesk.errors import DomainError
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, csv_response, table_page
from borrowdesk.refdata.models import CustodyAccount
from inventory.models import Entry
from reconciliation import selectors_runs as selectors
from reconciliation.filters_runs import BreakFilter
from reconciliation.forms_runs import (
    AdjustForm,
    AssignForm,
    CommentForm,
    OverrideForm,
    ReconciledStatementForm,
    ResolveForm,
    RunForm,
)
from reconciliation.models import ExternalStatement
from reconciliation.models_runs import Break, ReconciliationRun, RunScope
from reconciliation.services.breaks import adjust_break, assign_break, comment_on_break, resolve_break
from reconciliation.services.gate import override_gate
from reconciliation.services.runs import request_run


def _break_link(b: Break) -> str:
    return reverse("reconciliation_runs:break_detail", args=[b.pk])


@requires("reconciliation.view")
def break_queue(request):
    """Open breaks first, oldest first; filters in the URL; CSV of the same rows."""
    status = selectors.pre_open_status()
    return table_page(
        request,
        title="Reconciliation breaks",
        queryset=selectors.breaks().order_by("status", "opened_at", "id"),
        filterset_class=BreakFilter,
        csv_name="reconciliation-breaks",
        intro="Differences between the book (as of each statement's time) and the custodians' latest "
        "statements. Each is owned until it is explained; a re-run closes the ones that went away.",
        empty="No breaks match. Breaks appear when a reconciliation run finds a difference.",
        template="reconciliation/break_queue.html",
        extra={"pre_open": status, "can_run": allows(request.user, "reconciliation.run")},
        columns=[
            Column("#", "pk", sort="id", numeric=True, link=_break_link),
            Column("Date", "run.business_date", sort="run__business_date"),
            Column("Account", "account.code", sort="account__code"),
            Column("Asset", "asset.symbol", sort="asset__symbol"),
            Column("Kind", "kind", sort="kind"),
            Column("Book", "internal_quantity", numeric=True),
            Column("Statement", "external_quantity", numeric=True),
            Column("Difference", "difference", sort="difference", numeric=True),
            Column("Status", "status", sort="status", badge=True),
            Column("Owner", "owner.username", sort="owner__username"),
            Column("Opened", "opened_at", sort="opened_at"),
            Column("Reason", "reason"),
        ],
    )


DONE = {"assign": "assigned", "comment": "comment added", "resolve": "resolved"}


def _workers():
    roles = ACTIONS["reconciliation.break.work"]
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=roles)
        .distinct()
        .order_by("username")
    )


@requires("reconciliation.view", POST="reconciliation.break.work")
def break_detail(request, pk: int):
    """One break: figures, timeline, and (for those who work breaks) assign, comment, resolve."""
    brk = selectors.breaks().filter(pk=pk).first()
    if brk is None:
        raise Http404("No such break.")
    forms = {
        "assign": AssignForm(owners=_workers(), prefix="assign"),
        "comment": CommentForm(prefix="comment"),
        "resolve": ResolveForm(prefix="resolve"),
    }
    status = 200
    if request.method == "POST":
        which = request.POST.get("action", "")
        if which not in forms:
            raise Http404("Unknown action.")
        form = (
            AssignForm(request.POST, owners=_workers(), prefix="assign")
            if which == "assign"
            else {"comment": CommentForm, "resolve": ResolveForm}[which](request.POST, prefix=which)
        )
        forms[which] = form
        if form.is_valid():
            data = form.cleaned_data
            try:
                if which == "assign":
                    assign_break(actor=request.user, brk=brk, owner=data["owner"])
                elif which == "comment":
                    comment_on_break(actor=request.user, brk=brk, text=data["text"])
                else:
                    resolve_break(actor=request.user, brk=brk, reason=data["reason"], text=data["text"])
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(
                    request,
                    f"Break #{brk.pk}: {DONE[which]}.",
                )
                return redirect(_break_link(brk))
        status = 200  # a form with errors is re-rendered (htmx does not swap a 4xx)
    return render(
        request,
        "reconciliation/break_detail.html",
        {
            "b": brk,
            "timeline": selectors.break_timeline(brk),
            "forms": forms,
            "adjust_form": AdjustForm(),
            "can_work": allows(request.user, "reconciliation.break.work") and brk.is_open,
            "can_adjust": allows(request.user, "reconciliation.break.adjust")
            and brk.is_open
            and brk.asset_id is not None
            and brk.account.owner_id is None,
        },
        status=status,
    )


@requires("reconciliation.break.adjust")
def break_adjust(request, pk: int):
    """A booking error's fix: the ledger adjustment (senior operations), linked to the break."""
    brk = selectors.breaks().filter(pk=pk).first()
    if brk is None:
        raise Http404("No such break.")
    form = AdjustForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            adjust_break(
                actor=request.user,
                brk=brk,
                text=form.cleaned_data["text"],
                quantity=form.cleaned_data["quantity"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request, f"Break #{brk.pk}: adjustment booked and the break resolved as a booking error."
            )
            return redirect(_break_link(brk))
    return render(request, "reconciliation/break_adjust.html", {"b": brk, "form": form})


@requires("reconciliation.view", POST="reconciliation.run")
def runs(request):
    """Runs, newest date first; start (or re-run) one."""
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = request_run(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Reconciliation of {run.business_date:%Y-%m-%d} ({run.scope}) queued.")
            return redirect("reconciliation_runs:runs")
    response = table_page(
        request,
        title="Reconciliation runs",
        queryset=selectors.runs().order_by("-business_date", "scope"),
        csv_name="reconciliation-runs",
        intro="One run per business date and scope; running it again updates its breaks. The daily "
        "pre-open run (scope all) starts before the desk opens.",
        empty="No run yet. Start one below, or wait for the pre-open run.",
        template="reconciliation/runs.html",
        extra={"form": form, "can_run": allows(request.user, "reconciliation.run")},
        columns=[
            Column("#", "pk", numeric=True),
            Column("Business date", "business_date", sort="business_date"),
            Column("Scope", "scope", sort="scope"),
            Column("Status", "status", sort="status", badge=True),
            Column("Requested by", "requested_by.username"),
            Column("Finished", "finished_at", sort="finished_at"),
            Column("Statements", "counts.statements", numeric=True),
            Column("Breaks found", "counts.found", numeric=True),
            Column("Open", "counts.open", numeric=True),
            Column("Auto-resolved", "counts.auto_resolved", numeric=True),
        ],
        row_adapter=_run_row,
    )
    if request.method == "POST":
        response.status_code = 200
    return response


class _RunRow:
    def __init__(self, run: ReconciliationRun) -> None:
        self._run = run
        self.counts = type(
            "Counts", (), {k: run.counts.get(k) for k in ("statements", "found", "open", "auto_resolved")}
        )

    def __getattr__(self, name):
        return getattr(self._run, name)


def _run_row(run):
    return _RunRow(run)


@requires("reconciliation.view")
def statistics(request):
    """Ageing of the open breaks, resolution time (median, p95) and break counts per account over time."""
    stats = selectors.break_statistics(days=30)
    accounts = list(stats["per_account"].items())[:8]  # the chart draws the first eight; the CSV has all
    counts_chart = Chart(
        key="breaks-per-account",
        title="Breaks per account and run date (last 30 days)",
        kind="line",
        unit="count",
        axis_label="Business date",
        labels=stats["dates"],
        columns=[
            ChartColumn(code, [Decimal(n) for n in values], "count", plot=True) for code, values in accounts
        ],
        empty="No breaks in the last 30 days.",
        newest_first=True,
        csv_name="breaks-per-account",
    )
    ageing_chart = Chart(
        key="ageing",
        title="Open breaks by age",
        kind="bar",
        unit="count",
        axis_label="Age",
        labels=[a["bucket"] for a in stats["ageing"]],
        columns=[
            ChartColumn("Open breaks", [Decimal(a["open"]) for a in stats["ageing"]], "count", plot=True)
        ],
        empty="No open breaks.",
        csv_name="breaks-ageing",
    )
    csv = chart_csv(request, [counts_chart, ageing_chart])
    if csv is not None:
        return csv
    return render(
        request,
        "reconciliation/statistics.html",
        {"stats": stats, "charts": [ageing_chart, counts_chart]},
    )


@requires("reconciliation.view", POST="reconciliation.gate.override")
def gate(request):
    """What the pre-open gate holds today and why; senior operations override an account with a reason."""
    form = OverrideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            override_gate(
                actor=request.user, account=form.cleaned_data["account"], reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Gate overridden for {form.cleaned_data['account'].code} today.")
            return redirect("reconciliation_runs:gate")
    return render(
        request,
        "reconciliation/gate.html",
        {
            "held": selectors.held_accounts(),
            "form": form,
            "can_override": allows(request.user, "reconciliation.gate.override"),
        },
    )


def _reconciled(account: CustodyAccount, day: date) -> dict:
    run = (
        ReconciliationRun.objects.filter(business_date=day)
        .filter(
            Q(scope=RunScope.ALL) | Q(scope=RunScope.COLLATERAL if account.owner_id else RunScope.INVENTORY)
        )
        .order_by("scope")  # "all" first
        .first()
    )
    cutoff = run.cutoff if run and run.cutoff else None
    statements = ExternalStatement.objects.filter(account=account)
    if cutoff is not None:
        statements = statements.filter(as_of__lte=cutoff)
    else:
        statements = statements.filter(business_date__lte=day)
    statement = statements.order_by("-as_of", "-id").first()
    buckets = ["pledged"] if account.owner_id else ["available", "allocated"]
    book: dict[int, Decimal] = {}
    symbols: dict[int, str] = {}
    if statement is not None:
        for row in (
            Entry.objects.filter(
                account=account, bucket__in=buckets, journal__created_at__lte=statement.as_of
            )
            .values("asset_id", "asset__symbol")
            .annotate(q=Sum("quantity"))
        ):
            book[row["asset_id"]], symbols[row["asset_id"]] = row["q"], row["asset__symbol"]
    lines = {}
    if statement is not None:
        for line in statement.lines.select_related("asset"):
            lines[line.asset_id], symbols[line.asset_id] = line.quantity, line.asset.symbol
    breaks = {}
    if run is not None:
        for b in selectors.breaks().filter(run=run, account=account):
            breaks[b.asset_id] = b
    rows = []
    for asset_id in sorted(
        set(book) | set(lines) | {k for k in breaks if k}, key=lambda a: symbols.get(a, "")
    ):
        internal, external = book.get(asset_id), lines.get(asset_id)
        if (internal or 0) == 0 and external is None and asset_id not in breaks:
            continue
        found = breaks.get(asset_id)
        rows.append(
            {
                "asset": symbols.get(asset_id) or (found.asset.symbol if found and found.asset else ""),
                "statement": external,
                "book": internal,
                "difference": (external or Decimal(0)) - (internal or Decimal(0)),
                "brk": found,
            }
        )
    return {"run": run, "statement": statement, "rows": rows, "gap": breaks.get(None)}


RECONCILED_HEADER = [
    "Account", "Business date", "Statement as of", "Asset", "Statement", "Book", "Difference",
    "Break", "Kind", "Status", "Reason", "Resolution", "Resolved by", "Resolved at", "Adjustment",
]  # fmt: skip


@requires("reconciliation.view")
def reconciled_statement(request):
    """The reconciled statement of one account for one business date: the statement, the book as of its
    time, the breaks and their resolutions. ``format=csv`` for the CSV; the page prints cleanly."""
    form = ReconciledStatementForm(request.GET or None)
    context: dict = {"form": form}
    if form.is_bound and form.is_valid():
        account, day = form.cleaned_data["account"], form.cleaned_data["business_date"]
        rec = _reconciled(account, day)
        if request.GET.get("format") == "csv":
            return csv_response(
                f"reconciled-{account.code}-{day:%Y-%m-%d}",
                RECONCILED_HEADER,
                (
                    [account.code, day, rec["statement"].as_of if rec["statement"] else None, r["asset"],
                     r["statement"], r["book"],
                     r["difference"], r["brk"].pk if r["brk"] else None, r["brk"].kind if r["brk"] else "",
                     r["brk"].status if r["brk"] else "", r["brk"].reason if r["brk"] else "",
                     r["brk"].resolution_text if r["brk"] else "",
                     r["brk"].resolved_by.username if r["brk"] and r["brk"].resolved_by else "",
                     r["brk"].resolved_at if r["brk"] else None, r["brk"].adjustment_id if r["brk"] else None]
                    for r in rec["rows"]
                ),
            )  # fmt: skip
        context.update(rec, account=account, day=day, query=request.GET.urlencode())
    elif form.is_bound:
        return render(request, "reconciliation/reconciled_statement.html", context, status=400)
    return render(request, "reconciliation/reconciled_statement.html", context)
