"""A trader cannot tell from a refusal whether another counterparty's code (or a settlement account)
exists: an unknown one and one they may not use get the same field message."""

import json
import uuid

import pytest

from requests_app.models import BorrowRequest
from tests.inventory.factories import desk_asset
from tests.refdata.factories import CustodyAccountFactory

URL = "/api/v1/borrow-requests/"
UNKNOWN_COUNTERPARTY = "Unknown counterparty, or not one you act for."
UNKNOWN_ACCOUNT = "Unknown settlement account, or not an active account of this counterparty."


@pytest.fixture
def btc(desk_config):
    return desk_asset("BTC", 8, "50000")


def _submit(api, user, **change):
    body = {"counterparty": "ACME", "asset": "BTC", "quantity": "1", **change}
    return api.as_user(user).post(
        URL, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )


def test_a_counterparty_that_exists_but_is_not_hers_reads_like_one_that_does_not(api, alice, globex, btc):
    hidden, missing = _submit(api, alice, counterparty="GLOBEX"), _submit(api, alice, counterparty="NOSUCH")
    assert (hidden.status_code, missing.status_code) == (400, 400)
    assert hidden.json()["fields"] == missing.json()["fields"] == {"counterparty": [UNKNOWN_COUNTERPARTY]}
    assert not BorrowRequest.objects.exists()


def test_an_unknown_settlement_account_gets_the_services_words(api, alice, acme, btc):
    response = _submit(api, alice, settlement_account="NOSUCH")
    assert response.status_code == 400
    assert response.json()["fields"] == {"settlement_account": [UNKNOWN_ACCOUNT]}
    assert response.json()["detail"] == UNKNOWN_ACCOUNT
    assert not BorrowRequest.objects.exists()


def test_another_counterpartys_settlement_account_is_refused_on_the_same_field(api, alice, globex, btc):
    CustodyAccountFactory(code="GLOBEX-SETTLE", owner=globex, purpose="settlement")
    response = _submit(api, alice, settlement_account="GLOBEX-SETTLE")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["settlement_account"]
    assert not BorrowRequest.objects.exists()
