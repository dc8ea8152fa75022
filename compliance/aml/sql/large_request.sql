-- AML rule "large_request": a borrow request whose notional exceeds `multiple` × the counterparty's
-- average notional over the `lookback_days` before it, when it has at least `min_history` requests
-- in that window. Set-based: every request in scope at once; a request raises at most one alert
-- (dedup key "large_request:request:<id>"), so the event and the schedule never raise it twice.
-- Reads requests_app's table, writes only compliance's (the AML alert).
INSERT INTO compliance_amlalert (
    rule_id, rule_version, counterparty_id, subject, score, figures, request_id, loan_ids,
    settlement_id, dedup_key, detected_by, status, created_at, dismissal_reason
)
SELECT
    %(rule_id)s,
    %(rule_version)s,
    r.counterparty_id,
    'Request ' || r.id || ': ' || to_char(r.notional_usd, 'FM999,999,999,999,990') || ' USD, '
        || to_char(r.notional_usd / hist.average, 'FM999,990.0') || '× the '
        || %(lookback_days)s || '-day average of ' || to_char(hist.average, 'FM999,999,999,999,990') || ' USD',
    round(r.notional_usd / hist.average, 4),
    jsonb_build_object(
        'notional_usd', round(r.notional_usd, 2)::text,
        'average_usd', round(hist.average, 2)::text,
        'multiple_seen', round(r.notional_usd / hist.average, 4)::text,
        'history_requests', hist.n,
        'submitted_at', r.submitted_at,
        'parameters', %(parameters)s::jsonb
    ),
    r.id,
    '{}',
    NULL,
    'large_request:request:' || r.id,
    %(detected_by)s,
    'open',
    now(),
    ''
FROM requests_app_borrowrequest r
CROSS JOIN LATERAL (
    SELECT count(*) AS n, avg(h.notional_usd) AS average
    FROM requests_app_borrowrequest h
    WHERE h.counterparty_id = r.counterparty_id
      AND h.id <> r.id
      AND h.notional_usd IS NOT NULL
      AND h.submitted_at < r.submitted_at
      AND h.submitted_at >= r.submitted_at - make_interval(days => %(lookback_days)s::int)
) hist
WHERE r.notional_usd IS NOT NULL
  AND r.notional_usd >= %(min_notional_usd)s::numeric
  AND (%(request_id)s::bigint IS NULL OR r.id = %(request_id)s::bigint)
  AND r.submitted_at >= %(since)s
  AND hist.n >= %(min_history)s::int
  AND hist.average > 0
  AND r.notional_usd > %(multiple)s::numeric * hist.average
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
