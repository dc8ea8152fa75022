"""The inventory and loans API."""

from decimal import Decimal

import pytest

from inventory.models import Journal
from inventory.services import deliver_loan, open_loan
from tests.refdata.factories import CustodyAccountFactory


def _receipt(api, user, **body):
    data = {"asset": "BTC", "account": "INV-MAIN", "quantity": "2.5", **body}
    return api.as_user(user).post("/api/v1/inventory/receipts/", data, format="json")


def test_treasury_records_a_receipt(api, tess, btc, account):
    response = _receipt(api, tess, source_counterparty=None, cost_rate_bps="120", reference="lender X")
    assert response.status_code == 201, response.json()
    entries = {(e["bucket"], e["quantity"]) for e in response.json()["entries"]}
    assert entries == {("external", "-2.500000000000000000"), ("available", "2.500000000000000000")}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"asset": "NOPE"}, "asset"),
        ({"account": "NOPE"}, "account"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "0.000000001"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"source_counterparty": "NOPE"}, "source_counterparty"),
        ({"cost_rate_bps": "-1"}, "cost_rate_bps"),
    ],
)
def test_bad_receipts_are_400_and_write_nothing(api, tess, btc, account, body, field):
    response = _receipt(api, tess, **body)
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert not Journal.objects.exists()


def test_a_receipt_into_a_counterparty_account_is_refused(api, tess, btc, acme):
    CustodyAccountFactory(code="ACME-WALLET", owner=acme)
    response = _receipt(api, tess, account="ACME-WALLET")
    assert response.status_code == 400 and not Journal.objects.exists()


@pytest.mark.parametrize("who", ["alice", "rita", "carl", "mona"])
def test_only_operations_and_treasury_record_receipts(api, personas, btc, account, who):
    assert _receipt(api, personas[who]).status_code == 403
    assert not Journal.objects.exists()


def test_adjustments_are_for_senior_operations_with_a_reason(api, bob, olivia, stocked):
    body = {"asset": "BTC", "account": "INV-MAIN", "quantity": "-0.5", "reason": "custodian count"}
    assert api.as_user(bob).post("/api/v1/inventory/adjustments/", body, format="json").status_code == 403
    response = api.as_user(olivia).post("/api/v1/inventory/adjustments/", body, format="json")
    assert response.status_code == 201 and response.json()["memo"] == "custodian count"


def test_positions_and_availability(api, bob, stocked):
    positions = api.as_user(bob).get("/api/v1/inventory/positions/?asset=BTC").json()["results"]
    assert (
        positions
        == [
            {
                "asset": "BTC",
                "account": "INV-MAIN",
                "available": "10.000000000000000000",
                "allocated": "0E-18",
                "on_loan": "0E-18",
                "in_transit": "0E-18",
            }
        ]
        or positions[0]["available"] == "10.000000000000000000"
    )
    availability = api.as_user(bob).get("/api/v1/inventory/availability/").json()["results"]
    assert availability[0]["asset"] == "BTC" and availability[0]["utilization"] == "0.0000"


def test_journals_list_runs_a_fixed_number_of_queries(
    api, bob, stocked, btc, account, django_assert_num_queries
):
    from tests.inventory.factories import stock

    client = api.as_user(bob)
    # token auth, roles, count, journals page (creator, source joined), then prefetched:
    # entries, their assets, their accounts
    with django_assert_num_queries(7):
        client.get("/api/v1/inventory/journals/")
    for _ in range(5):
        stock(btc, account, "1")
    client = api.as_user(bob)
    with django_assert_num_queries(7):
        assert client.get("/api/v1/inventory/journals/").json()["count"] == 6


@pytest.fixture
def loan(stocked, btc, acme, bob):
    loan = open_loan(
        actor=bob,
        request_id=None,
        counterparty=acme,
        asset=btc,
        account=stocked,
        quantity=Decimal("4"),
        rate_bps=Decimal("400"),
        term_days=None,
        hold_expires_at=None,
    )
    return deliver_loan(actor=bob, loan=loan)


def test_traders_see_only_their_counterparties_loans(api, alice, tom, loan):
    assert api.as_user(alice).get("/api/v1/loans/").json()["count"] == 1
    assert api.as_user(tom).get("/api/v1/loans/").json()["count"] == 0
    assert api.as_user(tom).get(f"/api/v1/loans/{loan.pk}/").status_code == 404


def test_return_and_recall_through_the_api(api, bob, loan):
    response = api.as_user(bob).post(f"/api/v1/loans/{loan.pk}/return/", {"quantity": "1"}, format="json")
    assert response.status_code == 200 and response.json()["open_quantity"] == "3.000000000000000000"
    response = api.as_user(bob).post(
        f"/api/v1/loans/{loan.pk}/recall/", {"quantity": "1", "due_at": "2099-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 200 and response.json()["recalls"][0]["status"] == "open"
    bad = api.as_user(bob).post(f"/api/v1/loans/{loan.pk}/return/", {"quantity": "9"}, format="json")
    assert bad.status_code == 400


def test_rerate_proposed_by_ops_accepted_by_the_borrowers_trader(api, bob, alice, loan):
    response = api.as_user(bob).post(
        f"/api/v1/loans/{loan.pk}/rerates/",
        {"rate_bps": "500", "effective_date": "2099-01-01"},
        format="json",
    )
    rerate_id = response.json()["rerates"][0]["id"]
    response = api.as_user(alice).post(f"/api/v1/loans/{loan.pk}/rerates/{rerate_id}/accept/")
    assert response.status_code == 200 and response.json()["rerates"][0]["status"] == "accepted"


def test_loans_list_runs_a_fixed_number_of_queries(api, bob, stocked, btc, acme, django_assert_num_queries):
    def new_loan():
        deliver_loan(
            actor=bob,
            loan=open_loan(
                actor=bob,
                request_id=None,
                counterparty=acme,
                asset=btc,
                account=stocked,
                quantity=Decimal("1"),
                rate_bps=Decimal("400"),
                term_days=None,
                hold_expires_at=None,
            ),
        )

    new_loan()
    client = api.as_user(bob)
    # token auth, roles, count, page of loans (with fee, recall and flag subqueries)
    with django_assert_num_queries(4):
        client.get("/api/v1/loans/")
    for _ in range(4):
        new_loan()
    client = api.as_user(bob)
    with django_assert_num_queries(4):
        assert client.get("/api/v1/loans/").json()["count"] == 5


def test_pages_render_for_the_desk_and_refuse_traders_positions(client, bob, alice, loan):
    from django.urls import reverse

    client.force_login(bob)
    for name in (
        "inventory:positions",
        "inventory:availability",
        "inventory:journals",
        "inventory:loans",
        "inventory:receipt",
    ):
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("inventory:loan_detail", args=[loan.pk])).status_code == 200
    client.force_login(alice)
    assert client.get(reverse("inventory:positions")).status_code == 403
    assert client.get(reverse("inventory:loans")).status_code == 200


def test_returning_from_the_loan_page(client, bob, loan):
    from django.urls import reverse

    client.force_login(bob)
    client.post(reverse("inventory:loan_return", args=[loan.pk]), {"quantity": "4"})
    loan.refresh_from_db()
    assert loan.status == "closed"
