"""Inventory jobs: the daily loan fee accrual."""

from __future__ import annotations

from datetime import date

from borrowdesk.operations.jobs import scheduled_job
from inventory.services import accrue_through, previous_business_date


@scheduled_job("inventory.accrue_loan_fees", default_day=previous_business_date)
def accrue_loan_fees(business_date: date) -> dict:
    """Accrue the fee of a business date that has ended (by default the previous one, run after the
    open) for every loan open at its end, and any of the days before it that a run missed.
    Idempotent per date."""
    return accrue_through(day=business_date)
