"""Idempotent submission: one request per (user, Idempotency-Key)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from borrowdesk.errors import InvalidInput
from requests_app.errors import IdempotencyConflict
from requests_app.models import BorrowRequest, IdempotencyRecord


def request_fingerprint(payload: dict[str, Any]) -> str:
    """A stable hash of a submission's body, to tell a repeat from a different request."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@transaction.atomic(durable=True)
def submit_idempotent(
    *,
    actor,
    key: str,
    fingerprint: str,
    submit: Callable[[], BorrowRequest],
    render: Callable[[BorrowRequest], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    """Submit once per (user, Idempotency-Key): a repeat with the same body gets the first response;
    with another body, ``IdempotencyConflict``. Two repeats at once: the second waits for the first
    to commit and then replays its response.
    """
    if not key or len(key) > 200:
        raise InvalidInput(
            "Send an Idempotency-Key header of 1 to 200 characters.",
            fields={"Idempotency-Key": ["Required, at most 200 characters."]},
        )
    # Serialise submissions of the same key: the advisory lock is held to commit, so a concurrent
    # repeat waits here and then finds the first one's record.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"idem:{actor.pk}:{key}"])
    existing = IdempotencyRecord.objects.filter(user=actor, key=key).first()
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise IdempotencyConflict("This Idempotency-Key was used with a different request body.")
        return existing.response_status, existing.response_body
    request = submit()
    body = render(request)
    IdempotencyRecord.objects.create(
        user=actor, key=key, request_hash=fingerprint, response_status=201, response_body=body
    )
    return 201, body
