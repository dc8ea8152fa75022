"""Pledges: collateral booked into the counterparty's collateral account through the ledger (journal
``pledge``: external −q, pledged +q), refused before anything is written when it cannot be booked."""

from datetime import timedelta
from decimal import Decimal

import pytest

from borrowdesk.business_day import business_date
from borrowdesk.errors import InvalidInput, PermissionDeniedError
from collateral.models import Pledge
from collateral.selectors.positions import collateral_positions, expiring_pledges, pledges
from collateral.services.pledges import book_pledge
from inventory.models import Entry
from tests.collateral.factories import collateral_account, collateral_state, pledge
from tests.inventory.factories import balances, desk_asset, firm_account
from tests.refdata.factories import CustodyAccountFactory, NetworkFactory


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def acme_coll(acme):
    return collateral_account(acme)


def test_a_pledge_posts_a_journal_and_records_who_and_why(bob, acme, btc, acme_coll):
    expiry = business_date() + timedelta(days=30)
    booked = book_pledge(
        actor=bob,
        counterparty=acme,
        asset=btc,
        account=acme_coll,
        quantity=Decimal("2.5"),
        expires_on=expiry,
        reference="CALL-7",
    )
    assert (booked.counterparty, booked.asset, booked.account, booked.quantity) == (
        acme,
        btc,
        acme_coll,
        Decimal("2.5"),
    )
    assert (booked.expires_on, booked.reference, booked.created_by, booked.settlement_id) == (
        expiry,
        "CALL-7",
        bob,
        None,
    )
    assert (booked.journal.kind, booked.journal.created_by, booked.journal.reference) == (
        "pledge",
        bob,
        "CALL-7",
    )
    lines = sorted(
        Entry.objects.filter(journal=booked.journal).values_list("account__code", "bucket", "quantity")
    )
    assert lines == [("ACME-COLL", "external", Decimal("-2.5")), ("ACME-COLL", "pledged", Decimal("2.5"))]
    assert balances(btc, acme_coll) == {"external": Decimal("-2.5"), "pledged": Decimal("2.5")}


def test_pledges_add_up_in_the_collateral_positions(bob, acme, globex, btc, acme_coll):
    eth = desk_asset("ETH", 18, "3000")
    pledge(acme, btc, "1", account=acme_coll, actor=bob)
    pledge(acme, btc, "0.5", account=acme_coll, actor=bob)
    pledge(acme, eth, "10", account=acme_coll, actor=bob)
    pledge(globex, btc, "3", actor=bob)
    rows = [
        (p.account.owner.code, p.asset.symbol, p.account.code, p.quantity) for p in collateral_positions()
    ]
    assert rows == [
        ("ACME", "BTC", "ACME-COLL", Decimal("1.5")),
        ("ACME", "ETH", "ACME-COLL", Decimal(10)),
        ("GLOBEX", "BTC", "GLOBEX-COLL", Decimal(3)),
    ]
    assert [p.asset.symbol for p in collateral_positions(counterparty=globex)] == ["BTC"]


def test_a_trader_sees_only_their_counterparties_collateral(alice, bob, rita, acme, globex, btc):
    mine = pledge(acme, btc, "1", actor=bob)
    pledge(globex, btc, "3", actor=bob)
    assert list(pledges(alice)) == [mine]
    assert [p.account.owner for p in collateral_positions(alice)] == [acme]
    assert pledges(rita).count() == 2


def test_expiring_pledges_soonest_first_with_lapsed_ones(bob, acme, btc):
    today = business_date()
    soon = pledge(acme, btc, "1", expires_on=today + timedelta(days=3), actor=bob)
    later = pledge(acme, btc, "1", expires_on=today + timedelta(days=20), actor=bob)
    pledge(acme, btc, "1", actor=bob)  # no expiry
    lapsed = pledge(acme, btc, "1", expires_on=today, actor=bob)
    Pledge.objects.filter(pk=lapsed.pk).update(expires_on=today - timedelta(days=1))  # booked long ago
    assert list(expiring_pledges(14)) == [lapsed, soon]
    assert list(expiring_pledges(30)) == [lapsed, soon, later]


# --- refused, nothing written ---------------------------------------------------------------------


@pytest.fixture
def others(acme, globex, btc):
    """Accounts a pledge of ACME's must not go to."""
    ethereum = NetworkFactory(code="ethereum")
    return {
        "globex": collateral_account(globex),
        "firm": firm_account(),
        "settlement": CustodyAccountFactory(code="ACME-SETTLE", owner=acme, purpose="settlement"),
        "inactive": CustodyAccountFactory(code="ACME-OLD", owner=acme, purpose="collateral", is_active=False),
        "wrong_chain": CustodyAccountFactory(
            code="ACME-ETH", owner=acme, purpose="collateral", network=ethereum, address="0xabc"
        ),
    }


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ("globex", "GLOBEX-COLL is not ACME's collateral account."),
        ("firm", "INV-MAIN is not a collateral account."),
        ("settlement", "ACME-SETTLE is not a collateral account."),
        ("inactive", "ACME-OLD is inactive."),
        ("wrong_chain", "BTC is not carried on the ethereum network."),
    ],
)
def test_a_pledge_into_the_wrong_account_is_refused(bob, acme, btc, acme_coll, others, account, message):
    before = collateral_state()
    with pytest.raises(InvalidInput) as refused:
        book_pledge(actor=bob, counterparty=acme, asset=btc, account=others[account], quantity=Decimal(1))
    assert refused.value.fields == {"account": [message]}
    assert collateral_state() == before


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (Decimal(0), "Must be greater than zero."),
        (Decimal(-1), "Must be greater than zero."),
        (Decimal("0.000000001"), "BTC allows at most 8 decimal places."),
        (Decimal("NaN"), "A finite number is required."),
        (Decimal("1e30"), "Too large."),
    ],
)
def test_a_bad_quantity_is_refused(bob, acme, btc, acme_coll, quantity, message):
    before = collateral_state()
    with pytest.raises(InvalidInput) as refused:
        book_pledge(actor=bob, counterparty=acme, asset=btc, account=acme_coll, quantity=quantity)
    assert refused.value.fields == {"quantity": [message]}
    assert collateral_state() == before


def test_an_expiry_in_the_past_is_refused(bob, acme, btc, acme_coll):
    before = collateral_state()
    with pytest.raises(InvalidInput) as refused:
        book_pledge(
            actor=bob,
            counterparty=acme,
            asset=btc,
            account=acme_coll,
            quantity=Decimal(1),
            expires_on=business_date() - timedelta(days=1),
        )
    assert refused.value.fields == {"expires_on": ["Cannot be in the past."]}
    assert collateral_state() == before


def test_an_expiry_today_is_accepted(bob, acme, btc, acme_coll):
    assert pledge(acme, btc, "1", account=acme_coll, expires_on=business_date(), actor=bob).pk


@pytest.mark.parametrize("who", ["rita", "alice", "tess", "mona", "carl"])
def test_only_operations_book_pledges(personas, acme, btc, acme_coll, who):
    before = collateral_state()
    with pytest.raises(PermissionDeniedError):
        book_pledge(actor=personas[who], counterparty=acme, asset=btc, account=acme_coll, quantity=Decimal(1))
    assert collateral_state() == before


def test_senior_operations_book_pledges_too(olivia, acme, btc, acme_coll):
    assert pledge(acme, btc, "1", account=acme_coll, actor=olivia).created_by == olivia
