"""The delivery instruction of a final approval goes to the request's settlement account.

``requests_open_loan`` (0003) left the delivery's ``to_account`` empty; it now takes the settlement
account the trader named at intake (still empty when none was named). The function is replaced whole;
reversing restores 0003's version. Both texts are frozen here, as a migration's must be.
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
    SELECT counterparty_id, asset_id, term_days, settlement_account_id INTO STRICT req
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
        (kind, loan_id, asset_id, from_account_id, to_account_id, quantity, status, due_at, failure_reason,
         attempts, created_at)
    VALUES ('loan_delivery', o_loan_id, req.asset_id, o_account_id, req.settlement_account_id,
            p_quantity, 'pending', p_hold_until, '',
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

PREVIOUS = r"""
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


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0004_approval_order_by_request_id")]

    operations = [migrations.RunSQL(CREATE, PREVIOUS)]
