-- Coverage of every counterparty (or those in counterparty_ids) at the instant `at`, under a stress
-- scenario: one set-based statement, read by collateral/selectors/coverage.py (which documents the
-- parameters and the columns). The empty scenario (no markdowns, no haircut add-on) gives the coverage
-- itself; the base_* columns are always the unstressed figures, so a stress run reads "before" and
-- "after" from one execution.
--
-- Rules (ARCHITECTURE.md "Collateral and limits"):
--   exposure          = sum over open loans (pending_delivery, active) of open_quantity x price
--   collateral value  = sum over pledged positions (bucket pledged of collateral-purpose accounts, the
--                       counterparty being the account's owner) of quantity x price x (1 - haircut/100)
--   haircut           = the most specific HaircutRule in force at `at` (status effective, effective_from
--                       <= at; per key the latest version, ties the greatest id):
--                       counterparty+venue > counterparty > venue > asset only; venue = the account's.
--                       No rule in force (or a haircut of 100 after the add-on): ineligible, value 0,
--                       its market value reported as ineligible_value_usd.
--   price             = the mark (refdata's rule, mark_sql: the latest applied price as of `at`; a
--                       pending override never counts) x (1 - markdown/100) under a scenario.
--   levels            = the CollateralAgreement in force at `at`, else the defaults passed in.
-- A missing mark is never zero: a figure that needs one is NULL (unknown) and the counterparty is
-- needs_review. A stale mark (older than the asset's MarkPolicy max_age_minutes, else the default) or
-- divergent sources (the latest applied price of each source within that window differing by more than
-- divergence_pct of the lowest) make every counterparty holding or owing the asset needs_review.
--
-- The text between braces below is replaced at import by refdata's mark_sql (see the selector). No
-- literal per-cent sign may appear in this file: psycopg2 reads the file as a parameterised query.
WITH
cps AS (
    SELECT c.id, c.code
    FROM refdata_counterparty c
    WHERE %(counterparty_ids)s::bigint[] IS NULL OR c.id = ANY (%(counterparty_ids)s::bigint[])
),
-- Pledged collateral, plus hypothetical deltas (a release's "minus this quantity", checked before it
-- is posted).
pledged_lines AS (
    SELECT pos.account_id, pos.asset_id, pos.quantity
    FROM inventory_position pos
    WHERE pos.bucket = 'pledged' AND pos.quantity <> 0
    UNION ALL
    SELECT d.account_id, d.asset_id, d.quantity
    FROM unnest(
        %(delta_account_ids)s::bigint[], %(delta_asset_ids)s::bigint[], %(delta_quantities)s::numeric[]
    ) AS d (account_id, asset_id, quantity)
),
pledged AS (
    SELECT acct.owner_id AS counterparty_id, acct.venue_id, pl.asset_id, sum(pl.quantity) AS quantity
    FROM pledged_lines pl
    JOIN refdata_custodyaccount acct ON acct.id = pl.account_id
    JOIN cps ON cps.id = acct.owner_id
    WHERE acct.purpose = 'collateral'
    GROUP BY acct.owner_id, acct.venue_id, pl.asset_id
    HAVING sum(pl.quantity) > 0
),
owed AS (
    SELECT l.counterparty_id, l.asset_id, sum(l.open_quantity) AS quantity
    FROM inventory_loan l
    JOIN cps ON cps.id = l.counterparty_id
    WHERE l.status IN ('pending_delivery', 'active') AND l.open_quantity > 0
    GROUP BY l.counterparty_id, l.asset_id
),
held_or_owed AS (
    SELECT counterparty_id, asset_id FROM pledged
    UNION
    SELECT counterparty_id, asset_id FROM owed
),
-- Each asset in play once: its mark (refdata's rule), its mark policy and its scenario markdown.
assets AS (
    SELECT
        ast.id AS asset_id,
        ast.symbol,
        mark.price_usd AS mark,
        mark.as_of AS mark_as_of,
        coalesce(mp.max_age_minutes, %(default_max_age_minutes)s::integer) AS max_age_minutes,
        coalesce(mp.divergence_pct, %(default_divergence_pct)s::numeric) AS divergence_pct,
        coalesce(
            (%(markdowns)s::jsonb ->> ast.id::text)::numeric,
            CASE WHEN ast.is_stablecoin THEN %(stablecoin_markdown_pct)s::numeric
                 ELSE %(other_markdown_pct)s::numeric END
        ) AS markdown_pct
    FROM refdata_asset ast
    LEFT JOIN collateral_markpolicy mp ON mp.asset_id = ast.id
    LEFT JOIN LATERAL {mark_of_asset} AS mark ON TRUE
    WHERE ast.id IN (SELECT asset_id FROM held_or_owed)
),
-- The latest applied price of each source within the asset's max-age window.
source_prices AS (
    SELECT DISTINCT ON (p.asset_id, p.source) p.asset_id, p.source, p.price_usd
    FROM refdata_price p
    JOIN assets a ON a.asset_id = p.asset_id
    WHERE p.status = 'applied'
      AND p.as_of <= %(at)s::timestamptz
      AND p.as_of > %(at)s::timestamptz - make_interval(mins => a.max_age_minutes)
    ORDER BY p.asset_id, p.source, p.as_of DESC, p.id DESC
),
spreads AS (
    SELECT
        asset_id,
        min(price_usd) AS low,
        max(price_usd) AS high,
        string_agg(source || ' ' || trim_scale(price_usd)::text, ', ' ORDER BY source) AS quotes
    FROM source_prices
    GROUP BY asset_id
    HAVING count(*) > 1
),
asset_reviews AS (
    SELECT
        a.asset_id,
        a.symbol,
        concat_ws(
            '; ',
            CASE
                WHEN a.mark IS NULL THEN a.symbol || ': no mark'
                WHEN a.mark_as_of < %(at)s::timestamptz - make_interval(mins => a.max_age_minutes)
                    THEN a.symbol || ': mark stale ('
                        || floor(extract(epoch FROM %(at)s::timestamptz - a.mark_as_of) / 60)::bigint
                        || ' min old, max ' || a.max_age_minutes || ')'
            END,
            CASE
                WHEN s.high - s.low > s.low * a.divergence_pct / 100
                    THEN a.symbol || ': sources disagree (' || s.quotes || ')'
            END
        ) AS reason
    FROM assets a
    LEFT JOIN spreads s ON s.asset_id = a.asset_id
),
reviews AS (
    SELECT ho.counterparty_id, string_agg(r.reason, '; ' ORDER BY r.symbol) AS reason
    FROM held_or_owed ho
    JOIN asset_reviews r ON r.asset_id = ho.asset_id
    WHERE r.reason <> ''
    GROUP BY ho.counterparty_id
),
-- Per key (asset, counterparty, venue) the version in force at `at`.
rules AS (
    SELECT DISTINCT ON (r.asset_id, r.counterparty_id, r.venue_id)
        r.asset_id, r.counterparty_id, r.venue_id, r.haircut_pct
    FROM collateral_haircutrule r
    WHERE r.status = 'effective' AND r.effective_from <= %(at)s::timestamptz
    ORDER BY r.asset_id, r.counterparty_id, r.venue_id, r.effective_from DESC, r.id DESC
),
collateral_lines AS (
    SELECT
        h.counterparty_id,
        h.quantity,
        a.mark,
        a.mark * (1 - a.markdown_pct / 100) AS stressed_price,
        h.haircut_pct,
        least(100, h.haircut_pct + %(haircut_addon_pct)s::numeric) AS stressed_haircut_pct
    FROM (
        -- The most specific rule wins: counterparty+venue > counterparty > venue > asset only.
        SELECT
            pl.counterparty_id,
            pl.asset_id,
            pl.quantity,
            coalesce(both_.haircut_pct, cp_.haircut_pct, venue_.haircut_pct, asset_.haircut_pct)
                AS haircut_pct
        FROM pledged pl
        LEFT JOIN rules both_ ON both_.asset_id = pl.asset_id
            AND both_.counterparty_id = pl.counterparty_id AND both_.venue_id = pl.venue_id
        LEFT JOIN rules cp_ ON cp_.asset_id = pl.asset_id
            AND cp_.counterparty_id = pl.counterparty_id AND cp_.venue_id IS NULL
        LEFT JOIN rules venue_ ON venue_.asset_id = pl.asset_id
            AND venue_.counterparty_id IS NULL AND venue_.venue_id = pl.venue_id
        LEFT JOIN rules asset_ ON asset_.asset_id = pl.asset_id
            AND asset_.counterparty_id IS NULL AND asset_.venue_id IS NULL
    ) AS h
    JOIN assets a ON a.asset_id = h.asset_id
),
collateral AS (
    SELECT
        counterparty_id,
        -- A missing mark makes the figure it enters unknown, never zero.
        bool_or(mark IS NULL AND haircut_pct < 100) AS base_value_unknown,
        bool_or(mark IS NULL AND stressed_haircut_pct < 100) AS value_unknown,
        bool_or(mark IS NULL AND (haircut_pct IS NULL OR stressed_haircut_pct >= 100)) AS ineligible_unknown,
        sum(CASE WHEN haircut_pct < 100 THEN quantity * mark * (1 - haircut_pct / 100) ELSE 0 END)
            AS base_value,
        sum(
            CASE WHEN stressed_haircut_pct < 100
                THEN quantity * stressed_price * (1 - stressed_haircut_pct / 100) ELSE 0 END
        ) AS value,
        sum(
            CASE WHEN haircut_pct IS NULL OR stressed_haircut_pct >= 100
                THEN quantity * stressed_price ELSE 0 END
        ) AS ineligible_value
    FROM collateral_lines
    GROUP BY counterparty_id
),
exposure AS (
    SELECT
        o.counterparty_id,
        bool_or(a.mark IS NULL) AS unknown,
        sum(o.quantity * a.mark) AS base_exposure,
        sum(o.quantity * a.mark * (1 - a.markdown_pct / 100)) AS exposure
    FROM owed o
    JOIN assets a ON a.asset_id = o.asset_id
    GROUP BY o.counterparty_id
),
agreements AS (
    SELECT DISTINCT ON (g.counterparty_id)
        g.counterparty_id, g.return_ratio, g.required_ratio, g.warning_ratio, g.call_ratio,
        g.critical_ratio, g.cure_period_hours, g.call_due_hours
    FROM collateral_collateralagreement g
    JOIN cps ON cps.id = g.counterparty_id
    WHERE g.status = 'effective' AND g.effective_from <= %(at)s::timestamptz
    ORDER BY g.counterparty_id, g.effective_from DESC, g.id DESC
),
figures AS (
    SELECT
        cps.id AS counterparty_id,
        cps.code AS counterparty_code,
        CASE WHEN NOT coalesce(e.unknown, false) THEN round(coalesce(e.exposure, 0), 8) END AS exposure_usd,
        CASE WHEN NOT coalesce(k.value_unknown, false) THEN round(coalesce(k.value, 0), 8) END
            AS collateral_value_usd,
        CASE WHEN NOT coalesce(k.ineligible_unknown, false) THEN round(coalesce(k.ineligible_value, 0), 8) END
            AS ineligible_value_usd,
        CASE WHEN NOT coalesce(e.unknown, false) THEN round(coalesce(e.base_exposure, 0), 8) END
            AS base_exposure_usd,
        CASE WHEN NOT coalesce(k.base_value_unknown, false) THEN round(coalesce(k.base_value, 0), 8) END
            AS base_collateral_value_usd,
        coalesce(g.return_ratio, %(return_ratio)s::numeric(12, 6)) AS return_ratio,
        coalesce(g.required_ratio, %(required_ratio)s::numeric(12, 6)) AS required_ratio,
        coalesce(g.warning_ratio, %(warning_ratio)s::numeric(12, 6)) AS warning_ratio,
        coalesce(g.call_ratio, %(call_ratio)s::numeric(12, 6)) AS call_ratio,
        coalesce(g.critical_ratio, %(critical_ratio)s::numeric(12, 6)) AS critical_ratio,
        coalesce(g.cure_period_hours, %(cure_period_hours)s::integer) AS cure_period_hours,
        coalesce(g.call_due_hours, %(call_due_hours)s::integer) AS call_due_hours,
        rv.reason AS review_reason
    FROM cps
    LEFT JOIN exposure e ON e.counterparty_id = cps.id
    LEFT JOIN collateral k ON k.counterparty_id = cps.id
    LEFT JOIN agreements g ON g.counterparty_id = cps.id
    LEFT JOIN reviews rv ON rv.counterparty_id = cps.id
)
SELECT
    f.counterparty_id,
    f.counterparty_code,
    f.exposure_usd,
    f.collateral_value_usd,
    f.ineligible_value_usd,
    CASE WHEN f.exposure_usd > 0 THEN round(f.collateral_value_usd / f.exposure_usd, 6) END AS coverage_ratio,
    f.return_ratio,
    f.required_ratio,
    f.warning_ratio,
    f.call_ratio,
    f.critical_ratio,
    f.cure_period_hours,
    f.call_due_hours,
    -- greatest() skips NULLs, so an unknown figure is kept unknown by the CASE.
    CASE
        WHEN f.exposure_usd = 0 THEN 0
        WHEN f.exposure_usd IS NOT NULL AND f.collateral_value_usd IS NOT NULL
            THEN round(greatest(0, f.required_ratio * f.exposure_usd - f.collateral_value_usd), 8)
    END AS shortfall_usd,
    -- The suggested release: the excess over the required level once coverage is above the return
    -- level; never on a price under review.
    CASE
        WHEN f.review_reason IS NULL AND f.collateral_value_usd > f.return_ratio * f.exposure_usd
            THEN round(f.collateral_value_usd - f.required_ratio * f.exposure_usd, 8)
        ELSE 0
    END AS excess_usd,
    f.review_reason IS NOT NULL AS needs_review,
    coalesce(f.review_reason, '') AS review_reason,
    CASE
        WHEN f.exposure_usd = 0 THEN 'ok'
        WHEN f.exposure_usd IS NULL OR f.collateral_value_usd IS NULL THEN NULL
        WHEN f.collateral_value_usd >= f.warning_ratio * f.exposure_usd THEN 'ok'
        WHEN f.collateral_value_usd >= f.call_ratio * f.exposure_usd THEN 'warning'
        WHEN f.collateral_value_usd >= f.critical_ratio * f.exposure_usd THEN 'call'
        ELSE 'critical'
    END AS ratio_state,
    f.base_exposure_usd,
    f.base_collateral_value_usd,
    CASE WHEN f.base_exposure_usd > 0 THEN round(f.base_collateral_value_usd / f.base_exposure_usd, 6) END
        AS base_coverage_ratio,
    CASE
        WHEN f.base_exposure_usd = 0 THEN 0
        WHEN f.base_exposure_usd IS NOT NULL AND f.base_collateral_value_usd IS NOT NULL
            THEN round(greatest(0, f.required_ratio * f.base_exposure_usd - f.base_collateral_value_usd), 8)
    END AS base_shortfall_usd
FROM figures f
ORDER BY f.counterparty_code
