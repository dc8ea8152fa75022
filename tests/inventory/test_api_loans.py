"""The borrow-book API: the loans list and detail, returns, recalls and rerates (API.md "Inventory and
loans"). Traders see their counterparties' loans only; actions answer with the loan's detail."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowdesk.business_day import business_date
from inventory.models import Loan, Recall
from inventory.services import propose_rerate, recall_loan, return_loan
from tests.inventory.factories import accrue, active_loan, ledger_state

LOANS = "/api/v1/loans/"
LIST_FIELDS = {
    "id",
    "request",
    "counterparty",
    "asset",
    "account",
    "quantity",
    "open_quantity",
    "rate_bps",
    "rate_in_force_bps",
    "status",
    "term_days",
    "start_date",
    "maturity_date",
    "accrued_fee",
    "open_recall_quantity",
    "buy_in",
    "is_past_maturity",
    "created_at",
    "delivered_at",
    "closed_at",
}


def _url(loan, action=""):
    return f"{LOANS}{loan.pk}/{action}"


def _post(api, user, url, body=None):
    return api.as_user(user).post(url, body or {}, format="json")


def _tomorrow():
    return (timezone.now() + timedelta(days=1)).isoformat()


# --- reading the book --------------------------------------------------------------------------------


def test_the_book_lists_loans_with_fee_and_flags(api, bob, loan):
    accrue(business_date())
    body = api.as_user(bob).get(LOANS).json()
    assert body["count"] == 1 and set(body["results"][0]) == LIST_FIELDS
    row = body["results"][0]
    assert {k: row[k] for k in ("counterparty", "asset", "account", "status", "accrued_fee", "buy_in")} == {
        "counterparty": "ACME",
        "asset": "BTC",
        "account": "INV-MAIN",
        "status": "active",
        "accrued_fee": "0.000400000000000000",
        "buy_in": False,
    }
    assert (row["open_quantity"], row["rate_bps"], row["start_date"]) == (
        "4.000000000000000000",
        "365.0000",
        business_date().isoformat(),
    )


def test_the_book_flags_a_recall_past_due_for_buy_in(api, bob, loan):
    recall = recall_loan(
        actor=bob, loan=loan, quantity=Decimal(1), due_at=timezone.now() + timedelta(hours=1)
    )
    Recall.objects.filter(pk=recall.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    row = api.as_user(bob).get(LOANS).json()["results"][0]
    assert (row["buy_in"], row["open_recall_quantity"]) == (True, "1.000000000000000000")
    assert api.as_user(bob).get(LOANS, {"buy_in": "true"}).json()["count"] == 1


def test_the_book_flags_a_loan_past_maturity(api, bob, loan):
    Loan.objects.filter(pk=loan.pk).update(maturity_date=business_date() - timedelta(days=1))
    assert api.as_user(bob).get(LOANS).json()["results"][0]["is_past_maturity"] is True


def test_the_book_filters_by_counterparty_asset_and_status(api, bob, loan, globex, btc, stocked):
    active_loan(actor=bob, counterparty=globex, asset=btc, account=stocked, quantity="1")
    return_loan(actor=bob, loan=loan, quantity=Decimal(4))
    client = api.as_user(bob)
    assert [r["counterparty"] for r in client.get(LOANS, {"counterparty": "GLOBEX"}).json()["results"]] == [
        "GLOBEX"
    ]
    assert [r["id"] for r in client.get(LOANS, {"status": "closed"}).json()["results"]] == [loan.pk]
    assert client.get(LOANS, {"asset": "ETH"}).json()["count"] == 0


def test_an_unknown_status_filter_is_400(api, bob, loan):
    response = api.as_user(bob).get(LOANS, {"status": "bogus"})
    assert response.status_code == 400 and "status" in response.json()["fields"]


def test_traders_see_only_their_counterparties_loans(api, alice, tom, bob, loan, globex, btc, stocked):
    other = active_loan(actor=bob, counterparty=globex, asset=btc, account=stocked, quantity="1")
    assert [r["id"] for r in api.as_user(alice).get(LOANS).json()["results"]] == [loan.pk]
    assert [r["id"] for r in api.as_user(tom).get(LOANS).json()["results"]] == [other.pk]


def test_another_counterpartys_loan_is_404_to_a_trader(api, tom, loan):
    response = api.as_user(tom).get(_url(loan))
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize("who", ["bob", "rita", "tess", "mona", "audrey", "adam"])
def test_desk_roles_see_every_loan(api, personas, loan, who):
    assert api.as_user(personas[who]).get(_url(loan)).status_code == 200


def test_compliance_does_not_read_the_borrow_book(api, carl, loan):
    # loans.view (access/policy.py): the same table decides the page, the API and the navigation.
    assert api.as_user(carl).get(_url(loan)).status_code == 403


def test_the_book_requires_authentication(api, loan):
    assert api.get(LOANS).status_code == 401


def test_the_detail_shows_recalls_rerates_and_accruals(api, bob, loan):
    recall_loan(actor=bob, loan=loan, quantity=Decimal(1), due_at=timezone.now() + timedelta(days=1))
    accrue(business_date())
    propose_rerate(
        actor=bob, loan=loan, rate_bps=Decimal(500), effective_date=business_date() + timedelta(days=1)
    )
    body = api.as_user(bob).get(_url(loan)).json()
    assert [(r["quantity"], r["status"], r["is_past_due"]) for r in body["recalls"]] == [
        ("1.000000000000000000", "open", False)
    ]
    assert [(r["rate_bps"], r["status"], r["proposed_by"]) for r in body["rerates"]] == [
        ("500.0000", "proposed", "bob")
    ]
    assert body["accruals"] == {
        "days": 1,
        "first_date": business_date().isoformat(),
        "last_date": business_date().isoformat(),
        "total_fee": "0.000400000000000000",
    }


def test_an_unknown_loan_is_404(api, bob, loan):
    assert api.as_user(bob).get(f"{LOANS}999999/").status_code == 404
    assert api.as_user(bob).get(f"{LOANS}abc/").status_code == 404


def test_the_book_runs_a_fixed_number_of_queries(
    api, bob, loan, btc, stocked, acme, django_assert_num_queries
):
    # token auth, user's roles, count, page of loans (with fee, recall, rate and flag subqueries)
    client = api.as_user(bob)
    with django_assert_num_queries(4):
        client.get(LOANS)
    for _ in range(4):
        active_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="1")
    client = api.as_user(bob)
    with django_assert_num_queries(4):
        assert client.get(LOANS).json()["count"] == 5


def test_a_traders_book_runs_a_fixed_number_of_queries(
    api, alice, bob, loan, btc, stocked, acme, django_assert_num_queries
):
    # token auth, user's roles, count, page of loans narrowed to alice's granted counterparties
    client = api.as_user(alice)
    with django_assert_num_queries(4):
        client.get(LOANS)
    for _ in range(4):
        active_loan(actor=bob, counterparty=acme, asset=btc, account=stocked, quantity="1")
    client = api.as_user(alice)
    with django_assert_num_queries(4):
        assert client.get(LOANS).json()["count"] == 5


# --- returns -----------------------------------------------------------------------------------------


def test_a_partial_return_answers_the_loan_detail(api, bob, loan):
    response = _post(api, bob, _url(loan, "return/"), {"quantity": "1"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["open_quantity"], body["status"]) == ("3.000000000000000000", "active")
    assert body == api.as_user(bob).get(_url(loan)).json()


def test_a_full_return_closes_the_loan(api, bob, loan):
    body = _post(api, bob, _url(loan, "return/"), {"quantity": 4}).json()
    assert (body["status"], body["open_quantity"]) == ("closed", "0.000000000000000000")
    assert body["closed_at"] is not None and Loan.objects.get().status == "closed"


@pytest.mark.parametrize(
    "quantity",
    ["4.00000001", "0", "-1", "0.000000001", "NaN", "Infinity", "1e309", "abc", None],
)
def test_a_bad_return_is_400_and_changes_nothing(api, bob, loan, quantity):
    before = ledger_state()
    response = _post(api, bob, _url(loan, "return/"), {"quantity": quantity})
    assert response.status_code == 400 and "quantity" in response.json()["fields"], response.json()
    assert ledger_state() == before


def test_a_return_on_a_closed_loan_is_409(api, bob, loan):
    return_loan(actor=bob, loan=loan, quantity=Decimal(4))
    before = ledger_state()
    response = _post(api, bob, _url(loan, "return/"), {"quantity": "1"})
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    assert ledger_state() == before


@pytest.mark.parametrize("who", ["alice", "rita", "tess", "mona", "audrey"])
def test_only_operations_record_returns(api, personas, loan, who):
    before = ledger_state()
    response = _post(api, personas[who], _url(loan, "return/"), {"quantity": "1"})
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert ledger_state() == before


def test_an_unauthenticated_return_is_401(api, loan):
    before = ledger_state()
    assert api.post(_url(loan, "return/"), {"quantity": "1"}, format="json").status_code == 401
    assert ledger_state() == before


# --- recalls -----------------------------------------------------------------------------------------


def test_a_recall_answers_the_loan_with_it(api, bob, loan):
    response = _post(api, bob, _url(loan, "recall/"), {"quantity": "1.5", "due_at": _tomorrow()})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [(r["quantity"], r["status"]) for r in body["recalls"]] == [("1.500000000000000000", "open")]
    assert body["open_recall_quantity"] == "1.500000000000000000"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": "4.5"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "0.000000001"}, "quantity"),
        ({"due_at": "2020-01-01T00:00:00Z"}, "due_at"),
        ({"due_at": "tomorrow"}, "due_at"),
        ({"due_at": None}, "due_at"),
    ],
)
def test_a_bad_recall_is_400_and_writes_nothing(api, bob, loan, body, field):
    before = ledger_state()
    response = _post(api, bob, _url(loan, "recall/"), {"quantity": "1", "due_at": _tomorrow(), **body})
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert ledger_state() == before


def test_recalls_together_cannot_exceed_the_open_quantity(api, bob, loan):
    assert _post(api, bob, _url(loan, "recall/"), {"quantity": "3", "due_at": _tomorrow()}).status_code == 200
    before = ledger_state()
    response = _post(api, bob, _url(loan, "recall/"), {"quantity": "2", "due_at": _tomorrow()})
    assert response.status_code == 400 and ledger_state() == before


def test_a_recall_on_a_closed_loan_is_409(api, bob, loan):
    return_loan(actor=bob, loan=loan, quantity=Decimal(4))
    response = _post(api, bob, _url(loan, "recall/"), {"quantity": "1", "due_at": _tomorrow()})
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    assert not Recall.objects.exists()


def test_traders_cannot_recall(api, alice, loan):
    before = ledger_state()
    response = _post(api, alice, _url(loan, "recall/"), {"quantity": "1", "due_at": _tomorrow()})
    assert response.status_code == 403 and not Recall.objects.exists()
    assert ledger_state() == before


# --- rerates -----------------------------------------------------------------------------------------


def _propose(api, user, loan, **body):
    data = {"rate_bps": "500", "effective_date": business_date().isoformat(), **body}
    return _post(api, user, _url(loan, "rerates/"), data)


def test_operations_propose_a_rerate(api, bob, loan):
    response = _propose(api, bob, loan)
    assert response.status_code == 200, response.json()
    assert [(r["rate_bps"], r["status"]) for r in response.json()["rerates"]] == [("500.0000", "proposed")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rate_bps": "-1"}, "rate_bps"),
        ({"rate_bps": "100001"}, "rate_bps"),
        ({"rate_bps": "NaN"}, "rate_bps"),
        ({"rate_bps": "1e309"}, "rate_bps"),
        ({"rate_bps": "1.00001"}, "rate_bps"),
        ({"effective_date": "2020-01-01"}, "effective_date"),
        ({"effective_date": "someday"}, "effective_date"),
    ],
)
def test_a_bad_rerate_is_400_and_writes_nothing(api, bob, loan, body, field):
    before = ledger_state()
    response = _propose(api, bob, loan, **body)
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert ledger_state() == before


def test_a_second_open_proposal_is_409(api, bob, loan):
    _propose(api, bob, loan)
    before = ledger_state()
    response = _propose(api, bob, loan, rate_bps="600")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    assert ledger_state() == before


def test_traders_cannot_propose_rerates(api, alice, loan):
    before = ledger_state()
    assert _propose(api, alice, loan).status_code == 403
    assert ledger_state() == before and not loan.rerates.exists()


def test_the_borrowers_trader_accepts_a_rerate(api, bob, alice, loan):
    rerate_id = _propose(api, bob, loan).json()["rerates"][0]["id"]
    response = _post(api, alice, _url(loan, f"rerates/{rerate_id}/accept/"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [(r["status"], r["decided_by"]) for r in body["rerates"]] == [("accepted", "alice")]
    assert body["rate_in_force_bps"] == "500.0000"


def test_the_borrowers_trader_rejects_a_rerate(api, bob, alice, loan):
    rerate_id = _propose(api, bob, loan).json()["rerates"][0]["id"]
    response = _post(api, alice, _url(loan, f"rerates/{rerate_id}/reject/"))
    assert response.status_code == 200 and response.json()["rerates"][0]["status"] == "rejected"
    assert response.json()["rate_in_force_bps"] == "365.0000"


def test_another_traders_answer_is_404(api, bob, tom, loan):
    rerate_id = _propose(api, bob, loan).json()["rerates"][0]["id"]
    before = ledger_state()
    assert _post(api, tom, _url(loan, f"rerates/{rerate_id}/accept/")).status_code == 404
    assert ledger_state() == before
    assert loan.rerates.get().status == "proposed"


@pytest.mark.parametrize("who", ["bob", "olivia", "adam"])
def test_the_desk_cannot_answer_for_the_borrower(api, personas, loan, who):
    rerate_id = _propose(api, personas["bob"], loan).json()["rerates"][0]["id"]
    before = ledger_state()
    response = _post(api, personas[who], _url(loan, f"rerates/{rerate_id}/accept/"))
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert ledger_state() == before


def test_answering_a_decided_rerate_is_409(api, bob, alice, loan):
    rerate_id = _propose(api, bob, loan).json()["rerates"][0]["id"]
    _post(api, alice, _url(loan, f"rerates/{rerate_id}/accept/"))
    response = _post(api, alice, _url(loan, f"rerates/{rerate_id}/reject/"))
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")


def test_an_unknown_rerate_is_404(api, bob, alice, loan, globex, btc, stocked):
    other = active_loan(actor=bob, counterparty=globex, asset=btc, account=stocked, quantity="1")
    rerate_id = _propose(api, bob, other).json()["rerates"][0]["id"]
    # alice's loan, but the rerate belongs to another loan
    assert _post(api, alice, _url(loan, f"rerates/{rerate_id}/accept/")).status_code == 404
    assert _post(api, alice, _url(loan, "rerates/999999/accept/")).status_code == 404
