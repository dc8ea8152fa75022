"""Borrow request jobs: expiry of undecided requests and lapsed offers, compliance holds kept in step
with clearance, release of expired holds."""

from __future__ import annotations

from datetime import date

from borrowdesk.operations.jobs import scheduled_job
from requests_app import services


@scheduled_job("requests.expire_requests", every_minutes=5)
def expire_requests(business_date: date) -> dict:
    """Undecided requests and unanswered offers expire; requests follow their counterparty's
    compliance clearance (a KYC run out by date puts them on hold)."""
    return {**services.expire_requests(), **services.sync_compliance_holds()}


@scheduled_job("requests.release_expired_holds", every_minutes=5)
def release_expired_holds(business_date: date) -> dict:
    return services.release_expired_holds()
