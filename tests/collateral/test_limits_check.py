"""The scheduled limit check: it opens a LimitBreach for each breach found, keeps it (no duplicate) while
it lasts, resolves it when it is gone, with the figures right; its job records a run.

ACME owes 2 BTC (mark 50,000: 100,000 of exposure) over two loans of 1 BTC: one for 60 days, one
open-ended, delivered 10 days before the check. It pledged 50 ETH (mark 3,000, haircut 10: 135,000 of
collateral), a coverage of 1.35.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from borrowdesk.business_day import business_date
from borrowdesk.operations.models import JobRun
from collateral.models import LimitBreach
from collateral.services.limits import check_limits
from collateral.tasks import check_limits_before_open, check_limits_job, opening_business_date
from inventory.models import Loan
from tests.collateral import valuation_helpers as h
from tests.collateral.limit_helpers import limit
from tests.inventory.factories import _open_and_deliver, backdate_delivery, stock
from tests.refdata.factories import CounterpartyFactory

D = Decimal


@pytest.fixture
def at():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def book(desk_config, acme, at):
    btc, eth = h.asset("BTC"), h.asset("ETH")
    h.price(btc, 50000, as_of=at - timedelta(minutes=5))
    h.price(eth, 3000, as_of=at - timedelta(minutes=5))
    h.haircut(eth, 10)
    h.pledge(h.collateral_account(acme), eth, 50)
    account = h.firm_inventory()
    stock(btc, account, 2, actor=h._user("helper-treasury", "treasury"))
    with transaction.atomic():
        fixed = _open_and_deliver(h.ops_user(), acme, btc, account, "1", "365", 60)
        open_ended = _open_and_deliver(h.ops_user(), acme, btc, account, "1", "365", None)
    backdate_delivery(open_ended, business_date(at) - timedelta(days=10))
    return {"btc": btc, "eth": eth, "fixed": fixed, "open_ended": open_ended}


def _breaches():
    return {
        (b.kind, b.asset_id, b.loan_id): (b.figure, b.limit_value, b.status)
        for b in LimitBreach.objects.order_by("id")
    }


def test_the_check_opens_a_breach_of_each_kind_with_its_figures(book, acme, at):
    lim = limit(acme, 80000, max_tenor_days=30, min_coverage_ratio="1.5", caps={book["btc"]: "1.5"})
    counts = check_limits(at=at)
    assert counts == {
        "limits": 1,
        "breaches": 5,
        "opened": 5,
        "kept": 0,
        "resolved": 0,
        "unvalued": [],
    }
    assert _breaches() == {
        ("exposure", None, None): (D(100000), D(80000), "open"),  # 2 BTC x 50,000 > 80,000
        ("asset_cap", book["btc"].pk, None): (D(2), D("1.5"), "open"),  # 2 BTC open > cap 1.5
        ("tenor", None, book["fixed"].pk): (D(60), D(30), "open"),  # a 60-day term > 30 days
        ("tenor", None, book["open_ended"].pk): (D(10), D(30), "open"),  # open-ended: 10 days so far
        ("coverage", None, None): (D("1.35"), D("1.5"), "open"),  # 135,000 / 100,000 < 1.5
    }
    for breach in LimitBreach.objects.all():
        assert (breach.counterparty, breach.limit, breach.opened_at, breach.last_seen_at) == (
            acme,
            lim,
            at,
            at,
        )
        assert breach.resolved_at is None


def test_repeated_runs_keep_the_open_breaches_without_duplicates(book, acme, at):
    limit(acme, 80000, caps={book["btc"]: "1.5"})
    check_limits(at=at)
    first = dict(LimitBreach.objects.values_list("kind", "id"))
    h.price(book["btc"], 60000, as_of=at + timedelta(minutes=10))
    later = at + timedelta(minutes=15)
    for run_at in (later, later):  # twice at the same state: the second changes nothing
        assert check_limits(at=run_at) == {
            "limits": 1,
            "breaches": 2,
            "opened": 0,
            "kept": 2,
            "resolved": 0,
            "unvalued": [],
        }
    assert dict(LimitBreach.objects.values_list("kind", "id")) == first  # the same rows, no new ones
    exposure = LimitBreach.objects.get(kind="exposure")
    assert (exposure.figure, exposure.opened_at, exposure.last_seen_at) == (
        D(120000),
        at,
        later,
    )  # 2 x 60,000


def test_breaches_no_longer_found_are_resolved_and_a_recurrence_opens_a_new_one(book, acme, at):
    old = limit(acme, 80000, max_tenor_days=30)
    check_limits(at=at)
    assert LimitBreach.objects.filter(status="open").count() == 3  # exposure, two tenors
    # Risk raises the exposure limit and drops the tenor limit; the loan of 60 days is returned.
    limit(acme, 150000, effective_from=old.effective_from + timedelta(seconds=1))
    Loan.objects.filter(pk=book["fixed"].pk).update(status="closed", open_quantity=0)
    later = at + timedelta(minutes=15)
    assert check_limits(at=later)["resolved"] == 3
    assert set(LimitBreach.objects.values_list("status", "resolved_at")) == {("resolved", later)}
    assert check_limits(at=later + timedelta(minutes=15))["resolved"] == 0  # resolved once
    # Tightened again: the exposure breach recurs as a new open breach; the resolved one stays as it was.
    limit(acme, 40000, effective_from=old.effective_from + timedelta(seconds=2))  # 1 BTC open: 50,000
    assert check_limits(at=later + timedelta(minutes=30))["opened"] == 1
    assert LimitBreach.objects.filter(kind="exposure").count() == 2
    assert LimitBreach.objects.filter(kind="exposure", status="open").get().figure == D(50000)


def test_a_counterparty_within_its_limits_or_without_one_has_no_breach(book, acme, globex, at):
    limit(acme, 100000, max_tenor_days=None, min_coverage_ratio="1.35", caps={book["btc"]: 2})  # all met
    limit(globex, 0, max_tenor_days=1, min_coverage_ratio="5")  # GLOBEX owes nothing: nothing broken
    assert check_limits(at=at) == {
        "limits": 2,
        "breaches": 0,
        "opened": 0,
        "kept": 0,
        "resolved": 0,
        "unvalued": [],
    }
    assert not LimitBreach.objects.exists()


def test_an_exposure_that_cannot_be_valued_holds_its_breaches_as_they_stand(book, acme, at):
    limit(acme, 80000, min_coverage_ratio="1.5")
    check_limits(at=at)
    before = list(LimitBreach.objects.order_by("id").values())
    h.lend(acme, h.asset("XYZ"), 5)  # no mark: exposure unknown, never zero
    counts = check_limits(at=at + timedelta(minutes=15))
    assert (counts["breaches"], counts["resolved"], counts["unvalued"]) == (0, 0, ["ACME"])
    assert list(LimitBreach.objects.order_by("id").values()) == before  # neither seen again nor resolved


def test_the_check_costs_the_same_queries_whatever_the_number_of_counterparties(
    book, acme, globex, at, django_assert_num_queries
):
    limit(acme, 80000, max_tenor_days=30, caps={book["btc"]: 1})
    # SAVEPOINT (its atomic, inside the test's transaction), the limits in force, coverage, the caps'
    # open quantities, the loans beyond tenor, the one statement that opens, keeps and resolves,
    # RELEASE SAVEPOINT
    with django_assert_num_queries(7):
        check_limits(at=at)
    for i in range(3):
        other = CounterpartyFactory(code=f"CP{i}")
        h.lend(other, book["btc"], 1)
        limit(other, 1, max_tenor_days=1, caps={book["btc"]: "0.5"})
    limit(globex, 1)
    with django_assert_num_queries(7):
        counts = check_limits(at=at)
    assert counts["limits"] == 5 and counts["opened"] == 9  # three each for CP0-CP2


def test_the_job_records_a_run_once_per_window(book, acme):
    limit(acme, 80000)
    run = JobRun.objects.get(pk=check_limits_job())
    assert (run.job, run.outcome, run.business_date) == (
        "collateral.check_limits",
        "succeeded",
        business_date(),
    )
    assert run.window != "" and run.counts["opened"] == 1
    again = JobRun.objects.get(pk=check_limits_job())  # a second delivery in the same window
    assert (again.outcome, again.window) == ("skipped", run.window)
    assert LimitBreach.objects.count() == 1


def test_the_pre_open_job_runs_once_per_business_date(book, acme):
    limit(acme, 80000)
    run = JobRun.objects.get(pk=check_limits_before_open())
    assert (run.job, run.outcome, run.window) == ("collateral.check_limits_before_open", "succeeded", "")
    assert run.business_date == opening_business_date()
    assert JobRun.objects.get(pk=check_limits_before_open()).outcome == "skipped"


def test_the_pre_open_tick_runs_for_the_business_date_it_opens(settings):
    from datetime import datetime

    from borrowdesk.business_day import desk_zone

    tick = datetime(2026, 11, 3, 6, 40, tzinfo=desk_zone())  # 20 minutes before the 07:00 open
    assert opening_business_date(tick).isoformat() == "2026-11-03"
    assert business_date(tick).isoformat() == "2026-11-02"  # the business date still running


def test_the_checks_are_scheduled_every_15_minutes_and_before_the_open(db):
    every = PeriodicTask.objects.get(task="collateral.check_limits")
    assert (every.crontab.minute, every.crontab.hour, every.enabled) == ("*/15", "*", True)
    before = PeriodicTask.objects.get(task="collateral.check_limits_before_open")
    assert (before.crontab.hour, before.crontab.minute, before.enabled) == ("6", "40", True)  # open 07:00
