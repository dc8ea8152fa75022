"""Continuous screening and the clearance gate: a list that newly names a counterparty holds its borrow
requests; two different compliance officers clear a false positive and the requests move on; a
confirmed match keeps the counterparty blocked. Requests go through requests_app's own services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowdesk.access.services import create_desk_user
from borrowdesk.errors import InvalidInput, InvalidState, SegregationOfDuties
from borrowdesk.operations.models import JobRun
from compliance.models import KycProfile, SanctionsMatch, Screening
from compliance.sanctions import services
from compliance.selectors import is_cleared
from compliance.tasks import rescreen_after_import
from requests_app.models import BorrowRequest
from tests.compliance.conftest import OFACTEST, import_list
from tests.conftest import PASSWORD
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.refdata.factories import CounterpartyFactory, CustodyAccountFactory, NetworkFactory

SUEX_ETH = "0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff"  # listed for SUEX OTC, S.R.O. (entry 33151)


def _kyc(counterparty):
    KycProfile.objects.create(
        counterparty=counterparty,
        status="approved",
        risk_rating="low",
        expires_on=(timezone.now() + timedelta(days=365)).date(),
    )
    return counterparty


@pytest.fixture
def btc(desk_config):
    asset = desk_asset("BTC", 8, "50000")
    stock(asset, firm_account(), "10")
    return asset


@pytest.fixture
def suex(personas):
    """A cleared client whose legal name the list does not hold yet (the factory sends no signal)."""
    return _kyc(CounterpartyFactory(code="SUEXOTC", legal_name="Suex OTC s.r.o.", risk_rating="low"))


@pytest.fixture
def sam(suex):
    """A trader acting for SUEXOTC."""
    return create_desk_user(username="sam", password=PASSWORD, roles=["trader"], counterparties=[suex])


@pytest.fixture
def waiting(sam, suex, btc):
    """A request of SUEXOTC awaiting approval."""
    from requests_app.services import submit_request

    request = submit_request(actor=sam, counterparty=suex, asset=btc, quantity=Decimal("1"))
    assert request.status == "pending_approval"
    return request


def _rescreen_after(version, capture):
    """The import's rescreen, as its Celery task runs it (here, in this process), with its notices."""
    with capture(execute=True):
        return JobRun.objects.get(pk=rescreen_after_import(version.pk))


def _status(request) -> str:
    return BorrowRequest.objects.get(pk=request.pk).status


def test_importing_a_list_that_names_a_counterparty_holds_its_requests(
    waiting, suex, django_capture_on_commit_callbacks
):
    assert is_cleared(suex)
    version = import_list(OFACTEST).version
    run = _rescreen_after(version, django_capture_on_commit_callbacks)
    assert (run.job, run.outcome, run.window) == (
        "compliance.sanctions.rescreen",
        "succeeded",
        f"list-{version.pk}",
    )
    assert run.counts["new_matches"] == 1 and run.counts["counterparties_held"] == 1
    match = SanctionsMatch.objects.get()
    assert (match.counterparty, match.status, match.entry.uid, match.subject_kind) == (
        suex,
        "potential",
        "33151",
        "counterparty",
    )
    assert not is_cleared(suex)
    assert _status(waiting) == "compliance_hold"
    version.refresh_from_db()
    assert version.rescreened_at is not None


def test_a_false_positive_cleared_by_two_officers_releases_the_held_requests(
    waiting, suex, carl, cora, django_capture_on_commit_callbacks
):
    _rescreen_after(import_list(OFACTEST).version, django_capture_on_commit_callbacks)
    match = SanctionsMatch.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.propose_false_positive(actor=carl, match=match, reason="Another company: Czech registry")
    assert _status(waiting) == "compliance_hold" and not is_cleared(suex)  # one officer is not enough
    with django_capture_on_commit_callbacks(execute=True):
        services.confirm_false_positive(actor=cora, match=match, reason="Agreed")
    match.refresh_from_db()
    assert (match.status, match.proposed_by, match.decided_by) == ("false_positive", carl, cora)
    assert is_cleared(suex)
    assert _status(waiting) == "pending_approval"


def test_the_officer_who_proposed_cannot_confirm(waiting, suex, carl, django_capture_on_commit_callbacks):
    _rescreen_after(import_list(OFACTEST).version, django_capture_on_commit_callbacks)
    match = services.propose_false_positive(actor=carl, match=SanctionsMatch.objects.get(), reason="Not them")
    with pytest.raises(SegregationOfDuties):
        services.confirm_false_positive(actor=carl, match=match)
    match.refresh_from_db()
    assert (match.status, match.decided_by) == ("cleared_pending_second", None)
    assert _status(waiting) == "compliance_hold" and not is_cleared(suex)


def test_the_same_officer_confirming_through_the_api_is_a_403_segregation_of_duties(
    api, waiting, carl, cora, django_capture_on_commit_callbacks
):
    _rescreen_after(import_list(OFACTEST).version, django_capture_on_commit_callbacks)
    match = SanctionsMatch.objects.get()
    base = f"/api/v1/compliance/sanctions/matches/{match.pk}"
    proposed = api.as_user(carl).post(
        f"{base}/propose-false-positive/", {"reason": "Not them"}, format="json"
    )
    assert proposed.status_code == 200 and proposed.json()["status"] == "cleared_pending_second"
    refused = api.as_user(carl).post(f"{base}/confirm-false-positive/", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "segregation_of_duties")
    assert SanctionsMatch.objects.get().status == "cleared_pending_second"
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = api.as_user(cora).post(f"{base}/confirm-false-positive/", {}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "false_positive"
    assert _status(waiting) == "pending_approval"


def test_a_confirmed_match_keeps_the_counterparty_blocked(
    waiting, suex, carl, cora, django_capture_on_commit_callbacks
):
    _rescreen_after(import_list(OFACTEST).version, django_capture_on_commit_callbacks)
    match = SanctionsMatch.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.confirm_match(actor=carl, match=match, reason="Same registration number")
    with pytest.raises(InvalidState):
        services.propose_false_positive(actor=cora, match=match, reason="Changed my mind")
    assert SanctionsMatch.objects.get().status == "confirmed"
    assert not is_cleared(suex) and _status(waiting) == "compliance_hold"


def test_a_proposal_withdrawn_goes_back_to_a_potential_match(
    waiting, carl, cora, django_capture_on_commit_callbacks
):
    _rescreen_after(import_list(OFACTEST).version, django_capture_on_commit_callbacks)
    match = services.propose_false_positive(actor=carl, match=SanctionsMatch.objects.get(), reason="Not them")
    match = services.withdraw_false_positive(actor=cora, match=match, reason="The address matches too")
    assert (match.status, match.proposed_by) == ("potential", None)
    with pytest.raises(InvalidInput):
        services.propose_false_positive(actor=carl, match=match, reason="  ")  # a reason is required
    assert _status(waiting) == "compliance_hold"


def test_a_rescreen_does_not_record_a_known_match_again_nor_undo_a_cleared_one(
    waiting, carl, cora, django_capture_on_commit_callbacks
):
    version = import_list(OFACTEST).version
    _rescreen_after(version, django_capture_on_commit_callbacks)
    assert services.rescreen_all()["new_matches"] == 0  # still potential: not recorded twice
    match = SanctionsMatch.objects.get()
    services.propose_false_positive(actor=carl, match=match, reason="Not them")
    with django_capture_on_commit_callbacks(execute=True):
        services.confirm_false_positive(actor=cora, match=match)
    counts = services.rescreen_all()
    assert (counts["new_matches"], counts["already_known"]) == (0, 1)  # the decision stands
    assert SanctionsMatch.objects.count() == 1 and _status(waiting) == "pending_approval"


def test_a_redelivered_rescreen_task_for_the_same_list_is_skipped(
    waiting, django_capture_on_commit_callbacks
):
    version = import_list(OFACTEST).version
    _rescreen_after(version, django_capture_on_commit_callbacks)
    second = _rescreen_after(version, django_capture_on_commit_callbacks)
    assert second.outcome == "skipped"
    assert SanctionsMatch.objects.count() == 1


def test_a_counterparty_created_with_a_listed_name_is_screened_at_once(
    personas, bob, django_capture_on_commit_callbacks
):
    from borrowdesk.refdata.services import create_counterparty

    import_list(OFACTEST)
    with django_capture_on_commit_callbacks(execute=True):
        created = create_counterparty(
            actor=bob, code="BKS", legal_name="Bel-Kap-Steel LLC", kind="client", jurisdiction="BY"
        )
    screening = Screening.objects.get(counterparty=created)
    assert (screening.trigger, screening.match_count) == ("counterparty_created", 1)
    assert SanctionsMatch.objects.get().entry.uid == "44525"  # BEL-KAP-STEEL LLC
    _kyc(created)
    assert not is_cleared(created)  # approved KYC, but a potential match


def test_a_counterparty_renamed_to_a_listed_name_has_its_requests_held(
    waiting, suex, bob, django_capture_on_commit_callbacks
):
    from borrowdesk.refdata.services import update_counterparty

    import_list(OFACTEST)
    suex_clean = SanctionsMatch.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        update_counterparty(actor=bob, counterparty=suex, legal_name="Suex Trading")  # not listed
    assert SanctionsMatch.objects.count() == suex_clean and _status(waiting) == "pending_approval"
    with django_capture_on_commit_callbacks(execute=True):
        update_counterparty(actor=bob, counterparty=suex, legal_name="TNK Trading International SA")
    assert SanctionsMatch.objects.get().entry.uid == "28603"
    assert _status(waiting) == "compliance_hold"


def test_a_custody_address_on_the_list_holds_its_owner(
    waiting, suex, bob, django_capture_on_commit_callbacks
):
    from borrowdesk.refdata.services import create_custody_account

    suex.legal_name = "Unrelated Holdings Ltd"  # its name is clean: only the address matches
    suex.save()
    import_list(OFACTEST)
    ethereum = NetworkFactory(code="ethereum")
    venue = CustodyAccountFactory(code="X").venue
    with django_capture_on_commit_callbacks(execute=True):
        account = create_custody_account(
            actor=bob,
            code="SUEX-ETH",
            venue=venue,
            network=ethereum,
            address=SUEX_ETH.upper().replace("0X", "0x"),  # any case: an EVM address
            owner=suex,
            purpose="settlement",
        )
    match = SanctionsMatch.objects.get()
    assert (match.kind, match.custody_account, match.counterparty, match.score) == (
        "address",
        account,
        suex,
        Decimal("100"),
    )
    assert match.parts["currency"] == "ETH, USDT"
    assert _status(waiting) == "compliance_hold"


def test_an_approval_refuses_a_counterparty_with_an_unresolved_match_even_before_its_hold(
    api, waiting, bob, django_capture_on_commit_callbacks
):
    # The rescreen's notice is not delivered yet (its on-commit callbacks are not run): the request is
    # still awaiting approval, and the approval's own lock query sees the match.
    import_list(OFACTEST)
    with django_capture_on_commit_callbacks(execute=False):
        services.rescreen_all()
    assert _status(waiting) == "pending_approval"
    response = api.as_user(bob).post(
        f"/api/v1/borrow-requests/{waiting.pk}/approve/", {"rate_bps": "400"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "compliance_hold")
    assert "sanctions" in response.json()["detail"]
    assert _status(waiting) == "pending_approval"


def test_the_15_minute_job_rescreens_a_list_whose_rescreen_was_lost(
    waiting, django_capture_on_commit_callbacks
):
    from compliance.tasks import rescreen_pending

    import_list(OFACTEST)  # its task never ran
    with django_capture_on_commit_callbacks(execute=True):
        run = JobRun.objects.get(pk=rescreen_pending())
    assert run.counts["new_matches"] == 1 and _status(waiting) == "compliance_hold"
    with django_capture_on_commit_callbacks(execute=True):
        rescreen_pending.work(timezone.now().date())  # nothing left to do
    assert SanctionsMatch.objects.count() == 1


def test_a_rescreen_holding_many_counterparties_sends_one_notice_for_all(
    waiting, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "BULK_NOTICE", 0)  # as if thousands were held at once
    import_list(OFACTEST)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.rescreen_all()
    assert len(callbacks) == 1
    assert _status(waiting) == "compliance_hold"


def test_with_no_list_in_force_nothing_is_recorded(personas, bob, django_capture_on_commit_callbacks):
    from borrowdesk.refdata.services import create_counterparty

    with django_capture_on_commit_callbacks(execute=True):
        create_counterparty(
            actor=bob, code="NEW", legal_name="New Client Ltd", kind="client", jurisdiction="GB"
        )
    assert services.rescreen_all() == {"screened": 0, "lists": 0}
    assert not Screening.objects.exists()
