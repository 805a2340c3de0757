import type { Database } from "better-sqlite3"

/** Percentiles of one latency metric in ms (null when no request qualified). */
export interface PercentilesMs {
  readonly n: number
  readonly mean: number | null
  readonly p50: number | null
  readonly p90: number | null
  readonly p99: number | null
  readonly p999: number | null
  readonly max: number | null
}

/** What the database says about a run: outcomes, throughput and latency, all from the views. */
export interface RunSummary {
  readonly requests: {
    readonly total: number
    readonly completed: number
    readonly rejected: number
    readonly cancelled: number
    readonly failed: number
  }
  readonly outputTokens: number
  readonly spanS: number
  readonly throughput: { readonly outputTokensPerS: number | null; readonly requestsPerS: number | null }
  readonly latencyMs: { readonly ttft: PercentilesMs; readonly tpot: PercentilesMs; readonly e2e: PercentilesMs; readonly queue: PercentilesMs }
}

// ns → ms, rounded to whole ns so the JSON stays short and exact across platforms
const ms = (v: number | null): number | null => (v === null ? null : Math.round(v) / 1e6)
const perS = (v: number | null): number | null => (v === null ? null : Math.round(v * 1e6) / 1e6)

type Metric = "ttft" | "tpot" | "e2e" | "queue"

// A completed request's sample of each metric, as latency_samples (db/004) defines it; NULL is no sample.
const SAMPLE: Readonly<Record<Metric, string>> = {
  ttft: "q.first_token_ns - q.arrival_ns",
  tpot: "CASE WHEN q.output_tokens >= 2 THEN (q.finished_ns - q.first_token_ns) * 1.0 / (q.output_tokens - 1) END",
  e2e: "q.finished_ns - q.arrival_ns",
  queue: "q.admitted_ns - q.arrival_ns",
}
const METRICS = Object.keys(SAMPLE) as Metric[]
const COMPLETED = "FROM requests q WHERE q.run_id = ? AND q.status = 'completed'"
// AVG in SQLite, over the run's requests in primary-key order: the order latency_percentiles' AVG
// sums them in (db/025), so the mean is the view's to the bit (SQLite's summation, not ours).
const MEANS_SQL = `SELECT ${METRICS.map((m) => `AVG(${SAMPLE[m]})`).join(", ")} ${COMPLETED}`
const samplesSql = (m: Metric): string => `SELECT v FROM (SELECT ${SAMPLE[m]} AS v ${COMPLETED}) WHERE v IS NOT NULL`
// nearest rank ceil(p/100 · n), 1-based, in the integer arithmetic of latency_percentiles
const rank = (n: number, per: number, of: number): number => Math.floor((per * n + of - 1) / of)

/**
 * Reads a run's summary: outcomes and throughput from the `throughput` view, and the figures of
 * `latency_percentiles` (count, mean, nearest-rank percentiles, max) computed here from the same
 * samples: each metric's values read once and sorted as a Float64Array, the means from SQLite's AVG
 * in the view's order. The view ranks with a SQLite sort and window per metric, several times the
 * CPU of this at 100k requests (docs/sim-speed/README.md); test/db/summarizeRun.test.ts holds the
 * two equal. The single source of the figures `moska sim --json` prints. Flush the sink before calling.
 * @example summarizeRun(db, runId).latencyMs.ttft.p99
 */
export const summarizeRun = (db: Database, runId: number): RunSummary => {
  const t = db.prepare("SELECT * FROM throughput WHERE run_id = ?").get(runId) as
    | { requests: number; completed: number; rejected: number; cancelled: number; failed: number; output_tokens: number; span_ns: number | null; output_tokens_per_s: number | null; requests_per_s: number | null }
    | undefined
  const means = db.prepare(MEANS_SQL).raw().get(runId) as Array<number | null>
  const metric = (name: Metric): PercentilesMs => {
    // every sample of one type (INTEGER, or REAL for tpot), so numeric order is SQLite's ORDER BY v
    const v = Float64Array.from(db.prepare(samplesSql(name)).pluck().all(runId) as number[]).sort()
    const n = v.length
    if (n === 0) return { n: 0, mean: null, p50: null, p90: null, p99: null, p999: null, max: null }
    const at = (per: number, of: number): number | null => ms(v[rank(n, per, of) - 1] ?? null)
    return { n, mean: ms(means[METRICS.indexOf(name)] ?? null), p50: at(50, 100), p90: at(90, 100), p99: at(99, 100), p999: at(999, 1000), max: ms(v[n - 1] ?? null) }
  }
  return {
    requests: {
      total: t?.requests ?? 0, completed: t?.completed ?? 0, rejected: t?.rejected ?? 0, cancelled: t?.cancelled ?? 0, failed: t?.failed ?? 0,
    },
    outputTokens: t?.output_tokens ?? 0,
    spanS: (t?.span_ns ?? 0) / 1e9,
    throughput: { outputTokensPerS: perS(t?.output_tokens_per_s ?? null), requestsPerS: perS(t?.requests_per_s ?? null) },
    latencyMs: { ttft: metric("ttft"), tpot: metric("tpot"), e2e: metric("e2e"), queue: metric("queue") },
  }
}
