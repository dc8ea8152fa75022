"""Borrower limits and covenants: the check at final approval, and the scheduled limit check.

A counterparty's ``BorrowerLimit`` in force (the ``effective`` version with the greatest
``effective_from`` ≤ now, ties the greatest id) caps its exposure in USD, the quantity of each capped
asset it has on loan, the tenor of its loans (an open-ended loan breaks a tenor limit), and sets a
minimum coverage covenant. Exposure and coverage are coverage's figures
(``collateral.selectors.coverage.coverage_rows``, the one valuation), never a second computation.

- ``check_limits_for_final_approval``: the check inside the final approval's durable transaction,
  after the loan is written and before its inventory is held; a breach raises ``LimitExceeded`` (409
  ``limit_exceeded``) and the whole approval rolls back. requests_app sends the same check in parts
  (``limit_check_statements``) in one round trip with the hold, so the limit row's lock is held for that
  round trip and the COMMIT only.
- ``check_limits``: the scheduled check (every 15 minutes and before the open) opens a ``LimitBreach``
  for each breach found that is not open yet, keeps those still found (``last_seen_at`` and the latest
  figures) and resolves those no longer found.
"""

from __future__ import annotations

import json
import re
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.batch import Statement
from borrowdesk.business_day import business_date
from borrowdesk.formatting import qty, usd
from borrowdesk.refdata.models import Asset
from collateral.errors import LimitExceeded
from collateral.models import BreachKind, BreachStatus
from collateral.selectors.coverage import COVERAGE_SQL, coverage_params, coverage_rows
from collateral.selectors.limits import (
    cap_use,
    limits_in_force,
    loans_beyond_tenor,
)
from inventory.models import FIRE_OPEN_TOTALS_SQL


def _percent(ratio: Decimal) -> str:
    """A coverage ratio as the desk says it: 1.2 → "120 %", 0.955 → "95.5 %"."""
    return f"{qty((ratio * 100).quantize(Decimal('0.01')))} %"


# --- the check at final approval -----------------------------------------------------------------

# Why a lock, and why this one: two final approvals of one counterparty would each read an exposure
# without the other's loan (neither is committed) and both pass, ending above the limit. A row lock on
# the counterparty's limit serialises the final approvals of a counterparty that has a limit in force,
# and only those: a counterparty without one takes no lock at all. The lock is held from here to the
# approval's COMMIT (a row lock cannot be given back earlier), which is why the check is the last step
# before the hold: the serialised stretch is this check, the hold and the COMMIT.
# Which row: the counterparty's FIRST BorrowerLimit row (its lowest id, whatever its status), not the
# version in force. Every version is a row of its own, so with the version in force as the lock an
# approval that locked the old version and one that locked a version committed meanwhile would run side
# by side, each blind to the other's loan; the first row never changes, so all of the counterparty's
# final approvals queue on the same one, across any change of version.
# FOR NO KEY UPDATE (not FOR UPDATE): it conflicts with itself, so the approvals queue, but not with
# the FOR KEY SHARE that inserting a row referencing the limit takes (a LimitBreach of the scheduled
# check, an AssetCap of a new version), so those never wait for an approval.
_LOCK_SQL = """
    SELECT bl.id FROM collateral_borrowerlimit bl
    WHERE bl.id = (
          SELECT min(f.id) FROM collateral_borrowerlimit f WHERE f.counterparty_id = %(counterparty_id)s
      )
      AND EXISTS (
          SELECT 1 FROM collateral_borrowerlimit e
          WHERE e.counterparty_id = %(counterparty_id)s AND e.status = 'effective'
            AND e.effective_from <= %(at)s
      )
    FOR NO KEY UPDATE
"""

# What the check reads once it holds the lock, in one statement: the limit in force (this new
# statement's snapshot is taken after the lock was granted), the cap on the loan's asset and the
# counterparty's open quantity of it, and coverage's figures (coverage's own SQL text, embedded). The
# coverage is LATERAL to the limit, evaluated once per limit row: without a limit in force, never.
_READ_SQL = """
SELECT lim.id AS limit_id, cp.code AS counterparty_code, lim.max_exposure_usd, lim.max_tenor_days,
       lim.min_coverage_ratio, cap.max_quantity AS asset_cap,
       CASE WHEN cap.max_quantity IS NOT NULL THEN coalesce((
           SELECT t.open_quantity FROM inventory_openloantotal t
           WHERE t.counterparty_id = lim.counterparty_id AND t.asset_id = %(asset_id)s::bigint
       ), 0) END AS open_quantity,
       cov.exposure_usd, cov.collateral_value_usd, cov.review_reason
FROM (
    SELECT bl.id, bl.counterparty_id, bl.max_exposure_usd, bl.max_tenor_days, bl.min_coverage_ratio
    FROM collateral_borrowerlimit bl
    WHERE bl.counterparty_id = %(counterparty_id)s::bigint AND bl.status = 'effective'
      AND bl.effective_from <= %(at)s::timestamptz
    ORDER BY bl.effective_from DESC, bl.id DESC
    LIMIT 1
) AS lim
JOIN refdata_counterparty cp ON cp.id = lim.counterparty_id
LEFT JOIN collateral_assetcap cap ON cap.limit_id = lim.id AND cap.asset_id = %(asset_id)s::bigint
CROSS JOIN LATERAL (
    SELECT cv.exposure_usd, cv.collateral_value_usd, cv.review_reason
    FROM ({coverage}) AS cv
    WHERE cv.counterparty_id = lim.counterparty_id
    LIMIT 1  -- keeps the subquery LATERAL (a nested loop under the limit), not turned into a join
) AS cov
""".replace("{coverage}", COVERAGE_SQL)

# The read is a server-side prepared statement (PREPARE once per database connection, then EXECUTE):
# planning coverage's statement costs more than running it for one counterparty, and it would be paid
# inside the serialised stretch of every approval. Its parameters, in order of first appearance.
_READ_NAME = "collateral_limit_check"
_READ_PARAMS: list[str] = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", _READ_SQL)))
# The read's row comes back as JSON, and is also kept in a setting local to the transaction
# (``collateral.limit_check``), so that a final approval sending the check with its ledger post in one
# round trip (``limit_check_statements``) can read it back after the post, from the batch's last statement.
_RESULT_SETTING = "collateral.limit_check"
_PREPARE_SQL = (
    f"PREPARE {_READ_NAME} AS SELECT set_config('{_RESULT_SETTING}', row_to_json(r)::text, true) FROM ("
    + re.sub(r"%\((\w+)\)s", lambda m: f"${_READ_PARAMS.index(str(m.group(1))) + 1}", _READ_SQL)
    + ") AS r"
)
# Lock, then read, in one round trip: two statements in one execute (the read a new statement). First,
# this transaction's pending loan changes go into inventory's open totals (their trigger is deferred), so
# the read counts the loan being approved: the total's row is locked from there (before the limit row;
# inventory's loan events take it before any balance row too, so the order is the same everywhere).
_EXECUTE_READ = f"EXECUTE {_READ_NAME} ({', '.join(f'%({name})s' for name in _READ_PARAMS)})"
_CHECK_SQL = f"{FIRE_OPEN_TOTALS_SQL};\n{_LOCK_SQL.strip()};\n{_EXECUTE_READ}"
# The database connections this process has prepared the read on. A prepared statement lives as long
# as its session, whatever happens to the transaction that prepared it.
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _ensure_prepared(cursor) -> None:
    raw = connection.connection
    if raw not in _prepared:
        cursor.execute(_PREPARE_SQL)
        _prepared[raw] = True


@dataclass(frozen=True)
class _Read:
    limit_id: int
    counterparty_code: str
    max_exposure_usd: Decimal
    max_tenor_days: int | None
    min_coverage_ratio: Decimal | None
    asset_cap: Decimal | None
    open_quantity: Decimal | None
    exposure_usd: Decimal | None
    collateral_value_usd: Decimal | None
    review_reason: str


_DECIMAL_FIELDS = (
    "max_exposure_usd",
    "min_coverage_ratio",
    "asset_cap",
    "open_quantity",
    "exposure_usd",
    "collateral_value_usd",
)


def lock_counterparty_limit(counterparty_id: int, at: datetime | None = None) -> None:
    """Take, until commit, the lock the counterparty's final approvals queue on (its first limit row,
    when a limit is in force; nothing otherwise). A change that lowers the counterparty's coverage and
    checks it (a collateral release) takes it too, so it and an approval each see the other's effect:
    whichever comes second reads, in a later statement, what the first committed."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_counterparty_limit runs inside a transaction.")
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, {"counterparty_id": counterparty_id, "at": at or timezone.now()})


def check_limits_for_final_approval(
    *,
    counterparty_id: int,
    asset: Asset,
    quantity: Decimal,
    term_days: int | None,
    at: datetime | None = None,
) -> None:
    """Check the counterparty's limits with the loan being approved already in its exposure.

    Called inside the final approval's transaction (``requests_app``: ``approve_request``'s last
    step and ``accept_offer``), after the loan row is written and right before its inventory is held.
    A rule, not a permission: the approver already holds ``requests.approve`` (or, for an offer, the
    trader ``requests.submit``). When the counterparty has a limit in force it locks the counterparty's
    limit (its first BorrowerLimit row: serialising its final approvals until COMMIT; no limit in force:
    no lock, and it returns at once) and, in a new
    statement that therefore sees every loan committed by the approvals that held the lock before it,
    reads the limit, the exposure and coverage (coverage's one valuation) and this asset's open
    quantity: one round trip. It checks the term ≤ max tenor (open-ended breaks a tenor limit),
    exposure ≤ the maximum, the asset's open quantity ≤ its cap, and coverage ≥ the covenant
    (collateral value ≥ minimum ratio × exposure; exposure without collateral is coverage 0).

    Raises ``LimitExceeded`` (409 ``limit_exceeded``) naming the limit and the figures, also when the
    exposure or the collateral cannot be valued (a missing mark): the caller's transaction rolls the
    whole approval back, so nothing is written.
    """
    if not connection.in_atomic_block:  # the lock means nothing outside the approval's transaction
        raise RuntimeError("check_limits_for_final_approval runs inside the final approval's transaction.")
    at = at or timezone.now()
    params = {
        **coverage_params(counterparty_ids=[counterparty_id], at=at),
        "counterparty_id": counterparty_id,
        "asset_id": asset.pk,
        "at": at,
    }
    with connection.cursor() as cursor:
        _ensure_prepared(cursor)
        cursor.execute(_CHECK_SQL, params)
        found = cursor.fetchone()  # the last statement's row: the read
    _verify(found[0] if found else None, asset=asset, quantity=quantity, term_days=term_days)


@dataclass(frozen=True)
class LimitCheck:
    """``check_limits_for_final_approval`` in parts, for the final approval's last round trip
    (``borrowdesk.batch.run_together``): ``lock_and_read`` goes first (the limit row's lock, then the
    read in a new statement), the ledger post after it, ``result`` last; ``verify`` takes the row of
    ``result`` and raises ``LimitExceeded`` as the check does."""

    lock_and_read: Statement
    result: Statement
    asset: Asset
    quantity: Decimal
    term_days: int | None

    def verify(self, row: tuple[Any, ...] | None) -> None:
        _verify(row[0] if row else None, asset=self.asset, quantity=self.quantity, term_days=self.term_days)


def limit_check_statements(
    *,
    counterparty_id: int,
    asset: Asset,
    quantity: Decimal,
    term_days: int | None,
    at: datetime | None = None,
) -> LimitCheck:
    """The check of ``check_limits_for_final_approval``, not yet run: its lock and read, and the
    statement that gives the read back at the end of the caller's round trip. Same rule, same lock
    (taken by ``lock_and_read``, held to COMMIT), same read in a statement of its own after the lock;
    the caller sends its ledger post between ``lock_and_read`` and ``result``, so the serialised stretch
    (the limit row's lock to COMMIT) is one round trip and the COMMIT."""
    if not connection.in_atomic_block:  # the lock means nothing outside the approval's transaction
        raise RuntimeError("limit_check_statements runs inside the final approval's transaction.")
    at = at or timezone.now()
    params = {
        **coverage_params(counterparty_ids=[counterparty_id], at=at),
        "counterparty_id": counterparty_id,
        "asset_id": asset.pk,
        "at": at,
    }
    with connection.cursor() as cursor:
        _ensure_prepared(cursor)  # a round trip of its own only the first time on a connection
    return LimitCheck(
        lock_and_read=Statement(_BATCHED_CHECK_SQL, [params[name] for name in _BATCHED_CHECK_NAMES]),
        result=Statement(f"SELECT current_setting('{_RESULT_SETTING}', true)"),
        asset=asset,
        quantity=quantity,
        term_days=term_days,
    )


def _positional_template(sql: str) -> tuple[str, list[str]]:
    """``%(name)s`` placeholders as ``%s``, and the names in the order their values go."""
    names = re.findall(r"%\((\w+)\)s", sql)
    return re.sub(r"%\((\w+)\)s", "%s", sql), names


# The check as ``limit_check_statements`` sends it, with positional placeholders (worked out once, not
# per approval). A setting left by an earlier check in this transaction never stands for this one's
# read (no limit in force: the read has no row and sets nothing).
_BATCHED_CHECK_SQL, _BATCHED_CHECK_NAMES = _positional_template(
    f"SELECT set_config('{_RESULT_SETTING}', '', true);\n{_CHECK_SQL}"
)


def _verify(found: str | None, *, asset: Asset, quantity: Decimal, term_days: int | None) -> None:
    """The read (its JSON; None or empty: no limit in force) against the loan: tenor, exposure, the
    asset's cap, the coverage covenant. Raises ``LimitExceeded``."""
    if not found:
        return
    fields = json.loads(found, parse_float=Decimal)
    for name in _DECIMAL_FIELDS:  # a whole number comes back from JSON as an int
        if fields[name] is not None:
            fields[name] = Decimal(fields[name])
    read = _Read(**fields)
    _check_tenor(read, term_days)
    _check_exposure(read, asset, quantity)
    if read.asset_cap is not None and read.open_quantity is not None and read.open_quantity > read.asset_cap:
        raise LimitExceeded(
            f"{read.counterparty_code}'s cap on {asset.symbol} is {qty(read.asset_cap)}: this loan of "
            f"{qty(quantity)} {asset.symbol} would take the {asset.symbol} it has on loan to "
            f"{qty(read.open_quantity)}."
        )
    _check_coverage(read)


def _check_tenor(limit: _Read, term_days: int | None) -> None:
    if limit.max_tenor_days is None:
        return
    code, most = limit.counterparty_code, limit.max_tenor_days
    if term_days is None:
        raise LimitExceeded(
            f"{code}'s tenor limit is {most} days: an open-ended loan is not allowed under it. "
            "Ask for a fixed term."
        )
    if term_days > most:
        raise LimitExceeded(f"{code}'s tenor limit is {most} days: this loan's term is {term_days} days.")


def _check_exposure(row: _Read, asset: Asset, quantity: Decimal) -> None:
    limit = row
    code = limit.counterparty_code
    if row.exposure_usd is None:
        raise LimitExceeded(
            f"{code}'s exposure cannot be valued ({row.review_reason or 'a mark is missing'}), so its "
            f"exposure limit of {usd(limit.max_exposure_usd)} cannot be checked: the loan is refused "
            "until every asset it owes has a mark."
        )
    if row.exposure_usd > limit.max_exposure_usd:
        raise LimitExceeded(
            f"{code}'s exposure limit is {usd(limit.max_exposure_usd)}: this loan of {qty(quantity)} "
            f"{asset.symbol} would take exposure to {usd(row.exposure_usd)}."
        )


def _check_coverage(row: _Read) -> None:
    limit = row
    minimum = limit.min_coverage_ratio
    if minimum is None or not row.exposure_usd:
        return
    code = limit.counterparty_code
    if row.collateral_value_usd is None:
        raise LimitExceeded(
            f"{code}'s collateral cannot be valued ({row.review_reason or 'a mark is missing'}), so its "
            f"coverage covenant of {_percent(minimum)} cannot be checked: the loan is refused until "
            "every asset it pledged has a mark."
        )
    # Compared unrounded (value against minimum × exposure); the ratio is for the sentence.
    if row.collateral_value_usd < minimum * row.exposure_usd:
        ratio = row.collateral_value_usd / row.exposure_usd
        raise LimitExceeded(
            f"{code}'s coverage covenant is {_percent(minimum)}: this loan would take its coverage to "
            f"{_percent(ratio)} ({usd(row.collateral_value_usd)} of collateral after haircuts against "
            f"{usd(row.exposure_usd)} of exposure)."
        )


# --- the scheduled check -------------------------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    """A breach the check found: the key of its ``LimitBreach`` (counterparty, kind, asset, loan) and
    its figures."""

    counterparty_id: int
    limit_id: int
    kind: str
    asset_id: int | None
    loan_id: int | None
    figure: Decimal
    limit_value: Decimal


# Open the breaches found that are not open yet, keep (last_seen_at, latest figures, the limit version
# now in force) those that are, resolve the open ones not found: one statement. The INSERT's ON
# CONFLICT names the partial unique index breach_one_open (one open breach per counterparty, kind,
# asset, loan; nulls not distinct), so a breach found again, by a later run or by a run at the same
# time, is never a second row. Breaches of a (counterparty, kind) the check could not value this time
# (a missing mark) are held as they are: neither kept as seen nor resolved.
_RECORD_SQL = """
WITH found AS (
    SELECT *
    FROM unnest(
        %(counterparty_ids)s::bigint[], %(limit_ids)s::bigint[], %(kinds)s::varchar[],
        %(asset_ids)s::bigint[], %(loan_ids)s::bigint[], %(figures)s::numeric[], %(limit_values)s::numeric[]
    ) AS f (counterparty_id, limit_id, kind, asset_id, loan_id, figure, limit_value)
),
upserted AS (
    INSERT INTO collateral_limitbreach AS b
        (counterparty_id, limit_id, kind, asset_id, loan_id, figure, limit_value, status, opened_at,
         last_seen_at)
    SELECT counterparty_id, limit_id, kind, asset_id, loan_id, figure, limit_value, %(open)s, %(at)s, %(at)s
    FROM found
    ON CONFLICT (counterparty_id, kind, asset_id, loan_id) WHERE status = 'open'
    DO UPDATE SET limit_id = EXCLUDED.limit_id, figure = EXCLUDED.figure, limit_value = EXCLUDED.limit_value,
                  last_seen_at = EXCLUDED.last_seen_at
    RETURNING b.id, (b.xmax = 0) AS opened
),
resolved AS (
    UPDATE collateral_limitbreach b
    SET status = %(resolved)s, resolved_at = %(at)s
    WHERE b.status = %(open)s
      AND b.id NOT IN (SELECT id FROM upserted)
      AND NOT EXISTS (
          SELECT 1 FROM unnest(%(held_counterparty_ids)s::bigint[], %(held_kinds)s::varchar[]) AS h (cp, kind)
          WHERE h.cp = b.counterparty_id AND h.kind = b.kind
      )
    RETURNING b.id
)
SELECT (SELECT count(*) FROM upserted WHERE opened),
       (SELECT count(*) FROM upserted WHERE NOT opened),
       (SELECT count(*) FROM resolved)
"""


@dataclass
class Findings:
    """What the check found: the number of limits in force, the breaches, and the (counterparty id,
    kind) whose figures could not be valued (exposure or collateral needing a missing mark: their
    breaches are held as they stand), with those counterparties' codes."""

    limits: int = 0
    breaches: list[Breach] = field(default_factory=list)
    held: list[tuple[int, str]] = field(default_factory=list)
    unvalued: list[str] = field(default_factory=list)


def find_breaches(*, at: datetime) -> Findings:
    """Every breach of every limit in force at ``at``, set-based: the limits (one query), coverage for
    their counterparties (one ``coverage_rows`` call), the open quantity per capped asset (one query)
    and the loans beyond a tenor limit (one query)."""
    limits = limits_in_force(at)
    if not limits:
        return Findings()
    by_counterparty = {limit.counterparty_id: limit for limit in limits}
    limit_ids = [limit.pk for limit in limits]
    found: list[Breach] = []
    held: list[tuple[int, str]] = []
    unvalued: list[str] = []
    for row in coverage_rows(counterparty_ids=list(by_counterparty), at=at):
        limit = by_counterparty[row.counterparty_id]
        if row.exposure_usd is None:
            held += [(row.counterparty_id, BreachKind.EXPOSURE), (row.counterparty_id, BreachKind.COVERAGE)]
            unvalued.append(row.counterparty_code)
            continue
        if row.exposure_usd > limit.max_exposure_usd:
            found.append(
                Breach(
                    row.counterparty_id,
                    limit.pk,
                    BreachKind.EXPOSURE,
                    None,
                    None,
                    row.exposure_usd,
                    limit.max_exposure_usd,
                )
            )
        minimum = limit.min_coverage_ratio
        if minimum is None or not row.exposure_usd:
            continue
        if row.collateral_value_usd is None:
            held.append((row.counterparty_id, BreachKind.COVERAGE))
            unvalued.append(row.counterparty_code)
        elif row.collateral_value_usd < minimum * row.exposure_usd:
            ratio = (row.collateral_value_usd / row.exposure_usd).quantize(Decimal("0.000001"))
            found.append(
                Breach(row.counterparty_id, limit.pk, BreachKind.COVERAGE, None, None, ratio, minimum)
            )
    for use in cap_use(limit_ids):
        if use.open_quantity > use.max_quantity:
            found.append(
                Breach(
                    use.counterparty_id,
                    use.limit_id,
                    BreachKind.ASSET_CAP,
                    use.asset_id,
                    None,
                    use.open_quantity,
                    use.max_quantity,
                )
            )
    for loan in loans_beyond_tenor(limit_ids, today=business_date(at)):
        # A fixed term beyond the limit: the term. Open-ended: the days it has been on loan so far.
        figure = loan.term_days if loan.term_days is not None else loan.days_open
        found.append(
            Breach(
                loan.counterparty_id,
                loan.limit_id,
                BreachKind.TENOR,
                None,
                loan.loan_id,
                Decimal(figure),
                Decimal(loan.max_tenor_days),
            )
        )
    return Findings(limits=len(limits), breaches=found, held=held, unvalued=sorted(set(unvalued)))


@transaction.atomic(durable=True)
def check_limits(*, at: datetime | None = None) -> dict[str, Any]:
    """The scheduled limit and covenant check (job ``collateral.check_limits``, every 15 minutes and
    before the open): find every breach of the limits in force at ``at`` (default now), open a
    ``LimitBreach`` for each one not open yet, keep those still open (``last_seen_at``, figures),
    resolve (``resolved_at``) those no longer found. Idempotent: a second run at the same state opens
    and resolves nothing. Five queries whatever the size of the book.

    Returns the counts for the job run: limits checked, breaches found, opened, kept, resolved, and
    the counterparties that could not be valued (their exposure and coverage breaches held as they were).
    """
    at = at or timezone.now()
    findings = find_breaches(at=at)
    found, held = findings.breaches, findings.held
    params: dict[str, Any] = {
        "counterparty_ids": [b.counterparty_id for b in found],
        "limit_ids": [b.limit_id for b in found],
        "kinds": [str(b.kind) for b in found],
        "asset_ids": [b.asset_id for b in found],
        "loan_ids": [b.loan_id for b in found],
        "figures": [b.figure for b in found],
        "limit_values": [b.limit_value for b in found],
        "held_counterparty_ids": [cp for cp, _ in held],
        "held_kinds": [str(kind) for _, kind in held],
        "open": BreachStatus.OPEN,
        "resolved": BreachStatus.RESOLVED,
        "at": at,
    }
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, params)
        opened, kept, resolved = cursor.fetchone()
    return {
        "limits": findings.limits,
        "breaches": len(found),
        "opened": opened,
        "kept": kept,
        "resolved": resolved,
        "unvalued": findings.unvalued,
    }
