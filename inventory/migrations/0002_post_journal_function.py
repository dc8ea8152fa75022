"""``inventory_post_journal``: one journal, its entries and the balances it moves, in one statement;
``inventory_source_account``: the firm account a loan of an asset is taken from by default.

The service layer validates an event (kind, buckets, quantities, balance per asset) and then calls this
function once, so a final approval's ledger write is one round trip instead of five, and no savepoint.

The balance rows are locked first (a missing one created at zero), in (asset, account, bucket) order so
two journals over the same positions cannot deadlock, and every debit is checked against its locked
balance; a bucket that would go
below zero stops the event with nothing written, and the function returns the short position (the
caller raises ``InsufficientInventory`` and its transaction stays usable). Then the balances move,
and the journal and its entries are written. With ``p_strict`` (the final approval, whose transaction
is void anyway when the inventory is short) the journal and its entries are written first and a short
bucket raises SQLSTATE ``BD001`` with a JSON DETAIL, so the balance rows are locked for less time. The function checks the transaction's deferred
constraints before it locks anything and its own writes as they happen (so the hot rows are never held
through a backlog of foreign-key checks at COMMIT), which also checks the journal's balance per asset
(the ``journal_balanced`` constraint trigger) at the end of the entries' INSERT; the CHECK constraint
on ``inventory_position`` still refuses a negative bucket whatever writes it.
"""

from django.db import migrations

CREATE = r"""
-- The journal row and its entries, in the order given (no balance moves: inventory_post_journal).
CREATE OR REPLACE FUNCTION inventory_write_journal(
    p_kind text,
    p_created_by bigint,
    p_reference text,
    p_memo text,
    p_source_counterparty bigint,
    p_cost_rate_bps numeric,
    p_loan bigint,
    p_assets bigint[],
    p_accounts bigint[],
    p_buckets text[],
    p_quantities numeric[],
    OUT o_journal_id bigint,
    OUT o_created_at timestamptz
) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inventory_journal
        (kind, created_at, created_by_id, reference, memo, source_counterparty_id, cost_rate_bps, loan_id)
    VALUES (p_kind, now(), p_created_by, p_reference, p_memo, p_source_counterparty, p_cost_rate_bps, p_loan)
    RETURNING id, created_at INTO o_journal_id, o_created_at;
    INSERT INTO inventory_entry (journal_id, asset_id, account_id, bucket, quantity)
    SELECT o_journal_id, t.a, t.c, t.b, t.q
    FROM unnest(p_assets, p_accounts, p_buckets, p_quantities) WITH ORDINALITY AS t(a, c, b, q, n)
    ORDER BY t.n;
END
$$;
CREATE OR REPLACE FUNCTION inventory_post_journal(
    p_kind text,
    p_created_by bigint,
    p_reference text,
    p_memo text,
    p_source_counterparty bigint,
    p_cost_rate_bps numeric,
    p_loan bigint,
    p_assets bigint[],
    p_accounts bigint[],
    p_buckets text[],
    p_quantities numeric[],
    p_strict boolean DEFAULT false,
    OUT o_journal_id bigint,
    OUT o_created_at timestamptz,
    OUT o_short_asset bigint,
    OUT o_short_account bigint,
    OUT o_short_bucket text,
    OUT o_short_delta numeric
) LANGUAGE plpgsql AS $$
DECLARE
    r record;
    held numeric;
    new_id bigint;
    created bigint[] := '{}';
BEGIN
    -- Check now, before the balance rows are locked, what the transaction has deferred so far (Django
    -- makes foreign keys DEFERRABLE INITIALLY DEFERRED): left to COMMIT, those checks would run while
    -- this event holds the hot balance rows, and every event waiting for them would wait for the checks
    -- too. This event's own writes are checked as they happen; deferred again at the end.
    SET CONSTRAINTS ALL IMMEDIATE;

    -- Strict: a short bucket raises (SQLSTATE BD001) and the caller's transaction is spent, so the
    -- journal and its entries can be written before any balance row is locked.
    IF p_strict THEN
        SELECT w.o_journal_id, w.o_created_at INTO o_journal_id, o_created_at
        FROM inventory_write_journal(
            p_kind, p_created_by, p_reference, p_memo, p_source_counterparty, p_cost_rate_bps, p_loan,
            p_assets, p_accounts, p_buckets, p_quantities
        ) AS w;
    END IF;

    -- First pass, in (asset, account, bucket) order: lock every balance row the event touches,
    -- creating a missing one at zero (so every row is locked in the same order by every event), and
    -- check each debit against its locked balance. A short bucket stops the event here: the rows this
    -- call created are removed and nothing else was written.
    FOR r IN
        SELECT t.a AS asset_id, t.c AS account_id, t.b AS bucket, sum(t.q) AS delta
        FROM unnest(p_assets, p_accounts, p_buckets, p_quantities) AS t(a, c, b, q)
        GROUP BY t.a, t.c, t.b
        HAVING sum(t.q) <> 0
        ORDER BY t.a, t.c, t.b COLLATE "C"
    LOOP
        SELECT quantity INTO held FROM inventory_position
        WHERE asset_id = r.asset_id AND account_id = r.account_id AND bucket = r.bucket
        FOR UPDATE;
        IF NOT FOUND THEN
            held := 0;
            IF r.delta > 0 OR r.bucket = 'external' THEN
                INSERT INTO inventory_position (asset_id, account_id, bucket, quantity, updated_at)
                VALUES (r.asset_id, r.account_id, r.bucket, 0, now())
                ON CONFLICT (asset_id, account_id, bucket) DO NOTHING
                RETURNING id INTO new_id;
                IF new_id IS NULL THEN  -- another event created it meanwhile: lock it
                    SELECT quantity INTO held FROM inventory_position
                    WHERE asset_id = r.asset_id AND account_id = r.account_id AND bucket = r.bucket
                    FOR UPDATE;
                ELSE
                    created := created || new_id;
                END IF;
            END IF;
        END IF;
        IF r.delta < 0 AND r.bucket <> 'external' AND held + r.delta < 0 THEN
            IF p_strict THEN
                RAISE EXCEPTION 'insufficient inventory: % short in account %', r.bucket, r.account_id
                    USING ERRCODE = 'BD001',
                          DETAIL = json_build_object(
                              'account', (SELECT code FROM refdata_custodyaccount WHERE id = r.account_id),
                              'bucket', r.bucket,
                              'needed', -r.delta
                          )::text;
            END IF;
            DELETE FROM inventory_position WHERE id = ANY(created);
            o_short_asset := r.asset_id;
            o_short_account := r.account_id;
            o_short_bucket := r.bucket;
            o_short_delta := r.delta;
            SET CONSTRAINTS ALL DEFERRED;
            RETURN;
        END IF;
    END LOOP;

    -- Second pass: move the balances, all rows now locked by this transaction.
    UPDATE inventory_position AS p SET quantity = p.quantity + d.delta, updated_at = now()
    FROM (
        SELECT t.a, t.c, t.b, sum(t.q) AS delta
        FROM unnest(p_assets, p_accounts, p_buckets, p_quantities) AS t(a, c, b, q)
        GROUP BY t.a, t.c, t.b
        HAVING sum(t.q) <> 0
    ) AS d
    WHERE p.asset_id = d.a AND p.account_id = d.c AND p.bucket = d.b;

    IF NOT p_strict THEN
        SELECT w.o_journal_id, w.o_created_at INTO o_journal_id, o_created_at
        FROM inventory_write_journal(
            p_kind, p_created_by, p_reference, p_memo, p_source_counterparty, p_cost_rate_bps, p_loan,
            p_assets, p_accounts, p_buckets, p_quantities
        ) AS w;
    END IF;
    SET CONSTRAINTS ALL DEFERRED;
END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS inventory_write_journal(
    text, bigint, text, text, bigint, numeric, bigint, bigint[], bigint[], text[], numeric[]
);
DROP FUNCTION IF EXISTS inventory_post_journal(
    text, bigint, text, text, bigint, numeric, bigint, bigint[], bigint[], text[], numeric[], boolean
);
"""

# The firm's active account with the most available of the asset, if it covers the quantity (ties: the
# lowest id). Used by the final approval (requests_app) and by ``choose_source_account``.
CREATE_SOURCE = r"""
CREATE OR REPLACE FUNCTION inventory_source_account(p_asset bigint, p_quantity numeric)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT a.id FROM refdata_custodyaccount a
    JOIN inventory_position p ON p.account_id = a.id
    WHERE p.asset_id = p_asset AND p.bucket = 'available' AND p.quantity >= p_quantity
      AND a.owner_id IS NULL AND a.is_active
    ORDER BY p.quantity DESC, a.id
    LIMIT 1
$$;
"""

DROP_SOURCE = "DROP FUNCTION IF EXISTS inventory_source_account(bigint, numeric);"


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP), migrations.RunSQL(CREATE_SOURCE, DROP_SOURCE)]
