"""Releases: collateral goes back to its owner only while coverage stays at the required level.

The book: ACME owes 1 BTC (mark 50,000: exposure 50,000) and pledged 100 SOL (mark 900, haircut 0:
value 90,000, coverage 1.80). Required 1.50 x 50,000 = 75,000, so 15,000 of value (16.66… SOL) may go.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowdesk.errors import InvalidInput, InvalidState, PermissionDeniedError
from collateral.errors import CoverageBreach
from collateral.models import Release
from collateral.services.valuation import preview_release, release_collateral
from collateral.signals import collateral_released
from inventory.errors import InsufficientInventory
from inventory.models import Position
from tests.collateral import valuation_helpers as h
from tests.inventory.factories import ledger_state
from tests.races import race, rows_queued_for, wait_until_a_backend_waits_for_a_lock
from tests.refdata.factories import CounterpartyFactory

D = Decimal


def state() -> dict:
    return {**ledger_state(), "releases": list(Release.objects.values_list("id", flat=True))}


def pledged(asset, account) -> Decimal:
    return Position.objects.get(asset=asset, account=account, bucket="pledged").quantity


def make_book(acme):
    btc, sol = h.asset("BTC"), h.asset("SOL", decimals=4)
    now = timezone.now()
    h.price(btc, 50000, as_of=now - timedelta(minutes=1))
    h.price(sol, 900, as_of=now - timedelta(minutes=1))
    h.haircut(sol, 0)
    account = h.collateral_account(acme)
    h.pledge(account, sol, 100)
    h.lend(acme, btc, 1)
    return {"btc": btc, "sol": sol, "account": account}


@pytest.fixture
def book(desk_config, acme):
    return make_book(acme)


def release(actor, book, acme, quantity, **kw):
    return release_collateral(
        actor=actor, counterparty=acme, asset=book["sol"], account=book["account"], quantity=D(quantity), **kw
    )


def test_release_that_keeps_coverage_at_required_is_posted(
    book, acme, bob, django_capture_on_commit_callbacks
):
    received = []

    def receiver(sender, release, **kwargs):
        received.append(release)

    collateral_released.connect(receiver, dispatch_uid="test-release")
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            done = release(bob, book, acme, "16", reference="REL-1")
        assert (done.quantity, done.reference, done.created_by) == (D("16"), "REL-1", bob)
        assert done.coverage_after == D("1.512")  # 84 x 900 = 75,600 / 50,000
        assert done.journal.kind == "collateral_release"
        assert pledged(book["sol"], book["account"]) == D("84")
        callbacks[0]()  # the signal goes out after commit, with the release
        assert received == [done]
    finally:
        collateral_released.disconnect(dispatch_uid="test-release")


def test_release_below_required_is_refused_with_the_figures_and_nothing_written(book, acme, bob):
    before = state()
    with pytest.raises(CoverageBreach) as refused:
        release(bob, book, acme, "17")  # 83 x 900 = 74,700 < 75,000
    assert refused.value.status == 409 and refused.value.code == "coverage_breach"
    assert refused.value.detail == (
        "Releasing 17 SOL would leave ACME's coverage at 1.49 (collateral $74,700.00 against exposure "
        "$50,000.00), below the required 1.50 ($75,000.00): at most 16.6666 SOL may be released now."
    )
    assert state() == before


def test_release_of_more_than_is_pledged_is_insufficient(book, acme, bob):
    before = state()
    with pytest.raises(InsufficientInventory) as refused:
        release(bob, book, acme, "100.0001")
    assert refused.value.status == 409
    assert state() == before


def test_no_exposure_releases_everything_it_holds(desk_config, bob):
    cp = CounterpartyFactory(code="NOLOANS")
    sol = h.asset("SOL")  # not even priced: with nothing owed, no price is needed
    account = h.collateral_account(cp)
    h.pledge(account, sol, 5)
    done = release_collateral(actor=bob, counterparty=cp, asset=sol, account=account, quantity=D("5"))
    assert done.coverage_after is None
    assert not Position.objects.filter(account=account, bucket="pledged").exclude(quantity=0).exists()


def test_a_stale_mark_refuses_the_release_as_invalid_state(book, acme, bob):
    h.price(book["btc"], 50000, as_of=timezone.now() - timedelta(hours=3))
    # The BTC mark is still the fresher one; make SOL's only mark stale instead.
    from borrowdesk.refdata.models import Price

    Price.objects.filter(asset=book["sol"]).update(as_of=timezone.now() - timedelta(hours=2))
    before = state()
    with pytest.raises(InvalidState) as refused:
        release(bob, book, acme, "1")
    assert refused.value.code == "invalid_state"
    assert "SOL: mark stale" in refused.value.detail
    assert state() == before


@pytest.mark.parametrize(
    ("quantity", "field"),
    [("0", "quantity"), ("-1", "quantity"), ("0.00001", "quantity"), ("1e30", "quantity")],
)
def test_bad_quantities_are_refused(book, acme, bob, quantity, field):
    before = state()
    with pytest.raises(InvalidInput) as refused:
        release(bob, book, acme, quantity)
    assert field in refused.value.fields
    assert state() == before


def test_an_account_not_the_counterpartys_collateral_is_refused(book, acme, globex, bob):
    other = h.collateral_account(globex)
    firm = h.firm_inventory()
    for account in (other, firm):
        with pytest.raises(InvalidInput) as refused:
            release_collateral(
                actor=bob, counterparty=acme, asset=book["sol"], account=account, quantity=D(1)
            )
        assert "account" in refused.value.fields


def test_only_ops_release(book, acme, rita, alice):
    for user in (rita, alice):
        with pytest.raises(PermissionDeniedError):
            release(user, book, acme, "1")


def test_preview_shows_the_coverage_after_without_writing(book, acme):
    before = state()
    now, after = preview_release(
        counterparty=acme, asset=book["sol"], account=book["account"], quantity=D("20")
    )
    assert now.coverage_ratio == D("1.8")  # 100 x 900 / 50,000
    assert after.coverage_ratio == D("1.44")  # 80 x 900 / 50,000
    assert not after.meets_required
    assert state() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_releases_never_leave_coverage_below_required(acme):
    from tests.conftest import ensure_desk_config

    ensure_desk_config()
    book = make_book(acme)
    ops = [h._user(f"ops-race-{i}", "ops") for i in range(2)]
    # Each alone is fine (90 x 900 = 81,000: 1.62); both would leave 80 x 900 = 72,000: 1.44.
    outcomes = race([lambda a=a: release(a, book, acme, "10") for a in ops])
    assert sorted(outcomes) == ["coverage_breach", "ok"], outcomes
    assert pledged(book["sol"], book["account"]) == D("90")
    assert Release.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_release_waits_for_an_approval_holding_the_limit_and_values_its_loan(acme):
    """A final approval checks the coverage covenant under the limit's lock; a release racing it takes
    the same lock, so it values the loan the approval committed meanwhile. Without it, each would pass
    on a book without the other's change: 10 SOL out (81,000 left) is fine against 50,000 of exposure
    (1.62) but not against the 60,000 the approval makes it (1.35 < 1.50)."""
    import threading

    from django.db import connection, transaction

    from collateral.services.limits import check_limits_for_final_approval
    from inventory.services import open_loan
    from tests.collateral.limit_helpers import limit
    from tests.conftest import ensure_desk_config
    from tests.inventory.factories import stock

    ensure_desk_config()
    book = make_book(acme)
    limit(acme, 1_000_000, min_coverage_ratio="1.0")
    ops = h.ops_user()
    stock(book["btc"], h.firm_inventory(), "0.2", actor=h._user("helper-treasury", "treasury"))
    holding, go = threading.Event(), threading.Event()

    def approve_a_loan():  # what a final approval does: the limit check, then its loan
        try:
            with transaction.atomic():
                check_limits_for_final_approval(
                    counterparty_id=acme.pk, asset=book["btc"], quantity=D("0.2"), term_days=None
                )
                holding.set()
                go.wait(10)
                open_loan(
                    actor=ops,
                    request_id=None,
                    counterparty=acme,
                    asset=book["btc"],
                    account=h.firm_inventory(),
                    quantity=D("0.2"),
                    rate_bps=D("365"),
                    term_days=None,
                    hold_expires_at=None,
                )
        finally:
            connection.close()

    outcome = []

    def release_ten():
        try:
            release(h._user("ops-release", "ops"), book, acme, "10")
            outcome.append("ok")
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted
            outcome.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    approver = threading.Thread(target=approve_a_loan)
    approver.start()
    assert holding.wait(10)
    releaser = threading.Thread(target=release_ten)
    releaser.start()
    try:
        wait_until_a_backend_waits_for_a_lock()
        assert rows_queued_for() == ["collateral_borrowerlimit"]
    finally:
        go.set()
        approver.join(10)
        releaser.join(10)
    assert outcome == ["coverage_breach"]
    assert pledged(book["sol"], book["account"]) == D("100")
    assert not Release.objects.exists()
