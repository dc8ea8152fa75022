-- Collateral that expires (Pledge.expires_on) on or before `until` while it is still pledged: one row
-- per pledge whose account still holds some of the asset in its pledged bucket. One set-based statement,
-- read by collateral/selectors/monitoring.py (which documents the parameters and the columns).
--
-- Releases are not tied to pledges, so what of a pledge is still held is at most the pledge's quantity
-- and at most the account's pledged balance of the asset: least() of the two. Its value is at the mark
-- (refdata's rule, substituted at import for the text in braces); no mark: NULL, never zero.
-- No literal per-cent sign may appear in this file (psycopg2 parameters).
SELECT
    pl.id AS pledge_id,
    pl.counterparty_id,
    c.code AS counterparty_code,
    pl.asset_id,
    ast.symbol AS asset_symbol,
    acct.code AS account_code,
    pl.quantity AS pledged_quantity,
    pos.quantity AS account_pledged_quantity,
    least(pl.quantity, pos.quantity) AS held_quantity,
    pl.expires_on,
    pl.expires_on - %(today)s::date AS days_left,
    round(least(pl.quantity, pos.quantity) * {mark_of_asset}, 8) AS value_usd,
    pl.reference
FROM collateral_pledge pl
JOIN inventory_position pos
    ON pos.account_id = pl.account_id AND pos.asset_id = pl.asset_id AND pos.bucket = 'pledged'
JOIN refdata_counterparty c ON c.id = pl.counterparty_id
JOIN refdata_asset ast ON ast.id = pl.asset_id
JOIN refdata_custodyaccount acct ON acct.id = pl.account_id
WHERE pl.expires_on IS NOT NULL
  AND pl.expires_on <= %(until)s::date
  AND pos.quantity > 0
  AND (%(counterparty_ids)s::bigint[] IS NULL OR pl.counterparty_id = ANY (%(counterparty_ids)s::bigint[]))
