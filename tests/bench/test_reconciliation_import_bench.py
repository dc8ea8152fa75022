"""Statement import benchmark: 1,000,000 lines (1,000 accounts x 1,000 assets) in the generic CSV, the
import (parse → COPY into staging → set-based checks → INSERT … SELECT) against a bare ``COPY`` of the
same file into a plain table in the same run (goal: at most 3 x), and the importing process's peak
memory (goal: under 500 MB). Also the floor of any import that stages the file and keys its lines as
the lines' table does: the bare COPY plus one INSERT … SELECT of the rows into a table with only a
(statement, asset) primary key. Run alone:

    pytest tests/bench/test_reconciliation_import_bench.py -p no:cacheprovider -o addopts="" -s

The import runs in a forked child process, so its peak resident memory (ru_maxrss) is the import's,
not the test runner's (the child starts from the parent's pages, so the figure is an upper bound).
"""

from __future__ import annotations

import io
import multiprocessing
import random
import resource
import time
import tracemalloc
from pathlib import Path

import pytest
from django.db import connection, connections

from borrowdesk.refdata.models import Asset, CustodyAccount, Venue
from reconciliation.models import ExternalStatement, StatementLine
from tests.bench.conftest import report

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

ACCOUNTS = 1_000
ASSETS = 1_000
AS_OF = "2026-03-02T17:00:00+00:00"


def _desk() -> None:
    venue = Venue.objects.create(code="BENCHCUST", name="Bench custodian", kind="custodian")
    Asset.objects.bulk_create(Asset(symbol=f"A{i:04d}", name=f"Asset {i}", decimals=8) for i in range(ASSETS))
    CustodyAccount.objects.bulk_create(
        CustodyAccount(code=f"ACC{i:04d}", venue=venue, purpose="inventory") for i in range(ACCOUNTS)
    )


def _file(path: Path) -> int:
    rng = random.Random(5)
    with path.open("w") as out:
        out.write("account,asset,quantity\n")
        for a in range(ACCOUNTS):
            out.write(
                "".join(
                    f"ACC{a:04d},A{s:04d},{rng.randrange(1, 10**12)}.{rng.randrange(10**8):08d}\n"
                    for s in range(ASSETS)
                )
            )
    return path.stat().st_size


def _bare_copy(data: bytes) -> float:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_copy")
        cursor.execute("CREATE TABLE bench_bare_copy (account text, asset text, quantity numeric)")
        start = time.perf_counter()
        cursor.cursor.copy_expert(
            "COPY bench_bare_copy FROM STDIN WITH (FORMAT csv, HEADER)", io.BytesIO(data)
        )
        elapsed = time.perf_counter() - start
        cursor.execute("SELECT count(*) FROM bench_bare_copy")
        assert cursor.fetchone()[0] == ACCOUNTS * ASSETS
        cursor.execute("DROP TABLE bench_bare_copy")
    return elapsed


def _keyed_floor(data: bytes) -> tuple[float, float]:
    """The least any import into a keyed table can do: the bare COPY, then one INSERT … SELECT of the
    same rows, typed, into a table with only the lines' primary key (statement, asset), no CHECK, no
    trigger, no look-up (the ids read from the codes). Returns (COPY, INSERT) seconds."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_copy, bench_keyed")
        cursor.execute("CREATE TABLE bench_bare_copy (account text, asset text, quantity numeric)")
        cursor.execute(
            "CREATE TABLE bench_keyed (statement_id bigint, asset_id bigint, quantity numeric(38, 18), "
            "PRIMARY KEY (statement_id, asset_id))"
        )
        start = time.perf_counter()
        cursor.cursor.copy_expert(
            "COPY bench_bare_copy FROM STDIN WITH (FORMAT csv, HEADER)", io.BytesIO(data)
        )
        copied = time.perf_counter()
        cursor.execute(
            "INSERT INTO bench_keyed SELECT substr(account, 4)::bigint, substr(asset, 2)::bigint, quantity "
            "FROM bench_bare_copy"
        )
        inserted = time.perf_counter()
        assert cursor.rowcount == ACCOUNTS * ASSETS
        cursor.execute("DROP TABLE bench_bare_copy, bench_keyed")
    return copied - start, inserted - copied


def _child(path: str, conn) -> None:
    """The import, in its own process (a fresh database connection), reporting time and memory."""
    import logging

    from reconciliation.statements.services import import_statement

    steps: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: steps.append(record.getMessage().removeprefix("statement import: "))  # type: ignore[method-assign]
    logger = logging.getLogger("reconciliation.statements.services")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    tracemalloc.start()
    start = time.perf_counter()
    data = Path(path).read_bytes()
    outcome = import_statement(
        actor=None, format="csv", channel="feed", as_of=AS_OF, data=data, filename="bench.csv"
    )
    elapsed = time.perf_counter() - start
    _current, traced_peak = tracemalloc.get_traced_memory()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    conn.send((elapsed, outcome.line_count, len(outcome.statement_ids), traced_peak, rss_kb, steps))
    conn.close()


def test_import_a_million_statement_lines(tmp_path):
    _desk()
    path = tmp_path / "statement.csv"
    size = _file(path)
    data = path.read_bytes()
    bare = [_bare_copy(data) for _ in range(2)]
    keyed_copy, keyed_insert = _keyed_floor(data)
    del data
    connections.close_all()  # the child opens its own
    parent_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe()
    child = ctx.Process(target=_child, args=(str(path), there))
    child.start()
    elapsed, lines, statements, traced_peak, rss_kb, steps = here.recv()
    child.join()
    assert child.exitcode == 0
    assert lines == ACCOUNTS * ASSETS and statements == ACCOUNTS
    assert StatementLine.objects.count() == ACCOUNTS * ASSETS
    assert ExternalStatement.objects.count() == ACCOUNTS
    bare_best = min(bare)
    report(
        f"Statement import: {lines:,} lines ({ACCOUNTS:,} accounts x {ASSETS:,} assets, {size / 1e6:.0f} MB)",
        [
            (
                "import (parse, COPY to staging, checks, INSERT … SELECT)",
                f"{elapsed:.2f} s ({lines / elapsed:,.0f} lines/s)",
            ),
            (
                "bare COPY of the same file into a plain table (best of 2)",
                f"{bare_best:.2f} s ({', '.join(f'{b:.2f}' for b in bare)})",
            ),
            ("ratio (goal <= 3)", f"{elapsed / bare_best:.2f}"),
            (
                "floor of a keyed table: that COPY + INSERT … SELECT into (statement, asset) primary key",
                f"{keyed_copy + keyed_insert:.2f} s ({keyed_copy:.2f} + {keyed_insert:.2f}), "
                f"{(keyed_copy + keyed_insert) / bare_best:.2f} x the bare COPY",
            ),
            ("importing process peak RSS (ru_maxrss, goal < 500 MB)", f"{rss_kb / 1024:.0f} MB"),
            ("of which Python allocations (tracemalloc peak)", f"{traced_peak / 1e6:.0f} MB"),
            ("test runner's RSS before the fork", f"{parent_rss_kb / 1024:.0f} MB"),
            *(("  step", step) for step in steps),
        ],
    )
