-- Concentration of pledged collateral, at market value (price x quantity, no haircut): for each
-- (counterparty, asset) its share of the counterparty's collateral, and the asset's share of the firm's
-- whole collateral book. One set-based statement, read by collateral/selectors/monitoring.py (which
-- documents the parameters and the columns, and wraps it to filter, flag and group by asset).
--
-- Pledged collateral: bucket pledged of collateral-purpose accounts, the counterparty being the account's
-- owner. The mark is refdata's rule (mark_sql, substituted at import for the text in braces). A missing
-- mark is never zero: the value of that line is NULL, the counterparty's shares are NULL (its total is
-- unknown), and the firm's shares are over the collateral that has a mark (the selector says which
-- assets have none). No literal per-cent sign may appear in this file (psycopg2 parameters).
WITH
pledged AS (
    SELECT acct.owner_id AS counterparty_id, pos.asset_id, sum(pos.quantity) AS quantity
    FROM inventory_position pos
    JOIN refdata_custodyaccount acct ON acct.id = pos.account_id
    WHERE pos.bucket = 'pledged' AND pos.quantity > 0
      AND acct.purpose = 'collateral' AND acct.owner_id IS NOT NULL
    GROUP BY acct.owner_id, pos.asset_id
),
assets AS (
    SELECT ast.id AS asset_id, ast.symbol, {mark_of_asset} AS mark
    FROM refdata_asset ast
    WHERE ast.id IN (SELECT asset_id FROM pledged)
),
valued AS (
    SELECT p.counterparty_id, p.asset_id, a.symbol, p.quantity, a.mark, p.quantity * a.mark AS value_usd
    FROM pledged p
    JOIN assets a ON a.asset_id = p.asset_id
),
shares AS (
    SELECT
        v.*,
        sum(v.value_usd) OVER (PARTITION BY v.counterparty_id) AS counterparty_total_usd,
        bool_or(v.mark IS NULL) OVER (PARTITION BY v.counterparty_id) AS counterparty_total_unknown,
        sum(v.value_usd) OVER (PARTITION BY v.asset_id) AS firm_asset_value_usd,
        sum(v.quantity) OVER (PARTITION BY v.asset_id) AS firm_asset_quantity,
        count(*) OVER (PARTITION BY v.asset_id) AS holders,
        sum(v.value_usd) OVER () AS firm_total_usd
    FROM valued v
)
SELECT
    s.counterparty_id,
    c.code AS counterparty_code,
    s.asset_id,
    s.symbol AS asset_symbol,
    s.quantity,
    s.mark,
    round(s.value_usd, 8) AS value_usd,
    CASE WHEN NOT s.counterparty_total_unknown THEN round(s.counterparty_total_usd, 8) END
        AS counterparty_total_usd,
    CASE WHEN NOT s.counterparty_total_unknown AND s.counterparty_total_usd > 0
        THEN round(100 * s.value_usd / s.counterparty_total_usd, 4) END AS counterparty_share_pct,
    round(s.firm_asset_value_usd, 8) AS firm_asset_value_usd,
    s.firm_asset_quantity,
    s.holders,
    round(s.firm_total_usd, 8) AS firm_total_usd,
    CASE WHEN s.firm_total_usd > 0 THEN round(100 * s.firm_asset_value_usd / s.firm_total_usd, 4) END
        AS firm_share_pct
FROM shares s
JOIN refdata_counterparty c ON c.id = s.counterparty_id
