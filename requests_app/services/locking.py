"""Every action on a request locks its row first, and reads what a decision needs in the same round trip.

Two approvers at once, an approval racing a cancel, or an approval racing the expiry job leave exactly
one winner; the loser sees the new state and gets ``InvalidState``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from django.db import connection

from borrowdesk import rows
from borrowdesk.business_day import business_date
from borrowdesk.refdata.models import Asset, Counterparty
from compliance.selectors import cleared_sql
from requests_app.models import BorrowRequest


@functools.cache
def _lock_sql() -> str:
    # One round trip, two statements. The first locks the request row. The second, with a snapshot
    # taken once the lock is ours, reads everything a decision needs: the request, its asset and
    # counterparty, the decisions so far (user, decision) in step order, and whether compliance clears
    # the counterparty now (the rule is compliance's: ``cleared_sql``). In one statement, an approval
    # that waited for the lock would read the decisions and the KYC as they were before its wait.
    # Parameters: id, business date, id.
    return (
        "SELECT 1 FROM requests_app_borrowrequest WHERE id = %s FOR UPDATE; "
        f"SELECT {rows.select_list(BorrowRequest, 'r')}, {rows.select_list(Asset, 'a')}, "
        f"{rows.select_list(Counterparty, 'c')}, "
        "ARRAY(SELECT d.user_id FROM requests_app_approval d WHERE d.request_id = r.id ORDER BY d.step), "
        "ARRAY(SELECT d.decision::text FROM requests_app_approval d WHERE d.request_id = r.id "
        f"ORDER BY d.step), {cleared_sql('r.counterparty_id')} "
        "FROM requests_app_borrowrequest r "
        "JOIN refdata_asset a ON a.id = r.asset_id "
        "JOIN refdata_counterparty c ON c.id = r.counterparty_id "
        "WHERE r.id = %s"
    )


class Locked(NamedTuple):
    request: BorrowRequest
    decided: list[tuple[int, str]]  # (user id, decision) of the decisions so far, in step order
    is_cleared: bool  # the counterparty is cleared by compliance now


def locked_with_decisions(request: BorrowRequest | int) -> Locked:
    """Lock the request row (every action does, first) and read its decisions so far."""
    pk = request if isinstance(request, int) else request.pk
    with connection.cursor() as cursor:
        cursor.execute(_lock_sql(), [pk, business_date(), pk])
        row = cursor.fetchone()
    if row is None:
        raise BorrowRequest.DoesNotExist(f"No borrow request {pk}.")
    n_request, n_asset = rows.width(BorrowRequest), rows.width(Asset)
    locked = rows.instance(BorrowRequest, row[:n_request])
    locked.asset = rows.instance(Asset, row[n_request : n_request + n_asset])
    locked.counterparty = rows.instance(Counterparty, row[n_request + n_asset : -3])
    return Locked(locked, list(zip(row[-3], row[-2], strict=True)), row[-1])


def locked(request: BorrowRequest | int) -> BorrowRequest:
    return locked_with_decisions(request).request
