-- The percentile views of db/005 and db/006, with each group's samples sorted once rather than once
-- per percentile. Same columns, same values (the same samples at the same ranks, the same means:
-- the count/mean/min/max subquery is db/005's, unchanged, so AVG sums in the same order).
--
-- Each view ranks every sample of a group with ROW_NUMBER() (one sort per run and metric), keeps
-- only the rows at the ranks it needs, and spreads their values over the group's row with window
-- aggregates over those few rows. No level is an aggregate over a window: SQLite (3.40 and the
-- bundled one alike) pushes `WHERE run_id = ?` into a window subquery partitioned by run_id, and
-- from there to the requests (or tokens) primary key, but not through a GROUP BY above a window.
-- A 10k-request run's `SELECT * FROM latency_percentiles WHERE run_id = 1` takes about half the
-- time of db/005's (which numbered the group's samples four times, one correlated subquery per
-- percentile). No ORDER BY inside an aggregate (SQLite 3.40 has none, see db/005).

DROP VIEW latency_percentiles;
DROP VIEW latency_percentiles_linear;
DROP VIEW itl_percentiles;
DROP VIEW itl_percentiles_linear;

-- One row per run and metric: count, mean and nearest-rank percentiles (rank ceil(p/100 · n)) in ns.
CREATE VIEW latency_percentiles AS
SELECT run_id, metric, n, mean_ns, min_ns, p50_ns, p90_ns, p99_ns, p999_ns, max_ns
FROM (SELECT r.run_id, r.metric, g.n, g.mean_ns, g.min_ns, g.max_ns,
             MAX(CASE WHEN r.rn = (50 * g.n + 99) / 100 THEN r.v END) OVER w     AS p50_ns,
             MAX(CASE WHEN r.rn = (90 * g.n + 99) / 100 THEN r.v END) OVER w     AS p90_ns,
             MAX(CASE WHEN r.rn = (99 * g.n + 99) / 100 THEN r.v END) OVER w     AS p99_ns,
             MAX(CASE WHEN r.rn = (999 * g.n + 999) / 1000 THEN r.v END) OVER w AS p999_ns,
             ROW_NUMBER() OVER w AS pick
      FROM (SELECT run_id, metric, v, ROW_NUMBER() OVER (PARTITION BY run_id, metric ORDER BY v) AS rn
            FROM latency_samples) r
      JOIN (SELECT run_id, metric, COUNT(*) AS n, AVG(v) AS mean_ns, MIN(v) AS min_ns, MAX(v) AS max_ns
            FROM latency_samples
            GROUP BY run_id, metric) g ON g.run_id = r.run_id AND g.metric = r.metric
      WHERE r.rn IN ((50 * g.n + 99) / 100, (90 * g.n + 99) / 100, (99 * g.n + 99) / 100, (999 * g.n + 999) / 1000)
      WINDOW w AS (PARTITION BY r.run_id, r.metric))
WHERE pick = 1;

-- One row per run with token rows: the ITL distribution, nearest-rank; the columns of latency_percentiles.
CREATE VIEW itl_percentiles AS
SELECT run_id, metric, n, mean_ns, min_ns, p50_ns, p90_ns, p99_ns, p999_ns, max_ns
FROM (SELECT r.run_id, 'itl' AS metric, g.n, g.mean_ns, g.min_ns, g.max_ns,
             MAX(CASE WHEN r.rn = (50 * g.n + 99) / 100 THEN r.v END) OVER w     AS p50_ns,
             MAX(CASE WHEN r.rn = (90 * g.n + 99) / 100 THEN r.v END) OVER w     AS p90_ns,
             MAX(CASE WHEN r.rn = (99 * g.n + 99) / 100 THEN r.v END) OVER w     AS p99_ns,
             MAX(CASE WHEN r.rn = (999 * g.n + 999) / 1000 THEN r.v END) OVER w AS p999_ns,
             ROW_NUMBER() OVER w AS pick
      FROM (SELECT run_id, itl_ns AS v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY itl_ns) AS rn
            FROM inter_token_latency) r
      JOIN (SELECT run_id, COUNT(*) AS n, AVG(itl_ns) AS mean_ns, MIN(itl_ns) AS min_ns, MAX(itl_ns) AS max_ns
            FROM inter_token_latency
            GROUP BY run_id) g ON g.run_id = r.run_id
      WHERE r.rn IN ((50 * g.n + 99) / 100, (90 * g.n + 99) / 100, (99 * g.n + 99) / 100, (999 * g.n + 999) / 1000)
      WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1;

-- One row per run and metric (ttft, tpot, e2e, queue): linear-interpolation percentiles in ns
-- (numpy's default, see db/006): x[j] + frac · (x[j + 1] − x[j]) on the 1-based ranks j, j + 1 with
-- j = floor((n − 1) · p/100) + 1; x[j + 1] is x[j] when j = n (db/006 took MIN and MAX of those rows).
CREATE VIEW latency_percentiles_linear AS
SELECT run_id, metric, n,
       lo50 + ((n - 1) * 50 % 100) * 1.0 / 100 * (COALESCE(hi50, lo50) - lo50)         AS p50_ns,
       lo90 + ((n - 1) * 90 % 100) * 1.0 / 100 * (COALESCE(hi90, lo90) - lo90)         AS p90_ns,
       lo99 + ((n - 1) * 99 % 100) * 1.0 / 100 * (COALESCE(hi99, lo99) - lo99)         AS p99_ns,
       lo999 + ((n - 1) * 999 % 1000) * 1.0 / 1000 * (COALESCE(hi999, lo999) - lo999) AS p999_ns
FROM (SELECT r.run_id, r.metric, g.n,
             MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 1 THEN r.v END) OVER w    AS lo50,
             MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 2 THEN r.v END) OVER w    AS hi50,
             MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 1 THEN r.v END) OVER w    AS lo90,
             MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 2 THEN r.v END) OVER w    AS hi90,
             MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 1 THEN r.v END) OVER w    AS lo99,
             MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 2 THEN r.v END) OVER w    AS hi99,
             MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 1 THEN r.v END) OVER w AS lo999,
             MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 2 THEN r.v END) OVER w AS hi999,
             ROW_NUMBER() OVER w AS pick
      FROM (SELECT run_id, metric, v, ROW_NUMBER() OVER (PARTITION BY run_id, metric ORDER BY v) AS rn
            FROM latency_samples) r
      JOIN (SELECT run_id, metric, COUNT(*) AS n FROM latency_samples GROUP BY run_id, metric) g
        ON g.run_id = r.run_id AND g.metric = r.metric
      WHERE r.rn IN ((g.n - 1) * 50 / 100 + 1, (g.n - 1) * 50 / 100 + 2, (g.n - 1) * 90 / 100 + 1, (g.n - 1) * 90 / 100 + 2,
                     (g.n - 1) * 99 / 100 + 1, (g.n - 1) * 99 / 100 + 2, (g.n - 1) * 999 / 1000 + 1, (g.n - 1) * 999 / 1000 + 2)
      WINDOW w AS (PARTITION BY r.run_id, r.metric))
WHERE pick = 1;

-- One row per run with token rows: the ITL distribution, linear interpolation.
CREATE VIEW itl_percentiles_linear AS
SELECT run_id, metric, n,
       lo50 + ((n - 1) * 50 % 100) * 1.0 / 100 * (COALESCE(hi50, lo50) - lo50)         AS p50_ns,
       lo90 + ((n - 1) * 90 % 100) * 1.0 / 100 * (COALESCE(hi90, lo90) - lo90)         AS p90_ns,
       lo99 + ((n - 1) * 99 % 100) * 1.0 / 100 * (COALESCE(hi99, lo99) - lo99)         AS p99_ns,
       lo999 + ((n - 1) * 999 % 1000) * 1.0 / 1000 * (COALESCE(hi999, lo999) - lo999) AS p999_ns
FROM (SELECT r.run_id, 'itl' AS metric, g.n,
             MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 1 THEN r.v END) OVER w    AS lo50,
             MAX(CASE WHEN r.rn = (g.n - 1) * 50 / 100 + 2 THEN r.v END) OVER w    AS hi50,
             MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 1 THEN r.v END) OVER w    AS lo90,
             MAX(CASE WHEN r.rn = (g.n - 1) * 90 / 100 + 2 THEN r.v END) OVER w    AS hi90,
             MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 1 THEN r.v END) OVER w    AS lo99,
             MAX(CASE WHEN r.rn = (g.n - 1) * 99 / 100 + 2 THEN r.v END) OVER w    AS hi99,
             MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 1 THEN r.v END) OVER w AS lo999,
             MAX(CASE WHEN r.rn = (g.n - 1) * 999 / 1000 + 2 THEN r.v END) OVER w AS hi999,
             ROW_NUMBER() OVER w AS pick
      FROM (SELECT run_id, itl_ns AS v, ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY itl_ns) AS rn
            FROM inter_token_latency) r
      JOIN (SELECT run_id, COUNT(*) AS n FROM inter_token_latency GROUP BY run_id) g ON g.run_id = r.run_id
      WHERE r.rn IN ((g.n - 1) * 50 / 100 + 1, (g.n - 1) * 50 / 100 + 2, (g.n - 1) * 90 / 100 + 1, (g.n - 1) * 90 / 100 + 2,
                     (g.n - 1) * 99 / 100 + 1, (g.n - 1) * 99 / 100 + 2, (g.n - 1) * 999 / 1000 + 1, (g.n - 1) * 999 / 1000 + 2)
      WINDOW w AS (PARTITION BY r.run_id))
WHERE pick = 1;
