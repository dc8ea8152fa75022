"""After every new price the revaluation runs, through the real broker and a real worker, in a window
of its own (``price:<id>``): its own JobRun, once however often it is delivered."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone

from borrowdesk.celery import app
from borrowdesk.operations.models import JobRun
from borrowdesk.refdata.services import record_price
from collateral.models import CounterpartyRisk, MarginCall
from tests.collateral import valuation_helpers as h

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def worker():
    """A worker on the default queue (this checkout's own, CELERY_QUEUE), emptied first."""
    app.control.purge()
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        yield


def test_a_price_drop_revalues_and_issues_the_margin_call(acme, pete, worker):
    from tests.conftest import ensure_desk_config

    ensure_desk_config()
    btc, sol = h.asset("BTC"), h.asset("SOL")
    now = timezone.now()
    h.price(btc, 50000, as_of=now - timedelta(minutes=1))
    h.price(sol, 900, as_of=now - timedelta(minutes=1))
    h.haircut(sol, 0)
    h.pledge(h.collateral_account(acme), sol, 100)
    h.lend(acme, btc, 1)
    # 60,000 / 50,000 = 1.20 (from the same source: a different one would disagree with 900)
    price = record_price(actor=pete, asset=sol, price_usd=Decimal("600"), source="feed")
    assert _wait_for(
        lambda: JobRun.objects.filter(
            job="collateral.revalue", window=f"price:{price.pk}", outcome="succeeded"
        ).exists()
    )
    assert CounterpartyRisk.objects.get(counterparty=acme).state == "call"
    assert MarginCall.objects.get(counterparty=acme).amount_usd == Decimal("15000")  # 75,000 - 60,000
