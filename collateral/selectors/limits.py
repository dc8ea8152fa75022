"""Borrower limits: the version in force, the scheduled check's inputs, and the breaches list.

The figures the limits are checked against (exposure and coverage) come from coverage's one SQL
statement (``collateral.selectors.coverage.coverage_rows``); this module reads only what coverage does
not: the limits themselves, the open quantity per capped asset, and the loans beyond a tenor limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from borrowdesk.refdata.selectors import counterparties_for_trader, is_trader_only
from collateral.models import BorrowerLimit, ConfigStatus, LimitBreach
from inventory.models import OPEN_LOAN_STATUSES
from inventory.selectors import reading_open_totals


def limits_in_force(at: datetime) -> list[BorrowerLimit]:
    """Every counterparty's limit in force at ``at``: per counterparty the ``effective`` version with the
    greatest ``effective_from`` ≤ at, ties the greatest id (one query: DISTINCT ON counterparty). The
    same rule as ``collateral.selectors.config.limit_in_force`` for one counterparty."""
    return list(
        BorrowerLimit.objects.filter(status=ConfigStatus.EFFECTIVE, effective_from__lte=at)
        .select_related("counterparty")
        .order_by("counterparty_id", "-effective_from", "-id")
        .distinct("counterparty_id")
    )


@dataclass(frozen=True)
class CapUse:
    """One asset cap of a limit in force, and what the counterparty has open in that asset."""

    limit_id: int
    counterparty_id: int
    asset_id: int
    symbol: str
    max_quantity: Decimal
    open_quantity: Decimal


# What is open: inventory's open totals (per counterparty and asset, the open quantity of its open
# loans), as the limit check at final approval reads it.
_CAP_USE_SQL = """
    SELECT cap.limit_id, bl.counterparty_id, cap.asset_id, ast.symbol, cap.max_quantity,
           coalesce(t.open_quantity, 0) AS open_quantity
    FROM collateral_assetcap cap
    JOIN collateral_borrowerlimit bl ON bl.id = cap.limit_id
    JOIN refdata_asset ast ON ast.id = cap.asset_id
    LEFT JOIN inventory_openloantotal t
        ON t.counterparty_id = bl.counterparty_id AND t.asset_id = cap.asset_id
    WHERE cap.limit_id = ANY (%(limit_ids)s::bigint[])
    ORDER BY bl.counterparty_id, ast.symbol
"""


def cap_use(limit_ids: list[int]) -> list[CapUse]:
    """For every asset cap of the given limits: the counterparty's open quantity of that asset
    (open loans, pending delivery or active), one query whatever the number of limits."""
    if not limit_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(reading_open_totals(_CAP_USE_SQL), {"limit_ids": limit_ids})
        return [CapUse(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class LongLoan:
    """An open loan beyond its counterparty's tenor limit (``term_days`` None: open-ended)."""

    limit_id: int
    counterparty_id: int
    loan_id: int
    term_days: int | None
    max_tenor_days: int
    days_open: int


_LONG_LOANS_SQL = """
    SELECT bl.id, bl.counterparty_id, l.id, l.term_days, bl.max_tenor_days,
           greatest(0, coalesce(%(today)s::date - l.start_date, 0))
    FROM collateral_borrowerlimit bl
    JOIN inventory_loan l ON l.counterparty_id = bl.counterparty_id
    WHERE bl.id = ANY (%(limit_ids)s::bigint[]) AND bl.max_tenor_days IS NOT NULL
      AND l.status = ANY (%(statuses)s) AND l.open_quantity > 0
      AND (l.term_days IS NULL OR l.term_days > bl.max_tenor_days)
    ORDER BY bl.counterparty_id, l.id
"""


def loans_beyond_tenor(limit_ids: list[int], *, today: date) -> list[LongLoan]:
    """Open loans whose term exceeds their counterparty's tenor limit, or open-ended under one (one
    query). ``days_open``: days on loan since the business date of delivery, to ``today`` (0 while
    pending delivery)."""
    if not limit_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _LONG_LOANS_SQL,
            {"limit_ids": limit_ids, "statuses": list(OPEN_LOAN_STATUSES), "today": today},
        )
        return [LongLoan(*row) for row in cursor.fetchall()]


def breaches(user) -> QuerySet[LimitBreach]:
    """Limit breaches, newest first, with their counterparty, asset and loan (one query); a trader
    sees only the counterparties they act for."""
    qs = LimitBreach.objects.select_related("counterparty", "asset", "loan").order_by("-opened_at", "-id")
    if is_trader_only(user):
        qs = qs.filter(counterparty__in=counterparties_for_trader(user))
    return qs
