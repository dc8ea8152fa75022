"""refdata announces every applied price (``signals.price_applied``) after its commit, so the apps
above (collateral's revaluation) react to a new mark; a pending override is announced only when it is
confirmed."""

from decimal import Decimal

import pytest

from borrowdesk.access.services import create_desk_user
from borrowdesk.refdata.services import confirm_price, record_price
from borrowdesk.refdata.signals import price_applied
from tests.conftest import PASSWORD


@pytest.fixture
def announced():
    received = []

    def receiver(sender, *, price_id, asset_id, **kwargs):
        received.append((price_id, asset_id))

    price_applied.connect(receiver, dispatch_uid="test-price-applied")
    yield received
    price_applied.disconnect(dispatch_uid="test-price-applied")


def test_a_feed_price_is_announced_after_commit(pete, btc, announced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        price = record_price(actor=pete, asset=btc, price_usd=Decimal("50000"))
    assert announced == []  # not before the commit
    for callback in callbacks:
        callback()
    assert (price.pk, btc.pk) in announced


def test_a_pending_override_is_announced_only_once_confirmed(
    adam, btc, announced, desk_config, django_capture_on_commit_callbacks
):
    adele = create_desk_user(username="adele", password=PASSWORD, roles=["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        override = record_price(actor=adele, asset=btc, price_usd=Decimal("1"))  # no mark yet: pending
    assert override.status == "pending"
    assert announced == []
    with django_capture_on_commit_callbacks(execute=True):
        confirm_price(actor=adam, price=override)
    assert (override.pk, btc.pk) in announced
