"""Pages: travel-rule messages (list with a status filter; a message with its payload, its errors and
compliance's actions; the JSON export) and regulator requests (the log with overdue flags, a request
with its evidence, response and actions)."""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from borrowdesk import filecheck
from borrowdesk.access.declared import requires
from borrowdesk.access.middleware import sensitive_read
from borrowdesk.access.policy import allows
from borrowdesk.errors import DomainError
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, table_page
from borrowdesk.uploads import sent_name
from compliance.regulator import services as regulator_services
from compliance.regulator.api import evidence_download
from compliance.regulator.models import RegulatorEvidence, RegulatorRequest
from compliance.travel_rule import selectors, services
from compliance.travel_rule.api import export_response
from compliance.travel_rule.filters import RegulatorRequestFilter, TravelRuleMessageFilter
from compliance.travel_rule.models import TravelRuleMessage


def _message_link(message) -> str:
    return reverse("compliance:travel_rule_detail", args=[message.pk])


def _get_message(pk: int) -> TravelRuleMessage:
    message = selectors.messages().filter(pk=pk).first()
    if message is None:
        raise Http404("No such travel-rule message.")
    return message


@requires("compliance.travel_rule.view")
def travel_rule_list(request):
    """Every travel-rule message, newest first; filter by status, leg, counterparty, validity."""
    return table_page(
        request,
        title="Travel-rule messages",
        queryset=selectors.messages(),
        filterset_class=TravelRuleMessageFilter,
        csv_name="travel-rule-messages",
        empty="No travel-rule message yet: one is built for each settlement leg when it is settled.",
        intro="An IVMS101 message per settlement leg at or above its counterparty's threshold (1,000 USD; "
        "0 for EU counterparties). A leg without a valid one cannot settle.",
        columns=[
            Column("Message", "pk", sort="id", numeric=True, link=_message_link),
            Column("Subject", "subject_kind"),
            Column("Leg / transfer", "subject_id", sort="subject_id", numeric=True),
            Column("Counterparty", "counterparty.code", sort="counterparty__code"),
            Column("Direction", "direction"),
            Column("Asset", "asset.symbol"),
            Column("Amount", "amount", numeric=True),
            Column("Value (USD)", "amount_usd", sort="amount_usd", numeric=True, usd=True),
            Column("Threshold (USD)", "threshold_usd", numeric=True, usd=True),
            Column("Status", "status", sort="status", badge=True),
            Column("Valid", "is_valid"),
            Column("Current", "is_current"),
            Column("Built", "created_at", sort="created_at"),
        ],
    )


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


@requires("compliance.travel_rule.view")
def travel_rule_detail(request, pk: int):
    message = _get_message(pk)
    history = selectors.messages().filter(subject_kind=message.subject_kind, subject_id=message.subject_id)
    return render(
        request,
        "compliance/travel_rule_detail.html",
        {
            "message": message,
            "payload_json": json.dumps(message.payload, indent=2, ensure_ascii=False),
            "history": history,
            "may_work": allows(request.user, "compliance.travel_rule.work"),
            "reject_form": RejectForm(),
        },
    )


@requires("compliance.travel_rule.view")
def travel_rule_export(request, pk: int):
    return export_response(_get_message(pk))


_ACTIONS = {
    "rebuild": lambda actor, message, post: services.rebuild_message(actor=actor, message=message),
    "send": lambda actor, message, post: services.send_message(actor=actor, message=message),
    "acknowledge": lambda actor, message, post: services.record_response(
        actor=actor, message=message, accepted=True
    ),
    "reject": lambda actor, message, post: services.record_response(
        actor=actor, message=message, accepted=False, reason=post.get("reason", "")
    ),
}
_DONE = {
    "rebuild": "rebuilt from the data on file",
    "send": "marked sent",
    "acknowledge": "acknowledged",
    "reject": "rejected",
}


@requires("compliance.travel_rule.work")
@require_POST
def travel_rule_action(request, pk: int, verb: str):
    if verb not in _ACTIONS:
        raise Http404("No such action.")
    message = _get_message(pk)
    try:
        result = _ACTIONS[verb](request.user, message, request.POST)
    except DomainError as error:
        flash.error(request, error.detail)
        return redirect("compliance:travel_rule_detail", pk=message.pk)
    flash.success(request, f"Message {message.pk} {_DONE[verb]}.")
    return redirect("compliance:travel_rule_detail", pk=result.pk)


# --- regulator requests ---------------------------------------------------------------------------


def _request_link(req) -> str:
    return reverse("compliance:regulator_detail", args=[req.pk])


class _Overdue:
    """A list row with its overdue flag as a word (a badge on the page)."""

    def __init__(self, req: RegulatorRequest):
        self._req = req

    def __getattr__(self, name):
        return getattr(self._req, name)

    @property
    def flag(self) -> str:
        return "overdue" if self._req.is_overdue else ""


@requires("compliance.regulator.view")
def regulator_list(request):
    """The regulator request log: what is due when, who owns it, overdue ones flagged."""
    actions = []
    if allows(request.user, "compliance.regulator.work"):
        actions.append({"label": "Log a request", "url": reverse("compliance:regulator_new")})
    return table_page(
        request,
        title="Regulator requests",
        queryset=selectors.regulator_requests(),
        filterset_class=RegulatorRequestFilter,
        csv_name="regulator-requests",
        empty="No regulator request logged. Log one when it arrives; a drill rehearses a response.",
        intro="Outstanding requests get a reminder each business date from "
        "the days before they are due; overdue ones are flagged.",
        actions=actions,
        row_adapter=_Overdue,
        columns=[
            Column("Request", "pk", sort="id", numeric=True, link=_request_link),
            Column("Regulator", "regulator", sort="regulator"),
            Column("Subject", "subject"),
            Column("Received", "received_at", sort="received_at"),
            Column("Due", "due_at", sort="due_at"),
            Column("Status", "status", sort="status", badge=True),
            Column("Flag", "flag", badge=True),
            Column("Drill", "is_drill", sort="is_drill"),
            Column("Owner", "owner.username"),
            Column("Evidence", "evidence_count", numeric=True),
        ],
    )


def _local_input(value):
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


class RegulatorRequestForm(forms.Form):
    regulator = forms.CharField(max_length=120)
    reference = forms.CharField(max_length=120, required=False)
    subject = forms.CharField(max_length=300)
    details = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3}))
    received_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    due_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    is_drill = forms.BooleanField(required=False, label="A drill (rehearsal)")


@requires("compliance.regulator.work")
def regulator_new(request):
    if request.method == "POST":
        form = RegulatorRequestForm(request.POST)
        if form.is_valid():
            try:
                created = regulator_services.log_request(
                    actor=request.user, owner=request.user, **form.cleaned_data
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                flash.success(
                    request,
                    f"Request {created.pk} logged, due {timezone.localtime(created.due_at):%Y-%m-%d %H:%M}.",
                )
                return redirect("compliance:regulator_detail", pk=created.pk)
    else:
        now = timezone.now()
        form = RegulatorRequestForm(
            initial={"received_at": _local_input(now), "due_at": _local_input(now + timedelta(days=10))}
        )
    for field in form.fields.values():
        css = (
            "form-check-input"
            if isinstance(field.widget, forms.CheckboxInput)
            else "form-control form-control-sm"
        )
        field.widget.attrs["class"] = css
    return render(request, "compliance/regulator_new.html", {"form": form})


def _get_request(pk: int) -> RegulatorRequest:
    found = (
        selectors.regulator_requests()
        .prefetch_related("evidence__uploaded_by", "reminders")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404("No such regulator request.")
    return found


@requires("compliance.regulator.view")
def regulator_detail(request, pk: int):
    req = _get_request(pk)
    return render(
        request,
        "compliance/regulator_detail.html",
        {
            "req": req,
            "may_work": allows(request.user, "compliance.regulator.work"),
            "owners": regulator_services.users_for_owner(),
            "max_bytes": regulator_services.settings.REGULATOR_EVIDENCE_MAX_BYTES,
        },
    )


@requires("compliance.regulator.work")
@require_POST
def regulator_action(request, pk: int, verb: str):
    req = _get_request(pk)
    try:
        if verb == "assign":
            from django.contrib.auth import get_user_model

            owner = get_user_model().objects.filter(pk=request.POST.get("owner") or 0, is_active=True).first()
            if owner is None:
                raise DomainError("Choose the officer who owns it.")
            regulator_services.assign_request(actor=request.user, request=req, owner=owner)
            done = f"owned by {owner.username}"
        elif verb == "respond":
            regulator_services.respond_to_request(
                actor=request.user, request=req, response_text=request.POST.get("response_text", "")
            )
            done = "responded"
        elif verb == "close":
            regulator_services.close_request(actor=request.user, request=req)
            done = "closed"
        elif verb == "evidence":
            upload = request.FILES.get("file")
            if upload is None:
                raise DomainError("Choose a file to attach.")
            limit = regulator_services.settings.REGULATOR_EVIDENCE_MAX_BYTES
            if upload.size > limit:
                raise DomainError(f"The file is larger than {limit:,} bytes.")
            regulator_services.attach_evidence(
                actor=request.user,
                request=req,
                name=sent_name(request, upload),  # with its path, if the client sent one: refused
                content=filecheck.read_upload(upload, limit),
            )
            done = f"has new evidence ({regulator_services.clean_name(upload.name)})"
        else:
            raise Http404("No such action.")
    except DomainError as error:
        flash.error(request, error.detail)
    else:
        flash.success(request, f"Request {req.pk} {done}.")
    return redirect("compliance:regulator_detail", pk=req.pk)


@sensitive_read
@requires("compliance.regulator.view")
def regulator_evidence(request, pk: int, evidence_id: int):
    found = RegulatorEvidence.objects.filter(request_id=pk, pk=evidence_id).first()
    if found is None:
        raise Http404("No such evidence file.")
    return evidence_download(found)
