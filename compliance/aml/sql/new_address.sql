-- AML rule "new_address": a settlement leg that sends assets to a counterparty (a loan delivery, a
-- collateral return) at an address no earlier leg of that counterparty went to, worth at least
-- `min_usd` at the asset's mark. Addresses compare as the sanctions screening does: EVM addresses
-- case-insensitively, every other network's exactly. A cancelled leg never sent anything, so it does
-- not make an address known. One alert per leg (dedup key "new_address:settlement:<id>"), raised when
-- the leg is queued or settled or by the schedule, whichever comes first. Reads treasury's legs,
-- inventory's loans and refdata's accounts and prices; writes only compliance's table.
WITH outbound AS (
    SELECT s.id, s.created_at, s.quantity, s.asset_id, s.status, s.kind,
           coalesce(s.counterparty_id, l.counterparty_id) AS counterparty_id,
           a.address,
           CASE WHEN a.address ~ '^0[xX][0-9a-fA-F]{40}$' THEN lower(a.address) ELSE a.address END AS normalized
    FROM treasury_settlementinstruction s
    JOIN refdata_custodyaccount a ON a.id = s.to_account_id
    LEFT JOIN inventory_loan l ON l.id = s.loan_id
    WHERE s.kind IN ('loan_delivery', 'collateral_return')
      AND s.status <> 'cancelled'
      AND a.address <> ''
), candidate AS (
    SELECT o.*, asset.symbol, mark.price_usd, o.quantity * mark.price_usd AS value_usd
    FROM outbound o
    JOIN refdata_asset asset ON asset.id = o.asset_id
    JOIN LATERAL (
        SELECT p.price_usd FROM refdata_price p
        WHERE p.asset_id = o.asset_id AND p.status = 'applied'
        ORDER BY p.as_of DESC, p.id DESC
        LIMIT 1
    ) mark ON true
    WHERE o.counterparty_id IS NOT NULL
      AND (%(settlement_id)s::bigint IS NULL OR o.id = %(settlement_id)s::bigint)
      AND o.created_at >= %(since)s
      AND o.quantity * mark.price_usd >= %(min_usd)s::numeric
      AND NOT EXISTS (
          SELECT 1 FROM outbound earlier
          WHERE earlier.counterparty_id = o.counterparty_id
            AND earlier.normalized = o.normalized
            AND earlier.id < o.id
      )
)
INSERT INTO compliance_amlalert (
    rule_id, rule_version, counterparty_id, subject, score, figures, request_id, loan_ids,
    settlement_id, dedup_key, detected_by, status, created_at, dismissal_reason
)
SELECT
    %(rule_id)s,
    %(rule_version)s,
    c.counterparty_id,
    'Settlement ' || c.id || ': ' || to_char(c.value_usd, 'FM999,999,999,999,990') || ' USD of '
        || c.symbol || ' to a new address ' || c.address,
    round(c.value_usd, 4),
    jsonb_build_object(
        'value_usd', round(c.value_usd, 2)::text,
        'quantity', trim_scale(c.quantity)::text,
        'asset', c.symbol,
        'mark_usd', trim_scale(c.price_usd)::text,
        'address', c.address,
        'leg_kind', c.kind,
        'parameters', %(parameters)s::jsonb
    ),
    NULL,
    '{}',
    c.id,
    'new_address:settlement:' || c.id,
    %(detected_by)s,
    'open',
    now(),
    ''
FROM candidate c
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
