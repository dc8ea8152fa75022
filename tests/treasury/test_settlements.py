"""The settlement queue: API and page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.selectors import availability_for
from requests_app.services import approve_request
from treasury.models import SettlementInstruction

URL = "/api/v1/settlements/"


def _written() -> dict:
    """Every row a settlement could change: the queue, the ledger and the book, the requests."""
    from requests_app.models import BorrowRequest
    from tests.inventory.factories import ledger_state

    return {
        "legs": list(SettlementInstruction.objects.order_by("id").values()),
        "requests": list(BorrowRequest.objects.order_by("id").values("id", "status", "delivered_at")),
        **ledger_state(),
    }


@pytest.fixture
def leg(submit, bob, stocked):
    request = approve_request(actor=bob, request=submit(quantity=Decimal("2")), rate_bps=Decimal("400"))
    return SettlementInstruction.objects.get(loan=request.loan)


@pytest.fixture
def btc(desk_config):
    from tests.inventory.factories import desk_asset

    return desk_asset("BTC", 8, "50000")


@pytest.fixture
def stocked(btc):
    from tests.inventory.factories import firm_account, stock

    account = firm_account()
    stock(btc, account, "10")
    return account


@pytest.fixture
def submit(alice, acme, btc):
    from datetime import timedelta

    from django.utils import timezone

    from compliance.models import KycProfile
    from requests_app.services import submit_request

    KycProfile.objects.get_or_create(
        counterparty=acme,
        defaults={
            "status": "approved",
            "risk_rating": "low",
            "expires_on": (timezone.now() + timedelta(days=30)).date(),
        },
    )
    return lambda **kw: submit_request(
        actor=alice, counterparty=acme, asset=btc, **{"quantity": Decimal("1"), **kw}
    )


def test_treasury_settles_and_the_loan_becomes_active(api, tess, leg, btc):
    response = api.as_user(tess).post(f"{URL}{leg.pk}/settle/")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["attempts"]) == ("settled", 1)
    leg.loan.refresh_from_db()
    assert leg.loan.status == "active"
    assert (availability_for(btc).allocated, availability_for(btc).on_loan) == (Decimal(0), Decimal(2))


def test_settling_twice_is_invalid_state(api, tess, leg):
    api.as_user(tess).post(f"{URL}{leg.pk}/settle/")
    response = api.as_user(tess).post(f"{URL}{leg.pk}/settle/")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")


def test_a_failure_keeps_its_reason_and_the_leg_can_still_settle(api, tess, leg):
    assert api.as_user(tess).post(f"{URL}{leg.pk}/fail/", {}, format="json").status_code == 400
    response = api.as_user(tess).post(f"{URL}{leg.pk}/fail/", {"reason": "custodian offline"}, format="json")
    assert (response.json()["status"], response.json()["failure_reason"]) == ("failed", "custodian offline")
    assert api.as_user(tess).post(f"{URL}{leg.pk}/settle/").json()["status"] == "settled"


def test_a_leg_whose_hold_expired_cannot_settle_and_nothing_moves(api, tess, leg, btc):
    from datetime import timedelta

    from django.utils import timezone

    from inventory.models import Loan

    # The hold ran out a minute ago; the release job has not run yet.
    Loan.objects.filter(pk=leg.loan_id).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    response = api.as_user(tess).post(f"{URL}{leg.pk}/settle/")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    assert "expired" in response.json()["detail"]
    leg.refresh_from_db()
    assert (leg.status, leg.loan.status, leg.attempts) == ("pending", "pending_delivery", 0)
    a = availability_for(btc)
    assert (a.allocated, a.on_loan) == (Decimal(2), Decimal(0))


def test_a_cancelled_leg_cannot_settle(api, tess, leg):
    from requests_app.services import release_expired_holds

    release_expired_holds(now=leg.loan.hold_expires_at)
    response = api.as_user(tess).post(f"{URL}{leg.pk}/settle/")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")


@pytest.mark.parametrize(("who", "status"), [("alice", 403), ("rita", 403), ("carl", 403)])
def test_only_the_desk_reads_and_only_settlers_settle(api, personas, leg, who, status):
    before = _written()
    assert api.as_user(personas[who]).get(URL).status_code == status
    assert api.as_user(personas[who]).post(f"{URL}{leg.pk}/settle/").status_code == status
    assert api.as_user(personas[who]).post(f"{URL}{leg.pk}/fail/", {"reason": "x"}).status_code == status
    assert _written() == before


def test_managers_read_but_cannot_settle(api, mona, leg):
    assert api.as_user(mona).get(URL).json()["count"] == 1
    before = _written()
    assert api.as_user(mona).post(f"{URL}{leg.pk}/settle/").status_code == 403
    assert _written() == before


@pytest.mark.parametrize("who", ["alice", "rita", "mona", "audrey"])
def test_the_settle_service_refuses_a_role_without_the_action_and_writes_nothing(personas, leg, who):
    from borrowdesk.errors import PermissionDeniedError
    from treasury.services import fail_instruction, settle_instruction

    before = _written()
    with pytest.raises(PermissionDeniedError):
        settle_instruction(actor=personas[who], instruction=leg)
    with pytest.raises(PermissionDeniedError):
        fail_instruction(actor=personas[who], instruction=leg, reason="no")
    assert _written() == before


def test_unknown_leg_is_404(api, tess, leg):
    assert api.as_user(tess).post(f"{URL}999999/settle/").status_code == 404


def test_list_runs_a_fixed_number_of_queries(api, tess, submit, bob, stocked, django_assert_num_queries):
    approve_request(actor=bob, request=submit(), rate_bps=Decimal("400"))
    client = api.as_user(tess)
    # token auth, roles, count, page with asset, accounts, loan and counterparty joined
    with django_assert_num_queries(4):
        client.get(URL)
    for _ in range(4):
        approve_request(actor=bob, request=submit(), rate_bps=Decimal("400"))
    client = api.as_user(tess)
    with django_assert_num_queries(4):
        assert client.get(URL).json()["count"] == 5


def test_the_page_settles_with_a_button(client, tess, leg):
    client.force_login(tess)
    page = client.get(reverse("treasury:settlements")).content.decode()
    assert f"/treasury/settlements/{leg.pk}/settle/" in page
    client.post(reverse("treasury:settle", args=[leg.pk]))
    leg.refresh_from_db()
    assert leg.status == "settled"


def test_the_page_shows_where_each_delivery_goes(client, tess, submit, bob, stocked, acme):
    from tests.refdata.factories import CustodyAccountFactory

    wallet = CustodyAccountFactory(code="ACME-WALLET", owner=acme, purpose="settlement")
    approve_request(actor=bob, request=submit(settlement_account=wallet), rate_bps=Decimal("400"))
    client.force_login(tess)
    page = client.get(reverse("treasury:settlements")).content.decode()
    assert "<th" in page and ">To<" in page
    assert "ACME-WALLET" in page


def test_the_page_is_refused_to_traders(client, alice):
    client.force_login(alice)
    assert client.get(reverse("treasury:settlements")).status_code == 403


def test_a_traders_post_to_the_settle_page_is_refused_and_writes_nothing(client, alice, leg):
    client.force_login(alice)
    before = _written()
    assert client.post(reverse("treasury:settle", args=[leg.pk])).status_code == 403
    assert _written() == before
