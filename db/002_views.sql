-- Latency, throughput and utilization views. Percentiles are nearest-rank: the p-th percentile of
-- n sorted values is the value of rank ceil(p/100 · n), computed in integer arithmetic.

-- Per completed request: time to first token, time per output token (requests with >= 2 tokens),
-- end-to-end latency, all in ns.
CREATE VIEW request_latency AS
SELECT run_id, request_id,
       first_token_ns - arrival_ns AS ttft_ns,
       CASE WHEN output_tokens >= 2
            THEN (finished_ns - first_token_ns) * 1.0 / (output_tokens - 1) END AS tpot_ns,
       finished_ns - arrival_ns AS e2e_ns,
       finished_ns - admitted_ns AS service_ns,
       admitted_ns - arrival_ns AS queue_ns,
       unique_tokens, output_tokens
FROM requests
WHERE status = 'completed';

CREATE VIEW latency_samples AS
          SELECT run_id, 'ttft' AS metric, ttft_ns AS v FROM request_latency WHERE ttft_ns IS NOT NULL
UNION ALL SELECT run_id, 'tpot', tpot_ns FROM request_latency WHERE tpot_ns IS NOT NULL
UNION ALL SELECT run_id, 'e2e', e2e_ns FROM request_latency WHERE e2e_ns IS NOT NULL
UNION ALL SELECT run_id, 'queue', queue_ns FROM request_latency WHERE queue_ns IS NOT NULL;

-- One row per run and metric (ttft, tpot, e2e, queue): count, mean and percentiles in ns.
CREATE VIEW latency_percentiles AS
WITH ranked AS (
  SELECT run_id, metric, v,
         ROW_NUMBER() OVER (PARTITION BY run_id, metric ORDER BY v) AS rn,
         COUNT(*)     OVER (PARTITION BY run_id, metric) AS n
  FROM latency_samples
)
SELECT run_id, metric, n,
       AVG(v) AS mean_ns,
       MIN(v) AS min_ns,
       MIN(CASE WHEN rn >= (50 * n + 99) / 100 THEN v END)     AS p50_ns,
       MIN(CASE WHEN rn >= (90 * n + 99) / 100 THEN v END)     AS p90_ns,
       MIN(CASE WHEN rn >= (99 * n + 99) / 100 THEN v END)     AS p99_ns,
       MIN(CASE WHEN rn >= (999 * n + 999) / 1000 THEN v END) AS p999_ns,
       MAX(v) AS max_ns
FROM ranked
GROUP BY run_id, metric;

-- The run's span on its own clock: first arrival to last finish (or last kernel end).
CREATE VIEW run_span AS
SELECT r.run_id,
       MIN(COALESCE(q.start_ns, k.start_ns), COALESCE(k.start_ns, q.start_ns)) AS start_ns,
       MAX(COALESCE(q.end_ns, k.end_ns), COALESCE(k.end_ns, q.end_ns)) AS end_ns,
       MAX(COALESCE(q.end_ns, k.end_ns), COALESCE(k.end_ns, q.end_ns))
         - MIN(COALESCE(q.start_ns, k.start_ns), COALESCE(k.start_ns, q.start_ns)) AS span_ns
FROM runs r
LEFT JOIN (SELECT run_id, MIN(arrival_ns) AS start_ns, MAX(COALESCE(finished_ns, arrival_ns)) AS end_ns
           FROM requests GROUP BY run_id) q ON q.run_id = r.run_id
LEFT JOIN (SELECT run_id, MIN(start_ns) AS start_ns, MAX(end_ns) AS end_ns
           FROM kernels GROUP BY run_id) k ON k.run_id = r.run_id;

-- Requests by outcome, tokens generated, and output tokens per second of the run's span.
CREATE VIEW throughput AS
SELECT s.run_id,
       COUNT(q.request_id) AS requests,
       COALESCE(SUM(q.status = 'completed'), 0) AS completed,
       COALESCE(SUM(q.status = 'rejected'), 0)  AS rejected,
       COALESCE(SUM(q.status = 'cancelled'), 0) AS cancelled,
       COALESCE(SUM(q.status = 'failed'), 0)    AS failed,
       COALESCE(SUM(q.output_tokens), 0) AS output_tokens,
       s.span_ns,
       CASE WHEN s.span_ns > 0 THEN COALESCE(SUM(q.output_tokens), 0) * 1e9 / s.span_ns END AS output_tokens_per_s,
       CASE WHEN s.span_ns > 0 THEN COALESCE(SUM(q.status = 'completed'), 0) * 1e9 / s.span_ns END AS requests_per_s
FROM run_span s
LEFT JOIN requests q ON q.run_id = s.run_id
GROUP BY s.run_id;

-- Per worker: busy time (union of its kernel intervals, so overlapping batches count once) over the run span.
CREATE VIEW worker_utilization AS
WITH k AS (
  SELECT run_id, worker_id, start_ns, end_ns, flops, bytes,
         MAX(end_ns) OVER (PARTITION BY run_id, worker_id ORDER BY start_ns, end_ns
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
  FROM kernels
), b AS (
  SELECT *, SUM(CASE WHEN prev_end IS NULL OR start_ns > prev_end THEN 1 ELSE 0 END)
              OVER (PARTITION BY run_id, worker_id ORDER BY start_ns, end_ns ROWS UNBOUNDED PRECEDING) AS block
  FROM k
), blocks AS (
  SELECT run_id, worker_id, block, MIN(start_ns) AS s, MAX(end_ns) AS e, COUNT(*) AS batches,
         SUM(flops) AS flops, SUM(bytes) AS bytes
  FROM b GROUP BY run_id, worker_id, block
)
SELECT w.run_id, w.worker_id, SUM(w.batches) AS batches, SUM(w.e - w.s) AS busy_ns, s.span_ns,
       CASE WHEN s.span_ns > 0 THEN SUM(w.e - w.s) * 1.0 / s.span_ns END AS utilization,
       SUM(w.flops) AS flops, SUM(w.bytes) AS bytes
FROM blocks w JOIN run_span s ON s.run_id = w.run_id
GROUP BY w.run_id, w.worker_id;
