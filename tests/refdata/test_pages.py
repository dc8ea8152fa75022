import pytest
from django.urls import reverse

from borrowdesk.access.models import AccessLog
from tests.refdata.factories import (
    AssetFactory,
    CounterpartyFactory,
    CustodyAccountFactory,
    NetworkFactory,
    PriceFactory,
    VenueFactory,
)


@pytest.mark.parametrize(
    "name", ["asset_list", "network_list", "venue_list", "counterparty_list", "account_list", "price_list"]
)
def test_desk_staff_see_every_list(login, bob, name):
    assert login(bob).get(reverse(f"refdata:{name}")).status_code == 200


@pytest.mark.parametrize("name", ["asset_list", "network_list", "venue_list"])
def test_the_pages_of_assets_networks_and_venues_open_as_their_api_does(login, alice, pete, name):
    # One action (refdata.view) decides the page and the API alike: a trader and the feed read them.
    assert login(alice).get(reverse(f"refdata:{name}")).status_code == 200
    assert login(pete).get(reverse(f"refdata:{name}")).status_code == 200


@pytest.mark.parametrize("name", ["counterparty_list", "account_list"])
def test_the_price_feed_does_not_read_counterparties(login, pete, name):
    assert login(pete).get(reverse(f"refdata:{name}")).status_code == 403


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
    api.as_user(bob).patch(f"/api/v1/counterparties/{acme.code}/", {"kind": "lender"}, format="json")
    page = login(bob).get(reverse("refdata:counterparty_detail", args=["ACME"])).content.decode()
    # the change (field and value by name), and who made it
    assert "Kind" in page and "Lender" in page and "bob" in page
    log = AccessLog.objects.get()
    assert (log.user, log.view_name, log.object_ref) == (bob, "refdata:counterparty_detail", "code=ACME")


def test_asset_page_shows_its_price_history(login, bob):
    asset = AssetFactory(symbol="BTC")
    PriceFactory(asset=asset, price_usd="50000")
    page = login(bob).get(reverse("refdata:asset_detail", args=["BTC"])).content.decode()
    assert "$50,000.00" in page


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


def _history(page: str) -> str:
    """The change-history table of a detail page (the navigation bar names the viewer too)."""
    return page[page.index('data-testid="history"') :].split("</table>")[0]


def test_network_page_shows_its_own_change_history(login, api, bob, ethereum):
    polygon = NetworkFactory(code="polygon", name="Polygon")
    api.as_user(bob).patch("/api/v1/networks/ethereum/", {"name": "Ethereum Mainnet"}, format="json")
    api.as_user(bob).patch(f"/api/v1/networks/{polygon.code}/", {"name": "Polygon PoS"}, format="json")
    response = login(bob).get(reverse("refdata:network_detail", args=["ethereum"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "ethereum · Ethereum Mainnet" in page
    history = _history(page)
    assert "<td>Changed</td><td>bob</td>" in history  # the change and who made it
    assert (
        '<span class="field">Name</span>: <span class="old">Ethereum</span> → '
        '<span class="new">Ethereum Mainnet' in history
    )
    assert "<td>Created</td>" in history
    assert "Polygon" not in history  # another network's change is not in this one's history


def test_venue_page_shows_its_own_change_history(login, api, bob, coinvault):
    VenueFactory(code="LEDGERX", name="LedgerX")
    api.as_user(bob).patch("/api/v1/venues/COINVAULT/", {"kind": "bank"}, format="json")
    api.as_user(bob).patch("/api/v1/venues/LEDGERX/", {"name": "LedgerX Exchange"}, format="json")
    response = login(bob).get(reverse("refdata:venue_detail", args=["COINVAULT"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "COINVAULT · CoinVault Custody" in page
    history = _history(page)
    assert "<td>Changed</td><td>bob</td>" in history
    assert (
        '<span class="field">Kind</span>: <span class="old">Custodian</span> → <span class="new">Bank</span>'
        in history
    )
    assert "LedgerX" not in history


def test_a_change_to_false_shows_false_not_an_empty_value(login, api, bob, ethereum):
    api.as_user(bob).patch("/api/v1/networks/ethereum/", {"is_active": False}, format="json")
    history = _history(login(bob).get(reverse("refdata:network_detail", args=["ethereum"])).content.decode())
    assert (
        '<span class="field">Is active</span>: <span class="old">yes</span> → <span class="new">no</span>'
        in history
    )


@pytest.mark.parametrize(("name", "code"), [("network_list", "ethereum"), ("venue_list", "COINVAULT")])
def test_list_rows_link_to_the_detail_page(login, bob, ethereum, coinvault, name, code):
    detail = reverse(f"refdata:{name.replace('_list', '_detail')}", args=[code])
    assert f'href="{detail}"' in login(bob).get(reverse(f"refdata:{name}")).content.decode()


@pytest.mark.parametrize("name", ["network_detail", "venue_detail"])
def test_unknown_network_or_venue_is_404(login, bob, name):
    assert login(bob).get(reverse(f"refdata:{name}", args=["nope"])).status_code == 404


@pytest.mark.parametrize(
    ("name", "code"),
    [("asset_detail", "BTC"), ("network_detail", "ethereum"), ("venue_detail", "COINVAULT")],
)
def test_traders_read_asset_network_and_venue_pages(login, alice, btc, ethereum, coinvault, name, code):
    client = login(alice)
    assert client.get(reverse(f"refdata:{name}", args=[code])).status_code == 200


@pytest.mark.parametrize(
    ("name", "url", "code"),
    [
        ("network_detail", "/api/v1/networks/ethereum/", "ethereum"),
        ("venue_detail", "/api/v1/venues/COINVAULT/", "COINVAULT"),
    ],
)
def test_detail_pages_run_a_fixed_number_of_queries(
    login, api, bob, olivia, ethereum, coinvault, django_assert_num_queries, name, url, code
):
    client = login(bob)
    api.as_user(bob).patch(url, {"name": "Renamed 0"}, format="json")
    client.get(reverse(f"refdata:{name}", args=[code]))
    # session, user, roles, the object, its history events, the acting users' names
    with django_assert_num_queries(6):
        client.get(reverse(f"refdata:{name}", args=[code]))
    for i in range(1, 6):
        api.as_user(olivia if i % 2 else bob).patch(url, {"name": f"Renamed {i}"}, format="json")
    with django_assert_num_queries(6):
        page = client.get(reverse(f"refdata:{name}", args=[code])).content.decode()
    history = _history(page)
    assert history.count("<td>Changed</td>") == 6 and "<td>olivia</td>" in history
