"""Borrow requests: intake → compliance gate → approvals (matrix) → allocation → settlement.

A package split by concern; every name callers import from ``requests_app.services`` is re-exported
here, so ``from requests_app.services import X`` keeps working:

- ``validation``: input checks shared by intake and approval;
- ``matrix``: the approval path (the matrix, re-worked at every step, the stricter path applies);
- ``pricing``: the priority score that orders the queue;
- ``locking``: the request row's lock and the read of what a decision needs;
- ``intake``: submit and cancel; ``idempotency``: one request per Idempotency-Key;
- ``approvals``: approve and reject, and the final approval that opens the loan through inventory's
  and treasury's services; ``offers``: accept or decline an offer;
- ``holds``: compliance holds, delivery stamps, release of expired holds; ``expiry``: the expiry job.
"""

from requests_app.services.approvals import approve_request, reject_request
from requests_app.services.expiry import expire_requests
from requests_app.services.holds import mark_delivered, release_expired_holds, sync_compliance_holds
from requests_app.services.idempotency import request_fingerprint, submit_idempotent
from requests_app.services.intake import (
    UNKNOWN_COUNTERPARTY,
    UNKNOWN_SETTLEMENT_ACCOUNT,
    cancel_request,
    submit_request,
)
from requests_app.services.matrix import approval_steps, stricter_path
from requests_app.services.offers import accept_offer, decline_offer
from requests_app.services.validation import MAX_RATE_BPS, MAX_TERM_DAYS

__all__ = [
    "MAX_RATE_BPS",
    "MAX_TERM_DAYS",
    "UNKNOWN_COUNTERPARTY",
    "UNKNOWN_SETTLEMENT_ACCOUNT",
    "accept_offer",
    "approval_steps",
    "approve_request",
    "cancel_request",
    "decline_offer",
    "expire_requests",
    "mark_delivered",
    "reject_request",
    "release_expired_holds",
    "request_fingerprint",
    "stricter_path",
    "submit_idempotent",
    "submit_request",
    "sync_compliance_holds",
]
