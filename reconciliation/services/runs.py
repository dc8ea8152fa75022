"""Reconciliation runs: request one (page, API), and execute it (the task, the daily pre-open job).

The comparison and the breaks' upsert are one SQL statement (``reconciliation/sql/run.sql``) in one
transaction with the run's status, so a worker killed mid-run leaves the breaks as they were and the
run not ``finished``; the redelivered task (or the catch-up) runs it again and completes it once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from borrowdesk.access.policy import require
from borrowdesk.audit import acting_as_if
from borrowdesk.business_day import business_date as current_business_date
from borrowdesk.business_day import business_day_end
from borrowdesk.errors import InvalidInput
from borrowdesk.refdata.models import Asset
from reconciliation.models_runs import ReconciliationRun, RunScope, RunStatus

SQL_PATH = Path(__file__).resolve().parent.parent / "sql" / "run.sql"
RUN_SQL = SQL_PATH.read_text()
_COLUMNS = ("accounts", "statements", "found", "opened", "updated", "auto_resolved", "carried", "events")


def tolerances() -> tuple[dict[str, str], str]:
    """Dust per asset id (from RECONCILIATION_TOLERANCES by symbol) and the default, as SQL parameters.
    Raises ``ImproperlyConfigured`` for a negative tolerance (the run passes only differing pairs to the
    tolerance: an equal pair is never a break)."""
    configured = settings.RECONCILIATION_TOLERANCES or {}
    by_id = {}
    if configured:
        for pk, symbol in Asset.objects.filter(symbol__in=list(configured)).values_list("pk", "symbol"):
            by_id[str(pk)] = str(_tolerance(configured[symbol], f"RECONCILIATION_TOLERANCES[{symbol!r}]"))
    default = _tolerance(settings.RECONCILIATION_DEFAULT_TOLERANCE, "RECONCILIATION_DEFAULT_TOLERANCE")
    return by_id, str(default)


def _tolerance(value, name: str) -> Decimal:
    try:
        tolerance = Decimal(str(value))
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} is not a number: {value!r}.") from None
    if not tolerance.is_finite() or tolerance < 0:
        raise ImproperlyConfigured(f"{name} must be zero or more, not {value!r}.")
    return tolerance


def run_cutoff(business_date: date, now: datetime | None = None) -> datetime:
    """The instant a run for ``business_date`` compares at: the end of that date, or now if sooner."""
    now = now or timezone.now()
    return min(business_day_end(business_date), now)


def _check_request(business_date, scope) -> None:
    if scope not in RunScope.values:
        raise InvalidInput(
            f"Unknown scope {scope!r}.", fields={"scope": [f"One of {', '.join(RunScope.values)}."]}
        )
    if not isinstance(business_date, date) or business_date > current_business_date():
        raise InvalidInput(
            "A run is for today's business date or an earlier one.",
            fields={"business_date": ["Not after today's business date."]},
        )


def request_run(*, actor, business_date: date, scope: str) -> ReconciliationRun:
    """Queue a run of ``business_date`` and ``scope`` (a re-run updates the same run and breaks) and
    send its task after commit. Action ``reconciliation.run``. Raises ``InvalidInput`` (scope, a date
    after today) and ``PermissionDeniedError``; a run already queued or running is returned as it is."""
    require(actor, "reconciliation.run", "Only operations and treasury run reconciliations.")
    _check_request(business_date, scope)
    with transaction.atomic(durable=True), acting_as_if(actor):
        run, created = ReconciliationRun.objects.select_for_update().get_or_create(
            business_date=business_date, scope=scope, defaults={"requested_by": actor}
        )
        if not created and run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
            return run  # already on its way: one run at a time per date and scope
        run.status, run.requested_by, run.error = RunStatus.QUEUED, actor, ""
        run.requested_at = timezone.now()
        run.save(update_fields=["status", "requested_by", "error", "requested_at"])
        token = uuid.uuid4().hex[:12]

        def send() -> None:
            from reconciliation.tasks import execute_requested_run

            execute_requested_run.delay(run.pk, token)

        transaction.on_commit(send)
    return run


def _mark(run_id: int, **fields) -> None:
    with transaction.atomic(durable=True):
        ReconciliationRun.objects.filter(pk=run_id).update(**fields)


def execute_run(*, run_id: int, job_run_id: int | None = None, now: datetime | None = None) -> dict:
    """Compare and upsert the breaks of run ``run_id`` in one transaction; the run ends ``finished``
    with its counts (or ``failed`` with the error, breaks untouched). Returns the counts."""
    _mark(run_id, status=RunStatus.RUNNING, started_at=timezone.now(), finished_at=None, error="")
    try:
        with transaction.atomic(durable=True):
            # The run's row lock: two deliveries of one run never upsert its breaks side by side.
            run = ReconciliationRun.objects.select_for_update().get(pk=run_id)
            at = now or timezone.now()
            cutoff = run_cutoff(run.business_date, at)
            by_id, default = tolerances()
            params = {
                "run_id": run.pk,
                "scope": run.scope,
                "business_date": run.business_date,
                "cutoff": cutoff,
                "now": at,
                "max_age_hours": settings.RECONCILIATION_STATEMENT_MAX_AGE_HOURS,
                "tolerances": _json(by_id),
                "default_tolerance": default,
            }
            with connection.cursor() as cursor:
                # For this transaction only: memory for the run's sorts and hashes (a million lines in
                # memory instead of spilled to disk in batches), and no JIT compilation (compiling the
                # run's one large statement took longer than the few seconds it saves in executing it).
                cursor.execute(
                    "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
                    [settings.RECONCILIATION_WORK_MEM],
                )
                cursor.execute(RUN_SQL, params)
                row = cursor.fetchone()
            counts = dict(zip(_COLUMNS, (int(v) for v in row[: len(_COLUMNS)]), strict=True))
            counts["by_kind"] = row[len(_COLUMNS)] if isinstance(row[-1], dict) else _loads(row[-1])
            counts["open"] = run.breaks.filter(status__in=["open", "assigned"]).count()
            finished = timezone.now()
            ReconciliationRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FINISHED,
                finished_at=finished,
                cutoff=cutoff,
                counts=counts,
                error="",
                **({"job_run_id": job_run_id} if job_run_id else {}),
            )
    except Exception as exc:
        _mark(run_id, status=RunStatus.FAILED, finished_at=timezone.now(), error=str(exc)[:2000])
        raise
    return counts


def ensure_run(*, business_date: date, scope: str = RunScope.ALL) -> ReconciliationRun:
    """The run of a date and scope, created queued if missing (the scheduled job's)."""
    run, _ = ReconciliationRun.objects.get_or_create(business_date=business_date, scope=scope)
    return run


def _json(value) -> str:
    import json

    return json.dumps(value)


def _loads(value):
    import json

    try:
        return json.loads(value)
    except (TypeError, ValueError, InvalidOperation):
        return {}
