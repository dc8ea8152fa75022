"""AML monitoring: each rule fires on a hand-built history and not just below its threshold; the
event and the schedule, each twice, raise one alert; every alert opens or joins an AML case."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance.aml import services as aml
from compliance.aml.models import AlertStatus, AmlAlert, DetectedBy
from compliance.cases.models import Case
from compliance.models import KycProfile
from inventory.models import Loan
from inventory.services import return_loan
from requests_app.models import BorrowRequest
from tests.inventory.factories import active_loan, desk_asset, firm_account, stock
from tests.refdata.factories import CustodyAccountFactory, NetworkFactory, VenueFactory


@pytest.fixture(autouse=True)
def rules(db):
    return {rule.code: rule for rule in aml.ensure_default_rules()}


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")  # 1 BTC = 50,000 USD


@pytest.fixture
def cleared_acme(acme):
    KycProfile.objects.create(
        counterparty=acme,
        status="approved",
        risk_rating="low",
        expires_on=(timezone.now() + timedelta(days=365)).date(),
    )
    return acme


@pytest.fixture
def submit(alice, cleared_acme, btc, django_capture_on_commit_callbacks):
    """Submit as alice for ACME, running the after-commit hooks (the AML event) as a commit would."""
    from requests_app.services import submit_request

    def _submit(quantity: str, *, days_ago: float | None = None) -> BorrowRequest:
        with django_capture_on_commit_callbacks(execute=days_ago is None):
            request = submit_request(
                actor=alice, counterparty=cleared_acme, asset=btc, quantity=Decimal(quantity)
            )
        if days_ago is not None:  # history: submitted earlier (no event for it now)
            at = timezone.now() - timedelta(days=days_ago)
            BorrowRequest.objects.filter(pk=request.pk).update(submitted_at=at)
        return request

    return _submit


def alerts(code: str) -> list[AmlAlert]:
    return list(AmlAlert.objects.filter(rule__code=code).order_by("id"))


# --- rule 1: a request far above the counterparty's 30-day average ---------------------------------


@pytest.fixture
def history(submit):
    """Three requests of 1 BTC (50,000 USD) in the last 30 days: an average of 50,000 USD."""
    return [submit("1", days_ago=d) for d in (3, 10, 20)]


def test_a_request_above_five_times_the_average_raises_an_alert_on_submission(submit, history):
    request = submit("6")  # 300,000 USD = 6 × 50,000
    [alert] = alerts("large_request")
    assert alert.request_id == request.pk
    assert alert.counterparty.code == "ACME"
    assert alert.detected_by == DetectedBy.EVENT
    assert alert.score == Decimal("6")
    assert alert.figures["average_usd"] == "50000.00"
    assert alert.figures["history_requests"] == 3
    assert "300,000 USD" in alert.subject


def test_a_request_at_exactly_five_times_the_average_raises_nothing(submit, history):
    submit("5")  # 250,000 USD: not above 5 ×
    assert alerts("large_request") == []
    aml.run_monitoring()
    assert alerts("large_request") == []


def test_without_the_minimum_history_a_large_request_raises_nothing(submit):
    submit("1", days_ago=2)
    submit("1", days_ago=4)  # two earlier requests; the rule wants three
    submit("20")
    assert alerts("large_request") == []


def test_requests_older_than_the_lookback_are_not_in_the_average(submit):
    for d in (31, 40, 50):
        submit("1", days_ago=d)
    submit("20")
    assert alerts("large_request") == []


def test_the_event_and_the_schedule_twice_raise_one_alert_and_one_case(submit, history):
    request = submit("6")
    aml.monitor_request(request_id=request.pk)
    aml.run_monitoring()
    aml.run_monitoring()
    [alert] = alerts("large_request")
    assert alert.status == AlertStatus.IN_CASE
    assert Case.objects.filter(kind="aml").count() == 1


def test_the_schedule_raises_what_the_event_missed(submit, history):
    request = submit("6", days_ago=0)  # submitted now, its event lost
    assert alerts("large_request") == []
    counts = aml.run_monitoring()
    [alert] = alerts("large_request")
    assert alert.request_id == request.pk and alert.detected_by == DetectedBy.SCHEDULE
    assert counts["raised"] == 1 and counts["by_rule"] == {"large_request": 1}
    assert aml.run_monitoring()["raised"] == 0


def test_a_disabled_rule_raises_nothing(submit, history, carl, rules):
    aml.update_rule(
        actor=carl, rule="large_request", enabled=False, parameters=rules["large_request"].parameters
    )
    submit("6")
    aml.run_monitoring()
    assert alerts("large_request") == []


def test_a_rule_change_applies_its_new_parameters_and_the_alert_records_its_version(submit, history, carl):
    aml.update_rule(
        actor=carl,
        rule="large_request",
        enabled=True,
        parameters={"multiple": "2", "lookback_days": 30, "min_history": 3, "min_notional_usd": "0"},
    )
    submit("3")  # 3 × the average: above the new multiple of 2
    [alert] = alerts("large_request")
    assert alert.rule_version == 2
    assert alert.figures["parameters"]["multiple"] == "2"


# --- rule 2: borrow and return within a short window, repeated --------------------------------------


@pytest.fixture
def lending(btc, bob, cleared_acme):
    account = firm_account()
    stock(btc, account, "100")

    def _round_trip(*, hours_held: float = 1) -> Loan:
        loan = active_loan(actor=bob, counterparty=cleared_acme, asset=btc, account=account, quantity="1")
        Loan.objects.filter(pk=loan.pk).update(delivered_at=timezone.now() - timedelta(hours=hours_held))
        return loan

    return _round_trip


@pytest.fixture
def give_back(bob, django_capture_on_commit_callbacks):
    def _give_back(loan: Loan) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            return_loan(actor=bob, loan=Loan.objects.get(pk=loan.pk), quantity=loan.quantity)

    return _give_back


def test_three_quick_round_trips_raise_a_wash_alert_on_the_third_return(lending, give_back):
    loans = [lending(hours_held=h) for h in (2, 5, 20)]
    for loan in loans[:2]:
        give_back(loan)
    assert alerts("wash_pattern") == []  # two round trips: just below the rule's three
    give_back(loans[2])
    [alert] = alerts("wash_pattern")
    assert alert.loan_ids == [loan.pk for loan in loans]
    assert alert.score == 3 and alert.detected_by == DetectedBy.EVENT
    assert alert.status == AlertStatus.IN_CASE


def test_a_loan_held_longer_than_the_window_is_not_a_round_trip(lending, give_back):
    for hours in (2, 5, 30):  # the third was held 30 hours: over the 24-hour window
        give_back(lending(hours_held=hours))
    aml.run_monitoring()
    assert alerts("wash_pattern") == []


def test_round_trips_already_in_an_alert_raise_nothing_again(lending, give_back):
    for _ in range(3):
        give_back(lending())
    aml.run_monitoring()
    aml.run_monitoring()
    assert len(alerts("wash_pattern")) == 1
    for _ in range(2):
        give_back(lending())  # two more: not three new ones yet
    assert len(alerts("wash_pattern")) == 1
    give_back(lending())
    first, second = alerts("wash_pattern")
    assert not set(first.loan_ids) & set(second.loan_ids)
    # Both alerts of ACME joined one open AML case.
    assert first.case_id == second.case_id
    assert Case.objects.filter(kind="aml").count() == 1


# --- rule 3: a settlement to an address never seen before, above a size ------------------------------


@pytest.fixture
def acme_wallets(btc, cleared_acme):
    bitcoin = NetworkFactory(code="bitcoin", name="Bitcoin")
    btc.networks.add(bitcoin)
    venue = VenueFactory(code="CHAINVAULT", kind="custodian")
    return [
        CustodyAccountFactory(
            code=f"ACME-W{n}", venue=venue, network=bitcoin, address=f"bc1qacme{n}", owner=cleared_acme
        )
        for n in (1, 2)
    ]


@pytest.fixture
def deliver_to(btc, bob, cleared_acme, django_capture_on_commit_callbacks):
    from inventory.services import open_loan
    from treasury.services import queue_delivery

    account = firm_account()
    stock(btc, account, "100")

    def _deliver(wallet, quantity: str):
        with django_capture_on_commit_callbacks(execute=True):
            loan = open_loan(
                actor=bob,
                request_id=None,
                counterparty=cleared_acme,
                asset=btc,
                account=account,
                quantity=Decimal(quantity),
                rate_bps=Decimal("400"),
                term_days=None,
                hold_expires_at=None,
            )
            return queue_delivery(loan=loan, to_account_id=wallet.pk, due_at=None)

    return _deliver


def test_a_first_leg_to_a_new_address_above_the_size_raises_an_alert(deliver_to, acme_wallets):
    leg = deliver_to(acme_wallets[0], "2")  # 100,000 USD: at the rule's size
    [alert] = alerts("new_address")
    assert alert.settlement_id == leg.pk
    assert alert.figures["address"] == "bc1qacme1"
    assert alert.figures["value_usd"] == "100000.00"
    assert alert.status == AlertStatus.IN_CASE


def test_a_leg_just_below_the_size_raises_nothing(deliver_to, acme_wallets):
    deliver_to(acme_wallets[0], "1.99")  # 99,500 USD
    aml.run_monitoring()
    assert alerts("new_address") == []


def test_a_second_leg_to_a_known_address_raises_nothing(deliver_to, acme_wallets):
    first = deliver_to(acme_wallets[0], "3")
    deliver_to(acme_wallets[0], "3")
    other = deliver_to(acme_wallets[1], "3")
    aml.run_monitoring()
    assert [a.settlement_id for a in alerts("new_address")] == [first.pk, other.pk]


def test_settling_the_leg_and_the_schedule_raise_no_second_alert(
    deliver_to, acme_wallets, tess, django_capture_on_commit_callbacks
):
    from treasury.services import settle_instruction

    leg = deliver_to(acme_wallets[0], "3")
    with django_capture_on_commit_callbacks(execute=True):
        settle_instruction(actor=tess, instruction=leg)
    aml.run_monitoring()
    aml.run_monitoring()
    assert len(alerts("new_address")) == 1


def test_evm_addresses_compare_case_insensitively(btc, cleared_acme, deliver_to):
    ethereum = NetworkFactory(code="ethereum", name="Ethereum")
    btc.networks.add(ethereum)
    venue = VenueFactory(code="EVMVAULT", kind="custodian")
    lower = CustodyAccountFactory(
        code="ACME-E1", venue=venue, network=ethereum, address="0x" + "ab" * 20, owner=cleared_acme
    )
    upper = CustodyAccountFactory(
        code="ACME-E2", venue=venue, network=ethereum, address="0x" + "AB" * 20, owner=cleared_acme
    )
    deliver_to(lower, "3")
    deliver_to(upper, "3")  # the same EVM address, written in capitals
    assert len(alerts("new_address")) == 1


def test_a_leg_queued_without_a_destination_is_judged_later_not_at_queueing(
    btc, bob, cleared_acme, acme_wallets, django_capture_on_commit_callbacks
):
    # The new-address rule judges where a leg goes: a leg queued with no settlement account has no
    # address to judge, so queueing it sends no monitoring after COMMIT (the final approval's hot path),
    # and the schedule finds nothing on it either; one with an address is judged at once, as before.
    from inventory.services import open_loan
    from treasury.services import queue_delivery

    account = firm_account()
    stock(btc, account, "100")

    def queued(to_account_id):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            loan = open_loan(
                actor=bob,
                request_id=None,
                counterparty=cleared_acme,
                asset=btc,
                account=account,
                quantity=Decimal("3"),  # 150,000 USD: above the rule's size
                rate_bps=Decimal("400"),
                term_days=None,
                hold_expires_at=None,
            )
            leg = queue_delivery(loan=loan, to_account_id=to_account_id, due_at=None)
        return leg, callbacks

    _, callbacks = queued(None)
    assert callbacks == []
    aml.run_monitoring()
    assert alerts("new_address") == []
    leg, callbacks = queued(acme_wallets[0].pk)
    assert len(callbacks) == 1
    [alert] = alerts("new_address")
    assert alert.settlement_id == leg.pk
