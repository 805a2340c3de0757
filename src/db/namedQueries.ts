/** One named query; `params` are the `:name` parameters it needs besides `:run` (`moska query --param name=value`). */
export interface NamedQuery {
  readonly description: string
  readonly sql: string
  readonly params?: Readonly<Record<string, string>>
}

/**
 * The named queries of `moska query NAME`. Each takes the run id as `:run` (except `runs`); times
 * are converted to ms. Raw SQL given to `moska query` may use `:run` too. Percentiles are
 * nearest-rank unless the name says `linear` (numpy's default interpolation); see db/006.
 * @example db.prepare(NAMED_QUERIES.ttft.sql).all({ run: 3 })
 */
export const NAMED_QUERIES: Readonly<Record<string, NamedQuery>> = {
  runs: {
    description: "every run in the database, newest last",
    sql: `SELECT run_id, label, mode, system, scenario_name, seed, status, started_at, wall_s,
                 simulated_ns / 1e9 AS simulated_s, events, code_version
          FROM runs ORDER BY run_id`,
  },
  summary: {
    // `l.run_id = :run` besides the join term: SQLite pushes only that one into the view, so a file's
    // other runs are not ranked too (0.64 s -> 0.09 s beside a 100k-request run, docs/sim-speed)
    description: "requests by outcome, throughput and TTFT/TPOT/E2E percentiles (ms) of the run",
    sql: `SELECT t.requests, t.completed, t.rejected, t.cancelled, t.failed, t.output_tokens,
                 t.span_ns / 1e9 AS span_s, t.output_tokens_per_s, t.requests_per_s,
                 l.metric, l.n, l.p50_ns / 1e6 AS p50_ms, l.p90_ns / 1e6 AS p90_ms, l.p99_ns / 1e6 AS p99_ms,
                 l.p999_ns / 1e6 AS p999_ms
          FROM throughput t LEFT JOIN latency_percentiles l ON l.run_id = t.run_id AND l.run_id = :run AND l.metric IN ('ttft', 'tpot', 'e2e')
          WHERE t.run_id = :run ORDER BY CASE l.metric WHEN 'ttft' THEN 0 WHEN 'tpot' THEN 1 ELSE 2 END`,
  },
  latency: {
    description: "percentiles (ms) of every latency metric: ttft, tpot, e2e, queue",
    sql: `SELECT metric, n, mean_ns / 1e6 AS mean_ms, min_ns / 1e6 AS min_ms, p50_ns / 1e6 AS p50_ms, p90_ns / 1e6 AS p90_ms,
                 p99_ns / 1e6 AS p99_ms, p999_ns / 1e6 AS p999_ms, max_ns / 1e6 AS max_ms
          FROM latency_percentiles WHERE run_id = :run
          ORDER BY CASE metric WHEN 'ttft' THEN 0 WHEN 'tpot' THEN 1 WHEN 'e2e' THEN 2 ELSE 3 END`,
  },
  latency_linear: {
    description: "the same metrics with linear-interpolation percentiles (ms; numpy's default, as vLLM's benchmark reports)",
    sql: `SELECT metric, n, p50_ns / 1e6 AS p50_ms, p90_ns / 1e6 AS p90_ms, p99_ns / 1e6 AS p99_ms, p999_ns / 1e6 AS p999_ms
          FROM latency_percentiles_linear WHERE run_id = :run
          ORDER BY CASE metric WHEN 'ttft' THEN 0 WHEN 'tpot' THEN 1 WHEN 'e2e' THEN 2 ELSE 3 END`,
  },
  itl: {
    description: "inter-token latency (ms, from token rows: run with trace: tokens), nearest-rank and linear percentiles",
    sql: `SELECT 'nearest-rank' AS method, n, mean_ns / 1e6 AS mean_ms, p50_ns / 1e6 AS p50_ms, p90_ns / 1e6 AS p90_ms,
                 p99_ns / 1e6 AS p99_ms, p999_ns / 1e6 AS p999_ms, max_ns / 1e6 AS max_ms
          FROM itl_percentiles WHERE run_id = :run
          UNION ALL
          SELECT 'linear', n, NULL, p50_ns / 1e6, p90_ns / 1e6, p99_ns / 1e6, p999_ns / 1e6, NULL
          FROM itl_percentiles_linear WHERE run_id = :run`,
  },
  hot_chunks: {
    description: "shared chunks by query rows stacked, hottest first: GEMMs and mean rows per GEMM (any moska run, fast mode too; basis: counted, or expected from a random law)",
    sql: `SELECT chunk_id, rows, gemms, rows / NULLIF(gemms, 0) AS rows_per_gemm,
                 rows * 1.0 / (SELECT SUM(rows) FROM chunk_stats WHERE run_id = :run) AS share_of_rows, basis
          FROM chunk_stats WHERE run_id = :run ORDER BY rows DESC, chunk_id`,
  },
  chunk_gemm_rows: {
    description: "how many query rows a chunk GEMM stacked: GEMMs by rows (as priced, after any batch cap), with their share and running share",
    sql: `SELECT rows, gemms, gemms * 1.0 / SUM(gemms) OVER () AS share,
                 SUM(gemms) OVER (ORDER BY rows) * 1.0 / SUM(gemms) OVER () AS cumulative_share
          FROM chunk_gemm_sizes WHERE run_id = :run ORDER BY rows`,
  },
  goodput: {
    description: "SLO attainment and goodput for TTFT and TPOT bounds: requests meeting both / all requests (rejected ones miss), and per second",
    params: {
      ttft_ms: "TTFT bound in ms (time to first token <= bound)",
      tpot_ms: "TPOT bound in ms (requests with one output token have no TPOT and meet it)",
    },
    sql: `WITH q AS (
            SELECT status = 'completed' AND first_token_ns - arrival_ns <= :ttft_ms * 1e6 AS ttft_ok,
                   status = 'completed' AND (output_tokens < 2
                     OR (finished_ns - first_token_ns) * 1.0 / (output_tokens - 1) <= :tpot_ms * 1e6) AS tpot_ok,
                   status, output_tokens, arrival_ns, COALESCE(finished_ns, arrival_ns) AS end_ns
            FROM requests WHERE run_id = :run
          )
          SELECT COUNT(*) AS requests, SUM(status = 'completed') AS completed,
                 SUM(ttft_ok) AS met_ttft, SUM(tpot_ok) AS met_tpot, SUM(ttft_ok AND tpot_ok) AS met_slo,
                 SUM(ttft_ok AND tpot_ok) * 1.0 / COUNT(*) AS attainment,
                 (MAX(end_ns) - MIN(arrival_ns)) / 1e9 AS span_s,
                 SUM(ttft_ok AND tpot_ok) * 1e9 / NULLIF(MAX(end_ns) - MIN(arrival_ns), 0) AS goodput_requests_per_s,
                 COALESCE(SUM(CASE WHEN ttft_ok AND tpot_ok THEN output_tokens END), 0) * 1e9
                   / NULLIF(MAX(end_ns) - MIN(arrival_ns), 0) AS goodput_tokens_per_s
          FROM q`,
  },
  ...Object.fromEntries(
    (
      [
        ["ttft", "time to first token"],
        ["tpot", "time per output token, (finished - first token) / (output tokens - 1), requests with >= 2 tokens"],
        ["e2e", "end-to-end latency, arrival to last token"],
      ] as const
    ).map(([m, what]) => [
      m,
      {
        description: `${what}: p50/p90/p99/p99.9 (ms) of completed requests`,
        sql: `SELECT n, mean_ns / 1e6 AS mean_ms, p50_ns / 1e6 AS p50_ms, p90_ns / 1e6 AS p90_ms, p99_ns / 1e6 AS p99_ms,
                     p999_ns / 1e6 AS p999_ms, max_ns / 1e6 AS max_ms
              FROM latency_percentiles WHERE run_id = :run AND metric = '${m}'`,
      },
    ]),
  ),
  throughput: {
    description: "output tokens and completed requests per second of the run's span",
    sql: `SELECT requests, completed, rejected, cancelled, failed, output_tokens, span_ns / 1e9 AS span_s,
                 output_tokens_per_s, requests_per_s
          FROM throughput WHERE run_id = :run`,
  },
  utilization: {
    description: "per worker: batches, busy time and busy / run span (trace level totals: the batches' summed time)",
    // The worker_utilization view (db/003) with the run filter inside: SQLite does not push
    // `run_id = ?` into window functions, and the view would rank every run's kernels first.
    // test/db/traceDb.test.ts checks that both give the same rows.
    sql: `WITH k AS (
            SELECT worker_id, start_ns, end_ns, flops, bytes,
                   MAX(end_ns) OVER (PARTITION BY worker_id ORDER BY start_ns, end_ns
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
            FROM kernels WHERE run_id = :run
          ), b AS (
            SELECT *, SUM(CASE WHEN prev_end IS NULL OR start_ns > prev_end THEN 1 ELSE 0 END)
                        OVER (PARTITION BY worker_id ORDER BY start_ns, end_ns ROWS UNBOUNDED PRECEDING) AS block
            FROM k
          ), blocks AS (
            SELECT worker_id, block, MIN(start_ns) AS s, MAX(end_ns) AS e, COUNT(*) AS batches,
                   SUM(flops) AS flops, SUM(bytes) AS bytes
            FROM b GROUP BY worker_id, block
          )
          SELECT w.worker_id, SUM(w.batches) AS batches, SUM(w.e - w.s) / 1e9 AS busy_s, s.span_ns / 1e9 AS span_s,
                 CASE WHEN s.span_ns > 0 THEN SUM(w.e - w.s) * 1.0 / s.span_ns END AS utilization,
                 SUM(w.flops) AS flops, SUM(w.bytes) AS bytes
          FROM blocks w JOIN run_span s ON s.run_id = :run
          GROUP BY w.worker_id
          UNION ALL
          SELECT t.worker_id, SUM(t.batches), SUM(t.busy_ns) / 1e9, s.span_ns / 1e9,
                 CASE WHEN s.span_ns > 0 THEN SUM(t.busy_ns) * 1.0 / s.span_ns END, SUM(t.flops), SUM(t.bytes)
          FROM kernel_totals t JOIN run_span s ON s.run_id = :run
          WHERE t.run_id = :run GROUP BY t.worker_id
          ORDER BY 1`,
  },
  kernels: {
    description: "kernel batches by worker and kind: count, rows, total and mean time (ms)",
    sql: `SELECT worker_id, kind, COUNT(*) AS batches, SUM(queries) AS rows, SUM(end_ns - start_ns) / 1e6 AS total_ms,
                 AVG(end_ns - start_ns) / 1e6 AS mean_ms, SUM(flops) AS flops, SUM(bytes) AS bytes
          FROM kernels WHERE run_id = :run GROUP BY worker_id, kind
          UNION ALL
          SELECT worker_id, kind, SUM(batches), SUM(queries), SUM(busy_ns) / 1e6, SUM(busy_ns) * 1.0 / SUM(batches) / 1e6, SUM(flops), SUM(bytes)
          FROM kernel_totals WHERE run_id = :run GROUP BY worker_id, kind
          ORDER BY 1, 2`,
  },
  timeline: {
    description: "per window of the run's traceWindowMs (default 1 s) and worker: batches, busy time and busy / window (ms); from kernel_totals (trace level totals) or the kernel rows",
    // A batch counts in the window its end falls in, as kernel_totals sums them (db/026).
    sql: `SELECT window_ns / 1e6 AS window_ms, worker_id, SUM(batches) AS batches, SUM(queries) AS rows,
                 SUM(busy_ns) / 1e6 AS busy_ms, SUM(busy_ns) * 1.0 / MAX(window_len) AS busy_share, SUM(flops) AS flops, SUM(bytes) AS bytes
          FROM (
            SELECT worker_id, window_ns, window_len, batches, queries, busy_ns, flops, bytes FROM kernel_totals WHERE run_id = :run
            UNION ALL
            SELECT k.worker_id, k.end_ns - k.end_ns % w.len, w.len, 1, k.queries, k.end_ns - k.start_ns, k.flops, k.bytes
            FROM kernels k,
                 (SELECT CAST(coalesce(json_extract(scenario_json, '$.traceWindowMs'), 1000) * 1000000 AS INTEGER) AS len FROM runs WHERE run_id = :run) w
            WHERE k.run_id = :run
          )
          GROUP BY window_ns, worker_id ORDER BY window_ns, worker_id`,
  },

  requests: {
    description: "per completed request: ttft, tpot, e2e (ms) and token counts",
    sql: `SELECT request_id, ttft_ns / 1e6 AS ttft_ms, tpot_ns / 1e6 AS tpot_ms, e2e_ns / 1e6 AS e2e_ms,
                 queue_ns / 1e6 AS queue_ms, unique_tokens, output_tokens
          FROM request_latency WHERE run_id = :run ORDER BY request_id`,
  },
  status: {
    description: "requests by status and reason",
    sql: `SELECT status, reason, COUNT(*) AS requests FROM requests WHERE run_id = :run GROUP BY status, reason ORDER BY status, reason`,
  },
}
