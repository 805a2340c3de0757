import type Database from "better-sqlite3"
import { runRecords } from "../db/runRecords.js"
import { SqliteTraceSink } from "../db/SqliteTraceSink.js"
import { summarizeRun, type RunSummary } from "../db/summarizeRun.js"
import type { BeyondPoint, BeyondStudy } from "../sim/hw/paper/beyondPlan.js"
import { runSimulation } from "../sim/runSimulation.js"
import { traceWindowNs } from "../core/traceWindowNs.js"

/** Per-chunk batching facts of a run, from its `shared.chunk` kernel rows (exact routing only). */
export interface ChunkStats {
  /** Chunk GEMMs launched (one row per chunk per batch). */
  readonly chunkBatches: number
  /** Stacked query rows per chunk GEMM: mean, nearest-rank p99, max. */
  readonly meanRows: number
  readonly p99Rows: number
  readonly maxRows: number
  /** Chunk GEMMs per unique decode step (under the global barrier: one round's chunks divided by the replicas in the round). */
  readonly chunksPerStep: number
}

/** One run's figures, all read back from the trace database. */
export interface BeyondResult {
  readonly study: BeyondStudy
  readonly system: string
  readonly x: number | string
  readonly scenario: string
  readonly runId: number
  readonly summary: RunSummary
  /** Busy fraction of the shared pool (worker_utilization view), null without one. */
  readonly sharedUtilization: number | null
  /** Mean requests per unique decode step (the decode batch). */
  readonly meanDecodeBatch: number
  readonly chunks: ChunkStats | null
  readonly config: Readonly<Record<string, number | string | boolean>>
  readonly wallS: number
}

// Nearest rank, as in db/002_views.sql: the p-th percentile of n sorted values has rank ceil(p·n/100).
const CHUNK_SQL = `
WITH c AS (
  SELECT queries, ROW_NUMBER() OVER (ORDER BY queries) AS rn, COUNT(*) OVER () AS n
  FROM kernels WHERE run_id = :run AND kind = 'shared.chunk'
)
SELECT COUNT(*) AS batches, AVG(queries) AS mean_rows, MIN(CASE WHEN rn >= (99 * n + 99) / 100 THEN queries END) AS p99_rows,
       MAX(queries) AS max_rows
FROM c`
const STEP_SQL = `SELECT COUNT(*) AS steps, AVG(queries) AS mean_batch FROM kernels WHERE run_id = :run AND kind = 'unique.iteration'`
const SHARED_UTIL_SQL = `SELECT MAX(utilization) AS u FROM worker_utilization WHERE run_id = :run AND worker_id LIKE 'shared-%'`

/**
 * Runs each planned scenario through `runSimulation` into `db` (one run row each, rows written by
 * the batched SqliteTraceSink, as `moska sim` does) and reads every figure back from the database:
 * throughput and latency percentiles from the views (`summarizeRun`), shared-pool utilization from
 * `worker_utilization`, per-chunk batch statistics from the `kernels` table. Synchronous.
 * @example runBeyondPaper({ points: beyondPlan(TINY_SCALE, "H200-cal"), openDb: () => ({ db: openTraceDb(":memory:"), close: true }), codeVersion: "dev", clock: Date.now })
 */
export const runBeyondPaper = (input: {
  readonly points: readonly BeyondPoint[]
  /**
   * The database a run goes to, and whether to close it after reading the run back. The views
   * scan every run in the database (their run_id filter is applied after the window functions), so
   * a fresh in-memory database per run keeps each read O(that run).
   */
  readonly openDb: () => { readonly db: Database.Database; readonly close: boolean }
  readonly codeVersion: string
  /** Wall clock in ms, for run metadata and progress only. */
  readonly clock: () => number
  readonly onRun?: (done: number, total: number, r: BeyondResult) => void
}): BeyondResult[] => {
  const out: BeyondResult[] = []
  for (const p of input.points) {
    const { db, close } = input.openDb()
    try {
      out.push(readRun(db, p, input))
    } finally {
      if (close) db.close()
    }
    input.onRun?.(out.length, input.points.length, out[out.length - 1] as BeyondResult)
  }
  return out
}

/** Runs one point into `db` and reads its figures back. */
const readRun = (db: Database.Database, p: BeyondPoint, input: { readonly codeVersion: string; readonly clock: () => number }): BeyondResult => {
  const sc = p.scenario
  const t0 = input.clock()
  const runId = runRecords.insertRun(db, {
    mode: "sim", system: sc.system, scenarioName: sc.name, scenarioJson: JSON.stringify(sc), seed: sc.seed,
    startedAt: new Date(t0).toISOString(), codeVersion: input.codeVersion, hardware: JSON.stringify(sc.hardware),
  })
  const sink = new SqliteTraceSink({ level: sc.trace, windowNs: traceWindowNs(sc), open: () => ({ db, runId }) })
  const result = runSimulation({ scenario: sc, sink })
  sink.flush()
  const wallS = (input.clock() - t0) / 1000
  runRecords.finishRun(db, runId, {
    status: "finished", finishedAt: new Date(input.clock()).toISOString(), wallS, simulatedNs: result.simulatedNs, events: result.events,
    summaryJson: JSON.stringify({ requests: result.requests, config: result.config }),
  })
  const c = db.prepare(CHUNK_SQL).get({ run: runId }) as { batches: number; mean_rows: number | null; p99_rows: number | null; max_rows: number | null }
  const s = db.prepare(STEP_SQL).get({ run: runId }) as { steps: number; mean_batch: number | null }
  const u = db.prepare(SHARED_UTIL_SQL).get({ run: runId }) as { u: number | null }
  const r: BeyondResult = {
    study: p.study, system: p.system, x: p.x, scenario: sc.name, runId,
    summary: summarizeRun(db, runId),
    sharedUtilization: u.u,
    meanDecodeBatch: s.mean_batch ?? 0,
    chunks: c.batches === 0 ? null : {
      chunkBatches: c.batches, meanRows: c.mean_rows ?? 0, p99Rows: c.p99_rows ?? 0, maxRows: c.max_rows ?? 0,
      chunksPerStep: s.steps > 0 ? c.batches / s.steps : 0,
    },
    config: result.config,
    wallS,
  }
  return r
}
