-- AML rule "wash_pattern": at least `min_loans` loans of one counterparty, each returned in full
-- within `window_hours` of its delivery, the returns within the last `lookback_days`. A round trip is
-- evidence in at most one alert of this rule (the NOT EXISTS below), so evaluating the same loans
-- again raises nothing; the dedup key (the counterparty and the first loan of the pattern) makes two
-- evaluations racing on the same loans insert one row. Reads inventory's loans, writes only
-- compliance's table.
WITH round_trip AS (
    SELECT l.id, l.counterparty_id,
           extract(epoch FROM l.closed_at - coalesce(l.delivered_at, l.created_at)) / 3600.0 AS hours
    FROM inventory_loan l
    WHERE l.status = 'closed'
      AND l.closed_at IS NOT NULL
      AND l.closed_at >= %(now)s - make_interval(days => %(lookback_days)s::int)
      AND l.closed_at <= %(now)s
      AND l.closed_at - coalesce(l.delivered_at, l.created_at) <= make_interval(hours => %(window_hours)s::int)
      AND (%(counterparty_id)s::bigint IS NULL OR l.counterparty_id = %(counterparty_id)s::bigint)
      AND NOT EXISTS (
          SELECT 1 FROM compliance_amlalert a
          WHERE a.rule_id = %(rule_id)s AND a.loan_ids @> ARRAY[l.id]
      )
), pattern AS (
    SELECT counterparty_id, array_agg(id ORDER BY id) AS loan_ids, count(*) AS n,
           max(hours) AS slowest_hours, min(hours) AS fastest_hours
    FROM round_trip
    GROUP BY counterparty_id
    HAVING count(*) >= %(min_loans)s::int
)
INSERT INTO compliance_amlalert (
    rule_id, rule_version, counterparty_id, subject, score, figures, request_id, loan_ids,
    settlement_id, dedup_key, detected_by, status, created_at, dismissal_reason
)
SELECT
    %(rule_id)s,
    %(rule_version)s,
    p.counterparty_id,
    p.n || ' loans borrowed and returned within ' || %(window_hours)s || ' hours in '
        || %(lookback_days)s || ' days',
    p.n,
    jsonb_build_object(
        'round_trips', p.n,
        'fastest_hours', round(p.fastest_hours, 2)::text,
        'slowest_hours', round(p.slowest_hours, 2)::text,
        'parameters', %(parameters)s::jsonb
    ),
    NULL,
    p.loan_ids,
    NULL,
    'wash_pattern:counterparty:' || p.counterparty_id || ':loan:' || p.loan_ids[1],
    %(detected_by)s,
    'open',
    now(),
    ''
FROM pattern p
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
