"""Concentration and expiry of pledged collateral: the monitoring page and the risk home page's alerts.

Set-based, each read one query whatever the number of counterparties and positions; the SQL is in
``collateral/sql/concentration.sql`` and ``collateral/sql/expiries.sql`` (read once at import, with
refdata's mark rule substituted), wrapped here to filter, flag, order and limit.

Concentration, at market value (quantity × mark, before haircuts):
- an asset's share of a counterparty's collateral, flagged above
  ``settings.COLLATERAL_CONCENTRATION_COUNTERPARTY_PCT``;
- an asset's share of the firm's whole collateral book (every counterparty's pledged collateral),
  flagged above ``settings.COLLATERAL_CONCENTRATION_FIRM_PCT``.
A missing mark is never zero: the line's value is unknown (None), so is the counterparty's total and
every share of that counterparty; the firm's shares are over the collateral that has a mark, and the
assets without one are listed with an unknown value.

Expiries: pledges with an ``expires_on`` within ``settings.COLLATERAL_EXPIRY_WARNING_DAYS`` of today's
business date (or already past it) whose account still holds some of the asset pledged; the quantity
still held is at most the pledge's and at most the account's pledged balance.

The interface (others call these)
---------------------------------
``alerts(*, top=5, counterparty_ids=None) -> MonitoringAlerts``
    For the risk home page: how many (counterparty, asset) concentrations and firm-wide asset
    concentrations are above their limits, how many pledges expire within the warning window (and how
    many have already expired while still pledged), with the ``top`` rows of each (the most concentrated
    first; the soonest expiry first). Three queries, whatever the size of the book.
``concentration_rows(*, counterparty_ids=None, asset_id=None, flagged_only=False, limit=None)``
    (counterparty, asset) rows, the most concentrated first (one query).
``firm_concentration_rows() -> list[FirmConcentrationRow]``: per asset, its share of the firm's book
    (one query).
``expiry_rows(*, counterparty_ids=None, days=None, limit=None) -> list[ExpiryRow]``: soonest first
    (one query).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from borrowdesk.business_day import business_date
from borrowdesk.refdata.selectors import mark_sql

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
CONCENTRATION_SQL = (SQL_DIR / "concentration.sql").read_text().replace("{mark_of_asset}", mark_sql("ast.id"))
EXPIRIES_SQL = (SQL_DIR / "expiries.sql").read_text().replace("{mark_of_asset}", mark_sql("pl.asset_id"))


def counterparty_limit_pct() -> Decimal:
    return Decimal(str(settings.COLLATERAL_CONCENTRATION_COUNTERPARTY_PCT))


def firm_limit_pct() -> Decimal:
    return Decimal(str(settings.COLLATERAL_CONCENTRATION_FIRM_PCT))


def expiry_warning_days() -> int:
    return int(settings.COLLATERAL_EXPIRY_WARNING_DAYS)


@dataclass(frozen=True)
class ConcentrationRow:
    counterparty_id: int
    counterparty_code: str
    asset_id: int
    asset_symbol: str
    quantity: Decimal
    mark: Decimal | None
    value_usd: Decimal | None
    counterparty_total_usd: Decimal | None
    counterparty_share_pct: Decimal | None  # None: some of the counterparty's collateral has no mark
    firm_asset_value_usd: Decimal | None
    firm_asset_quantity: Decimal
    holders: int
    firm_total_usd: Decimal | None
    firm_share_pct: Decimal | None
    over_counterparty_limit: bool
    over_firm_limit: bool

    @property
    def pk(self) -> str:
        return f"{self.counterparty_code}-{self.asset_symbol}"


@dataclass(frozen=True)
class FirmConcentrationRow:
    asset_id: int
    asset_symbol: str
    mark: Decimal | None
    quantity: Decimal
    holders: int  # counterparties that pledged it
    value_usd: Decimal | None  # None: no mark
    firm_total_usd: Decimal | None
    share_pct: Decimal | None
    over_limit: bool

    @property
    def pk(self) -> str:
        return self.asset_symbol


@dataclass(frozen=True)
class ExpiryRow:
    pledge_id: int
    counterparty_id: int
    counterparty_code: str
    asset_id: int
    asset_symbol: str
    account_code: str
    pledged_quantity: Decimal
    account_pledged_quantity: Decimal
    held_quantity: Decimal
    expires_on: date
    days_left: int  # negative: expired and still pledged
    value_usd: Decimal | None
    reference: str

    @property
    def pk(self) -> int:
        return self.pledge_id

    @property
    def status(self) -> str:
        return "expired" if self.days_left < 0 else "expiring"


_CP_COLUMNS = [
    "counterparty_id",
    "counterparty_code",
    "asset_id",
    "asset_symbol",
    "quantity",
    "mark",
    "value_usd",
    "counterparty_total_usd",
    "counterparty_share_pct",
    "firm_asset_value_usd",
    "firm_asset_quantity",
    "holders",
    "firm_total_usd",
    "firm_share_pct",
]

_CONCENTRATION_ROWS_SQL = f"""
    SELECT {", ".join(f"x.{c}" for c in _CP_COLUMNS)},
        coalesce(x.counterparty_share_pct > %(counterparty_limit)s, false) AS over_counterparty_limit,
        coalesce(x.firm_share_pct > %(firm_limit)s, false) AS over_firm_limit,
        count(*) OVER () AS total
    FROM ({CONCENTRATION_SQL}) AS x
    WHERE (%(counterparty_ids)s::bigint[] IS NULL OR x.counterparty_id = ANY (%(counterparty_ids)s::bigint[]))
      AND (%(asset_id)s::bigint IS NULL OR x.asset_id = %(asset_id)s::bigint)
      AND (NOT %(flagged_only)s OR x.counterparty_share_pct > %(counterparty_limit)s)
    ORDER BY x.counterparty_share_pct DESC NULLS FIRST, x.value_usd DESC NULLS FIRST,
        x.counterparty_code, x.asset_symbol
    LIMIT %(limit)s
"""

_FIRM_ROWS_SQL = f"""
    SELECT a.asset_id, a.asset_symbol, a.mark, a.firm_asset_quantity, a.holders, a.firm_asset_value_usd,
        a.firm_total_usd, a.firm_share_pct, coalesce(a.firm_share_pct > %(firm_limit)s, false) AS over_limit,
        count(*) OVER () AS total
    FROM (SELECT DISTINCT ON (x.asset_id) x.* FROM ({CONCENTRATION_SQL}) AS x ORDER BY x.asset_id) AS a
    WHERE NOT %(flagged_only)s OR a.firm_share_pct > %(firm_limit)s
    ORDER BY a.firm_share_pct DESC NULLS FIRST, a.asset_symbol
    LIMIT %(limit)s
"""

_EXPIRY_ROWS_SQL = f"""
    SELECT x.*, count(*) OVER () AS total, count(*) FILTER (WHERE x.days_left < 0) OVER () AS expired
    FROM ({EXPIRIES_SQL}) AS x
    ORDER BY x.expires_on, x.counterparty_code, x.asset_symbol, x.pledge_id
    LIMIT %(limit)s
"""


def _fetch(sql: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows as dicts, and the window totals of the first row (empty when there are none)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    return rows, (rows[0] if rows else {})


def _ids(counterparty_ids: Iterable[int] | None) -> list[int] | None:
    return None if counterparty_ids is None else [int(i) for i in counterparty_ids]


def _concentration(
    *,
    counterparty_ids: Iterable[int] | None,
    asset_id: int | None,
    flagged_only: bool,
    limit: int | None,
) -> tuple[list[ConcentrationRow], int]:
    rows, first = _fetch(
        _CONCENTRATION_ROWS_SQL,
        {
            "counterparty_ids": _ids(counterparty_ids),
            "asset_id": asset_id,
            "flagged_only": flagged_only,
            "limit": limit,
            "counterparty_limit": counterparty_limit_pct(),
            "firm_limit": firm_limit_pct(),
        },
    )
    found = [ConcentrationRow(**{k: v for k, v in r.items() if k != "total"}) for r in rows]
    return found, first.get("total", 0)


def concentration_rows(
    *,
    counterparty_ids: Iterable[int] | None = None,
    asset_id: int | None = None,
    flagged_only: bool = False,
    limit: int | None = None,
) -> list[ConcentrationRow]:
    """(counterparty, asset) concentrations, the most concentrated first, unknown shares first of all
    (they need a mark). Filters: counterparties (a trader's scope), one asset, only those above the
    counterparty limit. One query."""
    return _concentration(
        counterparty_ids=counterparty_ids, asset_id=asset_id, flagged_only=flagged_only, limit=limit
    )[0]


def _firm(*, flagged_only: bool, limit: int | None) -> tuple[list[FirmConcentrationRow], int]:
    rows, first = _fetch(
        _FIRM_ROWS_SQL, {"flagged_only": flagged_only, "limit": limit, "firm_limit": firm_limit_pct()}
    )
    found = [
        FirmConcentrationRow(
            asset_id=r["asset_id"],
            asset_symbol=r["asset_symbol"],
            mark=r["mark"],
            quantity=r["firm_asset_quantity"],
            holders=r["holders"],
            value_usd=r["firm_asset_value_usd"],
            firm_total_usd=r["firm_total_usd"],
            share_pct=r["firm_share_pct"],
            over_limit=r["over_limit"],
        )
        for r in rows
    ]
    return found, first.get("total", 0)


def firm_concentration_rows(*, flagged_only: bool = False) -> list[FirmConcentrationRow]:
    """Each pledged asset's share of the firm's whole collateral book, the largest first (one query)."""
    return _firm(flagged_only=flagged_only, limit=None)[0]


def _expiries(
    *, counterparty_ids: Iterable[int] | None, days: int | None, limit: int | None
) -> tuple[list[ExpiryRow], int, int]:
    today = business_date()
    rows, first = _fetch(
        _EXPIRY_ROWS_SQL,
        {
            "today": today,
            "until": today + timedelta(days=expiry_warning_days() if days is None else days),
            "counterparty_ids": _ids(counterparty_ids),
            "limit": limit,
        },
    )
    found = [ExpiryRow(**{k: v for k, v in r.items() if k not in ("total", "expired")}) for r in rows]
    return found, first.get("total", 0), first.get("expired", 0)


def expiry_rows(
    *, counterparty_ids: Iterable[int] | None = None, days: int | None = None, limit: int | None = None
) -> list[ExpiryRow]:
    """Pledges expiring within ``days`` (default the warning window) of today's business date, or
    already expired, whose collateral is still pledged; the soonest first. One query."""
    return _expiries(counterparty_ids=counterparty_ids, days=days, limit=limit)[0]


@dataclass(frozen=True)
class MonitoringAlerts:
    concentration_count: int  # (counterparty, asset) shares above the counterparty limit
    concentration_top: list[ConcentrationRow]
    firm_concentration_count: int  # assets above the firm limit
    firm_concentration_top: list[FirmConcentrationRow]
    expiry_count: int  # pledges expiring within the window (expired ones included)
    expired_count: int  # of which already past their date, still pledged
    expiry_top: list[ExpiryRow]
    counterparty_limit_pct: Decimal
    firm_limit_pct: Decimal
    expiry_warning_days: int

    @property
    def total(self) -> int:
        return self.concentration_count + self.firm_concentration_count + self.expiry_count


def alerts(*, top: int = 5, counterparty_ids: Iterable[int] | None = None) -> MonitoringAlerts:
    """What the risk home page shows of concentration and expiries: counts and the ``top`` rows of
    each (see the module docstring). ``counterparty_ids``: narrow the counterparty tables (the firm's
    table is the firm's). Three queries."""
    ids = _ids(counterparty_ids)
    concentrated, concentrated_count = _concentration(
        counterparty_ids=ids, asset_id=None, flagged_only=True, limit=top
    )
    firm, firm_count = _firm(flagged_only=True, limit=top)
    expiring, expiring_count, expired_count = _expiries(counterparty_ids=ids, days=None, limit=top)
    return MonitoringAlerts(
        concentration_count=concentrated_count,
        concentration_top=concentrated,
        firm_concentration_count=firm_count,
        firm_concentration_top=firm,
        expiry_count=expiring_count,
        expired_count=expired_count,
        expiry_top=expiring,
        counterparty_limit_pct=counterparty_limit_pct(),
        firm_limit_pct=firm_limit_pct(),
        expiry_warning_days=expiry_warning_days(),
    )
