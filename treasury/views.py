"""The settlement queue page: settle or fail the legs that move inventory."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.pages import Column, table_page
from treasury import selectors, services
from treasury.filters import SettlementFilter
from treasury.models import SettlementInstruction


@requires("settlements.view")
def settlements(request):
    may_settle = allows(request.user, "settlements.settle")
    return table_page(
        request,
        title="Settlement queue",
        queryset=selectors.settlements(),
        filterset_class=SettlementFilter,
        csv_name="settlements",
        template="treasury/settlements.html",
        extra={"may_settle": may_settle},
        empty="Nothing to settle. Approved loans put their deliveries here, pledges and releases their "
        "collateral legs.",
        columns=[
            Column("#", "pk", sort="id"),
            Column("Kind", "kind"),
            Column("Loan", "loan_id"),
            Column("Counterparty", "counterparty_code"),
            Column("Asset", "asset.symbol"),
            Column("Quantity", "quantity", numeric=True),
            Column("From", "from_account.code"),
            Column("To", "to_account.code"),
            Column("Status", "status", badge=True),
            Column("Due", "due_at", sort="due_at"),
            Column("Attempts", "attempts", numeric=True),
            Column("Last failure", "failure_reason"),
        ],
    )


def _act(request, pk: int, service, success: str, **kwargs):
    instruction = get_object_or_404(SettlementInstruction, pk=pk)
    try:
        service(actor=request.user, instruction=instruction, **kwargs)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, success.format(id=pk))
    return redirect(reverse("treasury:settlements"))


@requires("settlements.settle")
@require_POST
def settle(request, pk: int):
    return _act(request, pk, services.settle_instruction, "Settlement #{id} settled.")


@requires("settlements.settle")
@require_POST
def fail(request, pk: int):
    reason = request.POST.get("reason", "")
    return _act(request, pk, services.fail_instruction, "Settlement #{id} marked failed.", reason=reason)
