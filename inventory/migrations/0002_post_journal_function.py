"""``inventory_post_journal``: one journal, its entries and the balances it moves, in one statement.

The service layer validates an event (kind, buckets, quantities, balance per asset) and then calls this
function once, so a final approval's ledger write is one round trip instead of five, and no savepoint.

The balance rows are locked first (a missing one created at zero), in (asset, account, bucket) order so
two journals over the same positions cannot deadlock, and every debit is checked against its locked
balance; a bucket that would go
below zero stops the event with nothing written, and the function returns the short position (the
caller raises ``InsufficientInventory`` and its transaction stays usable). Then the balances move, and the journal and its entries are written. The journal's balance per asset is still
checked at commit by the deferred ``journal_balanced`` trigger, and the CHECK constraint on
``inventory_position`` still refuses a negative bucket whatever writes it.
"""

from django.db import migrations

CREATE = r"""
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
            DELETE FROM inventory_position WHERE id = ANY(created);
            o_short_asset := r.asset_id;
            o_short_account := r.account_id;
            o_short_bucket := r.bucket;
            o_short_delta := r.delta;
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
"""

DROP = """
DROP FUNCTION IF EXISTS inventory_post_journal(
    text, bigint, text, text, bigint, numeric, bigint, bigint[], bigint[], text[], numeric[]
);
"""


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
