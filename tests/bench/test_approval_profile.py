"""Where one final approval's time goes: the approval benchmark's setup, 400 approvals one after another
on one connection, and per round trip the wall time and the CPU its PostgreSQL backend spent on it.

The backend's CPU comes from ``/proc/<pid>/schedstat`` and is shown only when PostgreSQL runs on this
machine and that file is readable (the embedded server, or a local one as root); wall times always.
Prints a table; asserts only that every approval was made (a profile, not a goal).
"""

import time
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection

from tests.bench.conftest import backend_cpu, report
from tests.bench.test_approval_throughput import serial_approvals_setup

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WARM_UP, MEASURED = 20, 400
_CONTEXT_PREFIX = (
    "SELECT set_config('pghistory.context_id', %s, true), "
    "set_config('pghistory.context_metadata', %s, true); "
)


def test_profile_of_one_final_approval(acme, desk_config):
    from requests_app.models import BorrowRequest
    from requests_app.services import approve_request

    ops, ids, with_limit = serial_approvals_setup(acme, WARM_UP + MEASURED, "profile")
    for pk in ids[:WARM_UP]:  # prepared statements, caches
        approve_request(actor=ops, request=pk, rate_bps=Decimal("400"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    wall: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)
    trips = 0

    def measure(execute, sql, params, many, context):
        nonlocal trips
        started, cpu_before = time.perf_counter(), backend_cpu(backend)
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.replace(_CONTEXT_PREFIX, "").split())[:72]
            wall[key] += time.perf_counter() - started
            cpu_after = backend_cpu(backend)
            if cpu_before is not None and cpu_after is not None:
                cpu[key] += cpu_after - cpu_before
            trips += 1

    started, client_before, backend_before = time.perf_counter(), time.process_time(), backend_cpu(backend)
    with connection.execute_wrapper(measure):
        for pk in ids[WARM_UP:]:
            approve_request(actor=ops, request=pk, rate_bps=Decimal("400"))
    elapsed, client = time.perf_counter() - started, time.process_time() - client_before
    backend_after = backend_cpu(backend)
    assert BorrowRequest.objects.filter(status="approved").count() == WARM_UP + MEASURED

    def ms(seconds: float) -> str:
        return f"{seconds / MEASURED * 1000:.2f} ms"

    rows = [
        ("approvals", f"{MEASURED} one after another, one connection"),
        ("borrower limit", "in force, never hit" if with_limit else "none (BENCH_LIMIT=0)"),
        ("wall per approval", ms(elapsed)),
        ("client CPU (Python, psycopg2)", ms(client)),
        (
            "backend CPU",
            ms(backend_after - backend_before) if backend_after is not None else "not readable here",
        ),
        ("round trips (+ BEGIN, COMMIT)", f"{trips / MEASURED:.1f} per approval"),
    ]
    for key, seconds in sorted(wall.items(), key=lambda item: -item[1]):
        backend_part = f", backend CPU {ms(cpu[key])}" if key in cpu else ""
        rows.append((key, f"{ms(seconds)} wall{backend_part}"))
    report("Profile of one final approval", rows)
