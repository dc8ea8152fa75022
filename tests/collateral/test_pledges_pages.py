"""Pledge and collateral position pages: operations book a pledge from a form (errors beside the
fields, nothing written), the desk reads, a trader reads only their counterparties' collateral."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from borrowdesk.business_day import business_date
from collateral.models import Pledge
from tests.collateral.factories import collateral_account, collateral_state, pledge
from tests.inventory.factories import desk_asset


def _text(response) -> str:
    return response.content.decode()


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def accounts(acme, globex):
    return collateral_account(acme), collateral_account(globex)


@pytest.fixture
def book(bob, acme, globex, btc, accounts):
    return pledge(acme, btc, "1", account=accounts[0], actor=bob), pledge(
        globex, btc, "3", account=accounts[1], actor=bob
    )


@pytest.mark.parametrize("page", ["collateral:pledges", "collateral:positions"])
@pytest.mark.parametrize(
    ("who", "status"), [("bob", 200), ("rita", 200), ("alice", 200), ("carl", 403), ("pete", 403)]
)
def test_who_reads_collateral(login, personas, book, page, who, status):
    assert login(personas[who]).get(reverse(page)).status_code == status


def test_operations_are_offered_the_form_and_risk_is_not(login, bob, rita, book):
    assert "Book a pledge" in _text(login(bob).get(reverse("collateral:pledges")))
    assert "Book a pledge" not in _text(login(rita).get(reverse("collateral:pledges")))
    assert login(rita).get(reverse("collateral:pledge_new")).status_code == 403


def test_ops_books_a_pledge_from_the_form(login, bob, acme, btc, accounts):
    expiry = business_date() + timedelta(days=7)
    body = {
        "counterparty": "ACME",
        "asset": "BTC",
        "account": "ACME-COLL",
        "quantity": "1.25",
        "expires_on": expiry.isoformat(),
    }
    response = login(bob).post(reverse("collateral:pledge_new"), body, follow=True)
    booked = Pledge.objects.get()
    assert (booked.quantity, booked.expires_on, booked.created_by) == (Decimal("1.25"), expiry, bob)
    assert f"Pledge #{booked.pk} booked: 1.25 BTC from ACME into ACME-COLL." in _text(response)
    assert response.redirect_chain[-1][0] == f"{reverse('collateral:pledges')}?counterparty=ACME"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"account": "GLOBEX-COLL"}, "account", "GLOBEX-COLL is not ACME&#x27;s collateral account."),
        ({"quantity": "0"}, "quantity", "Must be greater than zero."),
        ({"quantity": "0.000000001"}, "quantity", "BTC allows at most 8 decimal places."),
        ({"quantity": "lots"}, "quantity", "Enter a number."),
        ({"expires_on": "2020-01-01"}, "expires_on", "Cannot be in the past."),
        ({"account": "NOWHERE"}, "account", None),
    ],
)
def test_a_refused_pledge_is_shown_beside_its_field_and_nothing_is_written(
    login, bob, acme, btc, accounts, body, field, message
):
    before = collateral_state()
    form = {
        "counterparty": "ACME",
        "asset": "BTC",
        "account": "ACME-COLL",
        "quantity": "1",
        "reference": "kept",
        **body,
    }
    response = login(bob).post(reverse("collateral:pledge_new"), form)
    assert response.status_code == 200
    text = _text(response)
    assert f'data-field="{field}">' in text
    if message:
        assert f'data-field="{field}">{message}</div>' in text
    assert 'value="kept"' in text
    assert collateral_state() == before


def test_a_trader_sees_only_their_counterparties(login, alice, book):
    mine, theirs = book
    client = login(alice)
    text = _text(client.get(reverse("collateral:pledges")))
    assert f'data-id="{mine.pk}"' in text and f'data-id="{theirs.pk}"' not in text
    positions = _text(client.get(reverse("collateral:positions")))
    assert "ACME-COLL" in positions and "GLOBEX-COLL" not in positions
    for page in ("collateral:pledges", "collateral:positions"):
        assert client.get(reverse(page), {"counterparty": "GLOBEX"}).status_code == 404
        assert client.get(reverse(page), {"counterparty": "ACME"}).status_code == 200


def test_positions_add_up_per_counterparty_asset_and_account(login, rita, bob, book, acme, btc, accounts):
    pledge(acme, btc, "0.5", account=accounts[0], actor=bob)
    response = login(rita).get(reverse("collateral:positions"), {"format": "csv"})
    assert response.content.decode().splitlines() == [
        "Counterparty,Asset,Account,Venue,Pledged",
        "ACME,BTC,ACME-COLL,CUST1,1.5",
        "GLOBEX,BTC,GLOBEX-COLL,CUST1,3",
    ]


@pytest.mark.parametrize("more", [0, 5])
def test_the_pledges_page_takes_a_fixed_number_of_queries(
    login, rita, bob, book, acme, btc, accounts, django_assert_num_queries, more
):
    for _ in range(more):
        pledge(acme, btc, "1", account=accounts[0], actor=bob)
    client = login(rita)
    # session, user, roles (the policy, read once per request), count, the page of pledges with their
    # references
    with django_assert_num_queries(5):
        client.get(reverse("collateral:pledges"))
