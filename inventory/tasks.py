"""Inventory jobs: the daily loan fee accrual."""

from __future__ import annotations

from datetime import date

from borrowdesk.operations.jobs import scheduled_job
from inventory.services import accrue_fees


@scheduled_job("inventory.accrue_loan_fees")
def accrue_loan_fees(business_date: date) -> dict:
    """Accrue the business date's fee for every active loan (idempotent per date)."""
    return {"accruals_added": accrue_fees(day=business_date)}
