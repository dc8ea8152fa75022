"""Benchmarks: run with `make bench`, never in CI's pass/fail. Each prints its figures."""

import os
import statistics

import pytest


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def report(title, rows):
    width = max(len(k) for k, _ in rows)
    print(f"\n== {title}")
    for key, value in rows:
        print(f"   {key.ljust(width)}  {value}")


@pytest.fixture
def stats():
    return statistics


def backend_cpu(pid: int) -> float | None:
    """CPU seconds the PostgreSQL backend ``pid`` has run so far (``/proc/<pid>/schedstat``), or None
    when the server does not run on this machine or the file cannot be read."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except OSError:
        return None


def client_cpu() -> float:
    """CPU seconds (user + system) this process has run so far."""
    times = os.times()
    return times.user + times.system
