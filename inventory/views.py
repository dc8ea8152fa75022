"""Inventory pages: positions, availability, journals, the borrow book, a loan's page with its
actions, receipts and adjustments.

Desk roles see the pages; a trader sees the borrow book of their counterparties only (another
counterparty's loan is a 404). Forms validate and call one service; a refused action comes back as a
form error on the page (200, the form re-rendered with what was typed), never a 500.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.formatting import unpadded
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, csv_response, table_page
from borrowdesk.refdata.selectors import may_act_for
from inventory import selectors, services
from inventory.filters import JournalFilter, LoanFilter, PositionFilter
from inventory.forms import AdjustmentForm, RecallForm, ReceiptForm, RerateForm, ReturnForm
from inventory.models import Loan, LoanStatus, Rerate, RerateStatus


class _PositionRow:
    """A positions row (a dict from ``positions_by_account``) read like an object by the table."""

    def __init__(self, data: dict):
        self.__dict__.update(data)
        self.pk = f"{data['asset__symbol']}-{data['account__code']}"


@requires("inventory.view")
def positions(request):
    return table_page(
        request,
        title="Positions",
        queryset=selectors.positions_by_account(),
        filterset_class=PositionFilter,
        csv_name="positions",
        intro="Balances per asset and account, in the asset's units.",
        empty="No positions match. Record a receipt to bring inventory in.",
        columns=[
            Column("Asset", "asset__symbol", sort="asset__symbol"),
            Column(
                "Account",
                "account__code",
                sort="account__code",
                link=lambda r: reverse("refdata:account_detail", args=[r.account__code]),
            ),
            Column("Venue", "account__venue__code"),
            Column("Available", "available", sort="available", numeric=True),
            Column("Allocated", "allocated", sort="allocated", numeric=True),
            Column("On loan", "on_loan", sort="on_loan", numeric=True),
            Column("In transit", "in_transit", numeric=True),
        ],
        row_adapter=_PositionRow,
        actions=_ledger_actions(request.user),
    )


def _ledger_actions(user) -> list[dict[str, str]]:
    actions = []
    if allows(user, "inventory.receive"):
        actions.append({"label": "Record a receipt", "url": reverse("inventory:receipt")})
    if allows(user, "inventory.adjust"):
        actions.append({"label": "Adjust", "url": reverse("inventory:adjustment")})
    return actions


@requires("inventory.view")
def availability(request):
    rows = selectors.availability(request.GET.get("asset") or None)
    if request.GET.get("format") == "csv":
        return csv_response(
            "availability",
            ["Asset", "Available", "Allocated", "On loan", "Utilization"],
            ([r.asset, r.available, r.allocated, r.on_loan, r.utilization] for r in rows),
        )
    return render(request, "inventory/availability.html", {"rows": rows})


@requires("inventory.view")
def journals(request):
    return table_page(
        request,
        title="Journals",
        queryset=selectors.journals(),
        filterset_class=JournalFilter,
        csv_name="journals",
        intro="The append-only ledger, newest first: every event and its lines.",
        empty="No journals match these filters.",
        columns=[
            Column("#", "pk", sort="id", numeric=True),
            Column("When", "created_at"),
            Column("Kind", "kind", sort="kind"),
            Column("By", "created_by.username"),
            Column("Lines", "lines"),
            Column(
                "Loan",
                "loan_id",
                link=lambda j: reverse("inventory:loan_detail", args=[j.loan_id]) if j.loan_id else None,
            ),
            Column("From", "source_counterparty.code"),
            Column("Reference", "reference"),
            Column("Memo", "memo"),
        ],
        actions=_ledger_actions(request.user),
    )


LOAN_COLUMNS = [
    Column("#", "pk", sort="id", link=lambda r: reverse("inventory:loan_detail", args=[r.pk])),
    Column("Counterparty", "counterparty.code", sort="counterparty__code"),
    Column("Asset", "asset.symbol", sort="asset__symbol"),
    Column("Account", "account.code"),
    Column("Quantity", "quantity", numeric=True),
    Column("Open", "open_quantity", sort="open_quantity", numeric=True),
    Column("Rate (bps)", "rate_in_force_bps", numeric=True),
    Column("Status", "status", sort="status", badge=True),
    Column("Start", "start_date", sort="start_date"),
    Column("Maturity", "maturity_date", sort="maturity_date"),
    Column("Accrued fee", "accrued_fee", numeric=True),
    Column("Recalled", "open_recall_quantity", numeric=True),
]
# In the CSV the flags are columns; on the page they are badges beside each row.
LOAN_FLAG_COLUMNS = [Column("Buy-in", "buy_in"), Column("Past maturity", "is_past_maturity")]


def _loan_columns(user) -> list[Column]:
    """A trader does not see the firm's account a loan was delivered from."""
    if allows(user, "desk.internals.view"):
        return LOAN_COLUMNS
    return [c for c in LOAN_COLUMNS if c.path != "account.code"]


@requires("loans.view")
def loans(request):
    """The borrow book: desk roles see every loan, a trader the loans of their counterparties."""
    is_csv = request.GET.get("format") == "csv"
    return table_page(
        request,
        title="Borrow book",
        queryset=selectors.book(request.user),
        filterset_class=LoanFilter,
        csv_name="loans",
        intro=(
            "Fees accrue in the asset, at the rate in force, for each business date a loan is open at its "
            "end; a day is charged the morning after. Flags: a recall past due is for buy-in."
        ),
        empty="No loans match. Loans open when a borrow request is approved.",
        columns=_loan_columns(request.user) + (LOAN_FLAG_COLUMNS if is_csv else []),
        template="inventory/loans.html",
    )


# --- a loan's page and its actions ---------------------------------------------------------------


def _loan_or_404(user, pk: int) -> Loan:
    try:
        return selectors.loan_detail(user, pk)
    except Loan.DoesNotExist:
        raise Http404("No such loan.") from None


def _loan_page(request, loan: Loan, **forms):
    proposed = [r for r in loan.rerates.all() if r.status == RerateStatus.PROPOSED]
    may_operate = allows(request.user, "loans.operate")
    context = {
        "loan": loan,
        "return_form": ReturnForm(initial={"quantity": unpadded(loan.open_quantity)}),
        "recall_form": RecallForm(),
        "rerate_form": RerateForm(),
        "may_operate": may_operate,
        "may_rerate": may_operate and loan.status in (LoanStatus.ACTIVE, LoanStatus.PENDING_DELIVERY),
        "now": timezone.now(),
        "may_answer": bool(proposed) and may_act_for(request.user, loan.counterparty),
        "accruals": selectors.recent_accruals(loan),
        "internals": allows(request.user, "desk.internals.view"),  # the firm's source account
        "errors": [],
        **forms,
    }
    return render(request, "inventory/loan_detail.html", context)


@requires("loans.view")
def loan_detail(request, pk: int):
    return _loan_page(request, _loan_or_404(request.user, pk))


def _loan_action(request, pk: int, form_class, act, success: str):
    """Validate the form, call the service; success redirects to the loan, a refusal re-renders it."""
    loan = _loan_or_404(request.user, pk)  # scope first: out of scope is 404
    form = form_class(request.POST)
    if form.is_valid():
        try:
            act(loan, form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, success)
            return redirect("inventory:loan_detail", pk=loan.pk)
    name = {ReturnForm: "return_form", RecallForm: "recall_form", RerateForm: "rerate_form"}[form_class]
    return _loan_page(request, loan, **{name: form})


@requires("loans.operate")
@require_POST
def loan_return(request, pk: int):
    return _loan_action(
        request,
        pk,
        ReturnForm,
        lambda loan, d: services.return_loan(actor=request.user, loan=loan, quantity=d["quantity"]),
        "Return recorded.",
    )


@requires("loans.operate")
@require_POST
def loan_recall(request, pk: int):
    return _loan_action(
        request,
        pk,
        RecallForm,
        lambda loan, d: services.recall_loan(
            actor=request.user, loan=loan, quantity=d["quantity"], due_at=d["due_at"]
        ),
        "Recall issued.",
    )


@requires("loans.operate")
@require_POST
def loan_rerate(request, pk: int):
    return _loan_action(
        request,
        pk,
        RerateForm,
        lambda loan, d: services.propose_rerate(
            actor=request.user, loan=loan, rate_bps=d["rate_bps"], effective_date=d["effective_date"]
        ),
        "Rerate proposed to the borrower.",
    )


@requires("loans.answer_rerate")
@require_POST
def rerate_decide(request, pk: int, rerate_id: int, decision: str):
    """The borrower's trader accepts or rejects a proposed rerate."""
    if decision not in ("accept", "reject"):
        raise Http404
    loan = _loan_or_404(request.user, pk)
    rerate = Rerate.objects.filter(loan=loan, pk=rerate_id).first()
    if rerate is None:
        raise Http404("No such rerate on this loan.")
    try:
        services.decide_rerate(actor=request.user, rerate=rerate, accept=decision == "accept")
    except DomainError as error:
        return _loan_page(request, loan, errors=[error.detail])
    messages.success(request, f"Rerate {decision}ed.")
    return redirect("inventory:loan_detail", pk=loan.pk)


# --- receipts and adjustments --------------------------------------------------------------------


def _ledger_form(request, *, form_class, template: str, post, success: str):
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            journal = post(form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, success.format(journal=journal.pk))
            query = urlencode({"asset": form.cleaned_data["asset"].symbol})
            return redirect(f"{reverse('inventory:positions')}?{query}")
    return render(request, template, {"form": form})


@requires("inventory.receive")
def receipt(request):
    """Record inventory coming in from the firm or a lender (ops, treasury)."""
    return _ledger_form(
        request,
        form_class=ReceiptForm,
        template="inventory/receipt.html",
        post=lambda d: services.receive(actor=request.user, **d),
        success="Receipt recorded (journal #{journal}).",
    )


@requires("inventory.adjust")
def adjustment(request):
    """Correct an available balance with a reason (senior operations)."""
    return _ledger_form(
        request,
        form_class=AdjustmentForm,
        template="inventory/adjustment.html",
        post=lambda d: services.adjust(actor=request.user, **d),
        success="Adjustment recorded (journal #{journal}).",
    )
