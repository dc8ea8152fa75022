"""The borrow-request API: intake, idempotency, approvals, scope and the queue."""

import json
import uuid
from datetime import date
from decimal import Decimal

import pytest

from inventory.models import Journal, Position
from requests_app.models import Approval, BorrowRequest, IdempotencyRecord

URL = "/api/v1/borrow-requests/"


def _post(api, user, body, key=None, url=URL):
    client = api.as_user(user)
    headers = {"HTTP_IDEMPOTENCY_KEY": key or uuid.uuid4().hex}
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def body():
    return {
        "counterparty": "ACME",
        "asset": "BTC",
        "quantity": "1.5",
        "min_quantity": "1",
        "max_rate_bps": "600",
        "term_days": 30,
        "urgency": "high",
        "notes": "short cover",
    }


def _nothing_written():
    return BorrowRequest.objects.count() == 0 and IdempotencyRecord.objects.count() == 0


def test_trader_submits_a_request_for_a_granted_counterparty(api, alice, cleared_acme, btc, body):
    response = _post(api, alice, body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["status"], data["counterparty"], data["asset"], data["quantity"]) == (
        "pending_approval",
        "ACME",
        "BTC",
        "1.500000000000000000",
    )
    # The desk's priority score and its parts are the desk's, not the trader's (issue 8).
    assert "priority_score" not in data and "priority_parts" not in data


def test_request_of_an_uncleared_counterparty_goes_to_compliance_hold(api, alice, acme, btc, body):
    response = _post(api, alice, body)
    assert response.json()["status"] == "compliance_hold"


def test_compliance_clearing_the_counterparty_releases_its_held_requests(
    api, alice, carl, acme, btc, body, django_capture_on_commit_callbacks
):
    from compliance.services import set_kyc

    request_id = _post(api, alice, body).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        set_kyc(
            actor=carl, counterparty=acme, status="approved", risk_rating="low", expires_on=date(2099, 1, 1)
        )
    assert BorrowRequest.objects.get(pk=request_id).status == "pending_approval"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"asset": "NOPE"}, "asset"),
        ({"counterparty": "GLOBEX"}, "counterparty"),  # exists, not granted to alice
        ({"counterparty": "NOPE"}, "counterparty"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "0.123456789"}, "quantity"),  # BTC has 8 decimals
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "Infinity"}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"min_quantity": "2"}, "min_quantity"),  # above quantity
        ({"max_rate_bps": "-5"}, "max_rate_bps"),
        ({"max_rate_bps": "100001"}, "max_rate_bps"),
        ({"term_days": 0}, "term_days"),
        ({"term_days": "x"}, "term_days"),
        ({"urgency": "yesterday"}, "urgency"),
        ({"needed_by": "2001-01-01T00:00:00Z"}, "needed_by"),
        ({"settlement_account": "NOPE"}, "settlement_account"),
    ],
)
def test_bad_intake_is_a_400_with_the_error_shape_and_writes_nothing(
    api, alice, cleared_acme, globex, btc, body, change, field
):
    response = _post(api, alice, {**body, **change})
    assert response.status_code == 400, response.json()
    data = response.json()
    assert data["code"] == "invalid" and data["detail"]
    assert field in data["fields"]
    assert _nothing_written()


def test_a_number_too_large_for_a_float_is_refused(api, alice, cleared_acme, btc):
    raw = '{"counterparty": "ACME", "asset": "BTC", "quantity": 1e309}'
    response = api.as_user(alice).post(
        URL, data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 400
    assert "quantity" in response.json()["fields"]
    assert _nothing_written()


def test_an_inactive_asset_is_refused(api, alice, cleared_acme, btc, body):
    btc.is_active = False
    btc.save()
    response = _post(api, alice, body)
    assert (response.status_code, list(response.json()["fields"])) == (400, ["asset"])
    assert _nothing_written()


def test_malformed_json_is_a_parse_error(api, alice, cleared_acme, btc):
    response = api.as_user(alice).post(
        URL, data="{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")
    assert _nothing_written()


def test_a_submission_without_an_idempotency_key_is_refused(api, alice, cleared_acme, btc, body):
    response = api.as_user(alice).post(URL, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert _nothing_written()


def test_non_traders_cannot_submit(api, bob, cleared_acme, btc, body):
    response = _post(api, bob, body)
    assert (response.status_code, response.json()["code"]) in {(400, "invalid"), (403, "permission_denied")}
    assert BorrowRequest.objects.count() == 0


def test_unauthenticated_submission_is_401(api, cleared_acme, btc, body):
    response = api.post(URL, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_same_key_and_body_returns_the_first_response_and_one_request(api, alice, cleared_acme, btc, body):
    first = _post(api, alice, body, key="order-77")
    second = _post(api, alice, body, key="order-77")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert BorrowRequest.objects.count() == 1


def test_same_key_with_another_body_is_an_idempotency_conflict(api, alice, cleared_acme, btc, body):
    _post(api, alice, body, key="order-78")
    response = _post(api, alice, {**body, "quantity": "2"}, key="order-78")
    assert (response.status_code, response.json()["code"]) == (409, "idempotency_conflict")
    assert BorrowRequest.objects.count() == 1


# --- approvals through the API ---------------------------------------------------------------------


@pytest.fixture
def pending(api, alice, cleared_acme, btc, stocked, body):
    return _post(api, alice, body).json()["id"]


def _approve(api, user, request_id, **body):
    return api.as_user(user).post(
        f"{URL}{request_id}/approve/",
        data=json.dumps({"rate_bps": "450", **body}),
        content_type="application/json",
    )


def test_ops_approves_and_the_answer_is_the_request_after_the_change(api, bob, pending):
    response = _approve(api, bob, pending)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "approved" and data["loan"]
    assert [(a["who"], a["step"], a["decision"]) for a in data["approvals"]] == [("bob", 1, "approved")]


def test_partial_approval_respects_the_minimum_quantity(api, bob, pending):
    assert _approve(api, bob, pending, quantity="0.5").status_code == 400
    response = _approve(api, bob, pending, quantity="1.2")
    assert response.json()["approved_quantity"] == "1.200000000000000000"


@pytest.mark.parametrize("rate", ["-1", "100001", "NaN", "abc"])
def test_bad_rate_is_a_400_and_changes_nothing(api, bob, pending, rate):
    response = _approve(api, bob, pending, rate_bps=rate)
    assert response.status_code == 400
    assert not Approval.objects.exists() and not Journal.objects.filter(kind="allocation").exists()


def _untouched(request_id):
    """Nothing of an approval was written: no decision, no loan, no hold, the request as submitted."""
    request = BorrowRequest.objects.get(pk=request_id)
    return (
        (request.status, request.loan_id, request.first_action_at, request.approved_quantity)
        == ("pending_approval", None, None, None)
        and not Approval.objects.exists()
        and not Journal.objects.filter(kind="allocation").exists()
    )


@pytest.mark.parametrize(
    ("quantity", "why"),
    [
        ("0", "zero"),
        ("-1", "negative"),
        ("1.123456789", "more decimals than BTC has"),
        ("NaN", "not a number"),
        ("Infinity", "not finite"),
        ("1.6", "above the requested quantity"),
        ("0.5", "below the request's minimum"),
        ("abc", "not a number at all"),
    ],
)
def test_bad_approval_quantity_is_a_400_and_changes_nothing(api, bob, pending, quantity, why):
    response = _approve(api, bob, pending, quantity=quantity)
    assert response.status_code == 400, (why, response.json())
    assert response.json()["code"] == "invalid" and "quantity" in response.json()["fields"]
    assert _untouched(pending)


def test_an_approval_quantity_too_large_for_a_float_is_refused(api, bob, pending):
    response = api.as_user(bob).post(
        f"{URL}{pending}/approve/",
        data='{"rate_bps": "450", "quantity": 1e309}',
        content_type="application/json",
    )
    assert response.status_code == 400 and "quantity" in response.json()["fields"]
    assert _untouched(pending)


@pytest.mark.parametrize("account", ["NOPE", "ACME-WALLET"])
def test_an_unknown_or_client_source_account_is_a_400(api, bob, pending, cleared_acme, account):
    from tests.refdata.factories import CustodyAccountFactory

    CustodyAccountFactory(code="ACME-WALLET", owner=cleared_acme, purpose="settlement")
    response = _approve(api, bob, pending, account=account)
    assert response.status_code == 400 and "account" in response.json()["fields"]
    assert _untouched(pending)


def test_a_missing_rate_is_a_400(api, bob, pending):
    response = api.as_user(bob).post(f"{URL}{pending}/approve/", data="{}", content_type="application/json")
    assert response.status_code == 400 and "rate_bps" in response.json()["fields"]
    assert _untouched(pending)


def test_malformed_approval_json_is_a_parse_error(api, bob, pending):
    response = api.as_user(bob).post(
        f"{URL}{pending}/approve/", data='{"rate_bps": 4', content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")
    assert _untouched(pending)


def test_trader_cannot_approve(api, alice, tom, pending):
    # A trader is not an approver (requests.approve), own request or not: refused before any lookup,
    # so the answer says nothing of whether the request exists.
    response = _approve(api, tom, pending)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    response = _approve(api, alice, pending)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert _untouched(pending)


def test_the_wrong_role_for_the_step_is_permission_denied(api, rita, olivia, pending):
    # A small request's one step is ops: neither risk nor ops_senior may take it.
    for user in (rita, olivia):
        response = _approve(api, user, pending)
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
        assert "ops" in response.json()["detail"]
    assert _untouched(pending)


def test_a_second_approval_by_the_same_user_is_segregation_of_duties(
    api, alice, olivia, cleared_acme, btc, stocked, body
):
    from borrowdesk.access.services import create_desk_user

    both = create_desk_user(username="omar", password="long-password-123", roles=["ops", "ops_senior"])
    request_id = _post(api, alice, {**body, "quantity": "6", "min_quantity": "6"}).json()["id"]
    assert _approve(api, both, request_id).json()["status"] == "pending_second_approval"
    response = _approve(api, both, request_id)
    assert (response.status_code, response.json()["code"]) == (403, "segregation_of_duties")
    request = BorrowRequest.objects.get(pk=request_id)
    assert (request.status, request.approvals.count(), request.loan_id) == (
        "pending_second_approval",
        1,
        None,
    )
    # Another person takes the second step.
    assert _approve(api, olivia, request_id).json()["status"] == "approved"


def test_approving_ones_own_request_is_segregation_of_duties(api, personas, cleared_acme, btc, stocked, body):
    from borrowdesk.access.services import create_desk_user

    hybrid = create_desk_user(
        username="hank", password="long-password-123", roles=["trader", "ops"], counterparties=[cleared_acme]
    )
    request_id = _post(api, hybrid, body).json()["id"]
    response = _approve(api, hybrid, request_id)
    assert (response.status_code, response.json()["code"]) == (403, "segregation_of_duties")
    assert BorrowRequest.objects.get(pk=request_id).status == "pending_approval"


def test_not_enough_inventory_is_409_and_the_request_stays_approvable(
    api, alice, bob, cleared_acme, btc, stocked, body
):
    request_id = _post(api, alice, {**body, "quantity": "4", "min_quantity": "4"}).json()["id"]
    other = _post(api, alice, {**body, "quantity": "4", "min_quantity": "4"}).json()["id"]
    third = _post(api, alice, {**body, "quantity": "4", "min_quantity": "4"}).json()["id"]
    assert _approve(api, bob, request_id).status_code == 200
    assert _approve(api, bob, other).status_code == 200
    response = _approve(api, bob, third)
    assert (response.status_code, response.json()["code"]) == (409, "insufficient_inventory")
    assert BorrowRequest.objects.get(pk=third).status == "pending_approval"
    assert Position.objects.get(bucket="allocated").quantity == Decimal(8)


def test_rate_above_the_traders_maximum_makes_an_offer_the_trader_accepts(api, alice, bob, pending):
    response = _approve(api, bob, pending, rate_bps="700")
    assert response.json()["status"] == "offered"
    assert not Position.objects.filter(bucket="allocated").exists()
    response = api.as_user(alice).post(f"{URL}{pending}/accept/")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert Position.objects.get(bucket="allocated").quantity == Decimal("1.5")


def test_trader_declines_an_offer(api, alice, bob, pending):
    _approve(api, bob, pending, rate_bps="700")
    assert api.as_user(alice).post(f"{URL}{pending}/decline/").json()["status"] == "declined"


def test_asset_without_a_price_cannot_be_approved(api, alice, bob, cleared_acme, stocked, body):
    from tests.inventory.factories import desk_asset, stock

    eth = desk_asset("ETH", 18, price=None)
    stock(eth, stocked, "100")
    request_id = _post(api, alice, {**body, "asset": "ETH"}).json()["id"]
    response = _approve(api, bob, request_id)
    assert (response.status_code, response.json()["code"]) == (409, "price_unavailable")
    assert "no price" in response.json()["detail"]


def test_reject_needs_a_reason_and_records_it(api, bob, pending):
    assert api.as_user(bob).post(f"{URL}{pending}/reject/", data={}, format="json").status_code == 400
    response = api.as_user(bob).post(f"{URL}{pending}/reject/", data={"reason": "limit"}, format="json")
    assert (response.json()["status"], response.json()["reason"]) == ("rejected", "limit")


def test_cancel_by_the_requester_before_approval(api, alice, bob, pending):
    assert api.as_user(alice).post(f"{URL}{pending}/cancel/").json()["status"] == "cancelled"
    response = _approve(api, bob, pending)
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")


# --- scope, the queue and query counts -------------------------------------------------------------


def test_trader_sees_only_requests_of_granted_counterparties(api, alice, tom, pending):
    assert api.as_user(tom).get(URL).json()["count"] == 0
    assert api.as_user(tom).get(f"{URL}{pending}/").status_code == 404
    assert api.as_user(alice).get(URL).json()["count"] == 1


def test_queue_lists_exactly_what_the_caller_may_act_on_highest_priority_first(
    api, alice, bob, olivia, rita, cleared_acme, btc, stocked, body
):
    low = _post(api, alice, {**body, "urgency": "low"}).json()["id"]
    critical = _post(api, alice, {**body, "urgency": "critical"}).json()["id"]
    medium = _post(api, alice, {**body, "quantity": "6", "min_quantity": "6"}).json()["id"]
    ids = [r["id"] for r in api.as_user(bob).get("/api/v1/queues/approval/").json()["results"]]
    assert ids[0] == critical and set(ids) == {low, critical, medium}
    assert api.as_user(olivia).get("/api/v1/queues/approval/").json()["count"] == 0
    _approve(api, bob, medium)
    assert [r["id"] for r in api.as_user(olivia).get("/api/v1/queues/approval/").json()["results"]] == [
        medium
    ]
    assert medium not in [r["id"] for r in api.as_user(bob).get("/api/v1/queues/approval/").json()["results"]]
    assert api.as_user(rita).get("/api/v1/queues/approval/").json()["count"] == 0


def test_queue_runs_a_fixed_number_of_queries(
    api, alice, bob, cleared_acme, btc, stocked, body, django_assert_num_queries
):
    _post(api, alice, body)
    client = api.as_user(bob)  # the one test client now acts as bob
    # token auth, user's roles, count, page of requests (with related rows), availability
    with django_assert_num_queries(5):
        assert client.get("/api/v1/queues/approval/").json()["count"] == 1
    for _ in range(5):
        _post(api, alice, body)
    client = api.as_user(bob)
    with django_assert_num_queries(5):
        assert client.get("/api/v1/queues/approval/").json()["count"] == 6


def test_request_list_runs_a_fixed_number_of_queries(
    api, alice, bob, cleared_acme, btc, stocked, body, django_assert_num_queries
):
    _post(api, alice, body)
    client = api.as_user(bob)
    # token auth, user's roles, count, page of requests with related rows
    with django_assert_num_queries(4):
        assert client.get(URL).json()["count"] == 1
    for _ in range(5):
        _post(api, alice, body)
    client = api.as_user(bob)
    with django_assert_num_queries(4):
        assert client.get(URL).json()["count"] == 6


def test_the_schema_says_a_submission_needs_an_idempotency_key(client, db):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    [header] = [
        p for p in schema["paths"]["/api/v1/borrow-requests/"]["post"]["parameters"] if p["in"] == "header"
    ]
    assert (header["name"], header["required"]) == ("Idempotency-Key", True)
    # Reads take no key.
    assert all(p["in"] != "header" for p in schema["paths"]["/api/v1/borrow-requests/"]["get"]["parameters"])
