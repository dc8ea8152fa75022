"""The KYC page: compliance sees every counterparty's KYC and sets it."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.middleware import sensitive_read
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.refdata.models import Counterparty
from compliance import services
from compliance.forms import KycForm


@sensitive_read
@requires("compliance.kyc.view")
def kyc(request):
    counterparties = Counterparty.objects.select_related("kyc", "kyc__updated_by").order_by("code")
    return render(
        request,
        "compliance/kyc.html",
        {
            "counterparties": counterparties,
            "may_edit": allows(request.user, "compliance.kyc.write"),
            "form": KycForm(),
        },
    )


@requires("compliance.kyc.write")
@require_POST
def set_kyc(request, code: str):
    counterparty = get_object_or_404(Counterparty, code=code)
    form = KycForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            f"{code}: " + "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
        )
        return redirect("compliance:kyc")
    try:
        profile = services.set_kyc(actor=request.user, counterparty=counterparty, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, f"{code}: {error.detail}")
    else:
        messages.success(request, f"KYC of {code} is now {profile.get_status_display().lower()}.")
    return redirect("compliance:kyc")
