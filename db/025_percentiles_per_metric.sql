-- The latency percentile views of db/024 computed one metric at a time over `requests`, so that a
-- run's summary no longer sorts every sample by (run_id, metric, v) twice (db/024's GROUP BY for
-- count/mean/min/max, and its ROW_NUMBER). Same columns, same values, same row order (by run, then
-- metric name), the same samples at the same ranks, the same means.
--
-- Each metric is one UNION ALL arm over its own samples (the expressions of latency_samples, db/004,
-- verbatim, and its `v IS NOT NULL`): count/mean/min/max grouped by run_id, the primary key's
-- prefix, so read in key order without a sort; the samples ranked with ROW_NUMBER over run_id,
-- one sort of n rows per metric instead of one of 4n rows with a text column in the key. AVG sums
-- in the order db/024's did: latency_samples scans `requests` by primary key, and SQLite's sorter
-- behind db/024's GROUP BY keeps tied keys (one run and metric) in input order. A metric without
-- samples has no row, as before.
--
-- No window function sits directly in a UNION ALL arm (each arm selects from its window subquery):
-- SQLite (3.40 and the bundled one) pushes `WHERE run_id = ?` into a compound's arms only when no
-- arm has a window, and from each arm into its windows, partitioned by run_id alone, down to the
-- requests primary key. Each arm ranks its rows and joins its one-row-per-run aggregate in that
-- order (CROSS JOIN): the other way round SQLite built an automatic index over every ranked row.
-- Measured in docs/sim-speed/README.md. No ORDER BY inside an aggregate (SQLite 3.40).

DROP VIEW latency_percentiles;
DROP VIEW latency_percentiles_linear;

-- One row per run and metric: count, mean and nearest-rank percentiles (rank ceil(p/100 · n)) in ns.
CREATE VIEW latency_percentiles AS
SELECT run_id, metric, n, mean_ns, min_ns, p50_ns, p90_ns, p99_ns, p999_ns, max_ns FROM (
SELECT * FROM (
  SELECT r.run_id, 'e2e' AS metric, g.n, g.mean_ns, g.min_ns,
         MAX(CASE WHEN r.rn = (50 * g.n + 99) / 100 THEN r.v END) OVER w     AS p50_ns,
         MAX(CASE WHEN r.rn = (90 * g.n + 99) / 100 THEN r.v END) OVER w     AS p90_ns,
         MAX(CASE WHEN r.rn = (99 * g.n + 99) / 100 THEN r.v END) OVER w     AS p99_ns,
         MAX(CASE WHEN r.rn = (999 * g.n + 999) / 1000 THEN r.v END) OVER w AS p999_ns,
         g.max_ns, ROW_NUMBER() OVER w AS pick
  FROM (SELECT run_id, v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY v) AS rn
        FROM (SELECT q.run_id, q.finished_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL) r
  CROSS JOIN (SELECT run_id, COUNT(*) AS n, AVG(v) AS mean_ns, MIN(v) AS min_ns, MAX(v) AS max_ns
              FROM (SELECT q.run_id, q.finished_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL GROUP BY run_id) g
  WHERE g.run_id = r.run_id
    AND r.rn IN ((50 * g.n + 99) / 100, (90 * g.n + 99) / 100, (99 * g.n + 99) / 100, (999 * g.n + 999) / 1000)
  WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1
UNION ALL
SELECT * FROM (
  SELECT r.run_id, 'queue' AS metric, g.n, g.mean_ns, g.min_ns,
         MAX(CASE WHEN r.rn = (50 * g.n + 99) / 100 THEN r.v END) OVER w     AS p50_ns,
         MAX(CASE WHEN r.rn = (90 * g.n + 99) / 100 THEN r.v END) OVER w     AS p90_ns,
         MAX(CASE WHEN r.rn = (99 * g.n + 99) / 100 THEN r.v END) OVER w     AS p99_ns,
         MAX(CASE WHEN r.rn = (999 * g.n + 999) / 1000 THEN r.v END) OVER w AS p999_ns,
         g.max_ns, ROW_NUMBER() OVER w AS pick
  FROM (SELECT run_id, v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY v) AS rn
        FROM (SELECT q.run_id, q.admitted_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL) r
  CROSS JOIN (SELECT run_id, COUNT(*) AS n, AVG(v) AS mean_ns, MIN(v) AS min_ns, MAX(v) AS max_ns
              FROM (SELECT q.run_id, q.admitted_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL GROUP BY run_id) g
  WHERE g.run_id = r.run_id
    AND r.rn IN ((50 * g.n + 99) / 100, (90 * g.n + 99) / 100, (99 * g.n + 99) / 100, (999 * g.n + 999) / 1000)
  WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1
UNION ALL
SELECT * FROM (
  SELECT r.run_id, 'tpot' AS metric, g.n, g.mean_ns, g.min_ns,
         MAX(CASE WHEN r.rn = (50 * g.n + 99) / 100 THEN r.v END) OVER w     AS p50_ns,
         MAX(CASE WHEN r.rn = (90 * g.n + 99) / 100 THEN r.v END) OVER w     AS p90_ns,
         MAX(CASE WHEN r.rn = (99 * g.n + 99) / 100 THEN r.v END) OVER w     AS p99_ns,
         MAX(CASE WHEN r.rn = (999 * g.n + 999) / 1000 THEN r.v END) OVER w AS p999_ns,
         g.max_ns, ROW_NUMBER() OVER w AS pick
  FROM (SELECT run_id, v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY v) AS rn
        FROM (SELECT q.run_id, CASE WHEN q.output_tokens >= 2 THEN (q.finished_ns - q.first_token_ns) * 1.0 / (q.output_tokens - 1) END AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL) r
  CROSS JOIN (SELECT run_id, COUNT(*) AS n, AVG(v) AS mean_ns, MIN(v) AS min_ns, MAX(v) AS max_ns
              FROM (SELECT q.run_id, CASE WHEN q.output_tokens >= 2 THEN (q.finished_ns - q.first_token_ns) * 1.0 / (q.output_tokens - 1) END AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL GROUP BY run_id) g
  WHERE g.run_id = r.run_id
    AND r.rn IN ((50 * g.n + 99) / 100, (90 * g.n + 99) / 100, (99 * g.n + 99) / 100, (999 * g.n + 999) / 1000)
  WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1
UNION ALL
SELECT * FROM (
  SELECT r.run_id, 'ttft' AS metric, g.n, g.mean_ns, g.min_ns,
         MAX(CASE WHEN r.rn = (50 * g.n + 99) / 100 THEN r.v END) OVER w     AS p50_ns,
         MAX(CASE WHEN r.rn = (90 * g.n + 99) / 100 THEN r.v END) OVER w     AS p90_ns,
         MAX(CASE WHEN r.rn = (99 * g.n + 99) / 100 THEN r.v END) OVER w     AS p99_ns,
         MAX(CASE WHEN r.rn = (999 * g.n + 999) / 1000 THEN r.v END) OVER w AS p999_ns,
         g.max_ns, ROW_NUMBER() OVER w AS pick
  FROM (SELECT run_id, v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY v) AS rn
        FROM (SELECT q.run_id, q.first_token_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL) r
  CROSS JOIN (SELECT run_id, COUNT(*) AS n, AVG(v) AS mean_ns, MIN(v) AS min_ns, MAX(v) AS max_ns
              FROM (SELECT q.run_id, q.first_token_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL GROUP BY run_id) g
  WHERE g.run_id = r.run_id
    AND r.rn IN ((50 * g.n + 99) / 100, (90 * g.n + 99) / 100, (99 * g.n + 99) / 100, (999 * g.n + 999) / 1000)
  WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1)
ORDER BY run_id, metric;

-- One row per run and metric (ttft, tpot, e2e, queue): linear-interpolation percentiles in ns
-- (numpy's default, see db/006): x[j] + frac · (x[j + 1] − x[j]) on the 1-based ranks j, j + 1 with
-- j = floor((n − 1) · p/100) + 1; x[j + 1] is x[j] when j = n. Arms as in latency_percentiles.
CREATE VIEW latency_percentiles_linear AS
SELECT run_id, metric, n, p50_ns, p90_ns, p99_ns, p999_ns FROM (
SELECT * FROM (SELECT run_id, metric, n,
       lo50 + ((n - 1) * 50 % 100) * 1.0 / 100 * (COALESCE(hi50, lo50) - lo50)         AS p50_ns,
       lo90 + ((n - 1) * 90 % 100) * 1.0 / 100 * (COALESCE(hi90, lo90) - lo90)         AS p90_ns,
       lo99 + ((n - 1) * 99 % 100) * 1.0 / 100 * (COALESCE(hi99, lo99) - lo99)         AS p99_ns,
       lo999 + ((n - 1) * 999 % 1000) * 1.0 / 1000 * (COALESCE(hi999, lo999) - lo999) AS p999_ns
FROM (
  SELECT r.run_id, 'e2e' AS metric, g.n,
         MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 1 THEN r.v END) OVER w AS lo50,
         MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 2 THEN r.v END) OVER w AS hi50,
         MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 1 THEN r.v END) OVER w AS lo90,
         MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 2 THEN r.v END) OVER w AS hi90,
         MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 1 THEN r.v END) OVER w AS lo99,
         MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 2 THEN r.v END) OVER w AS hi99,
         MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 1 THEN r.v END) OVER w AS lo999,
         MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 2 THEN r.v END) OVER w AS hi999,
         ROW_NUMBER() OVER w AS pick
  FROM (SELECT run_id, v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY v) AS rn
        FROM (SELECT q.run_id, q.finished_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL) r
  CROSS JOIN (SELECT run_id, COUNT(*) AS n FROM (SELECT q.run_id, q.finished_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL GROUP BY run_id) g
  WHERE g.run_id = r.run_id AND r.rn IN ((g.n - 1) * 50 / 100 + 1, (g.n - 1) * 50 / 100 + 2, (g.n - 1) * 90 / 100 + 1, (g.n - 1) * 90 / 100 + 2, (g.n - 1) * 99 / 100 + 1, (g.n - 1) * 99 / 100 + 2, (g.n - 1) * 999 / 1000 + 1, (g.n - 1) * 999 / 1000 + 2)
  WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1)
UNION ALL
SELECT * FROM (SELECT run_id, metric, n,
       lo50 + ((n - 1) * 50 % 100) * 1.0 / 100 * (COALESCE(hi50, lo50) - lo50)         AS p50_ns,
       lo90 + ((n - 1) * 90 % 100) * 1.0 / 100 * (COALESCE(hi90, lo90) - lo90)         AS p90_ns,
       lo99 + ((n - 1) * 99 % 100) * 1.0 / 100 * (COALESCE(hi99, lo99) - lo99)         AS p99_ns,
       lo999 + ((n - 1) * 999 % 1000) * 1.0 / 1000 * (COALESCE(hi999, lo999) - lo999) AS p999_ns
FROM (
  SELECT r.run_id, 'queue' AS metric, g.n,
         MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 1 THEN r.v END) OVER w AS lo50,
         MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 2 THEN r.v END) OVER w AS hi50,
         MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 1 THEN r.v END) OVER w AS lo90,
         MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 2 THEN r.v END) OVER w AS hi90,
         MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 1 THEN r.v END) OVER w AS lo99,
         MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 2 THEN r.v END) OVER w AS hi99,
         MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 1 THEN r.v END) OVER w AS lo999,
         MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 2 THEN r.v END) OVER w AS hi999,
         ROW_NUMBER() OVER w AS pick
  FROM (SELECT run_id, v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY v) AS rn
        FROM (SELECT q.run_id, q.admitted_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL) r
  CROSS JOIN (SELECT run_id, COUNT(*) AS n FROM (SELECT q.run_id, q.admitted_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL GROUP BY run_id) g
  WHERE g.run_id = r.run_id AND r.rn IN ((g.n - 1) * 50 / 100 + 1, (g.n - 1) * 50 / 100 + 2, (g.n - 1) * 90 / 100 + 1, (g.n - 1) * 90 / 100 + 2, (g.n - 1) * 99 / 100 + 1, (g.n - 1) * 99 / 100 + 2, (g.n - 1) * 999 / 1000 + 1, (g.n - 1) * 999 / 1000 + 2)
  WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1)
UNION ALL
SELECT * FROM (SELECT run_id, metric, n,
       lo50 + ((n - 1) * 50 % 100) * 1.0 / 100 * (COALESCE(hi50, lo50) - lo50)         AS p50_ns,
       lo90 + ((n - 1) * 90 % 100) * 1.0 / 100 * (COALESCE(hi90, lo90) - lo90)         AS p90_ns,
       lo99 + ((n - 1) * 99 % 100) * 1.0 / 100 * (COALESCE(hi99, lo99) - lo99)         AS p99_ns,
       lo999 + ((n - 1) * 999 % 1000) * 1.0 / 1000 * (COALESCE(hi999, lo999) - lo999) AS p999_ns
FROM (
  SELECT r.run_id, 'tpot' AS metric, g.n,
         MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 1 THEN r.v END) OVER w AS lo50,
         MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 2 THEN r.v END) OVER w AS hi50,
         MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 1 THEN r.v END) OVER w AS lo90,
         MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 2 THEN r.v END) OVER w AS hi90,
         MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 1 THEN r.v END) OVER w AS lo99,
         MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 2 THEN r.v END) OVER w AS hi99,
         MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 1 THEN r.v END) OVER w AS lo999,
         MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 2 THEN r.v END) OVER w AS hi999,
         ROW_NUMBER() OVER w AS pick
  FROM (SELECT run_id, v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY v) AS rn
        FROM (SELECT q.run_id, CASE WHEN q.output_tokens >= 2 THEN (q.finished_ns - q.first_token_ns) * 1.0 / (q.output_tokens - 1) END AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL) r
  CROSS JOIN (SELECT run_id, COUNT(*) AS n FROM (SELECT q.run_id, CASE WHEN q.output_tokens >= 2 THEN (q.finished_ns - q.first_token_ns) * 1.0 / (q.output_tokens - 1) END AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL GROUP BY run_id) g
  WHERE g.run_id = r.run_id AND r.rn IN ((g.n - 1) * 50 / 100 + 1, (g.n - 1) * 50 / 100 + 2, (g.n - 1) * 90 / 100 + 1, (g.n - 1) * 90 / 100 + 2, (g.n - 1) * 99 / 100 + 1, (g.n - 1) * 99 / 100 + 2, (g.n - 1) * 999 / 1000 + 1, (g.n - 1) * 999 / 1000 + 2)
  WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1)
UNION ALL
SELECT * FROM (SELECT run_id, metric, n,
       lo50 + ((n - 1) * 50 % 100) * 1.0 / 100 * (COALESCE(hi50, lo50) - lo50)         AS p50_ns,
       lo90 + ((n - 1) * 90 % 100) * 1.0 / 100 * (COALESCE(hi90, lo90) - lo90)         AS p90_ns,
       lo99 + ((n - 1) * 99 % 100) * 1.0 / 100 * (COALESCE(hi99, lo99) - lo99)         AS p99_ns,
       lo999 + ((n - 1) * 999 % 1000) * 1.0 / 1000 * (COALESCE(hi999, lo999) - lo999) AS p999_ns
FROM (
  SELECT r.run_id, 'ttft' AS metric, g.n,
         MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 1 THEN r.v END) OVER w AS lo50,
         MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 2 THEN r.v END) OVER w AS hi50,
         MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 1 THEN r.v END) OVER w AS lo90,
         MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 2 THEN r.v END) OVER w AS hi90,
         MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 1 THEN r.v END) OVER w AS lo99,
         MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 2 THEN r.v END) OVER w AS hi99,
         MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 1 THEN r.v END) OVER w AS lo999,
         MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 2 THEN r.v END) OVER w AS hi999,
         ROW_NUMBER() OVER w AS pick
  FROM (SELECT run_id, v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY v) AS rn
        FROM (SELECT q.run_id, q.first_token_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL) r
  CROSS JOIN (SELECT run_id, COUNT(*) AS n FROM (SELECT q.run_id, q.first_token_ns - q.arrival_ns AS v FROM requests q WHERE q.status = 'completed') WHERE v IS NOT NULL GROUP BY run_id) g
  WHERE g.run_id = r.run_id AND r.rn IN ((g.n - 1) * 50 / 100 + 1, (g.n - 1) * 50 / 100 + 2, (g.n - 1) * 90 / 100 + 1, (g.n - 1) * 90 / 100 + 2, (g.n - 1) * 99 / 100 + 1, (g.n - 1) * 99 / 100 + 2, (g.n - 1) * 999 / 1000 + 1, (g.n - 1) * 999 / 1000 + 2)
  WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1))
ORDER BY run_id, metric;
