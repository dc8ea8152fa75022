"""An asset is delivered only on a network that carries it: ETH to a bitcoin-network settlement account
was accepted (issue 7, §3). Intake refuses it with a field error and writes nothing; a receipt into an
on-chain account whose network does not carry the asset is refused the same way."""

from decimal import Decimal

import pytest

from borrowdesk.errors import InvalidInput
from inventory.models import Journal
from inventory.services import receive
from requests_app.models import BorrowRequest
from tests.refdata.factories import CustodyAccountFactory, NetworkFactory, VenueFactory


@pytest.fixture
def bitcoin(db):
    return NetworkFactory(code="bitcoin", name="Bitcoin")


@pytest.fixture
def ethereum(db):
    return NetworkFactory(code="ethereum", name="Ethereum")


@pytest.fixture
def venue(db):
    return VenueFactory(code="CHAINVAULT", kind="custodian")


def test_a_settlement_account_on_a_network_that_does_not_carry_the_asset_is_refused_at_intake(
    submit, btc, bitcoin, ethereum, venue, cleared_acme
):
    btc.networks.add(bitcoin)
    wrong = CustodyAccountFactory(venue=venue, network=ethereum, address="0xacme", owner=cleared_acme)
    with pytest.raises(InvalidInput) as caught:
        submit(settlement_account=wrong)
    assert caught.value.fields == {"settlement_account": ["BTC is not carried on the ethereum network."]}
    assert not BorrowRequest.objects.exists()


def test_a_settlement_account_on_a_network_that_carries_the_asset_is_accepted(
    submit, btc, bitcoin, venue, cleared_acme
):
    btc.networks.add(bitcoin)
    right = CustodyAccountFactory(venue=venue, network=bitcoin, address="bc1qacme", owner=cleared_acme)
    assert submit(settlement_account=right).settlement_account == right


def test_a_receipt_into_an_account_whose_network_does_not_carry_the_asset_is_refused(
    bob, btc, bitcoin, ethereum, venue
):
    btc.networks.add(bitcoin)
    wallet = CustodyAccountFactory(venue=venue, network=ethereum, address="0xfirm", purpose="inventory")
    before = Journal.objects.count()
    with pytest.raises(InvalidInput) as caught:
        receive(actor=bob, asset=btc, account=wallet, quantity=Decimal("1"))
    assert caught.value.fields == {"account": ["BTC is not carried on the ethereum network."]}
    assert Journal.objects.count() == before
