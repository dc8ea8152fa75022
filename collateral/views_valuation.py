"""Pages of coverage, margin calls and releases.

- Coverage: every counterparty's state as the revaluation stored it (every five minutes and after
  every new price), sortable, filterable by state, state colours as badges, CSV.
- Margin calls: the queue (escalated, then open by due time, then closed), and a call's page where
  risk notes, cancels or escalates it.
- Release (ops): a form that shows the coverage before and after, and refuses below the required level
  with the service's sentence.

A trader sees their counterparties only (another's call is a 404). Forms call one service; a refusal
comes back on the page as a form error (200, the form re-rendered), never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.formatting import ratio_pct, unpadded
from borrowdesk.forms import add_domain_error
from borrowdesk.operations.models import JobOutcome, JobRun
from borrowdesk.pages import Column, table_page
from collateral.filters_valuation import CoverageFilter, MarginCallFilter
from collateral.forms_valuation import CancelForm, EscalateForm, NoteForm, ReleaseForm
from collateral.models import OPEN_CALL_STATUSES, MarginCall, MarginCallStatus
from collateral.selectors.coverage import coverage_page_queryset
from collateral.selectors.margin_calls import margin_call, margin_calls
from collateral.services import valuation as services


def _call_link(call_id) -> str:
    return reverse("collateral:margin_call_detail", args=[call_id]) if call_id else ""


def _risk_link(code: str) -> str:
    """The counterparty's risk page (loans, collateral, calls, limits): where risk goes from a row."""
    return reverse("collateral:counterparty_risk", args=[code])


COVERAGE_COLUMNS = [
    Column(
        "Counterparty",
        "counterparty.code",
        sort="counterparty__code",
        link=lambda r: _risk_link(r.counterparty.code),
    ),
    Column("State", "state", sort="state", badge=True),
    Column("Exposure", "exposure_usd", sort="exposure_usd", numeric=True, usd=True),
    Column(
        "Collateral value",
        "collateral_value_usd",
        sort="collateral_value_usd",
        numeric=True,
        usd=True,
        wrap_label=True,
    ),
    Column("Coverage", "coverage_ratio", sort="coverage_ratio", numeric=True, ratio=True),
    Column("Required", "required_ratio", numeric=True, ratio=True),
    Column("Shortfall", "shortfall_usd", sort="shortfall_usd", numeric=True, usd=True),
    Column(
        "Open call", "open_call_amount_usd", numeric=True, usd=True, link=lambda r: _call_link(r.open_call_id)
    ),
    Column("Call due", "open_call_due_at", nowrap=True),
    Column("Default flag", "default_flagged_at", sort="default_flagged_at", wrap_label=True),
    Column("Under review because", "review_reason", wrap_label=True),
]


@requires("collateral.view")
def coverage(request):
    """Each counterparty's coverage state as last revalued; a trader sees their counterparties."""
    last_run = (
        JobRun.objects.filter(job="collateral.revalue", outcome=JobOutcome.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    actions = []
    if allows(request.user, "collateral.pledge"):
        actions.append({"label": "Release collateral", "url": reverse("collateral:release")})
    return table_page(
        request,
        title="Coverage",
        queryset=coverage_page_queryset(request.user),
        filterset_class=CoverageFilter,
        csv_name="coverage",
        intro=(
            "Collateral value after haircuts against exposure (open loans at the mark), per counterparty, "
            "as the revaluation left it: every five minutes and after every new price. Levels: the "
            "counterparty's agreement, else the desk's defaults. Under review: a mark missing, stale or "
            "disputed; no margin call is made on it."
        ),
        empty="No counterparty has loans or collateral yet.",
        columns=COVERAGE_COLUMNS,
        actions=actions,
        template="collateral/coverage.html",
        extra={"last_run": last_run},
    )


MARGIN_CALL_COLUMNS = [
    Column("#", "pk", sort="id", link=lambda r: _call_link(r.pk)),
    Column(
        "Counterparty",
        "counterparty.code",
        sort="counterparty__code",
        link=lambda r: _risk_link(r.counterparty.code),
    ),
    Column("Status", "status", sort="status", badge=True),
    Column("Top-up", "amount_usd", sort="amount_usd", numeric=True, usd=True),
    Column("First asked", "initial_amount_usd", numeric=True, usd=True),
    Column("Coverage", "coverage_ratio", numeric=True, ratio=True),
    Column("Required", "required_ratio", numeric=True, ratio=True),
    Column("Issued", "issued_at", sort="issued_at", nowrap=True),
    Column("Due", "due_at", sort="due_at", nowrap=True),
    Column("Past due", "is_past_due"),
    Column("Closed", "closed_at"),
    Column("Note", "note"),
]


@requires("collateral.view")
def margin_call_list(request):
    """The margin call queue: escalated first, then open by due time, then closed ones."""
    return table_page(
        request,
        title="Margin calls",
        queryset=margin_calls(request.user),
        filterset_class=MarginCallFilter,
        csv_name="margin-calls",
        intro=(
            "A call asks for the top-up that brings coverage back to the required level. The revaluation "
            "updates it, meets it when coverage recovers, and escalates it when it is past due."
        ),
        empty="No margin calls. One is issued when a counterparty's coverage falls below its call level.",
        columns=MARGIN_CALL_COLUMNS,
    )


def _call_or_404(user, pk: int) -> MarginCall:
    try:
        return margin_call(user, pk)
    except MarginCall.DoesNotExist:
        raise Http404("No such margin call.") from None


def _call_page(request, call: MarginCall, **forms):
    may_operate = allows(request.user, "collateral.margin_call.operate")
    context = {
        "call": call,
        "is_open": call.status in OPEN_CALL_STATUSES,
        "may_operate": may_operate,
        "may_escalate": may_operate and call.status == MarginCallStatus.OPEN,
        "note_form": NoteForm(),
        "cancel_form": CancelForm(),
        "escalate_form": EscalateForm(),
        "errors": [],
        **forms,
    }
    return render(request, "collateral/margin_call_detail.html", context)


@requires("collateral.view")
def margin_call_detail(request, pk: int):
    return _call_page(request, _call_or_404(request.user, pk))


def _call_action(request, pk: int, form_class, act, success: str):
    call = _call_or_404(request.user, pk)  # scope first: out of scope is 404
    form = form_class(request.POST)
    errors: list[str] = []
    if form.is_valid():
        try:
            act(call, form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
            errors.append(error.detail)  # shown above the page: the form may not be offered any more
            call = _call_or_404(request.user, pk)
        else:
            messages.success(request, success)
            return redirect("collateral:margin_call_detail", pk=call.pk)
    name = {NoteForm: "note_form", CancelForm: "cancel_form", EscalateForm: "escalate_form"}[form_class]
    return _call_page(request, call, errors=errors, **{name: form})


@requires("collateral.margin_call.operate")
@require_POST
def margin_call_note(request, pk: int):
    return _call_action(
        request,
        pk,
        NoteForm,
        lambda call, d: services.add_note(actor=request.user, call=call, text=d["text"]),
        "Note recorded.",
    )


@requires("collateral.margin_call.operate")
@require_POST
def margin_call_cancel(request, pk: int):
    return _call_action(
        request,
        pk,
        CancelForm,
        lambda call, d: services.cancel_margin_call(actor=request.user, call=call, reason=d["reason"]),
        "Margin call cancelled.",
    )


@requires("collateral.margin_call.operate")
@require_POST
def margin_call_escalate(request, pk: int):
    return _call_action(
        request,
        pk,
        EscalateForm,
        lambda call, d: services.escalate_margin_call(actor=request.user, call=call, reason=d["reason"]),
        "Margin call escalated.",
    )


@requires("collateral.pledge")
def release(request):
    """Release pledged collateral (ops): preview the coverage after, then release; refused below the
    required level with the figures."""
    form = ReleaseForm(request.POST or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if "preview" in request.POST:
                before, after = services.preview_release(
                    counterparty=d["counterparty"],
                    asset=d["asset"],
                    account=d["account"],
                    quantity=d["quantity"],
                )
                preview = {"before": before, "after": after, "quantity": d["quantity"], "asset": d["asset"]}
            else:
                done = services.release_collateral(actor=request.user, **d)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if preview is None:
                after_text = (
                    f"coverage after: {ratio_pct(done.coverage_after)}"
                    if done.coverage_after is not None
                    else "no open loans"
                )
                messages.success(
                    request,
                    f"Released {unpadded(d['quantity'])} {d['asset'].symbol} to {d['counterparty'].code} "
                    f"({after_text}).",
                )
                return redirect(f"{reverse('collateral:coverage')}?counterparty={d['counterparty'].code}")
    return render(request, "collateral/release_form.html", {"form": form, "preview": preview})
