"""A pledge and a release revalue the book once they commit, as a price does: through the real broker
and a real worker, each in a window of its own (``pledge:<id>``, ``rel:<id>``), so the counterparty's
coverage, state and margin call are current without waiting for the five-minute schedule.

The book: ACME owes 1 BTC (mark 50,000: exposure 50,000) against 100 SOL (mark 600, haircut 0: value
60,000, coverage 1.20, below the call level 1.30): on call for 75,000 − 60,000 = 15,000."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from borrowdesk.operations.models import JobRun
from collateral.models import CounterpartyRisk, MarginCall
from collateral.services.pledges import book_pledge
from collateral.services.valuation import release_collateral, revalue
from tests.collateral import valuation_helpers as h
from tests.collateral.test_price_revaluation import _wait_for, worker  # noqa: F401 — the worker fixture

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

D = Decimal


@pytest.fixture
def on_call(acme):
    from tests.conftest import ensure_desk_config

    ensure_desk_config()
    btc, sol = h.asset("BTC"), h.asset("SOL", decimals=4)
    now = timezone.now()
    h.price(btc, 50000, as_of=now - timedelta(minutes=1))
    h.price(sol, 600, as_of=now - timedelta(minutes=1))
    h.haircut(sol, 0)
    account = h.collateral_account(acme)
    h.pledge(account, sol, 100)
    h.lend(acme, btc, 1)
    revalue()
    assert CounterpartyRisk.objects.get(counterparty=acme).state == "call"
    assert MarginCall.objects.get(counterparty=acme).amount_usd == D("15000")
    return {"sol": sol, "account": account}


def _revalued_in(window: str) -> bool:
    return _wait_for(
        lambda: JobRun.objects.filter(job="collateral.revalue", window=window, outcome="succeeded").exists()
    )


def test_a_pledge_revalues_after_commit_and_meets_the_call(on_call, acme, bob, worker):  # noqa: F811
    # 40 SOL more: 140 x 600 = 84,000 / 50,000 = 1.68, above required 1.50 and below return 1.80 → ok
    pledge = book_pledge(
        actor=bob, counterparty=acme, asset=on_call["sol"], account=on_call["account"], quantity=D("40")
    )
    assert _revalued_in(f"pledge:{pledge.pk}")
    risk = CounterpartyRisk.objects.get(counterparty=acme)
    assert (risk.state, risk.collateral_value_usd, risk.coverage_ratio) == ("ok", D("84000"), D("1.68"))
    assert MarginCall.objects.get(counterparty=acme).status == "met"


def test_a_release_revalues_after_commit(on_call, acme, bob, worker):  # noqa: F811
    book_pledge(
        actor=bob, counterparty=acme, asset=on_call["sol"], account=on_call["account"], quantity=D("60")
    )
    # 160 SOL: 96,000 / 50,000 = 1.92 (above return 1.80); 20 may go: 140 x 600 = 84,000, 1.68 ≥ 1.50
    release = release_collateral(
        actor=bob, counterparty=acme, asset=on_call["sol"], account=on_call["account"], quantity=D("20")
    )
    assert _revalued_in(f"rel:{release.pk}")
    risk = CounterpartyRisk.objects.get(counterparty=acme)
    assert (risk.state, risk.collateral_value_usd) == ("ok", D("84000"))


def test_a_pledge_rolled_back_queues_no_revaluation(on_call, acme, bob, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, pytest.raises(RuntimeError):
        with transaction.atomic():
            # book_pledge_from_settlement runs inside a caller's transaction: here one that fails after it
            from collateral.services.pledges import book_pledge_from_settlement

            book_pledge_from_settlement(
                actor=bob,
                settlement_id=999_999,
                counterparty=acme,
                asset=on_call["sol"],
                account=on_call["account"],
                quantity=D("40"),
            )
            raise RuntimeError("the settlement failed after booking")
    assert callbacks == []
    assert not JobRun.objects.filter(window__startswith="pledge:").exists()
    assert CounterpartyRisk.objects.get(counterparty=acme).state == "call"
