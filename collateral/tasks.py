"""Collateral jobs: the revaluation that moves coverage states and issues margin calls."""

from __future__ import annotations

from datetime import date

from borrowdesk.operations.jobs import scheduled_job
from collateral.services.valuation import revalue


@scheduled_job("collateral.revalue", every_minutes=5)
def revalue_collateral(business_date: date) -> dict:
    """Value every counterparty now and move coverage states and margin calls (idempotent: a repeated
    run finds nothing to change). Runs every five minutes, and after every applied price, release and
    margin call action in a window of its own (``price:<id>``, …), each recording its JobRun."""
    return revalue()
