"""The demo's compliance cases (issue 10, cases): one open case of each kind besides the sanctions case
the demo list opens, worked to different points — for the seed to call once its counterparties and
compliance officers exist. Idempotent: a kind already open for its counterparty is left alone."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from borrowdesk.refdata.models import Counterparty
from compliance.cases import services
from compliance.cases.models import Case, CaseStatus

# kind, counterparty code (None: no counterparty), subject, priority, opened days ago, worked to
DEMO_CASES = [
    ("aml", "BLUEFIN", "Request notional far above the 30-day average", "high", 3, "escalated"),
    ("kyc", "HIGHTIDE", "KYC pending: fund documents and UBO declaration missing", "medium", 1, "in_review"),
    (
        "travel_rule",
        "GLOBEX",
        "Settlement leg above 1,000 USD without a valid IVMS101 message",
        "medium",
        0,
        "open",
    ),
    ("aml", "CORAL", "Borrow and return within an hour, five times this week", "low", 12, "open"),
]


def seed_demo_cases(*, officer) -> int:
    """Open the demo cases (their SLA clocks started as many days ago as the table says, so some are
    overdue), assign and note some, escalate one. Returns how many were opened."""
    opened = 0
    now = timezone.now()
    for kind, code, subject, priority, days_ago, worked_to in DEMO_CASES:
        counterparty = Counterparty.objects.filter(code=code).first() if code else None
        if code and counterparty is None:
            continue
        # Idempotent: a case of the kind already open for the counterparty (another part of the demo, the
        # AML alerts say, opened it) is worked as the table says, not joined again; one already worked
        # that far is left alone.
        if Case.objects.filter(kind=kind, subject=subject).exists():
            continue
        case = (
            Case.objects.filter(kind=kind, counterparty=counterparty)
            .exclude(status=CaseStatus.CLOSED)
            .first()
            if counterparty is not None
            else None
        )
        if case is not None:
            if case.status != CaseStatus.OPEN or worked_to == "open":
                continue
            days_ago = 0  # its own opening stands
        else:
            case = services.open_or_join_case(
                kind=kind, counterparty=counterparty, subject=subject, priority=priority, detail=subject
            )
        if days_ago:
            # Backdated as if opened then: the SLA runs from the opening.
            opened_at = now - timedelta(days=days_ago)
            Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
                opened_at=opened_at, sla_due_at=services.sla_due(kind, priority, opened_at)
            )
        if worked_to in ("in_review", "escalated"):
            services.assign_case(actor=officer, case=case.pk, user=officer)
            services.add_note(actor=officer, case=case.pk, text="Asked the client for the documents.")
        if worked_to == "escalated":
            services.escalate_case(
                actor=officer, case=case.pk, reason="Pattern repeats across three accounts: MLRO to review."
            )
        opened += 1
    return opened
