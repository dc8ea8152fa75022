"""A trader cannot learn from intake's answers whether another counterparty, or another counterparty's
account, exists: one sentence for unknown, inactive and not granted."""

from decimal import Decimal

import pytest

from borrowdesk.errors import InvalidInput
from requests_app.models import BorrowRequest
from requests_app.services import UNKNOWN_COUNTERPARTY, UNKNOWN_SETTLEMENT_ACCOUNT, submit_request
from tests.refdata.factories import CustodyAccountFactory


def _refusal(**fields) -> tuple[str, dict]:
    with pytest.raises(InvalidInput) as refused:
        submit_request(quantity=Decimal(1), **fields)
    return refused.value.detail, refused.value.fields


def test_a_counterparty_not_granted_and_an_inactive_one_get_the_same_message(
    alice, cleared_acme, globex, btc
):
    expected = (UNKNOWN_COUNTERPARTY, {"counterparty": [UNKNOWN_COUNTERPARTY]})
    assert UNKNOWN_COUNTERPARTY == "Unknown counterparty, or not one you act for."
    assert _refusal(actor=alice, counterparty=globex, asset=btc) == expected  # exists, not granted
    cleared_acme.is_active = False
    cleared_acme.save(update_fields=["is_active"])
    assert _refusal(actor=alice, counterparty=cleared_acme, asset=btc) == expected  # granted, inactive
    assert not BorrowRequest.objects.exists()


def test_another_counterpartys_account_and_an_inactive_one_get_the_same_message(
    alice, cleared_acme, globex, btc
):
    expected = (UNKNOWN_SETTLEMENT_ACCOUNT, {"settlement_account": [UNKNOWN_SETTLEMENT_ACCOUNT]})
    assert UNKNOWN_SETTLEMENT_ACCOUNT == (
        "Unknown settlement account, or not an active account of this counterparty."
    )
    others = CustodyAccountFactory(code="GLOBEX-WALLET", owner=globex, purpose="settlement")
    inactive = CustodyAccountFactory(
        code="ACME-OLD", owner=cleared_acme, purpose="settlement", is_active=False
    )
    for account in (others, inactive):
        fields = {"actor": alice, "counterparty": cleared_acme, "asset": btc, "settlement_account": account}
        assert _refusal(**fields) == expected
    assert not BorrowRequest.objects.exists()
