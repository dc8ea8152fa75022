"""Case pages: the compliance home (what breaches its SLA today), the team queue and my cases with SLA
timers and filters, a case with its timeline and the actions on it (htmx for notes), the backlog and
ageing summary with its chart, and attachment downloads (logged)."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from borrowdesk.access.declared import requires
from borrowdesk.access.middleware import sensitive_read
from borrowdesk.access.policy import allows
from borrowdesk.charts import Chart, ChartColumn, chart_csv
from borrowdesk.errors import DomainError
from borrowdesk.formatting import duration
from borrowdesk.forms import add_domain_error
from borrowdesk.pages import Column, table_page
from borrowdesk.refdata.models import Counterparty
from borrowdesk.uploads import sent_name
from compliance.cases import selectors, services, uploads
from compliance.cases.api import attachment_response
from compliance.cases.filters import CaseFilter
from compliance.cases.forms import (
    AssignForm,
    AttachForm,
    CaseForm,
    CloseForm,
    NoteForm,
    OptionalReasonForm,
    ReasonForm,
)
from compliance.cases.models import Case, CaseStatus

HOME_ROWS = 25


def sla_text(case: Case, now: datetime | None = None) -> str:
    """The SLA timer as the desk reads it: "Overdue by 3 h 5 min", "Due in 2 d 4 h", or "Closed"."""
    if case.status == CaseStatus.CLOSED:
        return "Closed"
    now = now or timezone.now()
    left = case.sla_due_at - now
    # Each figure stays with its unit on a narrow screen ("2 d", not "2" above "d").
    span = duration(left).replace(" ", "\u00a0")
    return f"Overdue by {span}" if left.total_seconds() <= 0 else f"Due in {span}"


def _with_timer(now: datetime):
    def adapt(case: Case) -> Case:
        case.sla_timer = sla_text(case, now)  # type: ignore[attr-defined]  # shown beside the row
        return case

    return adapt


def _case_link(case: Case) -> str:
    return reverse("compliance:case_detail", args=[case.pk])


QUEUE_COLUMNS = [
    Column("Case", "pk", sort="id", link=_case_link),
    Column("Kind", "kind", sort="kind"),
    Column("Subject", "subject", link=_case_link),
    Column("Counterparty", "counterparty.code", sort="counterparty__code"),
    Column("Priority", "priority", sort="priority", badge=True),
    Column("Status", "status", sort="status", badge=True),
    Column("Assignee", "assignee.username", sort="assignee__username"),
    Column("SLA due", "sla_due_at", sort="sla_due_at", nowrap=True),
    Column("SLA", "sla_timer", nowrap=True),
]


def _queue_actions(request) -> list[dict[str, str]]:
    actions = [{"label": "Backlog", "url": reverse("compliance:case_backlog")}]
    if allows(request.user, "compliance.case.work"):
        actions.insert(0, {"label": "Open a case", "url": reverse("compliance:case_new")})
    return actions


@requires("compliance.case.view")
def case_queue(request):
    """Every case the user may see (a team's cases only to its members), open ones first, soonest due
    first, with the SLA timer; filters in the URL."""
    now = timezone.now()
    return table_page(
        request,
        title="Case queue",
        queryset=selectors.case_list(request.user, now=now),
        filterset_class=CaseFilter,
        csv_name="compliance-cases",
        empty="No cases. Screening, AML rules, KYC reviews and the travel rule open them; or open one here.",
        intro="SLA times are in the desk's time zone. Overdue cases are flagged every 15 minutes.",
        actions=_queue_actions(request),
        columns=QUEUE_COLUMNS,
        row_adapter=_with_timer(now),
    )


@requires("compliance.case.work")
def my_cases(request):
    """The cases assigned to me, open ones first."""
    now = timezone.now()
    return table_page(
        request,
        title="My cases",
        queryset=selectors.case_list(request.user, now=now).filter(assignee=request.user),
        filterset_class=CaseFilter,
        csv_name="my-compliance-cases",
        empty="No case is assigned to you. Take one from the case queue.",
        actions=[{"label": "Case queue", "url": reverse("compliance:cases")}, *_queue_actions(request)],
        columns=[c for c in QUEUE_COLUMNS if c.label != "Assignee"],
        row_adapter=_with_timer(now),
    )


@requires("compliance.case.view")
def compliance_home(request):
    """Compliance's home: the cases whose SLA runs out before today's business date ends (or has),
    the backlog in figures, and the way to every compliance page."""
    now = timezone.now()
    breaching = list(selectors.breaching_today(request.user, now=now)[: HOME_ROWS + 1])
    for case in breaching:
        case.sla_timer = sla_text(case, now)  # type: ignore[attr-defined]  # shown beside the row
    backlog = selectors.backlog(request.user, now=now)
    return render(
        request,
        "compliance/cases/home.html",
        {
            "breaching": breaching[:HOME_ROWS],
            "more": len(breaching) > HOME_ROWS,
            "backlog": backlog,
            "open_total": sum(backlog.totals),
            "by_kind": [
                (label, sum(backlog.counts[kind]), backlog.overdue[kind]) for kind, label in backlog.kinds
            ],
            "overdue_total": sum(backlog.overdue.values()),
            "may_work": allows(request.user, "compliance.case.work"),
            # Travel rule and regulator requests (part "travelrule"): what blocks legs, what is overdue.
            "filings": _filings(request.user),
        },
    )


def _filings(user) -> dict | None:
    from compliance.travel_rule.selectors import blocking_messages, regulator_summary

    if not allows(user, "compliance.regulator.view"):
        return None
    return {"blocking": blocking_messages().count(), **regulator_summary()}


def backlog_chart(backlog: selectors.Backlog) -> Chart:
    return Chart(
        key="ageing",
        title="Open cases by kind and age",
        kind="bar",
        unit="count",
        axis_label="Kind",
        labels=[label for _, label in backlog.kinds],
        columns=[
            *(
                ChartColumn(
                    bucket, [backlog.counts[kind][i] for kind, _ in backlog.kinds], "count", plot=True
                )
                for i, bucket in enumerate(backlog.buckets)
            ),
            ChartColumn("Overdue", [backlog.overdue[kind] for kind, _ in backlog.kinds], "count"),
        ],
        empty="No open case.",
        note="Age since the case was opened. Overdue: past its SLA due time.",
        csv_name="case-ageing",
    )


@requires("compliance.case.view")
def case_backlog(request):
    """The backlog and its ageing: open cases by kind × age bucket (chart and table), by status."""
    backlog = selectors.backlog(request.user)
    chart = backlog_chart(backlog)
    csv = chart_csv(request, [chart])
    if csv is not None:
        return csv
    statuses = [CaseStatus.OPEN, CaseStatus.IN_REVIEW, CaseStatus.ESCALATED]
    status_rows = [
        {
            "kind": kind,
            "label": label,
            "counts": [backlog.by_status[kind][s] for s in statuses],
            "overdue": backlog.overdue[kind],
        }
        for kind, label in backlog.kinds
    ]
    return render(
        request,
        "compliance/cases/backlog.html",
        {"backlog": backlog, "chart": chart, "status_rows": status_rows},
    )


@requires("compliance.case.work")
def case_new(request):
    """Open a case by hand (or add to the open one of that kind for the counterparty)."""
    form = CaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        counterparty = None
        if data["counterparty"]:
            counterparty = Counterparty.objects.filter(code=data["counterparty"].strip()).first()
            if counterparty is None:
                form.add_error("counterparty", "Unknown counterparty.")
        if not form.errors:
            try:
                case = services.create_case(
                    actor=request.user,
                    kind=data["kind"],
                    subject=data["subject"],
                    counterparty=counterparty,
                    priority=data["priority"],
                    detail=data["detail"],
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, f"Case {case.pk} is open.")
                return redirect("compliance:case_detail", pk=case.pk)
    return render(request, "compliance/cases/new.html", {"form": form})


def _visible(request, pk: int) -> Case:
    try:
        return selectors.case_detail(request.user, pk)
    except Case.DoesNotExist:
        raise Http404("No such case.") from None


def _detail_context(request, case: Case, **forms) -> dict:
    user = request.user
    may_work = allows(user, "compliance.case.work") and not case.is_closed
    is_proposer = case.closure_proposed_by_id == user.pk
    workers = {u.pk for u in case.worked_by.all()}
    may_approve = (
        allows(user, "compliance.case.approve_closure")
        and case.closure_proposed_by_id is not None
        and not case.is_closed
    )
    # Whether this user is barred from approving (the rule is the services'; this only explains it).
    barred = (
        is_proposer or case.escalated_by_id == user.pk or case.assignee_id == user.pk or user.pk in workers
    )
    return {
        "case": case,
        "sla_timer": sla_text(case),
        "events": list(case.events.all()),
        "attachments": list(case.attachments.all()),
        "officers": selectors.case_officers() if may_work else [],
        "may_work": may_work,
        "may_close": allows(user, "compliance.case.close") and not case.is_closed,
        "may_approve": may_approve,
        "approve_barred": barred,
        "is_proposer": is_proposer,
        "four_eyes_note": _four_eyes_note(case),
        "assign_form": forms.get("assign_form") or AssignForm(initial={"user": user.username}),
        "note_form": forms.get("note_form") or NoteForm(),
        "attach_form": forms.get("attach_form") or AttachForm(),
        "escalate_form": forms.get("escalate_form") or ReasonForm(),
        "close_form": forms.get("close_form") or CloseForm(),
        "approve_form": forms.get("approve_form") or OptionalReasonForm(),
        "reject_form": forms.get("reject_form") or ReasonForm(),
    }


def _four_eyes_note(case: Case) -> str:
    if case.escalated_at is not None:
        return "Escalated: its closure needs a second compliance officer who neither escalated nor worked it."
    if case.kind == "sanctions":
        return "Closing it as a false positive needs a second compliance officer who did not work it."
    return ""


@sensitive_read
@requires("compliance.case.view")
def case_detail(request, pk: int):
    """One case: its facts, SLA timer, timeline, attachments and the actions the user may take."""
    case = _visible(request, pk)
    return render(request, "compliance/cases/detail.html", _detail_context(request, case))


def _act(request, pk: int, form_class, form_key: str, act):
    """Run one action's form on a case: on a refusal, the page again with the form's error (200, as
    htmx and the browser expect); on success, back to the case."""
    case = _visible(request, pk)
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            done = act(case, form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, done)
            return redirect("compliance:case_detail", pk=case.pk)
    case = _visible(request, pk)
    context = _detail_context(request, case, **{form_key: form})
    context["error_text"] = " ".join(str(m) for errors in form.errors.values() for m in errors)
    return render(request, "compliance/cases/detail.html", context)


@requires("compliance.case.work")
@require_POST
def case_assign(request, pk: int):
    def act(case, data):
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=data["user"], is_active=True).first()
        if user is None:
            raise DomainError("Unknown user.", fields={"user": ["Unknown user."]})
        services.assign_case(actor=request.user, case=case.pk, user=user)
        return f"Case {case.pk} is assigned to {user.username}."

    return _act(request, pk, AssignForm, "assign_form", act)


@requires("compliance.case.work")
@require_POST
def case_note(request, pk: int):
    """Add a note. From htmx, answers the timeline alone (and a fresh form), so the page keeps its place."""
    if request.htmx:
        case = _visible(request, pk)
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                services.add_note(actor=request.user, case=case.pk, text=form.cleaned_data["text"])
            except DomainError as error:
                add_domain_error(form, error)
            else:
                form = NoteForm()
        context = _detail_context(request, _visible(request, pk), note_form=form)
        return render(request, "compliance/cases/detail.html#timeline", context)

    def act(case, data):
        services.add_note(actor=request.user, case=case.pk, text=data["text"])
        return "Note added."

    return _act(request, pk, NoteForm, "note_form", act)


@requires("compliance.case.work")
@require_POST
def case_attach(request, pk: int):
    def act(case, data):
        upload = data["file"]
        attachment = services.attach(
            actor=request.user,
            case=case.pk,
            name=sent_name(request, upload),  # with its path, if the client sent one: refused
            data=uploads.read_upload(upload),
        )
        return f"{attachment.original_name} is attached."

    return _act(request, pk, AttachForm, "attach_form", act)


@requires("compliance.case.work")
@require_POST
def case_escalate(request, pk: int):
    def act(case, data):
        services.escalate_case(actor=request.user, case=case.pk, reason=data["reason"])
        return f"Case {case.pk} is escalated: its closure needs a second officer."

    return _act(request, pk, ReasonForm, "escalate_form", act)


@requires("compliance.case.close")
@require_POST
def case_close(request, pk: int):
    def act(case, data):
        closed = services.close_case(actor=request.user, case=case.pk, **data)
        if closed.is_closed:
            return f"Case {case.pk} is closed: {closed.get_disposition_display().lower()}."
        return "Closure proposed: another compliance officer approves it."

    return _act(request, pk, CloseForm, "close_form", act)


@requires("compliance.case.approve_closure")
@require_POST
def case_approve_closure(request, pk: int):
    def act(case, data):
        closed = services.approve_closure(actor=request.user, case=case.pk, reason=data["reason"])
        return f"Case {case.pk} is closed: {closed.get_disposition_display().lower()}."

    return _act(request, pk, OptionalReasonForm, "approve_form", act)


@requires("compliance.case.close")
@require_POST
def case_reject_closure(request, pk: int):
    def act(case, data):
        services.reject_closure(actor=request.user, case=case.pk, reason=data["reason"])
        return "The proposed closure is sent back."

    return _act(request, pk, ReasonForm, "reject_form", act)


@sensitive_read
@requires("compliance.case.view")
def case_attachment(request, pk: int, attachment_id: int):
    """Download an attachment of a case the user may see (in the access log)."""
    case = _visible(request, pk)
    attachment = next((a for a in case.attachments.all() if a.pk == attachment_id), None)
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment_response(attachment)
