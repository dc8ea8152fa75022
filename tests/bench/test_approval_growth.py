"""Whether a final approval slows as a counterparty's book grows: 2,000 final approvals one after another
for one counterparty with a borrower limit in force, each opening one more loan of the same asset, and
the median wall time of each block of 400.

Everything a final approval reads under its locks must cost the same whatever the size of the book: the
limit check's exposure and cap (read from inventory's open totals, one row per counterparty and asset,
not one per loan) and the ledger post's balance check per journal (journal_balanced, on the entries'
(journal, asset) index). The figure is the last block's median over the first block's, on the same
machine in the same run (1.0: no growth); the test asserts only that every approval was made.
"""

import statistics
import time
from decimal import Decimal

import pytest

from tests.bench.conftest import report
from tests.bench.test_approval_throughput import serial_approvals_setup

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

APPROVALS, BLOCK = 2000, 400


def test_a_final_approval_costs_the_same_with_2000_loans_open_as_with_none(acme, desk_config):
    from requests_app.models import BorrowRequest
    from requests_app.services import approve_request

    ops, ids, with_limit = serial_approvals_setup(acme, APPROVALS, "growth")
    walls = []
    for pk in ids:
        started = time.perf_counter()
        approve_request(actor=ops, request=pk, rate_bps=Decimal("400"))
        walls.append(time.perf_counter() - started)
    assert BorrowRequest.objects.filter(status="approved").count() == APPROVALS

    medians = [statistics.median(walls[k : k + BLOCK]) for k in range(0, APPROVALS, BLOCK)]
    rows = [
        ("approvals", f"{APPROVALS:,} one after another, one counterparty, one asset"),
        ("borrower limit", "in force, never hit" if with_limit else "none (BENCH_LIMIT=0)"),
    ]
    rows += [
        (f"median, loans {k * BLOCK:,} to {(k + 1) * BLOCK:,} open", f"{median * 1000:.2f} ms")
        for k, median in enumerate(medians)
    ]
    rows.append(("growth (last block / first block)", f"{medians[-1] / medians[0]:.2f}"))
    report("A final approval as the book grows", rows)
