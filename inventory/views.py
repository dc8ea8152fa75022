"""Inventory pages: positions, availability, journals, the borrow book, a loan's page, receipts."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from borrowdesk.access.roles import has_role
from borrowdesk.errors import DomainError
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, table_page
from inventory import selectors, services
from inventory.api import may_act_for
from inventory.forms import RecallForm, ReceiptForm, RerateForm, ReturnForm
from inventory.models import Loan, Rerate

DESK = ("ops", "ops_senior", "risk", "treasury", "manager", "auditor", "admin", "compliance")
BOOK = (*DESK, "trader")


def _require(user, roles) -> None:
    if not has_role(user, *roles):
        raise PermissionDenied


class _Row:
    """A dict row read like an object by the table helper."""

    def __init__(self, data: dict):
        self.__dict__.update(data)
        self.pk = f"{data.get('asset__symbol')}-{data.get('account__code')}"


@login_required
def positions(request):
    _require(request.user, DESK)
    rows = selectors.positions_by_account(asset_symbol=request.GET.get("asset") or None)

    return table_page(
        request,
        title="Positions",
        queryset=rows,
        csv_name="positions",
        intro="Balances per asset and account. Filter with ?asset=BTC.",
        columns=[
            Column("Asset", "asset__symbol"),
            Column("Account", "account__code"),
            Column("Venue", "account__venue__code"),
            Column("Available", "available", numeric=True),
            Column("Allocated", "allocated", numeric=True),
            Column("On loan", "on_loan", numeric=True),
            Column("In transit", "in_transit", numeric=True),
        ],
        row_adapter=_Row,
    )


@login_required
def availability(request):
    _require(request.user, DESK)
    rows = selectors.availability()
    return render(request, "inventory/availability.html", {"rows": rows})


@login_required
def journals(request):
    _require(request.user, DESK)
    rows = selectors.journals(
        asset_symbol=request.GET.get("asset") or None, kind=request.GET.get("kind") or None
    )
    return table_page(
        request,
        title="Journals",
        queryset=rows,
        csv_name="journals",
        intro="The append-only ledger. Filter with ?asset=BTC&kind=allocation.",
        columns=[
            Column("#", "pk"),
            Column("When", "created_at"),
            Column("Kind", "kind", badge=False),
            Column("By", "created_by.username"),
            Column("Lines", "lines"),
            Column("Loan", "loan_id"),
            Column("Reference", "reference"),
            Column("Memo", "memo"),
        ],
    )


@login_required
def loans(request):
    _require(request.user, BOOK)
    rows = selectors.book(request.user)
    if request.GET.get("status"):
        rows = rows.filter(status=request.GET["status"])
    if request.GET.get("counterparty"):
        rows = rows.filter(counterparty__code=request.GET["counterparty"])
    return table_page(
        request,
        title="Borrow book",
        queryset=rows,
        csv_name="loans",
        intro="Filter with ?status=active&counterparty=ACME.",
        empty="No loans yet.",
        columns=[
            Column("#", "pk", link=lambda r: reverse("inventory:loan_detail", args=[r.pk])),
            Column("Counterparty", "counterparty.code", sort="counterparty__code"),
            Column("Asset", "asset.symbol", sort="asset__symbol"),
            Column("Open", "open_quantity", numeric=True),
            Column("Quantity", "quantity", numeric=True),
            Column("Rate (bps)", "rate_bps", numeric=True),
            Column("Status", "status", badge=True),
            Column("Start", "start_date", sort="start_date"),
            Column("Maturity", "maturity_date"),
            Column("Accrued fee", "accrued_fee", numeric=True),
            Column("Recalled", "recalled_quantity", numeric=True),
            Column("Buy-in", "buy_in"),
            Column("Past maturity", "past_maturity"),
        ],
    )


def _loan(user, pk: int) -> Loan:
    try:
        return selectors.book(user).prefetch_related("recalls", "rerates").get(pk=pk)
    except Loan.DoesNotExist:
        raise Http404("No such loan.") from None


@login_required
def loan_detail(request, pk: int):
    _require(request.user, BOOK)
    loan = _loan(request.user, pk)
    context = {
        "loan": loan,
        "return_form": ReturnForm(initial={"quantity": loan.open_quantity}),
        "recall_form": RecallForm(),
        "rerate_form": RerateForm(),
        "may_operate": has_role(request.user, "ops", "ops_senior", "admin"),
        "may_answer": may_act_for(request.user, loan.counterparty),
        "accruals": loan.accruals.order_by("-business_date")[:30],
    }
    return render(request, "inventory/loan_detail.html", context)


def _loan_action(request, pk: int, form_class, action, success: str):
    loan = _loan(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            action(loan, form.cleaned_data)
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, success)
    else:
        messages.error(
            request, "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        )
    return redirect("inventory:loan_detail", pk=pk)


@login_required
@require_POST
def loan_return(request, pk: int):
    return _loan_action(
        request,
        pk,
        ReturnForm,
        lambda loan, d: services.return_loan(actor=request.user, loan=loan, quantity=d["quantity"]),
        "Return recorded.",
    )


@login_required
@require_POST
def loan_recall(request, pk: int):
    return _loan_action(
        request,
        pk,
        RecallForm,
        lambda loan, d: services.recall_loan(actor=request.user, loan=loan, **d),
        "Recall issued.",
    )


@login_required
@require_POST
def loan_rerate(request, pk: int):
    return _loan_action(
        request,
        pk,
        RerateForm,
        lambda loan, d: services.propose_rerate(actor=request.user, loan=loan, **d),
        "Rerate proposed to the borrower.",
    )


@login_required
@require_POST
def rerate_decide(request, pk: int, rerate_id: int, decision: str):
    loan = _loan(request.user, pk)
    rerate = Rerate.objects.filter(loan=loan, pk=rerate_id).first()
    if rerate is None or decision not in ("accept", "reject"):
        raise Http404
    try:
        services.decide_rerate(
            actor=request.user, rerate=rerate, accept=decision == "accept", may_act_for=may_act_for
        )
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Rerate {decision}ed.")
    return redirect("inventory:loan_detail", pk=pk)


@login_required
def receipt(request):
    """Record inventory coming in from the firm or a lender."""
    _require(request.user, ("ops", "ops_senior", "treasury", "admin"))
    form = ReceiptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            journal = services.receive(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Receipt recorded (journal #{journal.pk}).")
            return redirect("inventory:positions")
    return render(request, "inventory/receipt.html", {"form": form})
