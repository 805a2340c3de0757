-- Run labels, inter-token latency, and linear-interpolation percentiles beside the nearest-rank ones.
--
-- Two percentile definitions, named by the view:
--   nearest rank (latency_percentiles, itl_percentiles): the value of rank ceil(p/100 · n) of the n
--     sorted values, always one of the samples;
--   linear (latency_percentiles_linear, itl_percentiles_linear): numpy's default (method='linear',
--     which vLLM's benchmark_serving reports): h = (n - 1) · p/100, x[floor h] + (h - floor h) ·
--     (x[floor h + 1] - x[floor h]) on the 0-based sorted values.
-- Each value is a correlated subquery (see db/005), so `WHERE run_id = ?` reaches the primary keys.

-- A free-form label for the run (`moska sim --label`, one per point of a sweep); NULL when not given.
ALTER TABLE runs ADD COLUMN label TEXT;

-- Inter-token latency (ns) from token rows (scenario `trace: tokens`): for every token after a
-- request's first, the time since its previous token. A self-join on the primary key, not a window
-- function, so a filter on run_id (and request_id) reaches the index.
CREATE VIEW inter_token_latency AS
SELECT t.run_id, t.request_id, t.idx, t.at_ns - p.at_ns AS itl_ns
FROM tokens t
JOIN tokens p ON p.run_id = t.run_id AND p.request_id = t.request_id AND p.idx = t.idx - 1;

-- One row per run with token rows: the ITL distribution, nearest-rank; the columns of latency_percentiles.
CREATE VIEW itl_percentiles AS
SELECT g.run_id, 'itl' AS metric, g.n, g.mean_ns, g.min_ns,
       (SELECT v FROM (SELECT s.itl_ns AS v, ROW_NUMBER() OVER (ORDER BY s.itl_ns) AS rn FROM inter_token_latency s
                       WHERE s.run_id = g.run_id)
        WHERE rn = (50 * g.n + 99) / 100) AS p50_ns,
       (SELECT v FROM (SELECT s.itl_ns AS v, ROW_NUMBER() OVER (ORDER BY s.itl_ns) AS rn FROM inter_token_latency s
                       WHERE s.run_id = g.run_id)
        WHERE rn = (90 * g.n + 99) / 100) AS p90_ns,
       (SELECT v FROM (SELECT s.itl_ns AS v, ROW_NUMBER() OVER (ORDER BY s.itl_ns) AS rn FROM inter_token_latency s
                       WHERE s.run_id = g.run_id)
        WHERE rn = (99 * g.n + 99) / 100) AS p99_ns,
       (SELECT v FROM (SELECT s.itl_ns AS v, ROW_NUMBER() OVER (ORDER BY s.itl_ns) AS rn FROM inter_token_latency s
                       WHERE s.run_id = g.run_id)
        WHERE rn = (999 * g.n + 999) / 1000) AS p999_ns,
       g.max_ns
FROM (SELECT run_id, COUNT(*) AS n, AVG(itl_ns) AS mean_ns, MIN(itl_ns) AS min_ns, MAX(itl_ns) AS max_ns
      FROM inter_token_latency
      GROUP BY run_id) g;

-- One row per run and metric (ttft, tpot, e2e, queue): linear-interpolation percentiles in ns.
CREATE VIEW latency_percentiles_linear AS
SELECT g.run_id, g.metric, g.n,
       (SELECT MIN(v) + ((g.n - 1) * 50 % 100) * 1.0 / 100 * (MAX(v) - MIN(v))
        FROM (SELECT s.v AS v, ROW_NUMBER() OVER (ORDER BY s.v) AS rn FROM latency_samples s
              WHERE s.run_id = g.run_id AND s.metric = g.metric)
        WHERE rn IN ((g.n - 1) * 50 / 100 + 1, (g.n - 1) * 50 / 100 + 2)) AS p50_ns,
       (SELECT MIN(v) + ((g.n - 1) * 90 % 100) * 1.0 / 100 * (MAX(v) - MIN(v))
        FROM (SELECT s.v AS v, ROW_NUMBER() OVER (ORDER BY s.v) AS rn FROM latency_samples s
              WHERE s.run_id = g.run_id AND s.metric = g.metric)
        WHERE rn IN ((g.n - 1) * 90 / 100 + 1, (g.n - 1) * 90 / 100 + 2)) AS p90_ns,
       (SELECT MIN(v) + ((g.n - 1) * 99 % 100) * 1.0 / 100 * (MAX(v) - MIN(v))
        FROM (SELECT s.v AS v, ROW_NUMBER() OVER (ORDER BY s.v) AS rn FROM latency_samples s
              WHERE s.run_id = g.run_id AND s.metric = g.metric)
        WHERE rn IN ((g.n - 1) * 99 / 100 + 1, (g.n - 1) * 99 / 100 + 2)) AS p99_ns,
       (SELECT MIN(v) + ((g.n - 1) * 999 % 1000) * 1.0 / 1000 * (MAX(v) - MIN(v))
        FROM (SELECT s.v AS v, ROW_NUMBER() OVER (ORDER BY s.v) AS rn FROM latency_samples s
              WHERE s.run_id = g.run_id AND s.metric = g.metric)
        WHERE rn IN ((g.n - 1) * 999 / 1000 + 1, (g.n - 1) * 999 / 1000 + 2)) AS p999_ns
FROM (SELECT run_id, metric, COUNT(*) AS n FROM latency_samples GROUP BY run_id, metric) g;

-- One row per run with token rows: the ITL distribution, linear interpolation.
CREATE VIEW itl_percentiles_linear AS
SELECT g.run_id, 'itl' AS metric, g.n,
       (SELECT MIN(v) + ((g.n - 1) * 50 % 100) * 1.0 / 100 * (MAX(v) - MIN(v))
        FROM (SELECT s.itl_ns AS v, ROW_NUMBER() OVER (ORDER BY s.itl_ns) AS rn FROM inter_token_latency s
              WHERE s.run_id = g.run_id)
        WHERE rn IN ((g.n - 1) * 50 / 100 + 1, (g.n - 1) * 50 / 100 + 2)) AS p50_ns,
       (SELECT MIN(v) + ((g.n - 1) * 90 % 100) * 1.0 / 100 * (MAX(v) - MIN(v))
        FROM (SELECT s.itl_ns AS v, ROW_NUMBER() OVER (ORDER BY s.itl_ns) AS rn FROM inter_token_latency s
              WHERE s.run_id = g.run_id)
        WHERE rn IN ((g.n - 1) * 90 / 100 + 1, (g.n - 1) * 90 / 100 + 2)) AS p90_ns,
       (SELECT MIN(v) + ((g.n - 1) * 99 % 100) * 1.0 / 100 * (MAX(v) - MIN(v))
        FROM (SELECT s.itl_ns AS v, ROW_NUMBER() OVER (ORDER BY s.itl_ns) AS rn FROM inter_token_latency s
              WHERE s.run_id = g.run_id)
        WHERE rn IN ((g.n - 1) * 99 / 100 + 1, (g.n - 1) * 99 / 100 + 2)) AS p99_ns,
       (SELECT MIN(v) + ((g.n - 1) * 999 % 1000) * 1.0 / 1000 * (MAX(v) - MIN(v))
        FROM (SELECT s.itl_ns AS v, ROW_NUMBER() OVER (ORDER BY s.itl_ns) AS rn FROM inter_token_latency s
              WHERE s.run_id = g.run_id)
        WHERE rn IN ((g.n - 1) * 999 / 1000 + 1, (g.n - 1) * 999 / 1000 + 2)) AS p999_ns
FROM (SELECT run_id, COUNT(*) AS n FROM inter_token_latency GROUP BY run_id) g;
