"""Faults injected into a running stack (bin/run: gunicorn, a Celery worker, beat) on private servers.

In order, on one stack: how ``make run`` serves (DEBUG unset); a worker SIGKILLed mid-job; a
component killed; Redis down (reads and intake keep working, a daily tick is missed and caught up
once, queued work runs when it is back); PostgreSQL stopped and started under the stack.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from tests.faults.conftest import ROOT, VENV, wait_for

pytestmark = pytest.mark.faults

SETUP = """
from datetime import timedelta
from django.utils import timezone
from borrowdesk.access.services import create_desk_user
from compliance.models import KycProfile
from tests.inventory.factories import desk_asset, firm_account, stock
from tests.refdata.factories import CounterpartyFactory
btc = desk_asset("BTC", 8, "50000")
acme = CounterpartyFactory(code="ACME", legal_name="Acme Trading Ltd", risk_rating="low")
KycProfile.objects.update_or_create(counterparty=acme, defaults=dict(status="approved", risk_rating="low",
                                   expires_on=(timezone.now() + timedelta(days=365)).date()))
stock(btc, firm_account(), "10")
print("ready")
"""

INTAKE = {
    "counterparty": "ACME",
    "asset": "BTC",
    "quantity": "1",
    "min_quantity": "1",
    "max_rate_bps": "600",
    "term_days": 30,
    "urgency": "normal",
}


def sql(stack, query: str, params=()):
    with psycopg2.connect(stack.pg.url, connect_timeout=5) as conn, conn.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else None


def send(stack, task: str, *args, **kwargs) -> None:
    """Put a job on the stack's queue, as beat does."""
    stack.shell(
        f"from borrowdesk.celery import app; app.send_task({task!r}, args={list(args)!r}, kwargs={kwargs!r})"
    )


def runs(stack, job: str, day: str) -> list[tuple]:
    return sql(
        stack,
        "SELECT outcome, error, owner FROM operations_jobrun WHERE job = %s AND business_date = %s "
        "ORDER BY id",
        (job, day),
    )


def auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


@pytest.fixture(scope="module")
def desk(stack):
    """The data the checks use, and alice, made by the README's own shell example."""
    assert stack.shell(SETUP).endswith("ready")
    return stack


def test_make_run_serves_without_debug_and_the_readme_shell_example_runs_as_printed(desk):
    stack = desk
    log = (stack.base / "run.log").read_text()
    # Against a configured DATABASE_URL the demo users (known password) are not seeded.
    assert "DATABASE_URL is set: the demo data and its users (known password) are not loaded" in log
    assert sql(stack, "SELECT count(*) FROM access_user WHERE username = 'trader'") == [(0,)]
    # A generated SECRET_KEY in the .env the settings read: no SECRET_KEY, DEBUG or BORROWDESK_DEV needed.
    assert re.search(r"^SECRET_KEY=\S{40,}$", stack.env_file.read_text(), re.M)
    assert not {"SECRET_KEY", "DEBUG", "BORROWDESK_DEV"} & set(stack.env)
    readme = (ROOT / "README.md").read_text()
    example = next(line for line in readme.splitlines() if "manage.py create_desk_user" in line)
    assert example.startswith("echo 'a-long-password' | .venv/bin/python manage.py create_desk_user alice")
    done = subprocess.run(
        ["bash", "-c", example.replace(".venv/bin/python", f"{VENV}/bin/python")],
        cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sql(stack, "SELECT count(*) FROM access_user WHERE username = 'alice'") == [(1,)]
    # DEBUG is off: a 404 is not Django's debug page listing the URL patterns …
    status, page = stack.get("/no-such-page/")
    assert status == 404 and b"URLconf" not in page and b"Django tried these URL patterns" not in page
    # … and the static files are served (collected, hashed names, by whitenoise).
    status, login = stack.get("/accounts/login/")
    assert status == 200
    stylesheet = re.search(rb'href="(/static/[^"]+\.css)"', login).group(1).decode()
    assert re.search(r"\.[0-9a-f]{12}\.css$", stylesheet), stylesheet
    assert stack.get(stylesheet)[0] == 200


def test_a_worker_killed_mid_job_has_its_job_completed_once_soon(desk):
    stack = desk
    day = "2026-01-05"
    # Hold the table the housekeeping job deletes from, so the job blocks in the middle of its work.
    blocker = psycopg2.connect(desk.pg.url)
    cursor = blocker.cursor()
    cursor.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
    try:
        send(stack, "operations.daily_housekeeping", day)
        running = wait_for(
            lambda: [r for r in runs(stack, "operations.daily_housekeeping", day) if r[0] == "running"],
            what="the job to start",
        )
        owner_pid = int(running[0][2].rsplit(":", 1)[1])
        wait_for(
            lambda: sql(stack, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"),
            what="the job to wait inside its work",
        )
        assert owner_pid in stack.children("celery"), "the run's owner is a worker process of this stack"
        os.kill(owner_pid, signal.SIGKILL)
        killed_at = time.monotonic()
    finally:
        blocker.rollback()
        blocker.close()
    wait_for(
        lambda: any(r[0] == "succeeded" for r in runs(stack, "operations.daily_housekeeping", day)),
        timeout=90,
        what="the job to be completed after its worker died",
    )
    took = time.monotonic() - killed_at
    outcomes = [r[:2] for r in runs(stack, "operations.daily_housekeeping", day)]
    abandoned = "abandoned: its worker died mid-run (lease lost); taken over"
    assert outcomes == [("failed", abandoned), ("succeeded", "")], outcomes
    print(f"\nkilled worker's job completed {took:.1f}s after the SIGKILL")
    assert took < 60


RECON_SETUP = """
import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo
from borrowdesk.refdata.models import Asset, CustodyAccount
from reconciliation.models import ExternalStatement, StatementLine
as_of = datetime(2026, 1, 7, 12, 0, tzinfo=ZoneInfo("Europe/London"))
st = ExternalStatement.objects.create(account=CustodyAccount.objects.get(code="INV-MAIN"), as_of=as_of,
    business_date=as_of.date(), source="api", line_count=1,
    content_hash=hashlib.sha256(b"fault-recon").hexdigest())
StatementLine.objects.create(statement=st, asset=Asset.objects.get(symbol="BTC"), quantity="9")
print("ready")
"""


def test_a_worker_killed_mid_reconciliation_leaves_no_half_written_breaks_and_the_run_completes_once(desk):
    stack = desk
    day = "2026-01-07"
    assert stack.shell(RECON_SETUP).endswith("ready")
    # Hold the breaks table, so the run blocks inside its one transaction (the run row locked, the
    # comparison under way) until its worker is killed.
    blocker = psycopg2.connect(desk.pg.url)
    cursor = blocker.cursor()
    cursor.execute("LOCK TABLE reconciliation_break IN ACCESS EXCLUSIVE MODE")
    try:
        send(stack, "reconciliation.pre_open", day)
        running = wait_for(
            lambda: [r for r in runs(stack, "reconciliation.pre_open", day) if r[0] == "running"],
            what="the reconciliation to start",
        )
        owner_pid = int(running[0][2].rsplit(":", 1)[1])
        wait_for(
            lambda: sql(stack, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"),
            what="the run to wait inside its transaction",
        )  # fmt: skip
        assert owner_pid in stack.children("celery")
        assert sql(
            stack, "SELECT status FROM reconciliation_reconciliationrun WHERE business_date = %s", (day,)
        ) == [("running",)]
        os.kill(owner_pid, signal.SIGKILL)
    finally:
        blocker.rollback()
        blocker.close()
    wait_for(
        lambda: any(r[0] == "succeeded" for r in runs(stack, "reconciliation.pre_open", day)),
        timeout=90,
        what="the redelivered run to complete",
    )
    outcomes = [r[:2] for r in runs(stack, "reconciliation.pre_open", day)]
    assert outcomes == [
        ("failed", "abandoned: its worker died mid-run (lease lost); taken over"),
        ("succeeded", ""),
    ]
    assert sql(stack, "SELECT status, counts->>'found' FROM reconciliation_reconciliationrun "
               "WHERE business_date = %s AND scope = 'all'", (day,)) == [("finished", "1")]  # fmt: skip
    # The killed attempt wrote nothing: one break, opened once.
    assert sql(stack, "SELECT b.kind, count(a.id) FROM reconciliation_break b "
               "JOIN reconciliation_reconciliationrun r ON r.id = b.run_id "
               "LEFT JOIN reconciliation_breakactivity a ON a.break_id = b.id "
               "WHERE r.business_date = %s GROUP BY b.kind", (day,)) == [("missing_internal", 1)]  # fmt: skip


def test_a_component_that_dies_is_started_again(desk):
    stack = desk
    beat = wait_for(lambda: stack.children("borrowdesk beat"), what="beat")
    os.kill(beat[0], signal.SIGKILL)
    wait_for(
        lambda: [p for p in stack.children("borrowdesk beat") if p not in beat], timeout=30, what="a new beat"
    )
    assert "beat exited" in (stack.var / "log" / "supervisor.log").read_text()


def _desk_now():
    return datetime.now(ZoneInfo("Europe/London"))


def _done_once(rows) -> None:
    # Done exactly once: one succeeded run. A second delivery racing it (beat's own 5-minute catch-up
    # tick arriving with ours) is recorded as a skipped duplicate, which is the design, not a second run.
    outcomes = [r[0] for r in rows]
    assert outcomes.count("succeeded") == 1 and set(outcomes) <= {"succeeded", "skipped"}, outcomes


def test_redis_down_reads_and_intake_work_a_missed_daily_tick_is_caught_up_once_and_queued_work_runs(desk):
    stack = desk
    status, _, content = stack.request(
        "POST", "/api/v1/auth/token/", {"username": "alice", "password": "a-long-password"}
    )
    assert status == 200, content
    token = json.loads(content)["token"]
    business_day = stack.shell("from borrowdesk.business_day import business_date; print(business_date())")
    assert runs(stack, "operations.daily_housekeeping", business_day) == []
    # The daily job's tick: the next minute, on the desk's clock (beat reads its schedule from the database),
    # or the one after when the next begins in under 20 s: Redis must be down before the tick comes.
    now = _desk_now()
    tick = now + timedelta(minutes=1 if now.second < 40 else 2)
    stack.shell(
        "from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks\n"
        f"c, _ = CrontabSchedule.objects.get_or_create(minute='{tick.minute}', hour='{tick.hour}', "
        "day_of_week='*', day_of_month='*', month_of_year='*', timezone='Europe/London')\n"
        "PeriodicTask.objects.filter(task='operations.daily_housekeeping').update(crontab=c)\n"
        "PeriodicTasks.update_changed()"
    )
    time.sleep(6)  # beat re-reads a changed schedule every 5 seconds

    stack.redis.stop()
    try:
        status, body = stack.get("/api/v1/health/")
        assert status == 503 and json.loads(body)["redis"] == "down"
        # Reads and intake keep working without Redis.
        status, body = stack.get("/api/v1/borrow-requests/", headers=auth(token))
        assert status == 200, body
        headers = {**auth(token), "Idempotency-Key": uuid.uuid4().hex}
        status, _, body = stack.request("POST", "/api/v1/borrow-requests/", INTAKE, headers=headers)
        assert status == 201, body
        # The tick passes while beat cannot send it.
        wait_for(lambda: _desk_now() >= tick.replace(second=8), timeout=130, every=1, what="the tick")
    finally:
        stack.redis.start()
    assert runs(stack, "operations.daily_housekeeping", business_day) == []  # the tick was lost

    # Back: the catch-up sweep (beat sends it every 5 minutes; here sent at once, with windows of
    # its own) runs the missed date once, on the worker that reconnected by itself.
    send(stack, "operations.catch_up", window="fault-1")
    wait_for(
        lambda: sql(stack, "SELECT 1 FROM operations_jobrun WHERE job='operations.catch_up' "
                    "AND \"window\" = 'fault-1' AND outcome='succeeded'"),
        timeout=60,
        what="the catch-up to run",
    )  # fmt: skip
    _done_once(runs(stack, "operations.daily_housekeeping", business_day))
    send(stack, "operations.catch_up", window="fault-2")
    wait_for(
        lambda: sql(stack, "SELECT counts FROM operations_jobrun WHERE job='operations.catch_up' "
                    "AND \"window\" = 'fault-2' AND outcome='succeeded'"),
        timeout=60,
        what="the second catch-up",
    )  # fmt: skip
    _done_once(runs(stack, "operations.daily_housekeeping", business_day))


def test_postgres_stopped_and_started_under_the_stack_it_serves_again_without_a_restart(desk):
    stack = desk
    status, _, content = stack.request(
        "POST", "/api/v1/auth/token/", {"username": "alice", "password": "a-long-password"}
    )
    token = json.loads(content)["token"]
    web = set(stack.children("gunicorn"))
    stack.pg.stop("fast")
    try:
        for path in ("/api/v1/borrow-requests/", "/api/v1/assets/"):
            status, headers, body = stack.request("GET", path, headers=auth(token))
            assert status == 503, body[:300]
            assert headers["Content-Type"] == "application/json"
            assert json.loads(body)["code"] == "database_unavailable"
        headers = {**auth(token), "Idempotency-Key": uuid.uuid4().hex}
        status, _, body = stack.request("POST", "/api/v1/borrow-requests/", INTAKE, headers=headers)
        assert (status, json.loads(body)["code"]) == (503, "database_unavailable")
        time.sleep(3)  # beat and the worker meet the outage too
    finally:
        stack.pg.start()
    wait_for(lambda: stack.get("/api/v1/health/")[0] == 200, timeout=60, what="health after the restart")
    status, body = stack.get("/api/v1/borrow-requests/", headers=auth(token))
    assert status == 200, body
    headers = {**auth(token), "Idempotency-Key": uuid.uuid4().hex}
    assert stack.request("POST", "/api/v1/borrow-requests/", INTAKE, headers=headers)[0] == 201
    assert set(stack.children("gunicorn")) & web  # the same web, not restarted
    # Jobs run again: the worker (and beat, started again if it died) work on the new server.
    send(stack, "operations.daily_housekeeping", "2026-01-06")
    wait_for(
        lambda: [
            r for r in runs(stack, "operations.daily_housekeeping", "2026-01-06") if r[0] == "succeeded"
        ],
        timeout=60,
        what="a job after the restart",
    )
    assert stack.children("borrowdesk beat") and stack.children("borrowdesk worker")
