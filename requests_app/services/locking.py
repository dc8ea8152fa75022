"""Every action on a request locks its row first, and reads what a decision needs in the same round trip.

Two approvers at once, an approval racing a cancel, or an approval racing the expiry job leave exactly
one winner; the loser sees the new state and gets ``InvalidState``.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import NamedTuple

from django.db import connection

from borrowdesk import rows
from borrowdesk.batch import prepared
from borrowdesk.business_day import business_date
from borrowdesk.refdata.models import Asset, Counterparty
from borrowdesk.refdata.selectors import mark_sql
from compliance.selectors import cleared_sql
from requests_app.models import BorrowRequest
from requests_app.services.matrix import Rule


@functools.cache
def _read_sql() -> str:
    # The second of the lock's two statements (``_lock_sql``): with a snapshot taken once the lock is
    # ours, it reads everything a decision needs: the request, its asset and
    # counterparty, the decisions so far (user, decision) in step order, and whether compliance clears
    # the counterparty now (the rule is compliance's: ``cleared_sql``), and the active rules of the
    # approval matrix and the asset's mark (to work the path out again). In one statement, an approval
    # that waited for the lock would read the decisions and the KYC as they were before its wait.
    # Parameters: business date, id. The read is prepared once per connection (``_lock_sql``): planning
    # it cost more than running it.
    return (
        f"SELECT {rows.select_list(BorrowRequest, 'r')}, {rows.select_list(Asset, 'a')}, "
        f"{rows.select_list(Counterparty, 'c')}, "
        "ARRAY(SELECT d.user_id FROM requests_app_approval d WHERE d.request_id = r.id ORDER BY d.step), "
        "ARRAY(SELECT d.decision::text FROM requests_app_approval d WHERE d.request_id = r.id "
        f"ORDER BY d.step), {cleared_sql('r.counterparty_id')}, "
        "(SELECT json_agg(json_build_array(m.min_notional_usd::text, m.max_notional_usd::text, "
        "m.risk_ratings, m.steps) ORDER BY m.precedence) "
        "FROM requests_app_approvalrule m WHERE m.is_active) , "
        # The asset's mark, by refdata's own rule (``mark_sql``: the latest applied price, a pending
        # override never counts). Read here to save the approval a round trip.
        f"{mark_sql('r.asset_id')} "
        "FROM requests_app_borrowrequest r "
        "JOIN refdata_asset a ON a.id = r.asset_id "
        "JOIN refdata_counterparty c ON c.id = r.counterparty_id "
        "WHERE r.id = %s"
    )


def _lock_sql() -> str:
    # Two statements, one round trip: the lock, then the read (a new statement, so its snapshot is taken
    # once the lock is ours). Parameters: id, business date, id.
    return "SELECT 1 FROM requests_app_borrowrequest WHERE id = %s FOR UPDATE; " + prepared(
        "requests_locked_read", _read_sql()
    )


class Locked(NamedTuple):
    request: BorrowRequest
    decided: list[tuple[int, str]]  # (user id, decision) of the decisions so far, in step order
    is_cleared: bool  # the counterparty is cleared by compliance now
    rules: list[Rule]  # the approval matrix's active rules, by precedence, as they are now
    mark_usd: Decimal | None  # the asset's mark now (None: no price yet)


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
    locked.counterparty = rows.instance(Counterparty, row[n_request + n_asset : -5])
    user_ids, decisions, cleared, rule_rows, mark_usd = row[-5:]
    rules = [
        Rule(Decimal(low), Decimal(high) if high is not None else None, ratings, steps)
        for low, high, ratings, steps in rule_rows or []
    ]
    return Locked(locked, list(zip(user_ids, decisions, strict=True)), cleared, rules, mark_usd)


def locked(request: BorrowRequest | int) -> BorrowRequest:
    return locked_with_decisions(request).request
