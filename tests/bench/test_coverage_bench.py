"""Coverage and the revaluation over the issue's book: 5,000 counterparties, 20 assets, 50,000 loans,
20,000 collateral positions.

- coverage for all counterparties (the one statement) as a ratio to a plain SQL aggregate of the same
  figures (exposure and collateral value at the mark, one haircut per asset) in the same run (goal ≤ 2);
- one revaluation over the whole book: the first (every risk row, snapshot and call created), one after
  every price moved (every row updated), and a repeat at the same instant (nothing written); goal < 2 s.

The book is written with set-based INSERTs (a benchmark's set-up, not the desk's way of booking).
"""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from collateral.selectors.coverage import coverage_rows
from collateral.services.valuation import revalue
from tests.bench.conftest import report

# Real transactions: the revaluation commits as it does in the job (inside a test's transaction its
# audited writes would run in a savepoint, where each row's audit context costs far more).
pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

COUNTERPARTIES, ASSETS, LOANS_PER_CP, POSITIONS_PER_CP = 5000, 20, 10, 4

BOOK_SQL = """
INSERT INTO refdata_venue (code, name, kind, is_active) VALUES ('BVEN', 'Bench custody', 'custodian', true);
INSERT INTO refdata_asset (symbol, name, decimals, is_stablecoin, is_active)
    SELECT 'BA' || i, 'Bench asset ' || i, 8, i <= 2, true FROM generate_series(1, %(assets)s) i;
INSERT INTO refdata_counterparty (code, legal_name, kind, jurisdiction, risk_rating, is_active)
    SELECT 'BCP' || i, 'Bench counterparty ' || i, 'client', 'GB', 'medium', true
    FROM generate_series(1, %(cps)s) i;
INSERT INTO refdata_custodyaccount (code, venue_id, address, owner_id, purpose, is_active)
    SELECT 'BCOLL' || c.id, v.id, '', c.id, 'collateral', true
    FROM refdata_counterparty c, refdata_venue v WHERE c.code LIKE 'BCP%%' AND v.code = 'BVEN';
INSERT INTO refdata_custodyaccount (code, venue_id, address, owner_id, purpose, is_active)
    SELECT 'BINV', v.id, '', NULL, 'inventory', true FROM refdata_venue v WHERE v.code = 'BVEN';
INSERT INTO refdata_price (asset_id, price_usd, as_of, source, created_at, status)
    SELECT a.id, 10 + a.id, %(now)s - interval '1 minute', 'feed', now(), 'applied'
    FROM refdata_asset a WHERE a.symbol LIKE 'BA%%';
INSERT INTO collateral_haircutrule (status, effective_from, proposed_by_id, proposed_at, is_loosening,
        comment, asset_id, venue_id, counterparty_id, haircut_pct)
    SELECT 'effective', %(now)s - interval '1 day', %(user)s, now(), false, '', a.id, NULL, NULL, 10
    FROM refdata_asset a WHERE a.symbol LIKE 'BA%%' AND a.id %% 5 <> 0;
INSERT INTO inventory_position (asset_id, account_id, bucket, quantity, updated_at)
    SELECT (SELECT min(id) FROM refdata_asset WHERE symbol LIKE 'BA%%') + (acct.owner_id + k) %% %(assets)s,
           acct.id, 'pledged', 100 + k, now()
    FROM refdata_custodyaccount acct, generate_series(1, %(positions)s) k WHERE acct.code LIKE 'BCOLL%%';
INSERT INTO inventory_loan (counterparty_id, asset_id, account_id, quantity, open_quantity, rate_bps, status,
        created_at)
    SELECT c.id, (SELECT min(id) FROM refdata_asset WHERE symbol LIKE 'BA%%') + (c.id * 7 + k) %% %(assets)s,
           (SELECT id FROM refdata_custodyaccount WHERE code = 'BINV'), 30 + k, 30 + k, 100, 'active', now()
    FROM refdata_counterparty c, generate_series(1, %(loans)s) k WHERE c.code LIKE 'BCP%%';
ANALYZE;
"""

# The same figures without the desk's rules (the most specific haircut, marks by refdata's rule,
# staleness, divergence, levels, states): one haircut per asset, the latest price per asset.
PLAIN_SQL = """
WITH m AS (SELECT DISTINCT ON (asset_id) asset_id, price_usd FROM refdata_price
           ORDER BY asset_id, as_of DESC),
h AS (SELECT asset_id, max(haircut_pct) AS pct FROM collateral_haircutrule GROUP BY asset_id),
e AS (SELECT l.counterparty_id, sum(l.open_quantity * m.price_usd) AS exposure
      FROM inventory_loan l JOIN m USING (asset_id) WHERE l.status = 'active' GROUP BY 1),
v AS (SELECT a.owner_id AS counterparty_id,
             sum(p.quantity * m.price_usd * (1 - coalesce(h.pct, 100) / 100)) AS value
      FROM inventory_position p JOIN refdata_custodyaccount a ON a.id = p.account_id
      JOIN m USING (asset_id) LEFT JOIN h USING (asset_id) WHERE p.bucket = 'pledged' GROUP BY 1)
SELECT c.id, e.exposure, v.value FROM refdata_counterparty c
LEFT JOIN e ON e.counterparty_id = c.id LEFT JOIN v ON v.counterparty_id = c.id
"""


def _best(fn, runs=5):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _plain():
    with connection.cursor() as cursor:
        cursor.execute(PLAIN_SQL)
        return cursor.fetchall()


def test_coverage_and_revaluation_over_the_book():
    from borrowdesk.access.services import create_desk_user
    from tests.conftest import ensure_desk_config

    ensure_desk_config()
    risk = create_desk_user(username="bench-risk", password="bench-password-123", roles=["risk"])
    now = timezone.now()
    params = {
        "assets": ASSETS,
        "cps": COUNTERPARTIES,
        "positions": POSITIONS_PER_CP,
        "loans": LOANS_PER_CP,
        "now": now,
        "user": risk.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(BOOK_SQL, params)
    coverage = _best(coverage_rows)
    plain = _best(_plain)
    assert len(coverage_rows()) >= COUNTERPARTIES
    at = now + timedelta(seconds=1)
    start = time.perf_counter()
    first = revalue(at=at)
    first_run = time.perf_counter() - start
    with connection.cursor() as cursor:  # every price moves: every row changes
        cursor.execute(
            "INSERT INTO refdata_price (asset_id, price_usd, as_of, source, created_at, status) "
            "SELECT asset_id, price_usd * 0.9, %s, 'feed', now(), 'applied' FROM refdata_price",
            [at + timedelta(seconds=1)],
        )
    later = at + timedelta(seconds=2)
    start = time.perf_counter()
    moved = revalue(at=later)
    moved_run = time.perf_counter() - start
    start = time.perf_counter()
    repeat = revalue(at=later)
    repeat_run = time.perf_counter() - start
    report(
        "Coverage and revaluation (5,000 counterparties, 50,000 loans, 20,000 collateral positions)",
        [
            ("coverage, all counterparties", f"{coverage * 1000:.0f} ms"),
            ("plain SQL aggregate", f"{plain * 1000:.0f} ms"),
            ("ratio (goal <= 2)", f"{coverage / plain:.2f}"),
            ("revaluation, first run", f"{first_run:.2f} s  {first}"),
            ("revaluation, every price moved", f"{moved_run:.2f} s  {moved}"),
            ("revaluation, repeated", f"{repeat_run:.2f} s  {repeat}"),
        ],
    )
    assert repeat["risk_rows_written"] == 0
