import pytest
from django.urls import reverse

from borrowdesk.access.models import AccessLog
from tests.refdata.factories import AssetFactory, CounterpartyFactory, CustodyAccountFactory, PriceFactory


@pytest.mark.parametrize(
    "name", ["asset_list", "network_list", "venue_list", "counterparty_list", "account_list", "price_list"]
)
def test_desk_staff_see_every_list(login, bob, name):
    assert login(bob).get(reverse(f"refdata:{name}")).status_code == 200


@pytest.mark.parametrize("name", ["asset_list", "network_list", "venue_list"])
def test_traders_do_not_see_desk_lists(login, alice, name):
    assert login(alice).get(reverse(f"refdata:{name}")).status_code == 403


def test_trader_sees_prices_and_only_their_counterparties(login, alice, acme, globex):
    client = login(alice)
    assert client.get(reverse("refdata:price_list")).status_code == 200
    page = client.get(reverse("refdata:counterparty_list")).content.decode()
    assert "ACME" in page and "GLOBEX" not in page
    assert client.get(reverse("refdata:counterparty_detail", args=["GLOBEX"])).status_code == 404


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("refdata:counterparty_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_filters_and_sorting_in_the_query_string(login, bob, acme, globex):
    page = (
        login(bob).get(reverse("refdata:counterparty_list"), {"risk_rating": "low", "sort": "-code"}).content
    )
    assert b"ACME" in page and b"GLOBEX" not in page


def test_csv_export(login, bob, acme):
    response = login(bob).get(reverse("refdata:counterparty_list"), {"format": "csv"})
    assert response["Content-Type"] == "text/csv"
    assert response.content.decode().splitlines()[0].startswith("Code,Legal name")


def test_counterparty_page_is_a_logged_sensitive_read_with_its_history(login, api, bob, acme):
    api.as_user(bob).patch(f"/api/v1/counterparties/{acme.code}/", {"risk_rating": "high"}, format="json")
    page = login(bob).get(reverse("refdata:counterparty_detail", args=["ACME"])).content.decode()
    assert "risk_rating" in page and "bob" in page  # the change and who made it
    log = AccessLog.objects.get()
    assert (log.user, log.view_name, log.object_ref) == (bob, "refdata:counterparty_detail", "code=ACME")


def test_asset_page_shows_its_price_history(login, bob):
    asset = AssetFactory(symbol="BTC")
    PriceFactory(asset=asset, price_usd="50000")
    page = login(bob).get(reverse("refdata:asset_detail", args=["BTC"])).content.decode()
    assert "50000" in page


def test_list_pages_run_a_fixed_number_of_queries(login, bob, django_assert_num_queries):
    client = login(bob)
    for _ in range(3):
        CustodyAccountFactory(owner=CounterpartyFactory())
    client.get(reverse("refdata:account_list"))
    # session, user, roles, count, page of accounts (venue, network, owner joined)
    with django_assert_num_queries(5):
        client.get(reverse("refdata:account_list"))
    for _ in range(10):
        CustodyAccountFactory(owner=CounterpartyFactory())
    with django_assert_num_queries(5):
        client.get(reverse("refdata:account_list"))
