"""Collateral legs in the settlement queue: a ``collateral_receipt`` books its pledge when it settles (in
the same transaction), and a release queues a ``collateral_return`` leg (collateral's
``collateral_released`` signal), whose settling moves no ledger: the release already did."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from borrowdesk.business_day import business_date
from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError
from collateral.models import Pledge, Release
from collateral.signals import collateral_released
from inventory.models import Bucket, JournalKind
from inventory.services import LedgerLine, post_journal
from tests.collateral.factories import collateral_account, collateral_state, pledge
from tests.inventory.factories import balances, desk_asset, ledger_state
from treasury.models import SettlementInstruction
from treasury.services import expect_collateral, settle_instruction


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def account(acme):
    return collateral_account(acme)


def _everything() -> dict:
    return {"legs": list(SettlementInstruction.objects.order_by("id").values()), **collateral_state()}


def _expect(actor, acme, btc, account, **kwargs) -> SettlementInstruction:
    args = {"quantity": Decimal(2), "expires_on": business_date() + timedelta(days=30), "reference": "CALL-9"}
    return expect_collateral(
        actor=actor, counterparty=acme, asset=btc, to_account=account, **{**args, **kwargs}
    )


# --- collateral receipts --------------------------------------------------------------------------


def test_a_receipt_leg_books_its_pledge_when_it_settles(bob, tess, acme, btc, account):
    leg = _expect(bob, acme, btc, account)
    assert (leg.kind, leg.status, leg.counterparty, leg.from_account, leg.to_account) == (
        "collateral_receipt",
        "pending",
        acme,
        account,
        account,
    )
    assert not Pledge.objects.exists() and balances(btc, account) == {}  # nothing booked until it settles
    settle_instruction(actor=tess, instruction=leg)
    booked = Pledge.objects.get()
    assert (booked.settlement_id, booked.quantity, booked.created_by, booked.reference) == (
        leg.pk,
        Decimal(2),
        tess,
        "CALL-9",
    )
    assert booked.expires_on == business_date() + timedelta(days=30)
    assert balances(btc, account) == {"external": Decimal(-2), "pledged": Decimal(2)}
    leg.refresh_from_db()
    assert (leg.status, leg.settled_by, leg.attempts) == ("settled", tess, 1)


def test_a_booking_refused_at_settlement_leaves_the_leg_as_it_was(bob, tess, acme, btc, account):
    leg = _expect(bob, acme, btc, account)
    account.is_active = False  # closed between the expectation and the coins' arrival
    account.save()
    before = _everything()
    with pytest.raises(InvalidInput) as refused:
        settle_instruction(actor=tess, instruction=leg)
    assert refused.value.fields == {"account": ["ACME-COLL is inactive."]}
    assert _everything() == before


def test_a_settled_receipt_cannot_settle_again(api, bob, tess, acme, btc, account):
    leg = _expect(bob, acme, btc, account)
    assert api.as_user(tess).post(f"/api/v1/settlements/{leg.pk}/settle/").json()["status"] == "settled"
    again = api.as_user(tess).post(f"/api/v1/settlements/{leg.pk}/settle/")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert Pledge.objects.count() == 1


def test_the_queue_names_a_collateral_legs_counterparty(api, bob, tess, acme, btc, account):
    leg = _expect(bob, acme, btc, account)
    row = api.as_user(tess).get("/api/v1/settlements/").json()["results"][0]
    assert (row["id"], row["kind"], row["counterparty"], row["loan"], row["reference"]) == (
        leg.pk,
        "collateral_receipt",
        "ACME",
        None,
        "CALL-9",
    )


@pytest.mark.parametrize("who", ["tess", "rita", "alice"])
def test_only_operations_expect_collateral(personas, acme, btc, account, who):
    before = _everything()
    with pytest.raises(PermissionDeniedError):
        _expect(personas[who], acme, btc, account)
    assert _everything() == before


def test_an_expected_pledge_is_checked_like_a_pledge(bob, acme, globex, btc, account):
    before = _everything()
    with pytest.raises(InvalidInput) as refused:
        _expect(bob, acme, btc, collateral_account(globex), quantity=Decimal(0))
    assert refused.value.fields == {
        "account": ["GLOBEX-COLL is not ACME's collateral account."],
        "quantity": ["Must be greater than zero."],
    }
    assert _everything() == before


def test_a_booking_refuses_a_leg_that_already_booked_its_pledge(bob, tess, acme, btc, account):
    from collateral.services.pledges import book_pledge_from_settlement

    leg = _expect(bob, acme, btc, account)
    settle_instruction(actor=tess, instruction=leg)
    with pytest.raises(InvalidState), transaction.atomic():
        book_pledge_from_settlement(
            actor=tess,
            settlement_id=leg.pk,
            counterparty=acme,
            asset=btc,
            account=account,
            quantity=Decimal(2),
        )
    assert Pledge.objects.count() == 1


# --- collateral returns ---------------------------------------------------------------------------


def _release(actor, acme, btc, account, quantity: Decimal) -> Release:
    """A release as collateral's release service makes it: the journal (pledged → external), the
    Release row, then the signal, in one transaction."""
    journal = post_journal(
        kind=JournalKind.COLLATERAL_RELEASE,
        lines=[
            LedgerLine(btc, account, Bucket.PLEDGED, -quantity),
            LedgerLine(btc, account, Bucket.EXTERNAL, quantity),
        ],
        actor=actor,
    )
    release = Release.objects.create(
        counterparty=acme, asset=btc, account=account, quantity=quantity, journal=journal, created_by=actor
    )
    collateral_released.send(sender=Release, release=release)
    return release


def test_a_release_queues_a_return_leg_whose_settling_moves_nothing(bob, tess, acme, btc, account):
    pledge(acme, btc, "3", account=account, actor=bob)
    with transaction.atomic():
        release = _release(bob, acme, btc, account, Decimal(1))
    leg = SettlementInstruction.objects.get(kind="collateral_return")
    assert (leg.release, leg.counterparty, leg.asset, leg.from_account, leg.to_account, leg.quantity) == (
        release,
        acme,
        btc,
        account,
        None,
        Decimal(1),
    )
    assert leg.status == "pending"
    ledger = ledger_state()
    settled = settle_instruction(actor=tess, instruction=leg)
    assert (settled.status, settled.settled_by) == ("settled", tess)
    assert ledger_state() == ledger  # the release already moved the ledger
    assert balances(btc, account) == {"external": Decimal(-2), "pledged": Decimal(2)}


def test_a_release_that_rolls_back_takes_its_return_leg_with_it(bob, acme, btc, account):
    pledge(acme, btc, "3", account=account, actor=bob)
    before = _everything()
    with pytest.raises(RuntimeError), transaction.atomic():
        _release(bob, acme, btc, account, Decimal(1))
        raise RuntimeError("the release's coverage check failed after the signal")
    assert _everything() == before
