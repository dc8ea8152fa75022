"""Cases under concurrency (real threads, one connection each): evidence about one client arriving at
once opens one case; the same evidence delivered twice at once is recorded once; two second officers
approving one closure at once close it once."""

from __future__ import annotations

import pytest

from borrowdesk.access.services import create_desk_user
from compliance.cases import services
from compliance.cases.models import Case, CaseEvent
from tests.conftest import PASSWORD
from tests.races import race
from tests.refdata.factories import CounterpartyFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _open(counterparty, evidence_id):
    return lambda: services.open_or_join_case(
        kind="aml",
        counterparty=counterparty,
        subject="Alert",
        evidence_type="aml_alert",
        evidence_id=evidence_id,
    )


def test_evidence_about_one_client_at_once_opens_one_case(desk_config):
    client = CounterpartyFactory(code="RACER")
    outcomes = race([_open(client, i) for i in range(4)])
    assert outcomes == ["ok"] * 4, outcomes
    case = Case.objects.get()
    kinds = sorted(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == ["joined", "joined", "joined", "opened"]


def test_the_same_evidence_delivered_twice_at_once_is_recorded_once(desk_config):
    client = CounterpartyFactory(code="RACER")
    outcomes = race([_open(client, 7) for _ in range(4)])
    assert outcomes == ["ok"] * 4, outcomes
    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 1


def test_two_second_officers_approving_at_once_close_the_case_once(desk_config):
    client = CounterpartyFactory(code="RACER")
    proposer = create_desk_user(username="officer-p", password=PASSWORD, roles=["compliance"])
    seconds = [
        create_desk_user(username=f"officer-{i}", password=PASSWORD, roles=["compliance"]) for i in range(3)
    ]
    case = services.open_or_join_case(kind="sanctions", counterparty=client, subject="Match")
    services.close_case(actor=proposer, case=case, disposition="false_positive", reason="Other company")
    outcomes = race([lambda u=u: services.approve_closure(actor=u, case=case.pk) for u in seconds])
    assert sorted(outcomes) == ["invalid_state", "invalid_state", "ok"], outcomes
    case.refresh_from_db()
    assert case.status == "closed" and case.closed_by in seconds
    assert CaseEvent.objects.filter(case=case, kind="closed").count() == 1
