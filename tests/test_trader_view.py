"""Traders see what is theirs: not the desk's priority score and its parts, nor the firm's source
account on their requests and loans (pages and API); desk roles still see both."""

from decimal import Decimal

import pytest
from django.urls import reverse

from requests_app.services import submit_request
from tests.inventory.factories import active_loan, desk_asset, firm_account, stock


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def loan(btc, acme, bob, tess):
    account = firm_account()
    stock(btc, account, "10", actor=tess)
    return active_loan(actor=bob, counterparty=acme, asset=btc, account=account, quantity="4")


@pytest.fixture
def borrow_request(alice, acme, btc):
    return submit_request(actor=alice, counterparty=acme, asset=btc, quantity=Decimal("1"))


def test_a_trader_gets_no_priority_from_the_requests_api(api, alice, borrow_request):
    for data in (
        api.as_user(alice).get(f"/api/v1/borrow-requests/{borrow_request.pk}/").json(),
        api.as_user(alice).get("/api/v1/borrow-requests/").json()["results"][0],
    ):
        assert data["id"] == borrow_request.pk
        assert not {"priority_score", "priority_parts", "source_account"} & set(data)


def test_the_desk_gets_the_priority_from_the_requests_api(api, bob, borrow_request):
    data = api.as_user(bob).get(f"/api/v1/borrow-requests/{borrow_request.pk}/").json()
    assert set(data["priority_parts"]) >= {"urgency", "revenue", "risk", "age"}
    assert Decimal(data["priority_score"]) > 0 and "source_account" in data


def test_a_trader_does_not_see_the_priority_on_the_request_page(login, alice, bob, borrow_request):
    url = reverse("requests_app:detail", args=[borrow_request.pk])
    assert "<th>Priority</th>" not in login(alice).get(url).content.decode()
    assert "<th>Priority</th>" in login(bob).get(url).content.decode()


def test_a_trader_does_not_see_the_firms_account_on_their_loans(api, alice, bob, loan):
    for data in (
        api.as_user(alice).get(f"/api/v1/loans/{loan.pk}/").json(),
        api.as_user(alice).get("/api/v1/loans/").json()["results"][0],
    ):
        assert data["id"] == loan.pk and "account" not in data
    assert api.as_user(bob).get(f"/api/v1/loans/{loan.pk}/").json()["account"] == "INV-MAIN"


def test_a_trader_does_not_see_the_firms_account_on_the_loan_pages(login, alice, bob, loan):
    pages = (reverse("inventory:loan_detail", args=[loan.pk]), reverse("inventory:loans"))
    trader = login(alice)
    for url in pages:
        assert "INV-MAIN" not in trader.get(url).content.decode(), url
    csv_text = trader.get(reverse("inventory:loans"), {"format": "csv"}).content.decode()
    assert "INV-MAIN" not in csv_text and "Account" not in csv_text.splitlines()[0]
    desk = login(bob)  # the same client, now signed in as operations
    for url in pages:
        assert "INV-MAIN" in desk.get(url).content.decode(), url
