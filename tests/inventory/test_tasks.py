"""The daily fee accrual job: a thin task over ``accrue_fees`` that records a JobRun and runs once
per business date. The task is called in-process here (its body runs; delivery through the broker is
tested in tests/operations/test_tasks.py)."""

from datetime import date, timedelta
from decimal import Decimal

from borrowdesk.business_day import business_date
from borrowdesk.operations.models import JobRun
from inventory.models import LoanAccrual
from inventory.tasks import accrue_loan_fees
from tests.inventory.factories import backdate_delivery

DAY = "2026-11-25"


def _started_before_the_day(loan):
    backdate_delivery(loan, date(2026, 11, 25))  # delivered on the day itself


def test_the_accrual_job_records_a_run_with_its_counts(loan):
    _started_before_the_day(loan)
    accrue_loan_fees(DAY)
    run = JobRun.objects.get(job="inventory.accrue_loan_fees")
    assert (run.business_date, run.outcome, run.counts) == (
        date(2026, 11, 25),
        "succeeded",
        {"accruals_added": 1},
    )
    assert list(LoanAccrual.objects.values_list("business_date", "fee")) == [
        (date(2026, 11, 25), Decimal("0.0004"))
    ]


def test_a_second_run_for_the_same_date_is_skipped_and_adds_nothing(loan):
    _started_before_the_day(loan)
    accrue_loan_fees(DAY)
    accrue_loan_fees(DAY)
    outcomes = list(
        JobRun.objects.filter(job="inventory.accrue_loan_fees")
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["succeeded", "skipped"]
    assert LoanAccrual.objects.count() == 1


def test_the_next_date_runs_again(loan):
    _started_before_the_day(loan)
    accrue_loan_fees(DAY)
    accrue_loan_fees("2026-11-26")
    assert JobRun.objects.filter(job="inventory.accrue_loan_fees", outcome="succeeded").count() == 2
    assert LoanAccrual.objects.count() == 2


def test_without_a_date_the_job_accrues_the_business_date_that_ended_last(loan):
    yesterday = business_date() - timedelta(days=1)
    backdate_delivery(loan, yesterday)
    run = JobRun.objects.get(pk=accrue_loan_fees())
    assert (run.business_date, run.counts) == (yesterday, {"accruals_added": 1})
    assert list(LoanAccrual.objects.values_list("business_date", flat=True)) == [yesterday]


def test_a_day_a_run_missed_is_charged_by_the_next_run(loan):
    backdate_delivery(loan, date(2026, 11, 20))
    accrue_loan_fees("2026-11-21")  # then the runs of 11-22 and 11-23 never happened
    run = JobRun.objects.get(pk=accrue_loan_fees("2026-11-24"))
    assert run.counts == {"accruals_added": 3}  # 11-22, 11-23 and 11-24; nothing twice
    assert sorted(LoanAccrual.objects.values_list("business_date", flat=True)) == [
        date(2026, 11, d) for d in range(20, 25)
    ]
