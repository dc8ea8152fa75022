"""Case services: open or join with evidence (idempotent, one open case per kind and counterparty),
SLA due times by kind × priority, the lifecycle, and the four-eyes closing rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from borrowdesk.errors import (
    InvalidInput,
    InvalidState,
    NotFoundError,
    PermissionDeniedError,
    SegregationOfDuties,
)
from compliance.cases import services
from compliance.cases.models import DEFAULT_SLA_HOURS, Case, CaseEvent, CaseSla
from tests.conftest import PASSWORD


@pytest.fixture
def cora(personas):
    """A second compliance officer (carl is the first)."""
    return create_desk_user(username="cora", password=PASSWORD, roles=["compliance"])


@pytest.fixture
def cleo(personas):
    """A third compliance officer."""
    return create_desk_user(username="cleo", password=PASSWORD, roles=["compliance"])


def _events(case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("at", "id").values_list("kind", flat=True))


def test_first_evidence_opens_a_case_with_its_sla(acme):
    before = timezone.now()
    case = services.open_or_join_case(
        kind="aml",
        counterparty=acme,
        subject="Notional 12× the 30-day average",
        priority="high",
        evidence_type="aml_alert",
        evidence_id=7,
        detail="Rule notional_spike",
    )
    assert case.status == "open" and case.opened_by is None and case.priority == "high"
    assert before + timedelta(hours=48) <= case.sla_due_at <= timezone.now() + timedelta(hours=48)
    event = CaseEvent.objects.get(case=case)
    assert (event.kind, event.evidence_type, event.evidence_id, event.text) == (
        "opened",
        "aml_alert",
        7,
        "Rule notional_spike",
    )


def test_second_evidence_joins_the_open_case_and_raises_its_priority(acme):
    first = services.open_or_join_case(
        kind="sanctions", counterparty=acme, subject="Match", evidence_type="sanctions_match", evidence_id=1
    )
    due = first.sla_due_at
    second = services.open_or_join_case(
        kind="sanctions",
        counterparty=acme,
        subject="Match 2",
        priority="critical",
        evidence_type="sanctions_match",
        evidence_id=2,
    )
    assert second.pk == first.pk
    assert Case.objects.count() == 1
    second.refresh_from_db()
    assert second.priority == "critical"
    assert second.sla_due_at == second.opened_at + timedelta(hours=DEFAULT_SLA_HOURS["sanctions"]["critical"])
    assert second.sla_due_at < due
    assert _events(second) == ["opened", "joined", "priority_raised"]


def test_lower_priority_evidence_joins_without_lowering(acme):
    case = services.open_or_join_case(kind="aml", counterparty=acme, subject="A", priority="high")
    services.open_or_join_case(kind="aml", counterparty=acme, subject="B", priority="low")
    case.refresh_from_db()
    assert case.priority == "high"
    assert _events(case) == ["opened", "joined"]


def test_same_evidence_twice_records_nothing(acme):
    case = services.open_or_join_case(
        kind="kyc", counterparty=acme, subject="Review", evidence_type="kyc_profile", evidence_id=3
    )
    again = services.open_or_join_case(
        kind="kyc",
        counterparty=acme,
        subject="Review",
        priority="critical",
        evidence_type="kyc_profile",
        evidence_id=3,
    )
    assert again.pk == case.pk
    assert _events(case) == ["opened"]
    assert Case.objects.get().priority == "medium"


def test_other_kind_or_counterparty_opens_another_case(acme, globex):
    a = services.open_or_join_case(kind="aml", counterparty=acme, subject="A")
    b = services.open_or_join_case(kind="kyc", counterparty=acme, subject="B")
    c = services.open_or_join_case(kind="aml", counterparty=globex, subject="C")
    d = services.open_or_join_case(kind="travel_rule", subject="No counterparty")
    e = services.open_or_join_case(kind="travel_rule", subject="No counterparty")
    assert len({a.pk, b.pk, c.pk, d.pk, e.pk}) == 5


def test_a_closed_case_is_not_joined(acme, carl):
    first = services.open_or_join_case(kind="aml", counterparty=acme, subject="A")
    services.close_case(actor=carl, case=first, disposition="cleared", reason="Explained")
    second = services.open_or_join_case(kind="aml", counterparty=acme, subject="B")
    assert second.pk != first.pk and second.status == "open"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "fraud"}, "kind"),
        ({"priority": "urgent"}, "priority"),
        ({"subject": "  "}, "subject"),
        ({"subject": "x" * 301}, "subject"),
        ({"evidence_type": "aml_alert"}, "evidence_id"),
        ({"evidence_id": 4}, "evidence_type"),
        ({"detail": "a\x00b"}, "detail"),
    ],
)
def test_bad_input_opens_nothing(acme, kwargs, field):
    args = {"kind": "aml", "counterparty": acme, "subject": "S", **kwargs}
    with pytest.raises(InvalidInput) as error:
        services.open_or_join_case(**args)
    assert field in error.value.fields
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_a_person_opening_a_case_must_be_compliance(acme, bob, carl):
    with pytest.raises(PermissionDeniedError):
        services.open_or_join_case(kind="aml", counterparty=acme, subject="S", actor=bob)
    case = services.create_case(actor=carl, kind="aml", counterparty=acme, subject="S")
    assert case.opened_by == carl


@pytest.mark.parametrize("kind", ["kyc", "aml", "sanctions", "travel_rule"])
@pytest.mark.parametrize("priority", ["low", "medium", "high", "critical"])
def test_sla_due_time_by_kind_and_priority(db, kind, priority):
    case = services.open_or_join_case(kind=kind, subject="S", priority=priority)
    assert case.sla_due_at - case.opened_at == timedelta(hours=DEFAULT_SLA_HOURS[kind][priority])


def test_sla_table_row_overrides_the_default(db):
    CaseSla.objects.create(kind="aml", priority="low", hours=5)
    case = services.open_or_join_case(kind="aml", subject="S", priority="low")
    assert case.sla_due_at - case.opened_at == timedelta(hours=5)


def test_one_open_case_per_kind_and_counterparty_in_the_database(acme):
    services.open_or_join_case(kind="aml", counterparty=acme, subject="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(kind="aml", counterparty=acme, subject="B", sla_due_at=timezone.now())


def test_timeline_is_append_only(acme):
    case = services.open_or_join_case(kind="aml", counterparty=acme, subject="A")
    event = CaseEvent.objects.get(case=case)
    with pytest.raises(Exception, match="append_only"), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).update(text="rewritten")
    with pytest.raises(Exception, match="append_only"), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).delete()


# --- lifecycle ----------------------------------------------------------------------------------


def test_lifecycle_assign_note_close(acme, carl, cora):
    case = services.create_case(actor=carl, kind="aml", counterparty=acme, subject="Spike")
    case = services.assign_case(actor=carl, case=case, user=cora)
    assert (case.status, case.assignee) == ("in_review", cora)
    services.add_note(actor=cora, case=case, text="Client explained the trade.")
    case = services.close_case(actor=cora, case=case.pk, disposition="cleared", reason="Explained")
    assert (case.status, case.disposition, case.closed_by) == ("closed", "cleared", cora)
    assert _events(case) == ["opened", "assigned", "note", "closed"]
    with pytest.raises(InvalidState):
        services.add_note(actor=carl, case=case, text="late")


def test_assignee_must_be_compliance(acme, carl, bob):
    case = services.create_case(actor=carl, kind="aml", counterparty=acme, subject="Spike")
    with pytest.raises(InvalidInput):
        services.assign_case(actor=carl, case=case, user=bob)
    case.refresh_from_db()
    assert case.assignee is None and case.status == "open"


@pytest.mark.parametrize("persona", ["alice", "bob", "rita", "audrey", "mona"])
def test_only_compliance_works_cases(acme, personas, persona):
    case = services.open_or_join_case(kind="aml", counterparty=acme, subject="S")
    user = personas[persona]
    with pytest.raises(PermissionDeniedError):
        services.add_note(actor=user, case=case, text="x")
    with pytest.raises(PermissionDeniedError):
        services.escalate_case(actor=user, case=case, reason="x")
    with pytest.raises(PermissionDeniedError):
        services.close_case(actor=user, case=case, disposition="cleared")
    assert _events(case) == ["opened"]


# --- four eyes ----------------------------------------------------------------------------------


def test_false_positive_sanctions_closure_needs_a_second_officer(acme, carl, cora):
    case = services.open_or_join_case(kind="sanctions", counterparty=acme, subject="Match")
    case = services.close_case(actor=carl, case=case, disposition="false_positive", reason="Other person")
    assert case.status == "open" and case.closure_proposed_by == carl
    with pytest.raises(SegregationOfDuties):
        services.approve_closure(actor=carl, case=case)
    with pytest.raises(SegregationOfDuties):
        services.close_case(actor=carl, case=case, disposition="false_positive")
    assert Case.objects.get().status == "open"
    case = services.approve_closure(actor=cora, case=case)
    assert (case.status, case.disposition, case.closed_by) == ("closed", "false_positive", cora)
    assert _events(case)[-3:] == ["closure_proposed", "closure_approved", "closed"]


def test_escalated_case_closure_refuses_escalator_and_workers(acme, carl, cora, cleo):
    case = services.create_case(actor=carl, kind="aml", counterparty=acme, subject="Wash pattern")
    services.assign_case(actor=carl, case=case, user=carl)
    services.add_note(actor=cora, case=case, text="Looked at it")
    services.escalate_case(actor=carl, case=case, reason="Repeated pattern")
    case = services.close_case(actor=carl, case=case, disposition="reported", reason="SAR filed")
    assert case.status == "escalated" and case.proposed_disposition == "reported"
    for refused in (carl, cora):  # the escalator and proposer; a note author
        with pytest.raises(SegregationOfDuties):
            services.approve_closure(actor=refused, case=case)
    case = services.approve_closure(actor=cleo, case=case)
    assert (case.status, case.disposition) == ("closed", "reported")


def test_escalator_who_did_not_propose_cannot_approve(acme, carl, cora):
    case = services.create_case(actor=carl, kind="kyc", counterparty=acme, subject="Review")
    services.escalate_case(actor=cora, case=case, reason="Adverse media")
    services.close_case(actor=carl, case=case, disposition="cleared")
    with pytest.raises(SegregationOfDuties):
        services.approve_closure(actor=cora, case=case)
    assert Case.objects.get().status == "escalated"


def test_plain_closure_needs_one_officer(acme, carl):
    case = services.open_or_join_case(kind="sanctions", counterparty=acme, subject="Match")
    case = services.close_case(actor=carl, case=case, disposition="offboarded", reason="Confirmed")
    assert case.status == "closed" and case.closure_proposed_by is None


def test_a_proposal_can_be_sent_back(acme, carl, cora):
    case = services.open_or_join_case(kind="sanctions", counterparty=acme, subject="Match")
    services.close_case(actor=carl, case=case, disposition="false_positive")
    with pytest.raises(InvalidState):
        services.close_case(actor=cora, case=case, disposition="reported")
    case = services.reject_closure(actor=cora, case=case, reason="Need the passport")
    assert case.closure_proposed_by is None and case.status == "open"
    with pytest.raises(InvalidState):
        services.approve_closure(actor=cora, case=case)


def test_database_refuses_a_one_officer_false_positive(acme, carl):
    case = services.open_or_join_case(kind="sanctions", counterparty=acme, subject="Match")
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(
            status="closed", disposition="false_positive", closed_at=timezone.now(), closed_by=carl
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(
            status="closed",
            disposition="false_positive",
            closed_at=timezone.now(),
            closed_by=carl,
            closure_proposed_by=carl,
        )


def test_team_restricts_a_case(acme, carl, cora, audrey):
    from django.contrib.auth.models import Group

    team = Group.objects.create(name="compliance-emea")
    cora.groups.add(team)
    case = services.open_or_join_case(kind="aml", counterparty=acme, subject="S", team=team)
    assert services.can_see(cora, case) and services.can_see(audrey, case)
    assert not services.can_see(carl, case)
    with pytest.raises(NotFoundError):
        services.add_note(actor=carl, case=case, text="x")
    services.add_note(actor=cora, case=case, text="mine")
