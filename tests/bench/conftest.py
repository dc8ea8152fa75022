"""Benchmarks: run with `make bench`, never in CI's pass/fail. Each prints its figures."""

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
