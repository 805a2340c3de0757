-- latency_percentiles readable by SQLite 3.40 (Debian 12's sqlite3 CLI, Python 3.11's sqlite3).
-- The version in 004 sorted each group with `json_group_array(v ORDER BY v)`, an aggregate ORDER BY
-- that SQLite parses only from 3.44: older ones refuse the whole file ("malformed database schema
-- (latency_percentiles) - near ORDER"). Here each nearest-rank value (rank ceil(p/100 · n)) is a
-- correlated subquery that numbers the group's samples with ROW_NUMBER() and takes that rank. It
-- keeps what 004 was for: `WHERE run_id = ?` reaches the requests primary key, in the groups and in
-- each subquery (a window over the whole view, PARTITION BY run_id, would rank every run of the
-- file first; LIMIT/OFFSET cannot name the outer n). Cost: one sort per percentile rather than per
-- group. Same columns and values as 004 (test/db/sqlite340.test.ts compares them on a produced run).

DROP VIEW latency_percentiles;

-- One row per run and metric: count, mean and nearest-rank percentiles in ns.
CREATE VIEW latency_percentiles AS
SELECT g.run_id, g.metric, g.n, g.mean_ns, g.min_ns,
       (SELECT v FROM (SELECT s.v, ROW_NUMBER() OVER (ORDER BY s.v) AS rn FROM latency_samples s
                       WHERE s.run_id = g.run_id AND s.metric = g.metric)
        WHERE rn = (50 * g.n + 99) / 100)     AS p50_ns,
       (SELECT v FROM (SELECT s.v, ROW_NUMBER() OVER (ORDER BY s.v) AS rn FROM latency_samples s
                       WHERE s.run_id = g.run_id AND s.metric = g.metric)
        WHERE rn = (90 * g.n + 99) / 100)     AS p90_ns,
       (SELECT v FROM (SELECT s.v, ROW_NUMBER() OVER (ORDER BY s.v) AS rn FROM latency_samples s
                       WHERE s.run_id = g.run_id AND s.metric = g.metric)
        WHERE rn = (99 * g.n + 99) / 100)     AS p99_ns,
       (SELECT v FROM (SELECT s.v, ROW_NUMBER() OVER (ORDER BY s.v) AS rn FROM latency_samples s
                       WHERE s.run_id = g.run_id AND s.metric = g.metric)
        WHERE rn = (999 * g.n + 999) / 1000) AS p999_ns,
       g.max_ns
FROM (SELECT run_id, metric, COUNT(*) AS n, AVG(v) AS mean_ns, MIN(v) AS min_ns, MAX(v) AS max_ns
      FROM latency_samples
      GROUP BY run_id, metric) g;
