import type { Database } from "better-sqlite3"

/** The latency metrics compared, in print order; `itl` needs token rows (`trace: tokens`). */
export const COMPARED_METRICS = ["ttft", "tpot", "itl", "e2e", "queue"] as const
export type ComparedMetric = (typeof COMPARED_METRICS)[number]

/** Nearest-rank percentiles of one metric of one run, ms. */
export interface MetricPercentiles {
  readonly n: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
}

/** Kernel-level fidelity of one kernel kind: measured GPU time and wall duration, each against the prediction. */
export interface KernelKindFidelity {
  readonly kind: string
  /** Rows with a measured time > 0 and a prediction (others cannot give a relative error). */
  readonly n: number
  /** Rows of this kind left out: no prediction, or a measured time of 0. */
  readonly excluded: number
  readonly measuredMs: number
  readonly predictedMs: number
  /** Median and p90 (nearest rank) of |predicted − gpu_ns| / gpu_ns. */
  readonly gpu: { readonly medianAbsRelErr: number | null; readonly p90AbsRelErr: number | null }
  /** The same against the row's wall duration, end_ns − start_ns (rows with a duration > 0). */
  readonly wall: { readonly n: number; readonly wallMs: number; readonly medianAbsRelErr: number | null; readonly p90AbsRelErr: number | null }
}

/**
 * A run's kernel fidelity: `sim` (its durations are the prediction), `unmeasured` (a live run
 * whose executor measured nothing, e.g. `--executor priced`), or per kind.
 */
export type KernelFidelity =
  | { readonly source: "sim" }
  | { readonly source: "unmeasured" }
  | { readonly source: "measured"; readonly kinds: readonly KernelKindFidelity[] }

/** Who a run is, as comparisons and reports name it (the report data extends it). */
export interface ComparedRun {
  readonly runId: number
  readonly label: string | null
  readonly mode: string
  readonly system: string
  readonly scenarioName: string
  readonly seed: number
  readonly status: string
}

/** One scenario field whose values differ; `a` / `b` absent where the run's scenario has no such field. */
export interface ConfigDifference {
  readonly path: string
  readonly a?: unknown
  readonly b?: unknown
}

/** Everything `moska compare` prints. Relative errors are (B − A) / A; null where A is 0 or either side is missing. */
export interface RunComparison {
  readonly a: ComparedRun
  readonly b: ComparedRun
  readonly latencyMs: Readonly<Record<ComparedMetric, {
    readonly a: MetricPercentiles | null
    readonly b: MetricPercentiles | null
    readonly relErr: { readonly p50: number | null; readonly p90: number | null; readonly p99: number | null }
  }>>
  /** Mean of |B − A| / A over the requests completed in both runs (matched by request_id), per metric; null when none matched. */
  readonly requestMape: Readonly<Record<"ttft" | "tpot" | "e2e", { readonly n: number; readonly mape: number | null }>>
  readonly throughput: { readonly a: number | null; readonly b: number | null; readonly relErr: number | null }
  readonly kernels: { readonly a: KernelFidelity; readonly b: KernelFidelity }
  readonly configDiff: readonly ConfigDifference[]
}

/** A run in a database; the two runs may share one. */
export interface RunRef {
  readonly db: Database
  readonly runId: number
}

const relErr = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || a === 0 ? null : (b - a) / a

/** Nearest rank, as the database views (rank ceil(p/100 · n)); `sorted` ascending and non-empty. */
const rank = (sorted: readonly number[], p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number

const describeRun = (db: Database, runId: number): ComparedRun & { scenarioJson: string } => {
  const r = db.prepare("SELECT run_id, label, mode, system, scenario_name, seed, status, scenario_json FROM runs WHERE run_id = ?").get(runId) as
    | { run_id: number; label: string | null; mode: string; system: string; scenario_name: string; seed: number; status: string; scenario_json: string }
    | undefined
  if (r === undefined) throw new Error(`no run ${runId}`)
  return { runId: r.run_id, label: r.label, mode: r.mode, system: r.system, scenarioName: r.scenario_name, seed: r.seed, status: r.status, scenarioJson: r.scenario_json }
}

const percentiles = (db: Database, runId: number): Partial<Record<ComparedMetric, MetricPercentiles>> => {
  const rows = db.prepare(`SELECT metric, n, p50_ns, p90_ns, p99_ns FROM latency_percentiles WHERE run_id = ?
                           UNION ALL SELECT metric, n, p50_ns, p90_ns, p99_ns FROM itl_percentiles WHERE run_id = ?`)
    .all(runId, runId) as Array<{ metric: ComparedMetric; n: number; p50_ns: number; p90_ns: number; p99_ns: number }>
  return Object.fromEntries(rows.map((r) => [r.metric, { n: r.n, p50: r.p50_ns / 1e6, p90: r.p90_ns / 1e6, p99: r.p99_ns / 1e6 }]))
}

const perRequest = (db: Database, runId: number): Map<number, { ttft: number | null; tpot: number | null; e2e: number | null }> => {
  const out = new Map<number, { ttft: number | null; tpot: number | null; e2e: number | null }>()
  for (const [id, ttft, tpot, e2e] of db.prepare("SELECT request_id, ttft_ns, tpot_ns, e2e_ns FROM request_latency WHERE run_id = ?").raw().iterate(runId) as IterableIterator<[number, number | null, number | null, number | null]>) {
    out.set(id, { ttft, tpot, e2e })
  }
  return out
}

const kernelFidelity = (db: Database, runId: number, mode: string): KernelFidelity => {
  if (mode === "sim") return { source: "sim" }
  const measured = db.prepare("SELECT 1 FROM kernels WHERE run_id = ? AND gpu_ns IS NOT NULL LIMIT 1").pluck().get(runId)
  if (measured === undefined) return { source: "unmeasured" }
  const byKind = new Map<string, { excluded: number; measured: number; predicted: number; gpuErr: number[]; wall: number; wallErr: number[] }>()
  const rows = db.prepare("SELECT kind, gpu_ns, predicted_ns, end_ns - start_ns FROM kernels WHERE run_id = ? ORDER BY kind")
    .raw().iterate(runId) as IterableIterator<[string, number | null, number | null, number]>
  for (const [kind, gpu, predicted, wall] of rows) {
    let k = byKind.get(kind)
    if (k === undefined) byKind.set(kind, (k = { excluded: 0, measured: 0, predicted: 0, gpuErr: [], wall: 0, wallErr: [] }))
    // a relative error needs both figures and a measured time to divide by
    if (gpu === null || predicted === null || gpu <= 0) {
      k.excluded++
      continue
    }
    k.measured += gpu
    k.predicted += predicted
    k.gpuErr.push(Math.abs(predicted - gpu) / gpu)
    if (wall > 0) {
      k.wall += wall
      k.wallErr.push(Math.abs(predicted - wall) / wall)
    }
  }
  const kinds = [...byKind].map(([kind, k]): KernelKindFidelity => {
    k.gpuErr.sort((x, y) => x - y)
    k.wallErr.sort((x, y) => x - y)
    const some = k.gpuErr.length > 0
    const someWall = k.wallErr.length > 0
    return {
      kind,
      n: k.gpuErr.length,
      excluded: k.excluded,
      measuredMs: k.measured / 1e6,
      predictedMs: k.predicted / 1e6,
      gpu: { medianAbsRelErr: some ? rank(k.gpuErr, 50) : null, p90AbsRelErr: some ? rank(k.gpuErr, 90) : null },
      wall: {
        n: k.wallErr.length,
        wallMs: k.wall / 1e6,
        medianAbsRelErr: someWall ? rank(k.wallErr, 50) : null,
        p90AbsRelErr: someWall ? rank(k.wallErr, 90) : null,
      },
    }
  })
  return { source: "measured", kinds }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** Leaf-level differences of two JSON values: objects by key, arrays by index, everything else by value. */
const diff = (a: unknown, b: unknown, path: string, out: ConfigDifference[], has: { a: boolean; b: boolean }): void => {
  if (has.a && has.b && isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      diff(a[key], b[key], path === "" ? key : `${path}.${key}`, out, { a: key in a, b: key in b })
    }
    return
  }
  if (has.a && has.b && Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) diff(a[i], b[i], `${path}[${i}]`, out, { a: i < a.length, b: i < b.length })
    return
  }
  if (has.a === has.b && JSON.stringify(a) === JSON.stringify(b)) return
  out.push({ path, ...(has.a ? { a } : {}), ...(has.b ? { b } : {}) })
}

/**
 * The paths (`workload.ratePerS`, `hardware.pools[0].gpu`) whose values differ between two
 * scenario JSON texts, sorted by key at each level.
 * @example configDiff('{"seed":1}', '{"seed":2}') // [{ path: "seed", a: 1, b: 2 }]
 */
export const configDiff = (aJson: string, bJson: string): ConfigDifference[] => {
  const out: ConfigDifference[] = []
  diff(JSON.parse(aJson) as unknown, JSON.parse(bJson) as unknown, "", out, { a: true, b: true })
  return out
}

/**
 * Compares run B against run A (the reference; relative errors are (B − A) / A): latency
 * percentiles per metric, request-level MAPE over the requests completed in both (matched by
 * request_id, so it means something for runs of one workload, e.g. a live run and its sim
 * replay), throughput, kernel-level predicted vs measured error of each live run, and the
 * scenario fields that differ. The runs may live in two databases. Percentiles are nearest-rank,
 * as in `moska query`.
 * @example const c = compareRuns({ db, runId: 1 }, { db, runId: 2 }); c.latencyMs.tpot.relErr.p99
 */
export const compareRuns = (refA: RunRef, refB: RunRef): RunComparison => {
  const { scenarioJson: aJson, ...a } = describeRun(refA.db, refA.runId)
  const { scenarioJson: bJson, ...b } = describeRun(refB.db, refB.runId)
  const pa = percentiles(refA.db, refA.runId)
  const pb = percentiles(refB.db, refB.runId)
  const latencyMs = Object.fromEntries(COMPARED_METRICS.map((m) => {
    const x = pa[m] ?? null
    const y = pb[m] ?? null
    return [m, { a: x, b: y, relErr: { p50: relErr(x?.p50, y?.p50), p90: relErr(x?.p90, y?.p90), p99: relErr(x?.p99, y?.p99) } }]
  })) as RunComparison["latencyMs"]

  const ra = perRequest(refA.db, refA.runId)
  const rb = perRequest(refB.db, refB.runId)
  const mape = (m: "ttft" | "tpot" | "e2e") => {
    let n = 0
    let sum = 0
    for (const [id, x] of ra) {
      const va = x[m]
      const vb = rb.get(id)?.[m]
      // A = 0 (an instant first token) has no relative error
      if (va === null || vb === null || vb === undefined || va === 0) continue
      n++
      sum += Math.abs(vb - va) / Math.abs(va)
    }
    return { n, mape: n > 0 ? sum / n : null }
  }

  const tps = (ref: RunRef) =>
    (ref.db.prepare("SELECT output_tokens_per_s FROM throughput WHERE run_id = ?").pluck().get(ref.runId) as number | null | undefined) ?? null
  const ta = tps(refA)
  const tb = tps(refB)
  return {
    a,
    b,
    latencyMs,
    requestMape: { ttft: mape("ttft"), tpot: mape("tpot"), e2e: mape("e2e") },
    throughput: { a: ta, b: tb, relErr: relErr(ta, tb) },
    kernels: { a: kernelFidelity(refA.db, refA.runId, a.mode), b: kernelFidelity(refB.db, refB.runId, b.mode) },
    configDiff: configDiff(aJson, bJson),
  }
}
