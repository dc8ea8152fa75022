"""``requests_open_loan``: the writes of a final approval (or of an accepted offer) in one statement.

``requests_app.services`` decides everything first: the request is locked, its state, the maker-checker
rules, the step's role, the quantity, the rate and the account are checked in Python. Then this function
writes, in one round trip: the approval (none for an accepted offer), the loan pending delivery, its
delivery instruction, the request's decision, and last the hold (available → allocated) through
``inventory_post_journal`` in strict mode, so the hot balance row is locked only from there to COMMIT.

Inventory that does not cover the loan raises SQLSTATE ``BD001`` with a JSON DETAIL (what was short);
the service turns it into ``InsufficientInventory`` and the approval's transaction rolls back whole, so
the request is exactly as it was and can be approved again.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION requests_open_loan(
    p_request bigint,
    p_actor bigint,
    p_quantity numeric,
    p_rate_bps numeric,
    p_account bigint,
    p_hold_until timestamptz,
    p_now timestamptz,
    p_notional_usd numeric,
    p_required_steps varchar(16)[],
    p_approval_step integer,
    p_approval_role text,
    p_approval_account bigint,
    OUT o_loan_id bigint,
    OUT o_account_id bigint
) LANGUAGE plpgsql AS $$
DECLARE
    req record;
BEGIN
    SELECT counterparty_id, asset_id, term_days INTO STRICT req
    FROM requests_app_borrowrequest WHERE id = p_request;

    IF p_approval_step IS NOT NULL THEN
        INSERT INTO requests_app_approval
            (request_id, step, role, user_id, decision, quantity, rate_bps, account_id, comment, at)
        VALUES (p_request, p_approval_step, p_approval_role, p_actor, 'approved', p_quantity, p_rate_bps,
                p_approval_account, '', p_now);
    END IF;

    o_account_id := coalesce(p_account, inventory_source_account(req.asset_id, p_quantity));
    IF o_account_id IS NULL THEN
        RAISE EXCEPTION 'insufficient inventory: no account holds %', p_quantity
            USING ERRCODE = 'BD001', DETAIL = json_build_object('account', NULL)::text;
    END IF;

    INSERT INTO inventory_loan
        (request_id, counterparty_id, asset_id, account_id, quantity, open_quantity, rate_bps, status,
         term_days, hold_expires_at, created_at)
    VALUES (p_request, req.counterparty_id, req.asset_id, o_account_id, p_quantity, p_quantity, p_rate_bps,
            'pending_delivery', req.term_days, p_hold_until, p_now)
    RETURNING id INTO o_loan_id;

    INSERT INTO treasury_settlementinstruction
        (kind, loan_id, asset_id, from_account_id, quantity, status, due_at, failure_reason, attempts,
         created_at)
    VALUES ('loan_delivery', o_loan_id, req.asset_id, o_account_id, p_quantity, 'pending', p_hold_until, '',
            0, p_now);

    UPDATE requests_app_borrowrequest
    SET status = 'approved',
        next_role = '',
        first_action_at = coalesce(first_action_at, p_now),
        decided_at = p_now,
        approved_quantity = p_quantity,
        approved_rate_bps = p_rate_bps,
        source_account_id = o_account_id,
        loan_id = o_loan_id,
        notional_usd = p_notional_usd,
        required_steps = p_required_steps,
        updated_at = p_now
    WHERE id = p_request;

    PERFORM inventory_post_journal(
        'allocation', p_actor, '', '', NULL, NULL, o_loan_id,
        ARRAY[req.asset_id, req.asset_id], ARRAY[o_account_id, o_account_id],
        ARRAY['available', 'allocated'], ARRAY[-p_quantity, p_quantity],
        p_strict => true
    );
END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS requests_open_loan(
    bigint, bigint, numeric, numeric, bigint, timestamptz, timestamptz, numeric, varchar[], integer, text,
    bigint
);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0002_default_approval_rules"),
        ("inventory", "0002_post_journal_function"),
        ("treasury", "0001_initial"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
