"""Compliance writes, in one place for other apps: KYC (``compliance.kyc.services``: the review
outcome, documents, the daily expiry and review-case job) and the sanctions actions (import a list,
screen, rescreen, the four-eyes clearance of a match: ``compliance.sanctions.services``)."""

from __future__ import annotations

from compliance.kyc.services import (
    expire_lapsed_kyc,
    open_review_cases,
    run_kyc_reviews,
    set_kyc,
    upload_kyc_document,
)
from compliance.sanctions.services import (
    confirm_false_positive,
    confirm_match,
    import_sanctions_list,
    propose_false_positive,
    rescreen_all,
    screen,
    screen_counterparty,
    screen_custody_account,
    withdraw_false_positive,
)

__all__ = [
    "expire_lapsed_kyc",
    "open_review_cases",
    "run_kyc_reviews",
    "upload_kyc_document",
    "confirm_false_positive",
    "confirm_match",
    "import_sanctions_list",
    "propose_false_positive",
    "rescreen_all",
    "screen",
    "screen_counterparty",
    "screen_custody_account",
    "set_kyc",
    "withdraw_false_positive",
]
