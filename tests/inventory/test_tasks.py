"""The daily fee accrual job: a thin task over ``accrue_fees`` that records a JobRun and runs once
per business date."""

from datetime import date
from decimal import Decimal

from borrowdesk.operations.models import JobRun
from inventory.models import Loan, LoanAccrual
from inventory.tasks import accrue_loan_fees

DAY = "2026-11-25"


def _started_before_the_day(loan):
    Loan.objects.filter(pk=loan.pk).update(start_date=date(2026, 11, 1))


def test_the_accrual_job_records_a_run_with_its_counts(loan):
    _started_before_the_day(loan)
    accrue_loan_fees.apply(args=[DAY])
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
    accrue_loan_fees.apply(args=[DAY])
    accrue_loan_fees.apply(args=[DAY])
    outcomes = list(
        JobRun.objects.filter(job="inventory.accrue_loan_fees")
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["succeeded", "skipped"]
    assert LoanAccrual.objects.count() == 1


def test_the_next_date_runs_again(loan):
    _started_before_the_day(loan)
    accrue_loan_fees.apply(args=[DAY])
    accrue_loan_fees.apply(args=["2026-11-26"])
    assert JobRun.objects.filter(job="inventory.accrue_loan_fees", outcome="succeeded").count() == 2
    assert LoanAccrual.objects.count() == 2
