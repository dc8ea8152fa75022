"""Sanctions cases: continuous screening opens a case for a newly listed counterparty and holds its
requests; the case's false-positive closure (four eyes) clears its matches and the requests move on; a
reported or offboarded closure confirms them and the counterparty stays blocked."""

from __future__ import annotations

import pytest

from borrowdesk.errors import InvalidInput, SegregationOfDuties
from compliance.cases import services as case_services
from compliance.cases.models import Case, CaseEvent
from compliance.models import SanctionsMatch
from compliance.sanctions import services
from compliance.selectors import is_cleared
from tests.compliance import test_continuous_screening as screening_tests
from tests.compliance.conftest import OFACTEST, import_list
from tests.compliance.test_continuous_screening import _rescreen_after, _status

# The continuous-screening tests' fixtures: SUEXOTC (cleared, not listed yet), its trader and a request.
btc, suex, sam = screening_tests.btc, screening_tests.suex, screening_tests.sam
waiting = screening_tests.waiting


@pytest.fixture
def listed(waiting, django_capture_on_commit_callbacks):
    """The 17-entry OFAC list imported and everyone rescreened: SUEXOTC is a potential match."""
    _rescreen_after(import_list(OFACTEST).version, django_capture_on_commit_callbacks)
    return SanctionsMatch.objects.get()


def test_a_list_that_names_a_counterparty_opens_a_sanctions_case_and_holds_its_requests(
    listed, suex, waiting
):
    case = Case.objects.get()
    assert (case.kind, case.counterparty, case.status, case.priority) == ("sanctions", suex, "open", "high")
    event = CaseEvent.objects.get(case=case)
    assert (event.kind, event.evidence_type, event.evidence_id, event.actor) == (
        "opened",
        "sanctions_match",
        listed.pk,
        None,
    )
    assert _status(waiting) == "compliance_hold" and not is_cleared(suex)


def test_a_second_rescreen_opens_no_second_case(listed):
    services.rescreen_all()
    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 1


def test_a_listed_address_joins_the_same_case_at_critical_priority(listed, suex):
    from tests.refdata.factories import CustodyAccountFactory, NetworkFactory

    account = CustodyAccountFactory(
        owner=suex,
        network=NetworkFactory(code="ethereum"),
        address="0x19Aa5Fe80D33a56D56c78e82eA5E50E5d80b4Dff",
    )
    services.screen_custody_account(account_id=account.pk)
    case = Case.objects.get()
    assert case.priority == "critical"
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", "evidence_type"))
    assert kinds == [
        ("opened", "sanctions_match"),
        ("joined", "sanctions_match"),
        ("priority_raised", ""),
    ]


def test_false_positive_closure_with_four_eyes_releases_the_held_request(
    listed, suex, waiting, carl, cora, django_capture_on_commit_callbacks
):
    case = Case.objects.get()
    case_services.assign_case(actor=carl, case=case, user=carl)
    case_services.add_note(actor=carl, case=case, text="Czech registry: another company.")
    with django_capture_on_commit_callbacks(execute=True):
        case_services.close_case(actor=carl, case=case, disposition="false_positive", reason="Other company")
    assert _status(waiting) == "compliance_hold" and not is_cleared(suex)  # one officer is not enough
    with pytest.raises(SegregationOfDuties):
        case_services.approve_closure(actor=carl, case=case)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.approve_closure(actor=cora, case=case, reason="Agreed")
    listed.refresh_from_db()
    assert (listed.status, listed.proposed_by, listed.decided_by) == ("false_positive", carl, cora)
    assert is_cleared(suex)
    assert _status(waiting) == "pending_approval"


@pytest.mark.parametrize("disposition", ["reported", "offboarded"])
def test_a_reported_or_offboarded_closure_confirms_the_match(
    listed, suex, waiting, carl, disposition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.close_case(
            actor=carl, case=Case.objects.get(), disposition=disposition, reason="Same registration"
        )
    assert case.status == "closed"
    listed.refresh_from_db()
    assert (listed.status, listed.decided_by) == ("confirmed", carl)
    assert not is_cleared(suex) and _status(waiting) == "compliance_hold"


def test_a_case_with_an_undecided_match_is_not_closed_as_cleared(listed, carl):
    with pytest.raises(InvalidInput):
        case_services.close_case(actor=carl, case=Case.objects.get(), disposition="cleared")
    assert Case.objects.get().status == "open"
    assert SanctionsMatch.objects.get().status == "potential"


def test_the_match_page_path_follows_the_cases_rule_and_shows_on_its_timeline(
    listed, suex, waiting, carl, cora, django_capture_on_commit_callbacks
):
    """One rule, whichever page: an officer who worked the case cannot confirm a false positive of its
    match on the match's page either; another officer can, and the case's timeline shows it."""
    from borrowdesk.access.services import create_desk_user
    from tests.conftest import PASSWORD

    cleo = create_desk_user(username="cleo", password=PASSWORD, roles=["compliance"])
    case = Case.objects.get()
    case_services.add_note(actor=cora, case=case, text="Looked at the registry.")
    services.propose_false_positive(actor=carl, match=listed, reason="Other company")
    with pytest.raises(SegregationOfDuties):
        services.confirm_false_positive(actor=cora, match=listed)
    assert SanctionsMatch.objects.get().status == "cleared_pending_second"
    with django_capture_on_commit_callbacks(execute=True):
        services.confirm_false_positive(actor=cleo, match=listed, reason="Agreed")
    assert _status(waiting) == "pending_approval"
    decided = CaseEvent.objects.get(case=case, kind="evidence_decided")
    assert decided.actor == cleo and decided.data == {"match": listed.pk, "status": "false_positive"}
    # Nothing undecided is left on the case: it may now be closed as cleared by one officer.
    closed = case_services.close_case(actor=carl, case=case, disposition="cleared", reason="Match cleared")
    assert closed.status == "closed"
