-- One reconciliation run: the book against the latest statement of every account in scope, and the
-- run's breaks upserted, in one statement (read by reconciliation/services/runs.py, which documents the
-- parameters). Everything it writes is in the caller's one transaction: a worker killed mid-run leaves
-- nothing half-written.
--
-- Rules (ARCHITECTURE.md "Reconciliation"):
--   accounts   in scope: inventory = the firm's accounts (owner NULL), buckets the custodian holds
--              (available, allocated; on_loan has left custody, external is the counter-side);
--              collateral = counterparties' collateral accounts, bucket pledged; all = both.
--   statement  the latest statement per account with as_of in (cutoff - max_age, cutoff].
--   book       the balance AS OF the statement's time. The ledger is append-only, so it is the current
--              position minus the entries of journals written after that time (few: statements are
--              recent), which reads the positions once instead of summing the whole ledger.
--   compare    book FULL OUTER JOIN statement lines on (account, asset), the same join as a bare one
--              of the two tables (positions in their unique index's order, lines sorted to it); only the
--              pairs that differ go on (to the tolerance, the statement's id, the breaks):
--                both present, |external - internal| > tolerance  -> mismatch
--                book zero or absent, statement beyond tolerance  -> missing_internal
--                statement line absent, book beyond tolerance     -> missing_external
--              an account in scope holding something in the book but with no statement -> statement_gap.
--   upsert     INSERT ... ON CONFLICT (run, account, asset, kind): a re-run updates the same break
--              (owner, reason and timeline kept; an auto-resolved break that is back reopens); a break
--              of this run not found any more closes as auto_resolved. A break still open in an earlier
--              run of the same scope is carried: the new one keeps its owner and age, the old one closes.
-- No literal per-cent sign may appear in this file: psycopg2 reads it as a parameterised query.
WITH
scoped AS (
    SELECT a.id AS account_id, (a.owner_id IS NULL) AS is_firm
    FROM refdata_custodyaccount a
    WHERE (%(scope)s IN ('inventory', 'all') AND a.owner_id IS NULL)
       OR (%(scope)s IN ('collateral', 'all') AND a.owner_id IS NOT NULL AND a.purpose = 'collateral')
),
latest AS (
    SELECT DISTINCT ON (s.account_id) s.account_id, s.id AS statement_id, s.as_of
    FROM reconciliation_externalstatement s
    JOIN scoped USING (account_id)
    WHERE s.as_of <= %(cutoff)s::timestamptz
      AND s.as_of > %(cutoff)s::timestamptz - make_interval(hours => %(max_age_hours)s::integer)
    ORDER BY s.account_id, s.as_of DESC, s.id DESC
),
-- What moved after each account's statement time (journals are immutable and stamped at creation).
after_statement AS (
    SELECT e.account_id, e.asset_id, sum(e.quantity) AS quantity
    FROM inventory_journal j
    JOIN inventory_entry e ON e.journal_id = j.id
    JOIN latest l ON l.account_id = e.account_id AND j.created_at > l.as_of
    JOIN scoped sc ON sc.account_id = e.account_id
    WHERE j.created_at > (SELECT min(as_of) FROM latest)
      AND ((sc.is_firm AND e.bucket IN ('available', 'allocated'))
           OR (NOT sc.is_firm AND e.bucket = 'pledged'))
    GROUP BY e.account_id, e.asset_id
),
-- A firm account's allocated quantities (an allocation moves available to allocated, so an allocated
-- position always has an available row beside it): added to the available row, no GROUP BY of a million.
allocated AS (
    SELECT al.account_id, al.asset_id, al.quantity
    FROM inventory_position al
    WHERE al.bucket = 'allocated' AND al.quantity <> 0
),
-- The book as of each statement's time: a firm account's available plus allocated, a collateral
-- account's pledged, less what moved after the statement. The positions are read straight from their
-- table (the planner knows its size and order); an account without a statement drops out after the join.
book AS (
    SELECT p.account_id, p.asset_id,
           p.quantity + coalesce(al.quantity, 0) - coalesce(x.quantity, 0) AS quantity
    FROM inventory_position p
    JOIN refdata_custodyaccount a ON a.id = p.account_id
    LEFT JOIN allocated al ON p.bucket = 'available' AND al.account_id = p.account_id AND al.asset_id = p.asset_id
    LEFT JOIN after_statement x ON x.account_id = p.account_id AND x.asset_id = p.asset_id
    WHERE (%(scope)s IN ('inventory', 'all') AND a.owner_id IS NULL AND p.bucket = 'available')
       OR (%(scope)s IN ('collateral', 'all') AND a.owner_id IS NOT NULL AND a.purpose = 'collateral'
           AND p.bucket = 'pledged')
),
-- A statement has one line per asset (a unique constraint): no aggregation needed.
external_lines AS (
    SELECT l.account_id, sl.asset_id, sl.quantity
    FROM latest l
    JOIN reconciliation_statementline sl ON sl.statement_id = l.statement_id
),
-- Only the pairs that differ at all leave the join (tolerances are not negative: equal is never a break).
compared AS (
    SELECT
        coalesce(b.account_id, x.account_id) AS account_id,
        coalesce(b.asset_id, x.asset_id) AS asset_id,
        b.quantity AS internal_quantity,
        x.quantity AS external_quantity
    FROM book b
    FULL OUTER JOIN external_lines x ON x.account_id = b.account_id AND x.asset_id = b.asset_id
    WHERE x.quantity IS DISTINCT FROM b.quantity
),
found AS (
    SELECT
        c.account_id,
        c.asset_id,
        CASE
            WHEN c.external_quantity IS NULL THEN 'missing_external'
            WHEN coalesce(c.internal_quantity, 0) = 0 THEN 'missing_internal'
            ELSE 'mismatch'
        END AS kind,
        c.internal_quantity,
        c.external_quantity,
        coalesce(c.external_quantity, 0) - coalesce(c.internal_quantity, 0) AS difference,
        l.statement_id
    FROM compared c
    JOIN latest l ON l.account_id = c.account_id
    WHERE abs(coalesce(c.external_quantity, 0) - coalesce(c.internal_quantity, 0)) > coalesce(
        (%(tolerances)s::jsonb ->> c.asset_id::text)::numeric, %(default_tolerance)s::numeric
    )
    UNION ALL
    -- Accounts in scope holding something in the book with no statement to compare against.
    SELECT sc.account_id, NULL::bigint, 'statement_gap', NULL::numeric, NULL::numeric, NULL::numeric, NULL::bigint
    FROM scoped sc
    WHERE NOT EXISTS (SELECT 1 FROM latest l WHERE l.account_id = sc.account_id)
      AND EXISTS (
          SELECT 1 FROM inventory_position p
          WHERE p.account_id = sc.account_id AND p.quantity <> 0
            AND ((sc.is_firm AND p.bucket IN ('available', 'allocated'))
                 OR (NOT sc.is_firm AND p.bucket = 'pledged'))
      )
),
-- The same break still open in an earlier run of this scope: carried into this one.
carried AS (
    SELECT DISTINCT ON (b.account_id, b.asset_id, b.kind)
        b.id, b.account_id, b.asset_id, b.kind, b.owner_id, b.opened_at
    FROM reconciliation_break b
    JOIN reconciliation_reconciliationrun r ON r.id = b.run_id
    WHERE r.scope = %(scope)s AND r.business_date < %(business_date)s::date
      AND b.status IN ('open', 'assigned')
    ORDER BY b.account_id, b.asset_id, b.kind, r.business_date DESC, b.id DESC
),
upserted AS (
    INSERT INTO reconciliation_break AS b (
        run_id, account_id, asset_id, kind, internal_quantity, external_quantity, difference,
        statement_id, status, owner_id, reason, resolution_text, opened_at, last_seen_at, carried_from_id
    )
    SELECT
        %(run_id)s::bigint, f.account_id, f.asset_id, f.kind, f.internal_quantity, f.external_quantity,
        f.difference, f.statement_id,
        CASE WHEN c.owner_id IS NULL THEN 'open' ELSE 'assigned' END, c.owner_id, '', '',
        coalesce(c.opened_at, %(now)s::timestamptz), %(now)s::timestamptz, c.id
    FROM found f
    LEFT JOIN carried c
        ON c.account_id = f.account_id AND c.asset_id IS NOT DISTINCT FROM f.asset_id AND c.kind = f.kind
    ON CONFLICT ON CONSTRAINT recon_break_unique DO UPDATE SET
        internal_quantity = EXCLUDED.internal_quantity,
        external_quantity = EXCLUDED.external_quantity,
        difference = EXCLUDED.difference,
        statement_id = EXCLUDED.statement_id,
        last_seen_at = EXCLUDED.last_seen_at,
        status = CASE
            WHEN b.status <> 'auto_resolved' THEN b.status
            WHEN b.owner_id IS NULL THEN 'open'
            ELSE 'assigned'
        END,
        resolved_at = CASE WHEN b.status = 'auto_resolved' THEN NULL ELSE b.resolved_at END
    RETURNING b.id, b.kind, b.status, b.carried_from_id, (xmax = 0) AS inserted,
        (b.resolved_at IS NULL AND b.status IN ('open', 'assigned')) AS is_open
),
-- Breaks of this run that the statement no longer shows: closed, by the run.
vanished AS (
    UPDATE reconciliation_break b
    SET status = 'auto_resolved', resolved_at = %(now)s::timestamptz
    WHERE b.run_id = %(run_id)s::bigint
      AND b.status IN ('open', 'assigned')
      AND b.id NOT IN (SELECT id FROM upserted)
    RETURNING b.id
),
-- Breaks of earlier runs carried into this one: closed there, pointing here.
superseded AS (
    UPDATE reconciliation_break b
    SET status = 'auto_resolved', resolved_at = %(now)s::timestamptz
    FROM upserted u
    WHERE u.inserted AND u.carried_from_id = b.id
    RETURNING b.id, u.id AS into_id
),
-- The timeline: what the run did to each break.
activity AS (
    INSERT INTO reconciliation_breakactivity (break_id, kind, at, by_id, text)
    SELECT u.id, 'opened', %(now)s::timestamptz, NULL::bigint,
           CASE WHEN u.carried_from_id IS NULL THEN 'Found by the run.'
                ELSE 'Still open from break ' || u.carried_from_id || ' of an earlier run.' END
    FROM upserted u WHERE u.inserted
    UNION ALL
    SELECT v.id, 'auto_resolve', %(now)s::timestamptz, NULL::bigint, 'No longer found by the re-run.'
    FROM vanished v
    UNION ALL
    SELECT s.id, 'auto_resolve', %(now)s::timestamptz, NULL::bigint, 'Carried into break ' || s.into_id || '.'
    FROM superseded s
    RETURNING 1
)
SELECT
    (SELECT count(*) FROM scoped) AS accounts,
    (SELECT count(*) FROM latest) AS statements,
    (SELECT count(*) FROM upserted) AS found,
    (SELECT count(*) FROM upserted WHERE inserted) AS opened,
    (SELECT count(*) FROM upserted WHERE NOT inserted) AS updated,
    (SELECT count(*) FROM vanished) AS auto_resolved,
    (SELECT count(*) FROM superseded) AS carried,
    (SELECT count(*) FROM activity) AS events,
    (SELECT coalesce(jsonb_object_agg(kind, n), '{}'::jsonb)
     FROM (SELECT kind, count(*) AS n FROM upserted GROUP BY kind) k) AS by_kind
