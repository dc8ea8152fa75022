-- inventory_post_journal: one journal, its entries and the balances it moves, in one statement.
-- The ledger's one SQL primitive. Loaded by inventory's migrations (RunSQL of this file); a test
-- compares the live function (pg_get_functiondef) with this text, so the two cannot drift.
--
-- The service layer (inventory.services.ledger.post_journal) validates an event (kind, buckets,
-- quantities, balance per asset) and calls this once. The balance rows are locked in (asset, account,
-- bucket) order, a missing one created at zero, so two journals over the same positions cannot
-- deadlock, and every debit is checked against its locked balance. Not strict: a short bucket stops the
-- event with nothing written and the short position is returned (the caller raises
-- InsufficientInventory, its transaction still usable); the journal and entries are written after the
-- check. Strict (the final approval, whose transaction is void anyway when inventory is short): the
-- journal and entries are written first, and a short bucket raises SQLSTATE BD001 with a JSON DETAIL,
-- so the hot balance rows are locked only from the lock loop to COMMIT.
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
    OUT o_created_at timestamp with time zone,
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
    pass integer;
BEGIN
    -- Check now, before the balance rows are locked, what the transaction has deferred so far (Django
    -- makes foreign keys DEFERRABLE INITIALLY DEFERRED): left to COMMIT, those checks would run while
    -- this event holds the hot balance rows, and every event waiting for them would wait for the checks
    -- too. This event's own writes are checked as they happen (which also checks the journal's balance
    -- per asset, the journal_balanced constraint trigger, at the end of the entries' INSERT); deferred
    -- again at the end.
    SET CONSTRAINTS ALL IMMEDIATE;

    -- Pass 1 writes the journal and its entries when strict (before any balance row is locked); pass 2
    -- when not strict (after the debits were checked under the locks). One statement, written once.
    FOR pass IN 1..2 LOOP
        IF pass = 2 THEN
            -- Lock every balance row the event touches, in (asset, account, bucket) order, creating a
            -- missing one at zero (so every event locks rows in the same order), and check each debit
            -- against its locked balance. Not strict, a short bucket stops the event here: the rows this
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
                                      'account',
                                      (SELECT code FROM refdata_custodyaccount WHERE id = r.account_id),
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
        END IF;

        IF (pass = 1) = p_strict THEN
            WITH j AS (
                INSERT INTO inventory_journal
                    (kind, created_at, created_by_id, reference, memo, source_counterparty_id,
                     cost_rate_bps, loan_id)
                VALUES (p_kind, now(), p_created_by, p_reference, p_memo, p_source_counterparty,
                        p_cost_rate_bps, p_loan)
                RETURNING id, created_at
            ), e AS (
                INSERT INTO inventory_entry (journal_id, asset_id, account_id, bucket, quantity)
                SELECT j.id, t.a, t.c, t.b, t.q
                FROM j, unnest(p_assets, p_accounts, p_buckets, p_quantities) WITH ORDINALITY AS t(a, c, b, q, n)
                ORDER BY t.n
            )
            SELECT j.id, j.created_at INTO o_journal_id, o_created_at FROM j;
        END IF;
    END LOOP;

    -- Move the balances, all rows now locked by this transaction.
    UPDATE inventory_position AS p SET quantity = p.quantity + d.delta, updated_at = now()
    FROM (
        SELECT t.a, t.c, t.b, sum(t.q) AS delta
        FROM unnest(p_assets, p_accounts, p_buckets, p_quantities) AS t(a, c, b, q)
        GROUP BY t.a, t.c, t.b
        HAVING sum(t.q) <> 0
    ) AS d
    WHERE p.asset_id = d.a AND p.account_id = d.c AND p.bucket = d.b;

    SET CONSTRAINTS ALL DEFERRED;
END
$$;
