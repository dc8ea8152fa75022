"""Releases, the revaluation and margin calls.

Everything here values collateral with the one coverage query (``collateral.selectors.coverage``):
a release checks the coverage it would leave with the same SQL (the released quantity as a
hypothetical pledged delta), and the revaluation runs it once for every counterparty and writes the
state machine's memory (``CounterpartyRisk``), the day's ``CoverageSnapshot`` and the margin calls
in a few set-based statements.

The state machine (ratios are collateral value after haircuts / exposure; levels per agreement):
  ok ≥ warning > warning ≥ call > call ≥ critical > critical.
  Below call (and not needs_review): a margin call for the top-up to required, due ``call_due_hours``
  after it is issued; one open call per counterparty, updated, never duplicated. Met when coverage is
  back at required. Escalated when past due and unmet: the state is ``breach`` (unless critical).
  Below critical: ``critical_since`` is set (kept through needs_review, cleared on recovery); after
  ``cure_period_hours`` below critical, ``default_flagged_at`` (flagged for default handling; cleared
  with ``critical_since`` on recovery above critical).
  needs_review (a mark missing, stale or disputed): no call is issued, updated, met or escalated on
  a bad price; an open call is left as it is.

Locks: a release holds a transaction-level advisory lock per counterparty (``lock_counterparty_coverage``)
so two releases of one counterparty's collateral run one after the other, the second valuing what the
first left. The revaluation holds one advisory lock for the whole run (two runs never interleave) and
locks the open margin calls it reads, so a risk user's note, cancel or escalate waits for it and is
never overwritten by figures read before it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as
from borrowdesk.business_day import business_date
from borrowdesk.errors import InvalidInput, InvalidState
from borrowdesk.formatting import qty, unpadded, usd
from borrowdesk.refdata.models import AccountPurpose, Asset, Counterparty, CustodyAccount
from collateral.errors import CoverageBreach
from collateral.models import (
    OPEN_CALL_STATUSES,
    CounterpartyRisk,
    CoverageSnapshot,
    CoverageState,
    MarginCall,
    MarginCallStatus,
    Release,
)
from collateral.selectors.coverage import CoverageRow, coverage_rows, live_state
from collateral.services.limits import lock_counterparty_limit
from collateral.signals import collateral_released
from inventory.errors import InsufficientInventory
from inventory.models import Bucket, JournalKind, Position
from inventory.services import LedgerLine, check_quantity, post_journal

if TYPE_CHECKING:
    from borrowdesk.access.models import User

# First keys of the two-key advisory lock form, in this database: a counterparty's coverage ("COVR")
# and the revaluation run ("REVL").
COVERAGE_LOCK_CLASS = 0x434F5652
REVALUE_LOCK_CLASS = 0x5245564C
NOTE_MAX = 500
REFERENCE_MAX = 120


def lock_counterparty_coverage(counterparty_id: int) -> None:
    """Serialise, until commit, the changes that must see each other's effect on one counterparty's
    coverage (two releases; any caller that lowers coverage and checks it may take it too)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [COVERAGE_LOCK_CLASS, counterparty_id % 2_147_483_647]
        )


def enqueue_revaluation(window: str) -> None:
    """After commit, queue a revaluation of its own ``window`` (a JobRun of its own, run once; at most
    16 characters, JobRun.window): after a price (``price:<id>``), a pledge (``pledge:<id>``), a release
    (``rel:<id>``) or a margin call action (``cxl:<id>``, ``esc:<id>``), so the stored state follows
    without waiting for the schedule. ``robust``: a broker that is down is logged, never an error of
    the action; the scheduled run catches up."""
    from collateral.tasks import revalue_collateral

    task: Any = revalue_collateral  # a Celery task (scheduled_job's decorator is untyped)
    transaction.on_commit(lambda: task.apply_async(kwargs={"window": window}), robust=True)


# --- releases -------------------------------------------------------------------------------------


def _check_release(
    counterparty: Counterparty, asset: Asset, account: CustodyAccount, quantity: Decimal, reference: str
) -> None:
    check_quantity(quantity, asset)
    if account.purpose != AccountPurpose.COLLATERAL:
        message = f"{account.code} is not a collateral account."
        raise InvalidInput(message, fields={"account": [message]})
    if account.owner_id != counterparty.pk:
        message = f"{account.code} does not hold {counterparty.code}'s collateral."
        raise InvalidInput(message, fields={"account": [message]})
    if not isinstance(reference, str) or len(reference) > REFERENCE_MAX:
        message = f"At most {REFERENCE_MAX} characters."
        raise InvalidInput(f"reference: {message}", fields={"reference": [message]})


def _pledged(asset: Asset, account: CustodyAccount) -> Decimal:
    found = (
        Position.objects.filter(asset=asset, account=account, bucket=Bucket.PLEDGED)
        .values_list("quantity", flat=True)
        .first()
    )
    return found if found is not None else Decimal(0)


def _releasable(before: CoverageRow, after: CoverageRow, asset: Asset, quantity: Decimal) -> Decimal:
    """The most of ``asset`` that could go and leave coverage at required (rounded down to the asset's
    places), from the value one unit of it carries (before − after over the quantity)."""
    assert before.collateral_value_usd is not None and after.collateral_value_usd is not None
    assert before.exposure_usd is not None
    unit = (before.collateral_value_usd - after.collateral_value_usd) / quantity
    room = before.collateral_value_usd - before.required_ratio * before.exposure_usd
    if unit <= 0 or room <= 0:
        return Decimal(0)
    return (room / unit).quantize(Decimal(1).scaleb(-asset.decimals), rounding=ROUND_DOWN)


def preview_release(
    *, counterparty: Counterparty, asset: Asset, account: CustodyAccount, quantity: Decimal
) -> tuple[CoverageRow, CoverageRow]:
    """The release form's dry run: the counterparty's coverage now and if ``quantity`` of ``asset`` left
    ``account`` now (two coverage queries, nothing written, no lock). Raises what ``release_collateral``
    raises for bad input (``InvalidInput``, ``InsufficientInventory``); the coverage verdict is the
    caller's to show (``after.meets_required``, ``after.needs_review``)."""
    _check_release(counterparty, asset, account, quantity, "")
    held = _pledged(asset, account)
    if quantity > held:
        raise InsufficientInventory(f"Only {qty(held)} {asset.symbol} is pledged in {account.code}.")
    return _before_and_after(counterparty, asset, account, quantity, timezone.now())


@transaction.atomic(durable=True)
def release_collateral(
    *,
    actor: User,
    counterparty: Counterparty,
    asset: Asset,
    account: CustodyAccount,
    quantity: Decimal,
    reference: str = "",
) -> Release:
    """Give pledged collateral back to its owner: ``quantity`` of ``asset`` leaves ``account``'s pledged
    bucket (a ``collateral_release`` journal), recorded as a ``Release`` with the coverage it leaves;
    ``collateral_released`` is sent inside the transaction (treasury queues the return leg with it).

    Refused, with nothing written:
    ``PermissionDeniedError`` (not ``collateral.pledge``); ``InvalidInput`` (a quantity that is not
    positive, too large or finer than the asset allows; an account that is not the counterparty's
    collateral account; a reference over 120 characters); ``InsufficientInventory`` (409: more than
    is pledged there); ``InvalidState`` (409 ``invalid_state``: the counterparty has open loans and a
    mark it holds or owes is missing, stale or disputed, so coverage cannot be confirmed);
    ``CoverageBreach`` (409 ``coverage_breach``: coverage after the release would be below the
    required level; the detail gives the figures and the most that may be released now).
    A counterparty with no open loans may release anything it holds.
    """
    require(actor, "collateral.pledge", "Your role does not allow releasing collateral.")
    _check_release(counterparty, asset, account, quantity, reference)
    # Two releases of one counterparty at once would each value the collateral the other is taking
    # away and could both pass; the lock makes the second wait, then value what the first left (a
    # new snapshot per statement, READ COMMITTED).
    lock_counterparty_coverage(counterparty.pk)
    # And a final approval of this counterparty (which checks its coverage covenant under the limit's
    # lock) must not run beside it either: each would value the book without the other's change.
    lock_counterparty_limit(counterparty.pk)
    held = _pledged(asset, account)
    if quantity > held:
        raise InsufficientInventory(
            f"Only {qty(held)} {asset.symbol} is pledged in {account.code}: "
            f"{unpadded(quantity)} cannot be released."
        )
    now = timezone.now()
    before, after = _before_and_after(counterparty, asset, account, quantity, now)
    if after.has_exposure:
        if after.needs_review:
            raise InvalidState(
                f"{counterparty.code}'s coverage cannot be confirmed on the current marks "
                f"({after.review_reason}); a release waits for fresh, agreeing prices."
            )
        if not after.meets_required:
            raise CoverageBreach(_breach_detail(counterparty, asset, quantity, before, after))
    with acting_as(actor):
        journal = post_journal(
            kind=JournalKind.COLLATERAL_RELEASE,
            lines=[
                LedgerLine(asset, account, Bucket.PLEDGED, -quantity),
                LedgerLine(asset, account, Bucket.EXTERNAL, quantity),
            ],
            actor=actor,
            reference=reference,
            memo=f"Collateral released to {counterparty.code}",
        )
        release = Release.objects.create(
            counterparty=counterparty,
            asset=asset,
            account=account,
            quantity=quantity,
            reference=reference,
            journal=journal,
            coverage_after=after.coverage_ratio,
            created_by=actor,
        )
        # Inside the release's transaction: treasury's return leg commits with the release, or not at all.
        collateral_released.send(sender=Release, release=release)
    enqueue_revaluation(f"rel:{release.pk}")
    return release


def _before_and_after(
    counterparty: Counterparty, asset: Asset, account: CustodyAccount, quantity: Decimal, at: datetime
) -> tuple[CoverageRow, CoverageRow]:
    (before,) = coverage_rows(counterparty_ids=[counterparty.pk], at=at)
    (after,) = coverage_rows(
        counterparty_ids=[counterparty.pk], at=at, pledged_deltas=[(account.pk, asset.pk, -quantity)]
    )
    return before, after


def _breach_detail(
    counterparty: Counterparty, asset: Asset, quantity: Decimal, before: CoverageRow, after: CoverageRow
) -> str:
    assert after.exposure_usd is not None and after.collateral_value_usd is not None
    ratio = f"{after.coverage_ratio:.2f}" if after.coverage_ratio is not None else "—"
    most = _releasable(before, after, asset, quantity)
    room = (
        f"at most {qty(most)} {asset.symbol} may be released now"
        if most > 0
        else "nothing may be released now"
    )
    return (
        f"Releasing {unpadded(quantity)} {asset.symbol} would leave {counterparty.code}'s coverage at "
        f"{ratio} (collateral {usd(after.collateral_value_usd)} against exposure {usd(after.exposure_usd)}), "
        f"below the required {after.required_ratio:.2f} ({usd(after.required_ratio * after.exposure_usd)}): "
        f"{room}."
    )


# --- the revaluation ------------------------------------------------------------------------------
#
# Written for a book of thousands of counterparties: one coverage query in; the stored rows read as
# tuples (no model instances); the state machine in plain Python per counterparty; out, one
# statement per table (INSERT … SELECT FROM unnest(arrays) ON CONFLICT … DO UPDATE, UPDATE … FROM
# unnest), and only for the rows that changed. The audit triggers record every write, as any other.

RISK_FIELDS = (
    "state",
    "state_since",
    "exposure_usd",
    "collateral_value_usd",
    "coverage_ratio",
    "shortfall_usd",
    "review_reason",
    "critical_since",
    "default_flagged_at",
)
CALL_FIGURES = ("amount_usd", "exposure_usd", "collateral_value_usd", "coverage_ratio", "required_ratio")
CALL_FIELDS = (
    "id",
    "counterparty_id",
    "status",
    "initial_amount_usd",
    *CALL_FIGURES,
    "issued_at",
    "due_at",
    "updated_at",
    "escalated_at",
    "closed_at",
)
SNAPSHOT_FIGURES = ("exposure_usd", "collateral_value_usd", "coverage_ratio", "state")


@dataclass(slots=True)
class _Risk:
    """A ``CounterpartyRisk`` row as the revaluation reads and writes it."""

    counterparty_id: int
    state: str
    state_since: datetime
    exposure_usd: Decimal
    collateral_value_usd: Decimal
    coverage_ratio: Decimal | None
    shortfall_usd: Decimal
    review_reason: str
    critical_since: datetime | None
    default_flagged_at: datetime | None

    def memo(self) -> tuple:
        """RISK_FIELDS' values (spelled out: called for every counterparty of the book)."""
        return (
            self.state,
            self.state_since,
            self.exposure_usd,
            self.collateral_value_usd,
            self.coverage_ratio,
            self.shortfall_usd,
            self.review_reason,
            self.critical_since,
            self.default_flagged_at,
        )


@dataclass(slots=True)
class _Call:
    """An open ``MarginCall`` as the revaluation reads and writes it (``id`` None: a new one)."""

    id: int | None
    counterparty_id: int
    status: str
    initial_amount_usd: Decimal
    amount_usd: Decimal
    exposure_usd: Decimal
    collateral_value_usd: Decimal
    coverage_ratio: Decimal
    required_ratio: Decimal
    issued_at: datetime
    due_at: datetime
    updated_at: datetime
    escalated_at: datetime | None
    closed_at: datetime | None

    def memo(self) -> tuple:
        return tuple(getattr(self, name) for name in CALL_FIELDS)


@dataclass(slots=True)
class _Snapshot:
    """Today's ``CoverageSnapshot`` figures of one counterparty."""

    counterparty_id: int
    exposure_usd: Decimal
    collateral_value_usd: Decimal
    coverage_ratio: Decimal | None
    state: str

    def memo(self) -> tuple:
        return (self.exposure_usd, self.collateral_value_usd, self.coverage_ratio, self.state)


@dataclass
class _Outcome:
    risk: _Risk | None = None  # to insert or update (None: unchanged)
    snapshot: _Snapshot | None = None  # to upsert (None: unchanged)
    new_call: _Call | None = None
    changed_call: _Call | None = None
    call_event: str = ""  # issued, updated, met, escalated


def _figures(row: CoverageRow, risk: _Risk | None) -> tuple:
    """The stored figures (exposure, value, ratio, shortfall): the row's, or (a figure unknown for want
    of a mark) the last known ones."""
    if row.figures_known:
        return row.exposure_usd, row.collateral_value_usd, row.coverage_ratio, row.shortfall_usd
    if risk is not None:
        return risk.exposure_usd, risk.collateral_value_usd, risk.coverage_ratio, risk.shortfall_usd
    zero = Decimal(0)
    return (
        row.exposure_usd if row.exposure_usd is not None else zero,
        row.collateral_value_usd if row.collateral_value_usd is not None else zero,
        None,
        zero,
    )


def _call_figures(row: CoverageRow) -> dict[str, Any]:
    return {
        "amount_usd": row.shortfall_usd,
        "exposure_usd": row.exposure_usd,
        "collateral_value_usd": row.collateral_value_usd,
        "coverage_ratio": row.coverage_ratio,
        "required_ratio": row.required_ratio,
    }


def _next_call(row: CoverageRow, call: _Call | None, at: datetime) -> tuple[_Call | None, str]:
    """The margin call after this valuation, and what happened to it (issued, updated, met, escalated,
    or nothing). Nothing at all on a price under review: an open call is left as it is."""
    if row.needs_review or not row.figures_known:
        return call, ""
    assert row.exposure_usd is not None and row.collateral_value_usd is not None  # known: not under review
    assert row.shortfall_usd is not None
    if call is None:
        if not row.below_call:
            return None, ""
        return (
            _Call(
                id=None,
                counterparty_id=row.counterparty_id,
                status=MarginCallStatus.OPEN,
                initial_amount_usd=row.shortfall_usd,
                issued_at=at,
                due_at=at + timedelta(hours=row.call_due_hours),
                updated_at=at,
                escalated_at=None,
                closed_at=None,
                **_call_figures(row),
            ),
            "issued",
        )
    if row.meets_required:  # coverage back at required: met (collateral arrived or the market moved)
        call.status = MarginCallStatus.MET
        call.closed_at = call.updated_at = at
        call.amount_usd = Decimal(0)
        call.exposure_usd = row.exposure_usd
        call.collateral_value_usd = row.collateral_value_usd
        if row.coverage_ratio is not None:  # no exposure left: the last ratio stays
            call.coverage_ratio = row.coverage_ratio
        call.required_ratio = row.required_ratio
        return call, "met"
    event = ""
    figures = _call_figures(row)
    if any(getattr(call, name) != value for name, value in figures.items()):
        for name, value in figures.items():
            setattr(call, name, value)
        call.updated_at = at
        event = "updated"
    if call.status == MarginCallStatus.OPEN and at > call.due_at:  # past due and unmet
        call.status = MarginCallStatus.ESCALATED
        call.escalated_at = call.updated_at = at
        event = "escalated"
    return call, event


def _next_risk(row: CoverageRow, risk: _Risk | None, call_status: str | None, at: datetime) -> _Risk:
    critical_since = risk.critical_since if risk else None
    default_flagged_at = risk.default_flagged_at if risk else None
    if not (row.needs_review or not row.figures_known):  # under review: both kept as they are
        if row.ratio_state == CoverageState.CRITICAL:
            critical_since = critical_since or at
            if default_flagged_at is None and at - critical_since >= timedelta(hours=row.cure_period_hours):
                default_flagged_at = at
        else:  # recovered above critical
            critical_since = default_flagged_at = None
    state = live_state(row, call_status)
    exposure, value, ratio, shortfall = _figures(row, risk)
    return _Risk(
        row.counterparty_id,
        state,
        risk.state_since if risk is not None and risk.state == state else at,
        exposure,
        value,
        ratio,
        shortfall,
        row.review_reason[:300],
        critical_since,
        default_flagged_at,
    )


def _worth_watching(row: CoverageRow) -> bool:
    """A counterparty with nothing owed, nothing pledged and nothing to review gets no risk row."""
    return bool(
        row.exposure_usd != 0
        or row.collateral_value_usd != 0
        or row.ineligible_value_usd != 0
        or row.needs_review
    )


def _decide(
    row: CoverageRow, risk: _Risk | None, call: _Call | None, snapshot: _Snapshot | None, at: datetime
) -> _Outcome:
    outcome = _Outcome()
    if risk is None and call is None and not _worth_watching(row):
        return outcome
    before = call.memo() if call is not None else None
    call, outcome.call_event = _next_call(row, call, at)
    if call is not None and call.id is None:
        outcome.new_call = call
    elif call is not None and call.memo() != before:
        outcome.changed_call = call
    open_status = call.status if call is not None and call.status in OPEN_CALL_STATUSES else None
    new_risk = _next_risk(row, risk, open_status, at)
    if risk is None or risk.memo() != new_risk.memo():
        outcome.risk = new_risk
    today = _Snapshot(
        row.counterparty_id,
        new_risk.exposure_usd,
        new_risk.collateral_value_usd,
        new_risk.coverage_ratio,
        new_risk.state,
    )
    if snapshot is None or snapshot.memo() != today.memo():
        outcome.snapshot = today
    return outcome


# Rows travel as one JSON parameter (jsonb_to_recordset): one literal to parse, where arrays of
# thousands of elements would be thousands of expressions. Existing rows are updated, new ones
# inserted (no speculative insert per row).
RISK_COLUMNS = """counterparty_id bigint, state text, state_since timestamptz, exposure_usd numeric,
    collateral_value_usd numeric, coverage_ratio numeric, shortfall_usd numeric, review_reason text,
    critical_since timestamptz, default_flagged_at timestamptz"""
RISK_UPDATE_SQL = f"""
UPDATE collateral_counterpartyrisk r SET
    state = v.state, state_since = v.state_since, exposure_usd = v.exposure_usd,
    collateral_value_usd = v.collateral_value_usd, coverage_ratio = v.coverage_ratio,
    shortfall_usd = v.shortfall_usd, review_reason = v.review_reason, critical_since = v.critical_since,
    default_flagged_at = v.default_flagged_at, valued_at = %s::timestamptz
FROM jsonb_to_recordset(%s::jsonb) AS v ({RISK_COLUMNS})
WHERE r.counterparty_id = v.counterparty_id
"""
RISK_INSERT_SQL = f"""
INSERT INTO collateral_counterpartyrisk (
    counterparty_id, state, state_since, exposure_usd, collateral_value_usd, coverage_ratio, shortfall_usd,
    review_reason, critical_since, default_flagged_at, valued_at
)
SELECT v.*, %s::timestamptz FROM jsonb_to_recordset(%s::jsonb) AS v ({RISK_COLUMNS})
"""
SNAPSHOT_UPSERT_SQL = """
INSERT INTO collateral_coveragesnapshot (
    counterparty_id, exposure_usd, collateral_value_usd, coverage_ratio, state, business_date, valued_at
)
SELECT v.*, %s::date, %s::timestamptz
FROM jsonb_to_recordset(%s::jsonb) AS v (
    counterparty_id bigint, exposure_usd numeric, collateral_value_usd numeric, coverage_ratio numeric,
    state text
)
ON CONFLICT (counterparty_id, business_date) DO UPDATE SET
    exposure_usd = EXCLUDED.exposure_usd, collateral_value_usd = EXCLUDED.collateral_value_usd,
    coverage_ratio = EXCLUDED.coverage_ratio, state = EXCLUDED.state, valued_at = EXCLUDED.valued_at
"""
CALL_INSERT_SQL = """
INSERT INTO collateral_margincall (
    counterparty_id, status, initial_amount_usd, amount_usd, exposure_usd, collateral_value_usd,
    coverage_ratio, required_ratio, issued_at, due_at, updated_at, note
)
SELECT v.*, ''
FROM jsonb_to_recordset(%s::jsonb) AS v (
    counterparty_id bigint, status text, initial_amount_usd numeric, amount_usd numeric,
    exposure_usd numeric, collateral_value_usd numeric, coverage_ratio numeric, required_ratio numeric,
    issued_at timestamptz, due_at timestamptz, updated_at timestamptz
)
"""
CALL_UPDATE_SQL = """
UPDATE collateral_margincall m SET
    status = v.status, amount_usd = v.amount_usd, exposure_usd = v.exposure_usd,
    collateral_value_usd = v.collateral_value_usd, coverage_ratio = v.coverage_ratio,
    required_ratio = v.required_ratio, updated_at = v.updated_at, escalated_at = v.escalated_at,
    closed_at = v.closed_at
FROM jsonb_to_recordset(%s::jsonb) AS v (
    id bigint, status text, amount_usd numeric, exposure_usd numeric, collateral_value_usd numeric,
    coverage_ratio numeric, required_ratio numeric, updated_at timestamptz, escalated_at timestamptz,
    closed_at timestamptz
)
WHERE m.id = v.id
"""


def _json_rows(items: list, names: tuple[str, ...]) -> str:
    """Objects' attributes as a JSON array of records for jsonb_to_recordset: decimals as strings
    (exact), times in ISO 8601 with their offset."""

    def cell(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    return json.dumps([{name: cell(getattr(item, name)) for name in names} for item in items])


def _write(
    cursor,
    *,
    at: datetime,
    day,
    known: set[int],
    risks: list[_Risk],
    snapshots: list[_Snapshot],
    new: list[_Call],
    changed: list[_Call],
) -> None:
    risk_names = ("counterparty_id", *RISK_FIELDS)
    updated_risks = [r for r in risks if r.counterparty_id in known]
    new_risks = [r for r in risks if r.counterparty_id not in known]
    if updated_risks:
        cursor.execute(RISK_UPDATE_SQL, [at, _json_rows(updated_risks, risk_names)])
    if new_risks:
        cursor.execute(RISK_INSERT_SQL, [at, _json_rows(new_risks, risk_names)])
    if snapshots:
        names = ("counterparty_id", *SNAPSHOT_FIGURES)
        cursor.execute(SNAPSHOT_UPSERT_SQL, [day, at, _json_rows(snapshots, names)])
    if changed:
        updated = ("id", "status", *CALL_FIGURES, "updated_at", "escalated_at", "closed_at")
        cursor.execute(CALL_UPDATE_SQL, [_json_rows(changed, updated)])
    if new:
        inserted = (
            "counterparty_id",
            "status",
            "initial_amount_usd",
            *CALL_FIGURES,
            "issued_at",
            "due_at",
            "updated_at",
        )
        cursor.execute(CALL_INSERT_SQL, [_json_rows(new, inserted)])


@transaction.atomic(durable=True)
def revalue(*, at: datetime | None = None, actor: User | None = None) -> dict[str, int]:
    """Value every counterparty at ``at`` (default now) with the coverage query and move the state
    machine: ``CounterpartyRisk`` (state, figures, review reason, critical and default flags), today's
    ``CoverageSnapshot`` (the business date of ``at``), and the margin calls (issued, updated, met,
    escalated), as the module docstring describes. Only what changed is written (with ``valued_at`` =
    ``at``): a second run at the same ``at`` finds nothing to change and writes nothing. Returns counts.

    ``actor``: a person running it by hand (``collateral.margin_call.operate``), else the scheduled
    job. Raises ``PermissionDeniedError`` for an actor without that action.
    """
    if actor is not None:
        require(actor, "collateral.margin_call.operate", "Your role does not allow running the revaluation.")
    # One run at a time: two would read the same open calls and both issue or update them.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [REVALUE_LOCK_CLASS])
    at = at or timezone.now()
    day = business_date(at)
    rows = coverage_rows(at=at)
    risks = {
        values[0]: _Risk(*values)
        for values in CounterpartyRisk.objects.values_list("counterparty_id", *RISK_FIELDS)
    }
    # Locked: a note, cancel or escalate by risk waits for this run instead of being overwritten.
    calls = {
        values[1]: _Call(*values)
        for values in MarginCall.objects.select_for_update()
        .filter(status__in=OPEN_CALL_STATUSES)
        .values_list(*CALL_FIELDS)
    }
    snapshots = {
        values[0]: _Snapshot(*values)
        for values in CoverageSnapshot.objects.filter(business_date=day).values_list(
            "counterparty_id", *SNAPSHOT_FIGURES
        )
    }
    outcomes = [
        _decide(
            row,
            risks.get(row.counterparty_id),
            calls.get(row.counterparty_id),
            snapshots.get(row.counterparty_id),
            at,
        )
        for row in rows
    ]
    written: dict[str, list[Any]] = {
        "risks": [o.risk for o in outcomes if o.risk is not None],
        "snapshots": [o.snapshot for o in outcomes if o.snapshot is not None],
        "new": [o.new_call for o in outcomes if o.new_call is not None],
        "changed": [o.changed_call for o in outcomes if o.changed_call is not None],
    }
    with acting_as(actor, job="collateral.revalue"), connection.cursor() as cursor:
        _write(cursor, at=at, day=day, known=set(risks), **written)
    events = [o.call_event for o in outcomes]
    return {
        "counterparties": len(rows),
        "risk_rows_written": len(written["risks"]),
        "snapshots_written": len(written["snapshots"]),
        "calls_issued": events.count("issued"),
        "calls_updated": events.count("updated"),
        "calls_met": events.count("met"),
        "calls_escalated": events.count("escalated"),
        "needs_review": sum(1 for r in rows if r.needs_review),
    }


# --- margin call actions (risk) -------------------------------------------------------------------


def _locked_call(call: MarginCall) -> MarginCall:
    # The row lock orders this action after a running revaluation (which holds the open calls) and
    # after any other action on the call, each seeing the other's committed result.
    return MarginCall.objects.select_for_update().get(pk=call.pk)


def _text(value: str, field: str, *, required: bool = True) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise InvalidInput(f"{field}: required.", fields={field: ["This field is required."]})
    if len(text) > NOTE_MAX:
        message = f"At most {NOTE_MAX} characters."
        raise InvalidInput(f"{field}: {message}", fields={field: [message]})
    return text


@transaction.atomic(durable=True)
def add_note(*, actor: User, call: MarginCall, text: str) -> MarginCall:
    """Record risk's note on a margin call (the latest note is on the call; every earlier one is in its
    audit trail). Raises ``PermissionDeniedError`` or ``InvalidInput`` (empty or over 500 characters)."""
    require(actor, "collateral.margin_call.operate", "Your role does not allow working margin calls.")
    note = _text(text, "text")
    call = _locked_call(call)
    call.note = note
    with acting_as(actor):
        call.save(update_fields=["note"])
    return call


@transaction.atomic(durable=True)
def cancel_margin_call(*, actor: User, call: MarginCall, reason: str) -> MarginCall:
    """Withdraw an open (or escalated) margin call, with a reason. The next revaluation calls again, with
    a new due time, if coverage is still below the call level (to stop calling a counterparty, change
    its agreement). Raises ``PermissionDeniedError``, ``InvalidInput`` (no reason) or ``InvalidState``
    (the call is already met or cancelled)."""
    require(actor, "collateral.margin_call.operate", "Your role does not allow working margin calls.")
    reason = _text(reason, "reason")
    call = _locked_call(call)
    if call.status not in OPEN_CALL_STATUSES:
        raise InvalidState(
            f"Margin call {call.pk} is {call.get_status_display().lower()}: nothing to cancel."
        )
    call.status = MarginCallStatus.CANCELLED
    call.closed_at = timezone.now()
    call.closed_by = actor
    call.note = reason
    with acting_as(actor):
        call.save(update_fields=["status", "closed_at", "closed_by", "note"])
    enqueue_revaluation(f"cxl:{call.pk}")
    return call


@transaction.atomic(durable=True)
def escalate_margin_call(*, actor: User, call: MarginCall, reason: str = "") -> MarginCall:
    """Escalate an open margin call by hand (before its due time): the counterparty is in ``breach``
    from the next revaluation. Raises ``PermissionDeniedError``, ``InvalidInput`` (a reason over 500
    characters) or ``InvalidState`` (not open: escalated already, met or cancelled)."""
    require(actor, "collateral.margin_call.operate", "Your role does not allow working margin calls.")
    reason = _text(reason, "reason", required=False)
    call = _locked_call(call)
    if call.status != MarginCallStatus.OPEN:
        raise InvalidState(
            f"Margin call {call.pk} is {call.get_status_display().lower()}: only an open call is escalated."
        )
    now = timezone.now()
    call.status = MarginCallStatus.ESCALATED
    call.escalated_at = now
    call.updated_at = now
    fields = ["status", "escalated_at", "updated_at"]
    if reason:
        call.note = reason
        fields.append("note")
    with acting_as(actor):
        call.save(update_fields=fields)
    enqueue_revaluation(f"esc:{call.pk}")
    return call
