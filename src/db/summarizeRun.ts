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

/**
 * Reads a run's summary from the `throughput` and `latency_percentiles` views: the single source
 * of the figures `moska sim --json` prints. Flush the sink before calling.
 * @example summarizeRun(db, runId).latencyMs.ttft.p99
 */
export const summarizeRun = (db: Database, runId: number): RunSummary => {
  const t = db.prepare("SELECT * FROM throughput WHERE run_id = ?").get(runId) as
    | { requests: number; completed: number; rejected: number; cancelled: number; failed: number; output_tokens: number; span_ns: number | null; output_tokens_per_s: number | null; requests_per_s: number | null }
    | undefined
  const rows = db.prepare("SELECT * FROM latency_percentiles WHERE run_id = ?").all(runId) as Array<{
    metric: string; n: number; mean_ns: number; p50_ns: number; p90_ns: number; p99_ns: number; p999_ns: number; max_ns: number
  }>
  const metric = (name: string): PercentilesMs => {
    const r = rows.find((x) => x.metric === name)
    if (r === undefined) return { n: 0, mean: null, p50: null, p90: null, p99: null, p999: null, max: null }
    return { n: r.n, mean: ms(r.mean_ns), p50: ms(r.p50_ns), p90: ms(r.p90_ns), p99: ms(r.p99_ns), p999: ms(r.p999_ns), max: ms(r.max_ns) }
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
