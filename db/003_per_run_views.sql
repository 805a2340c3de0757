-- run_span and throughput over requests alone, so that `WHERE run_id = ?` reaches the primary key
-- instead of aggregating every run's kernels first (a 7M-kernel run made every summary take seconds).

DROP VIEW throughput;
DROP VIEW worker_utilization;
DROP VIEW run_span;

-- The run's span on its own clock: first arrival to last finish (every kernel runs for a request in
-- flight, so kernels fall inside it).
CREATE VIEW run_span AS
SELECT run_id, MIN(arrival_ns) AS start_ns, MAX(COALESCE(finished_ns, arrival_ns)) AS end_ns,
       MAX(COALESCE(finished_ns, arrival_ns)) - MIN(arrival_ns) AS span_ns
FROM requests
GROUP BY run_id;

-- Requests by outcome, tokens generated, and output tokens per second of the run's span.
CREATE VIEW throughput AS
SELECT run_id,
       COUNT(*) AS requests,
       SUM(status = 'completed') AS completed,
       SUM(status = 'rejected')  AS rejected,
       SUM(status = 'cancelled') AS cancelled,
       SUM(status = 'failed')    AS failed,
       SUM(output_tokens) AS output_tokens,
       MAX(COALESCE(finished_ns, arrival_ns)) - MIN(arrival_ns) AS span_ns,
       SUM(output_tokens) * 1e9 / NULLIF(MAX(COALESCE(finished_ns, arrival_ns)) - MIN(arrival_ns), 0) AS output_tokens_per_s,
       SUM(status = 'completed') * 1e9 / NULLIF(MAX(COALESCE(finished_ns, arrival_ns)) - MIN(arrival_ns), 0) AS requests_per_s
FROM requests
GROUP BY run_id;

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
