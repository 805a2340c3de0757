-- Latency percentiles that reach the requests primary key per run. SQLite does not push
-- `WHERE run_id = ?` through a UNION ALL inside an aggregate, nor into window functions, so the
-- version in 002 ranked every run of the file for each summary. Here the samples are one join of
-- requests with the metric names, and the nearest-rank value (rank ceil(p/100 · n)) is read from
-- the sorted array of the group (json_group_array(... ORDER BY v), 0-based index rank - 1).

DROP VIEW latency_percentiles;
DROP VIEW latency_samples;

-- One row per completed request and metric (ns): ttft, tpot (requests with >= 2 tokens), e2e, queue.
CREATE VIEW latency_samples AS
SELECT run_id, metric, v FROM (
  SELECT q.run_id, m.metric,
         CASE m.metric
           WHEN 'ttft'  THEN q.first_token_ns - q.arrival_ns
           WHEN 'tpot'  THEN CASE WHEN q.output_tokens >= 2
                                  THEN (q.finished_ns - q.first_token_ns) * 1.0 / (q.output_tokens - 1) END
           WHEN 'e2e'   THEN q.finished_ns - q.arrival_ns
           WHEN 'queue' THEN q.admitted_ns - q.arrival_ns
         END AS v
  FROM requests q
  CROSS JOIN (SELECT 'ttft' AS metric UNION ALL SELECT 'tpot' UNION ALL SELECT 'e2e' UNION ALL SELECT 'queue') m
  WHERE q.status = 'completed'
)
WHERE v IS NOT NULL;

-- One row per run and metric: count, mean and nearest-rank percentiles in ns.
CREATE VIEW latency_percentiles AS
SELECT run_id, metric, n, mean_ns, min_ns,
       json_extract(sorted, '$[' || ((50 * n + 99) / 100 - 1) || ']')     AS p50_ns,
       json_extract(sorted, '$[' || ((90 * n + 99) / 100 - 1) || ']')     AS p90_ns,
       json_extract(sorted, '$[' || ((99 * n + 99) / 100 - 1) || ']')     AS p99_ns,
       json_extract(sorted, '$[' || ((999 * n + 999) / 1000 - 1) || ']') AS p999_ns,
       max_ns
FROM (SELECT run_id, metric, COUNT(*) AS n, AVG(v) AS mean_ns, MIN(v) AS min_ns, MAX(v) AS max_ns,
             json_group_array(v ORDER BY v) AS sorted
      FROM latency_samples
      GROUP BY run_id, metric);
