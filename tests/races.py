"""Run calls at the same moment on real threads, each with its own database connection."""

import threading
import time
from contextlib import contextmanager

from django.db import connection, transaction

from borrowdesk.errors import DomainError


def race(calls):
    """Start every call at once after a barrier; return each one's outcome in order: "ok", the domain
    error's code, or the repr of any other exception (a deadlock, say), so a test shows it."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            call()
            outcomes[i] = "ok"
        except DomainError as exc:
            outcomes[i] = exc.code
        except Exception as exc:  # noqa: BLE001 - reported in the outcome, asserted by the test
            outcomes[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def in_thread(call) -> tuple[threading.Thread, list[str]]:
    """Start ``call`` on a thread of its own (its own database connection); the list gets its outcome
    once it ends, as ``race`` reports it."""
    outcome: list[str] = []

    def run():
        try:
            call()
            outcome.append("ok")
        except DomainError as exc:
            outcome.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - reported in the outcome, asserted by the test
            outcome.append(repr(exc))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@contextmanager
def held_elsewhere(sql: str, params: list):
    """Another session runs ``sql`` (a row lock) in a transaction of its own, on a thread of its own,
    and keeps that transaction open until the block ends."""

    def run_sql():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    with held_by(run_sql):
        yield


@contextmanager
def held_by(take_locks):
    """Another session calls ``take_locks()`` (a service step that leaves row locks until COMMIT) in a
    transaction of its own, on a thread of its own, and keeps that transaction open until the block
    ends."""
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                take_locks()
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10), "the other session never took its lock"
        yield
    finally:
        release.set()
        holder.join(10)


def wait_until_a_backend_waits_for_a_lock(timeout: float = 10.0) -> str:
    """The query of another backend of this database waiting for a lock (pg_stat_activity), once one
    does, so the race is the one meant every time, however loaded the machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT query FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waiting = [row[0] for row in cursor.fetchall()]
        if waiting:
            return waiting[0]
        time.sleep(0.02)
    raise AssertionError("no backend ever waited for a lock")


def rows_queued_for() -> list[str]:
    """The tables of the rows the waiting backends queue for: a backend waiting for a row lock holds
    that row's tuple lock meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.relation::regclass::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' AND l.locktype = 'tuple'"
        )
        return [row[0] for row in cursor.fetchall()]
