"""Case reads: the cases a user may see (scoped first: a case of another team is a 404), the queue with
its SLA state, one case with its timeline, the backlog and ageing summary, and what breaches its SLA
today. Each runs in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.db.models import Case as CaseWhen  # SQL CASE (the model is Case)
from django.utils import timezone

from borrowdesk.access.policy import allows
from borrowdesk.business_day import business_date, business_day_end
from compliance.cases.models import (
    Case,
    CaseAttachment,
    CaseEvent,
    CaseGroupObjectPermission,
    CaseKind,
    CaseStatus,
    CaseUserObjectPermission,
)

WORK_CASE_CODENAME = "work_case"


def visible_cases(user) -> QuerySet[Case]:
    """The cases ``user`` may see: none without ``compliance.case.view``; every case for oversight
    (``compliance.case.view_all``); for compliance, the cases without a team and those whose team the
    user belongs to (the group's django-guardian object permission) or granted to the user alone."""
    if not allows(user, "compliance.case.view"):
        return Case.objects.none()
    cases = Case.objects.all()
    if allows(user, "compliance.case.view_all"):
        return cases
    by_group = CaseGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"),
        permission__codename=WORK_CASE_CODENAME,
        group__in=user.groups.all(),
    )
    by_user = CaseUserObjectPermission.objects.filter(
        content_object=OuterRef("pk"), permission__codename=WORK_CASE_CODENAME, user=user
    )
    return cases.filter(Q(team__isnull=True) | Exists(by_group) | Exists(by_user))


def with_sla(cases: QuerySet[Case], now: datetime | None = None) -> QuerySet[Case]:
    """Annotate ``overdue`` (open and past its SLA due time, as of ``now``)."""
    now = now or timezone.now()
    return cases.annotate(
        overdue=CaseWhen(
            When(~Q(status=CaseStatus.CLOSED) & Q(sla_due_at__lte=now), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def case_list(user, now: datetime | None = None) -> QuerySet[Case]:
    """The queue: the user's visible cases with their counterparty, assignee and team, open ones first,
    soonest due first (one query)."""
    return (
        with_sla(visible_cases(user), now)
        .select_related("counterparty", "assignee", "team", "opened_by", "closure_proposed_by")
        .order_by(
            CaseWhen(When(status=CaseStatus.CLOSED, then=Value(1)), default=Value(0)),
            "sla_due_at",
            "id",
        )
    )


def case_detail(user, pk: int) -> Case:
    """One visible case with its timeline and attachments (raises ``Case.DoesNotExist``)."""
    return (
        case_list(user)
        .select_related("escalated_by", "closed_by")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=CaseEvent.objects.select_related("actor", "assignee", "attachment").order_by(
                    "at", "id"
                ),
            ),
            Prefetch("attachments", queryset=CaseAttachment.objects.select_related("uploaded_by")),
            "worked_by",
        )
        .get(pk=pk)
    )


# --- summaries ------------------------------------------------------------------------------------


# Age buckets of open cases, in days since opening: (label, lower bound inclusive, upper exclusive).
AGE_BUCKETS: list[tuple[str, int, int | None]] = [
    ("Under 1 day", 0, 1),
    ("1–3 days", 1, 3),
    ("3–7 days", 3, 7),
    ("7–30 days", 7, 30),
    ("30 days or more", 30, None),
]


@dataclass(frozen=True)
class Backlog:
    kinds: list[tuple[str, str]]  # (kind, label)
    buckets: list[str]
    counts: dict[str, list[int]]  # kind → count per bucket
    totals: list[int]  # per bucket
    overdue: dict[str, int]  # kind → open cases past SLA
    by_status: dict[str, dict[str, int]]  # kind → status → count (open ones)


def backlog(user, now: datetime | None = None) -> Backlog:
    """Open cases the user may see, counted by kind × age bucket, with the overdue ones and the status
    split per kind (one query)."""
    return _backlog_of(visible_cases(user), now or timezone.now())


def desk_backlog(now: datetime | None = None) -> Backlog:
    """``backlog`` of every open case of the desk, whatever its team: counts only, no case's contents,
    for the desk's dashboards (one query)."""
    return _backlog_of(Case.objects.all(), now or timezone.now())


def _backlog_of(cases: QuerySet[Case], now: datetime) -> Backlog:
    aggregates = {}
    for kind in CaseKind.values:
        for i, (_, low, high) in enumerate(AGE_BUCKETS):
            condition = Q(kind=kind, opened_at__lte=now - timedelta(days=low))
            if high is not None:
                condition &= Q(opened_at__gt=now - timedelta(days=high))
            aggregates[f"{kind}__{i}"] = Count("pk", filter=condition)
        aggregates[f"{kind}__overdue"] = Count("pk", filter=Q(kind=kind, sla_due_at__lte=now))
        for status in (CaseStatus.OPEN, CaseStatus.IN_REVIEW, CaseStatus.ESCALATED):
            aggregates[f"{kind}__status__{status}"] = Count("pk", filter=Q(kind=kind, status=status))
    row = cases.exclude(status=CaseStatus.CLOSED).aggregate(**aggregates)
    counts = {kind: [row[f"{kind}__{i}"] for i in range(len(AGE_BUCKETS))] for kind in CaseKind.values}
    return Backlog(
        kinds=list(CaseKind.choices),
        buckets=[label for label, _, _ in AGE_BUCKETS],
        counts=counts,
        totals=[sum(counts[k][i] for k in CaseKind.values) for i in range(len(AGE_BUCKETS))],
        overdue={kind: row[f"{kind}__overdue"] for kind in CaseKind.values},
        by_status={
            kind: {
                s: row[f"{kind}__status__{s}"]
                for s in (CaseStatus.OPEN, CaseStatus.IN_REVIEW, CaseStatus.ESCALATED)
            }
            for kind in CaseKind.values
        },
    )


def breaching_today(user, now: datetime | None = None) -> QuerySet[Case]:
    """Open cases the user may see whose SLA runs out before the end of today's business date (or
    already has): what the compliance home page lists first."""
    now = now or timezone.now()
    end = business_day_end(business_date(now))
    return case_list(user, now).exclude(status=CaseStatus.CLOSED).filter(sla_due_at__lt=end)


def overdue_to_flag(now: datetime | None = None) -> QuerySet[Case]:
    """Open cases past their SLA not yet flagged (the SLA check's work)."""
    now = now or timezone.now()
    return Case.objects.exclude(status=CaseStatus.CLOSED).filter(
        sla_due_at__lte=now, sla_breached_at__isnull=True
    )


def evidence_of(case: Case) -> list[CaseEvent]:
    return [e for e in case.events.all() if e.evidence_type]


__all__ = [
    "AGE_BUCKETS",
    "Backlog",
    "backlog",
    "breaching_today",
    "case_detail",
    "case_list",
    "overdue_to_flag",
    "visible_cases",
    "with_sla",
]


def case_officers():
    """Active users whose roles work cases (``compliance.case.work``): who a case can be assigned to."""
    from django.contrib.auth import get_user_model

    from borrowdesk.access.policy import roles_for

    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=roles_for("compliance.case.work"))
        .distinct()
        .order_by("username")
    )


def case_of_evidence(user, evidence_type: str, evidence_id: int) -> Case | None:
    """The case (visible to ``user``) a piece of evidence opened or joined, if any."""
    return (
        visible_cases(user)
        .filter(
            events__evidence_type=evidence_type,
            events__evidence_id=evidence_id,
            events__kind__in=["opened", "joined"],
        )
        .first()
    )
