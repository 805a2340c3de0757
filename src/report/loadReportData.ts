import type { ComparedRun } from "../db/compareRuns.js"
import type { Database } from "better-sqlite3"

/** A curve as parallel arrays (x ascending). */
export interface Curve {
  readonly x: number[]
  readonly y: number[]
}

/** Everything `moska report` draws for one run, JSON-serializable; times in s or ms as named. */
export interface RunReportData extends ComparedRun {
  readonly startedAt: string
  readonly wallS: number | null
  readonly spanS: number
  /** Outcomes and throughput (the `throughput` view). */
  readonly requests: { readonly total: number; readonly completed: number; readonly rejected: number }
  readonly outputTokensPerS: number | null
  /** Nearest-rank percentiles (ms) by metric: ttft, tpot, itl, e2e, queue (itl only with token rows). */
  readonly percentilesMs: Readonly<Record<string, { readonly n: number; readonly p50: number; readonly p90: number; readonly p99: number }>>
  /** Empirical CDFs (x in ms, y the fraction of samples <= x), at most CDF_POINTS points each. */
  readonly cdf: Readonly<Record<"ttft" | "tpot" | "itl" | "e2e", Curve | null>>
  /** Time bins from the run's first arrival: bin start times (s) and the series over them. */
  readonly timeline: {
    readonly t: number[]
    readonly binS: number
    /** Median TTFT and TPOT (ms) of the requests arriving in each bin; null where none did. */
    readonly ttftP50Ms: Array<number | null>
    readonly tpotP50Ms: Array<number | null>
    /** Output tokens per second in each bin; `tokensFrom` says how they were counted. */
    readonly tokensPerS: number[]
    readonly tokensFrom: "token rows" | "request rows"
    readonly completedPerS: number[]
    /** The most requests waiting for admission (arrived, not admitted) at any time in the bin. */
    readonly queueMax: number[]
    /** Busy fraction of each worker per bin (union of its kernel intervals). */
    readonly utilization: Array<{ readonly workerId: string; readonly busy: number[] }>
  }
  /** Kernel batches by kind: count and total time (ms). */
  readonly kernelsByKind: Array<{ readonly kind: string; readonly batches: number; readonly totalMs: number }>
  /** Histogram of stacked rows per chunk GEMM (kernel rows with a chunk id; routingMode exact), or null. */
  readonly rowsPerChunkGemm: { readonly rows: number[]; readonly gemms: number[] } | null
  /** The decoded scenario with defaults (runs.scenario_json) and the engine's resolved configuration (summary_json.engine.config). */
  readonly scenario: unknown
  readonly engineConfig: unknown
}

export const CDF_POINTS = 600
export const TIME_BINS = 120

const parse = (s: string | null): unknown => {
  if (s === null) return null
  try {
    return JSON.parse(s) as unknown
  } catch {
    return null
  }
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null
  xs.sort((a, b) => a - b)
  return xs[Math.ceil(0.5 * xs.length) - 1] as number
}

/** Empirical CDF of sorted values (ns → ms), thinned to at most CDF_POINTS with x strictly increasing. */
const cdfOf = (sorted: readonly number[]): Curve | null => {
  const n = sorted.length
  if (n === 0) return null
  const x: number[] = []
  const y: number[] = []
  const step = Math.max(1, Math.floor(n / CDF_POINTS))
  for (let i = 0; i < n; i += step) {
    // the last index holding this value, so y is the fraction <= x
    let j = Math.min(n - 1, i + step - 1)
    while (j + 1 < n && sorted[j + 1] === sorted[j]) j++
    const v = (sorted[j] as number) / 1e6
    if (x.length > 0 && v <= (x[x.length - 1] as number)) {
      y[y.length - 1] = (j + 1) / n
    } else {
      x.push(v)
      y.push((j + 1) / n)
    }
    i = j + 1 - step
  }
  return { x, y }
}

/** Adds the overlap of [s, e) (ns, relative to the run start) with each bin, times `weight` per ns. */
const spread = (out: number[], binNs: number, s: number, e: number, weight: number): void => {
  if (e <= s) return
  const first = Math.max(0, Math.floor(s / binNs))
  const last = Math.min(out.length - 1, Math.floor((e - 1) / binNs))
  for (let b = first; b <= last; b++) {
    const lo = Math.max(s, b * binNs)
    const hi = Math.min(e, (b + 1) * binNs)
    if (hi > lo) out[b] = (out[b] as number) + (hi - lo) * weight
  }
}

/**
 * Reads what the report draws for one run, every figure through the run's primary keys. Large runs
 * are summarized here (thinned CDFs, TIME_BINS time bins), so the HTML stays small.
 * @example const data = loadReportData(db, 3)
 */
export const loadReportData = (db: Database, runId: number): RunReportData => {
  const run = db.prepare("SELECT * FROM runs WHERE run_id = ?").get(runId) as Record<string, unknown> | undefined
  if (run === undefined) throw new Error(`no run ${runId}`)
  const tp = db.prepare("SELECT * FROM throughput WHERE run_id = ?").get(runId) as Record<string, number | null> | undefined
  const span = db.prepare("SELECT start_ns, span_ns FROM run_span WHERE run_id = ?").get(runId) as { start_ns: number; span_ns: number } | undefined
  const startNs = span?.start_ns ?? 0
  const spanNs = Math.max(1, span?.span_ns ?? 0)
  const binNs = spanNs / TIME_BINS
  const zeros = () => Array<number>(TIME_BINS).fill(0)

  const percentiles: Record<string, { n: number; p50: number; p90: number; p99: number }> = {}
  const pct = db.prepare("SELECT * FROM latency_percentiles WHERE run_id = ? UNION ALL SELECT * FROM itl_percentiles WHERE run_id = ?").all(runId, runId) as Array<Record<string, number | string>>
  for (const r of pct) {
    percentiles[r.metric as string] = { n: r.n as number, p50: (r.p50_ns as number) / 1e6, p90: (r.p90_ns as number) / 1e6, p99: (r.p99_ns as number) / 1e6 }
  }
  const sortedSamples = (metric: string) =>
    db.prepare("SELECT v FROM latency_samples WHERE run_id = ? AND metric = ? ORDER BY v").pluck().all(runId, metric) as number[]
  const itl = db.prepare("SELECT itl_ns FROM inter_token_latency WHERE run_id = ? ORDER BY itl_ns").pluck().all(runId) as number[]

  // per-request series: latency by arrival bin, completions, tokens (if no token rows), queue
  const reqs = db.prepare(`SELECT arrival_ns, admitted_ns, first_token_ns, finished_ns, output_tokens, status
                           FROM requests WHERE run_id = ?`).raw().all(runId) as Array<[number, number | null, number | null, number | null, number, string]>
  const ttftBins: number[][] = Array.from({ length: TIME_BINS }, () => [])
  const tpotBins: number[][] = Array.from({ length: TIME_BINS }, () => [])
  const completed = zeros()
  const spreadTokens = zeros()
  const bin = (ns: number) => Math.min(TIME_BINS - 1, Math.max(0, Math.floor((ns - startNs) / binNs)))
  const queueEvents: Array<[number, number]> = []
  for (const [arrival, admitted, first, finished, tokens, status] of reqs) {
    queueEvents.push([arrival, 1], [admitted ?? finished ?? arrival, -1])
    if (status !== "completed" || first === null || finished === null) continue
    ;(ttftBins[bin(arrival)] as number[]).push((first - arrival) / 1e6)
    if (tokens >= 2) (tpotBins[bin(arrival)] as number[]).push((finished - first) / (tokens - 1) / 1e6)
    completed[bin(finished)] = (completed[bin(finished)] as number) + 1
    // the first token at first_token_ns, the others evenly over (first, finished]
    spreadTokens[bin(first)] = (spreadTokens[bin(first)] as number) + 1
    if (tokens >= 2) spread(spreadTokens, binNs, first - startNs, finished - startNs, (tokens - 1) / Math.max(1, finished - first))
  }
  const tokenBins = db.prepare(`SELECT MIN(:bins - 1, MAX(0, CAST((at_ns - :start) / :bin AS INTEGER))) AS b, COUNT(*) AS n
                                FROM tokens WHERE run_id = :run GROUP BY b`).raw().all({ run: runId, start: startNs, bin: binNs, bins: TIME_BINS }) as Array<[number, number]>
  const tokenCounts = zeros()
  for (const [b, n] of tokenBins) tokenCounts[b] = n
  const fromTokenRows = tokenBins.length > 0

  queueEvents.sort((a, b) => a[0] - b[0] || a[1] - b[1]) // leaving before arriving at the same instant
  const queueMax = zeros()
  let waiting = 0
  let b = 0
  for (const [at, d] of queueEvents) {
    const eb = bin(at)
    for (; b < eb; b++) queueMax[b + 1] = Math.max(queueMax[b + 1] as number, waiting)
    waiting += d
    queueMax[eb] = Math.max(queueMax[eb] as number, waiting)
  }

  // worker utilization: merge each worker's intervals, then spread the busy time over the bins
  const utilization: Array<{ workerId: string; busy: number[] }> = []
  let current: { workerId: string; busy: number[] } | undefined
  let openS = 0
  let openE = -1
  const close = () => {
    if (current !== undefined && openE > openS) spread(current.busy, binNs, openS - startNs, openE - startNs, 1 / binNs)
  }
  for (const [w, s, e] of db.prepare("SELECT worker_id, start_ns, end_ns FROM kernels WHERE run_id = ? ORDER BY worker_id, start_ns, end_ns").raw().iterate(runId) as IterableIterator<[string, number, number]>) {
    if (current?.workerId !== w) {
      close()
      current = { workerId: w, busy: zeros() }
      utilization.push(current)
      openS = s
      openE = e
    } else if (s > openE) {
      close()
      openS = s
      openE = e
    } else openE = Math.max(openE, e)
  }
  close()
  // Trace level totals keeps sums per window (db/026): a window's busy time is spread evenly over
  // the part of it inside the run's span (the last window ends with the run).
  if (utilization.length === 0) {
    for (const [w, at, len, busy] of db.prepare(`SELECT worker_id, window_ns, MAX(window_len), SUM(busy_ns) FROM kernel_totals WHERE run_id = ?
                                                 GROUP BY worker_id, window_ns ORDER BY worker_id, window_ns`).raw().iterate(runId) as IterableIterator<[string, number, number, number]>) {
      if (current?.workerId !== w) utilization.push((current = { workerId: w, busy: zeros() }))
      const s0 = Math.max(at, startNs)
      const e0 = Math.min(at + len, startNs + spanNs)
      if (e0 > s0) spread(current.busy, binNs, s0 - startNs, e0 - startNs, busy / (e0 - s0) / binNs)
    }
  }

  const kernelsByKind = (db.prepare(`SELECT kind, COUNT(*) AS batches, SUM(end_ns - start_ns) / 1e6 AS totalMs
                                     FROM kernels WHERE run_id = ? GROUP BY kind
                                     UNION ALL
                                     SELECT kind, SUM(batches), SUM(busy_ns) / 1e6 FROM kernel_totals WHERE run_id = ? GROUP BY kind
                                     ORDER BY 1`).all(runId, runId) as Array<{ kind: string; batches: number; totalMs: number }>)
  const chunkRows = db.prepare(`SELECT queries, COUNT(*) FROM kernels WHERE run_id = ? AND chunk_id IS NOT NULL
                                GROUP BY queries ORDER BY queries`).raw().all(runId) as Array<[number, number]>
  const summary = parse(run.summary_json as string | null) as { engine?: { config?: unknown } } | null
  const round = (v: number) => Math.round(v * 1e6) / 1e6
  return {
    runId,
    label: (run.label as string | null) ?? null,
    mode: run.mode as string,
    system: run.system as string,
    scenarioName: run.scenario_name as string,
    seed: run.seed as number,
    status: run.status as string,
    startedAt: run.started_at as string,
    wallS: (run.wall_s as number | null) ?? null,
    spanS: (span?.span_ns ?? 0) / 1e9,
    requests: { total: tp?.requests ?? 0, completed: tp?.completed ?? 0, rejected: tp?.rejected ?? 0 },
    outputTokensPerS: tp?.output_tokens_per_s ?? null,
    percentilesMs: percentiles,
    cdf: { ttft: cdfOf(sortedSamples("ttft")), tpot: cdfOf(sortedSamples("tpot")), itl: cdfOf(itl), e2e: cdfOf(sortedSamples("e2e")) },
    timeline: {
      t: Array.from({ length: TIME_BINS }, (_, i) => round((i * binNs) / 1e9)),
      binS: binNs / 1e9,
      ttftP50Ms: ttftBins.map(median),
      tpotP50Ms: tpotBins.map(median),
      tokensPerS: (fromTokenRows ? tokenCounts : spreadTokens).map((n) => round(n / (binNs / 1e9))),
      tokensFrom: fromTokenRows ? "token rows" : "request rows",
      completedPerS: completed.map((n) => round(n / (binNs / 1e9))),
      queueMax,
      utilization: utilization.map((u) => ({ workerId: u.workerId, busy: u.busy.map(round) })),
    },
    kernelsByKind,
    rowsPerChunkGemm: chunkRows.length > 0 ? { rows: chunkRows.map((r) => r[0]), gemms: chunkRows.map((r) => r[1]) } : null,
    scenario: parse(run.scenario_json as string),
    engineConfig: summary?.engine?.config ?? null,
  }
}
