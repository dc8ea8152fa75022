"""Borrow request jobs: expiry of undecided requests and lapsed offers, release of expired holds."""

from __future__ import annotations

from datetime import date

from borrowdesk.operations.jobs import scheduled_job
from requests_app import services


@scheduled_job("requests.expire_requests", every_minutes=5)
def expire_requests(business_date: date) -> dict:
    return services.expire_requests()


@scheduled_job("requests.release_expired_holds", every_minutes=5)
def release_expired_holds(business_date: date) -> dict:
    return services.release_expired_holds()
