-- Coverage of every counterparty (or those in counterparty_ids) at the instant `at`, under a stress
-- scenario: one set-based statement, read by collateral/selectors/coverage.py (which documents the
-- parameters and the columns). The empty scenario (no markdowns, no haircut add-on) gives the coverage
-- itself. Under a scenario (has_scenario) the base_* columns are the unstressed figures, so a stress
-- run reads "before" and "after" from one execution; without one they are NULL (the caller copies the
-- figures), as are the levels of a counterparty without an agreement (the caller fills the defaults).
--
-- Rules (ARCHITECTURE.md "Collateral and limits"):
--   exposure          = sum over open loans (pending_delivery, active) of open_quantity x price
--                       (from inventory_openloantotal, the open quantity per counterparty and asset)
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
-- Hypothetical changes of pledged quantities (a release's "minus this quantity", valued before it is
-- posted), applied to the positions they name.
deltas AS (
    SELECT d.account_id, d.asset_id, sum(d.quantity) AS quantity
    FROM unnest(
        %(delta_account_ids)s::bigint[], %(delta_asset_ids)s::bigint[], %(delta_quantities)s::numeric[]
    ) AS d (account_id, asset_id, quantity)
    GROUP BY d.account_id, d.asset_id
),
-- Every asset once: its mark (refdata's rule), its mark policy and its scenario markdown.
assets AS (
    SELECT
        ast.id AS asset_id,
        ast.symbol,
        mark.price_usd AS mark,
        mark.as_of AS mark_as_of,
        mark.price_usd * (1 - coalesce(
            (%(markdowns)s::jsonb ->> ast.id::text)::numeric,
            CASE WHEN ast.is_stablecoin THEN %(stablecoin_markdown_pct)s::numeric
                 ELSE %(other_markdown_pct)s::numeric END
        ) / 100) AS stressed_price,
        coalesce(mp.max_age_minutes, %(default_max_age_minutes)s::integer) AS max_age_minutes,
        coalesce(mp.divergence_pct, %(default_divergence_pct)s::numeric) AS divergence_pct
    FROM refdata_asset ast
    LEFT JOIN collateral_markpolicy mp ON mp.asset_id = ast.id
    LEFT JOIN LATERAL {mark_of_asset} AS mark ON TRUE
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
-- The assets whose mark is missing, stale or disputed, with the reason in words.
asset_reviews AS (
    SELECT asset_id, symbol, reason, no_mark
    FROM (
        SELECT
            a.asset_id,
            a.symbol,
            a.mark IS NULL AS no_mark,
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
    ) AS r
    WHERE reason <> ''
),
-- Per key (asset, counterparty, venue) the version in force at `at`, with the share of value it keeps
-- (1 - haircut/100; under the scenario, the haircut plus the add-on, capped at 100), worked out once
-- per rule rather than once per position.
rules AS (
    SELECT
        asset_id,
        counterparty_id,
        venue_id,
        1 - haircut_pct / 100 AS base_factor,
        1 - least(100, haircut_pct + %(haircut_addon_pct)s::numeric) / 100 AS factor
    FROM (
        SELECT DISTINCT ON (r.asset_id, r.counterparty_id, r.venue_id)
            r.asset_id, r.counterparty_id, r.venue_id, r.haircut_pct
        FROM collateral_haircutrule r
        WHERE r.status = 'effective' AND r.effective_from <= %(at)s::timestamptz
        ORDER BY r.asset_id, r.counterparty_id, r.venue_id, r.effective_from DESC, r.id DESC
    ) AS in_force
),
-- Every (asset, venue): the mark, the stressed price and the rule that applies when the counterparty
-- has none of its own (venue > asset only), looked up once per pair rather than once per position.
asset_venues AS (
    SELECT
        a.asset_id,
        v.id AS venue_id,
        a.mark,
        a.stressed_price,
        coalesce(venue_.factor, asset_.factor) AS factor,
        coalesce(venue_.base_factor, asset_.base_factor) AS base_factor
    FROM assets a
    CROSS JOIN refdata_venue v
    LEFT JOIN rules venue_ ON venue_.asset_id = a.asset_id
        AND venue_.counterparty_id IS NULL AND venue_.venue_id = v.id
    LEFT JOIN rules asset_ ON asset_.asset_id = a.asset_id
        AND asset_.counterparty_id IS NULL AND asset_.venue_id IS NULL
),
-- The counterparty's own rules, one row per (asset, counterparty): the counterparty-wide one and the
-- per-venue ones (arrays in venue order).
cp_rules AS (
    SELECT
        asset_id,
        counterparty_id,
        min(factor) FILTER (WHERE venue_id IS NULL) AS factor,
        min(base_factor) FILTER (WHERE venue_id IS NULL) AS base_factor,
        array_agg(venue_id ORDER BY venue_id) FILTER (WHERE venue_id IS NOT NULL) AS venue_ids,
        array_agg(factor ORDER BY venue_id) FILTER (WHERE venue_id IS NOT NULL) AS venue_factors,
        array_agg(base_factor ORDER BY venue_id) FILTER (WHERE venue_id IS NOT NULL) AS venue_base_factors
    FROM rules
    WHERE counterparty_id IS NOT NULL
    GROUP BY asset_id, counterparty_id
),
-- Pledged collateral: the pledged bucket of collateral accounts, keyed by the account's owner. The
-- factor is NULL when no rule is in force (ineligible) and 0 at a haircut of 100 (ineligible too).
collateral_lines AS NOT MATERIALIZED (
    SELECT
        acct.owner_id AS counterparty_id,
        pos.asset_id,
        q.quantity,
        av.mark,
        av.stressed_price,
        -- The most specific rule wins: counterparty+venue > counterparty > venue > asset only (a rule's
        -- columns are never NULL, so each coalesce picks the same rule; no counterparty rule: cr is NULL).
        coalesce(
            cr.venue_factors[array_position(cr.venue_ids, acct.venue_id)], cr.factor, av.factor
        ) AS factor,
        coalesce(
            cr.venue_base_factors[array_position(cr.venue_ids, acct.venue_id)], cr.base_factor, av.base_factor
        ) AS base_factor
    FROM inventory_position pos
    JOIN refdata_custodyaccount acct ON acct.id = pos.account_id
    JOIN asset_venues av ON av.asset_id = pos.asset_id AND av.venue_id = acct.venue_id
    LEFT JOIN cp_rules cr ON cr.asset_id = pos.asset_id AND cr.counterparty_id = acct.owner_id
    -- A release's hypothetical delta, looked up only when there are deltas (has_deltas; a constant when
    -- the statement is planned with its values, so the whole book reads each quantity as it is, with no
    -- join to an empty list of deltas).
    CROSS JOIN LATERAL (
        SELECT CASE WHEN %(has_deltas)s::boolean
            THEN pos.quantity + coalesce(
                (SELECT d.quantity FROM deltas d
                 WHERE d.account_id = pos.account_id AND d.asset_id = pos.asset_id),
                0
            )
            ELSE pos.quantity
        END AS quantity
    ) AS q
    WHERE pos.bucket = 'pledged'
      AND acct.purpose = 'collateral'
      AND acct.owner_id IS NOT NULL
      AND (%(counterparty_ids)s::bigint[] IS NULL OR acct.owner_id = ANY (%(counterparty_ids)s::bigint[]))
      AND q.quantity > 0
),
-- Sums rounded here, once per counterparty: the figures below read each of them several times.
collateral AS (
    SELECT
        counterparty_id,
        round(sum(CASE WHEN %(has_scenario)s::boolean THEN quantity * mark * base_factor END), 8)
            AS base_value,
        round(sum(quantity * stressed_price * factor), 8) AS value,  -- NULL factor (no rule): not summed
        round(sum(CASE WHEN coalesce(factor, 0) = 0 THEN quantity * stressed_price END), 8)
            AS ineligible_value
    FROM collateral_lines
    GROUP BY counterparty_id
),
-- Exposure: open loans (pending delivery and active) at the price, read from inventory's open totals
-- (inventory_openloantotal: per counterparty and asset, the sum of its open loans' open_quantity, kept
-- by a trigger on the loans), one row per asset a counterparty has borrowed instead of one per loan.
-- The same figure exactly: numeric sums and products are exact.
exposure AS (
    SELECT
        t.counterparty_id,
        round(sum(CASE WHEN %(has_scenario)s::boolean THEN t.open_quantity * a.mark END), 8) AS base_exposure,
        round(sum(t.open_quantity * a.stressed_price), 8) AS exposure
    FROM inventory_openloantotal t
    JOIN assets a ON a.asset_id = t.asset_id
    -- (A total with nothing open adds nothing: open_quantity >= 0 is a constraint of the table.)
    WHERE %(counterparty_ids)s::bigint[] IS NULL OR t.counterparty_id = ANY (%(counterparty_ids)s::bigint[])
    GROUP BY t.counterparty_id
),
-- Who holds or owes an asset under review, and why; and whether a figure is unknown for want of a
-- mark (a missing mark is always under review). Joins on the few assets under review: nothing to scan
-- when there are none.
reviews AS (
    SELECT
        held.counterparty_id,
        string_agg(ar.reason, '; ' ORDER BY ar.symbol) AS reason,
        bool_or(held.exposure_unknown) AS exposure_unknown,
        bool_or(held.value_unknown) AS value_unknown,
        bool_or(held.base_value_unknown) AS base_value_unknown,
        bool_or(held.ineligible_unknown) AS ineligible_unknown
    FROM (
        SELECT counterparty_id, asset_id, bool_or(exposure_unknown) AS exposure_unknown,
               bool_or(value_unknown) AS value_unknown, bool_or(base_value_unknown) AS base_value_unknown,
               bool_or(ineligible_unknown) AS ineligible_unknown
        FROM (
            SELECT t.counterparty_id, t.asset_id, r.no_mark AS exposure_unknown, false AS value_unknown,
                   false AS base_value_unknown, false AS ineligible_unknown
            FROM inventory_openloantotal t
            JOIN asset_reviews r ON r.asset_id = t.asset_id
            WHERE t.open_quantity > 0
              AND (%(counterparty_ids)s::bigint[] IS NULL
                   OR t.counterparty_id = ANY (%(counterparty_ids)s::bigint[]))
            UNION ALL
            SELECT cl.counterparty_id, cl.asset_id, false,
                   r.no_mark AND cl.factor > 0, r.no_mark AND cl.base_factor > 0,
                   r.no_mark AND coalesce(cl.factor, 0) = 0
            FROM collateral_lines cl
            JOIN asset_reviews r ON r.asset_id = cl.asset_id
        ) AS both_sides
        GROUP BY counterparty_id, asset_id
    ) AS held
    JOIN asset_reviews ar ON ar.asset_id = held.asset_id
    GROUP BY held.counterparty_id
),
agreements AS (
    SELECT DISTINCT ON (g.counterparty_id)
        g.counterparty_id, g.return_ratio, g.required_ratio, g.warning_ratio, g.call_ratio,
        g.critical_ratio, g.cure_period_hours, g.call_due_hours
    FROM collateral_collateralagreement g
    WHERE g.status = 'effective' AND g.effective_from <= %(at)s::timestamptz
    ORDER BY g.counterparty_id, g.effective_from DESC, g.id DESC
),
figures AS (
    SELECT
        c.id AS counterparty_id,
        c.code AS counterparty_code,
        -- (Rounded already; a counterparty without loans or collateral: 0 at the same 8 places.)
        CASE WHEN NOT coalesce(rv.exposure_unknown, false) THEN coalesce(e.exposure, 0.00000000) END
            AS exposure_usd,
        CASE WHEN NOT coalesce(rv.value_unknown, false) THEN coalesce(k.value, 0.00000000) END
            AS collateral_value_usd,
        CASE WHEN NOT coalesce(rv.ineligible_unknown, false) THEN coalesce(k.ineligible_value, 0.00000000) END
            AS ineligible_value_usd,
        -- Under a scenario only (without one, the base figures are the figures).
        CASE WHEN %(has_scenario)s::boolean AND NOT coalesce(rv.exposure_unknown, false)
            THEN coalesce(e.base_exposure, 0.00000000)
        END AS base_exposure_usd,
        CASE WHEN %(has_scenario)s::boolean AND NOT coalesce(rv.base_value_unknown, false)
            THEN coalesce(k.base_value, 0.00000000)
        END AS base_collateral_value_usd,
        coalesce(g.return_ratio, %(return_ratio)s::numeric(12, 6)) AS return_ratio,
        coalesce(g.required_ratio, %(required_ratio)s::numeric(12, 6)) AS required_ratio,
        coalesce(g.warning_ratio, %(warning_ratio)s::numeric(12, 6)) AS warning_ratio,
        coalesce(g.call_ratio, %(call_ratio)s::numeric(12, 6)) AS call_ratio,
        coalesce(g.critical_ratio, %(critical_ratio)s::numeric(12, 6)) AS critical_ratio,
        coalesce(g.cure_period_hours, %(cure_period_hours)s::integer) AS cure_period_hours,
        coalesce(g.call_due_hours, %(call_due_hours)s::integer) AS call_due_hours,
        g.counterparty_id IS NOT NULL AS has_agreement,
        rv.reason AS review_reason
    FROM refdata_counterparty c
    LEFT JOIN exposure e ON e.counterparty_id = c.id
    LEFT JOIN collateral k ON k.counterparty_id = c.id
    LEFT JOIN agreements g ON g.counterparty_id = c.id
    LEFT JOIN reviews rv ON rv.counterparty_id = c.id
    WHERE %(counterparty_ids)s::bigint[] IS NULL OR c.id = ANY (%(counterparty_ids)s::bigint[])
)
SELECT
    f.counterparty_id,
    f.counterparty_code,
    f.exposure_usd,
    f.collateral_value_usd,
    f.ineligible_value_usd,
    -- Capped at the largest ratio the desk stores (numeric(12, 6)): a dust loan against real collateral
    -- is covered many million times over, and the states compare figures, not this ratio. (least()
    -- skips NULLs: an unknown value is kept unknown by the CASE.)
    CASE WHEN f.exposure_usd > 0 AND f.collateral_value_usd IS NOT NULL
        THEN least(round(f.collateral_value_usd / f.exposure_usd, 6), 999999.999999)
    END AS coverage_ratio,
    -- The levels when an agreement is in force; NULL: the defaults passed in (the caller fills them,
    -- so 5,000 rows do not carry 5,000 copies of the same figures).
    CASE WHEN f.has_agreement THEN f.return_ratio END AS return_ratio,
    CASE WHEN f.has_agreement THEN f.required_ratio END AS required_ratio,
    CASE WHEN f.has_agreement THEN f.warning_ratio END AS warning_ratio,
    CASE WHEN f.has_agreement THEN f.call_ratio END AS call_ratio,
    CASE WHEN f.has_agreement THEN f.critical_ratio END AS critical_ratio,
    CASE WHEN f.has_agreement THEN f.cure_period_hours END AS cure_period_hours,
    CASE WHEN f.has_agreement THEN f.call_due_hours END AS call_due_hours,
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
    -- Without a scenario: NULL, the base figures being the figures (the caller copies them).
    CASE WHEN %(has_scenario)s::boolean THEN f.base_exposure_usd END AS base_exposure_usd,
    CASE WHEN %(has_scenario)s::boolean THEN f.base_collateral_value_usd END AS base_collateral_value_usd,
    CASE WHEN %(has_scenario)s::boolean AND f.base_exposure_usd > 0 AND f.base_collateral_value_usd IS NOT NULL
        THEN least(round(f.base_collateral_value_usd / f.base_exposure_usd, 6), 999999.999999)
    END AS base_coverage_ratio,
    CASE
        WHEN NOT %(has_scenario)s::boolean THEN NULL
        WHEN f.base_exposure_usd = 0 THEN 0
        WHEN f.base_exposure_usd IS NOT NULL AND f.base_collateral_value_usd IS NOT NULL
            THEN round(greatest(0, f.required_ratio * f.base_exposure_usd - f.base_collateral_value_usd), 8)
    END AS base_shortfall_usd
FROM figures f
ORDER BY f.counterparty_code
