import Database from "better-sqlite3"
import { describe, expect, it } from "vitest"
import { migrate } from "../../src/db/migrate.js"
import { summarizeRun, type PercentilesMs } from "../../src/db/summarizeRun.js"
import { lcg, rowInserts } from "./syntheticRows.js"

// summarizeRun computes the latency figures itself (a sort in JS, SQLite's AVG for the means)
// rather than reading latency_percentiles; this holds it to the view, bit for bit, on runs whose
// samples are awkward: ties, fractional tpot values whose sum depends on its order, requests with
// one token (no tpot), cancelled requests, a run of one request, runs without any sample.
const ms = (v: number | null): number | null => (v === null ? null : Math.round(v) / 1e6)

/** The figures as db/025's view gives them (what summarizeRun returned before it sorted in JS). */
const fromView = (db: Database.Database, runId: number, metric: string): PercentilesMs => {
  const r = db.prepare("SELECT * FROM latency_percentiles WHERE run_id = ? AND metric = ?").get(runId, metric) as
    | { n: number; mean_ns: number; p50_ns: number; p90_ns: number; p99_ns: number; p999_ns: number; max_ns: number }
    | undefined
  if (r === undefined) return { n: 0, mean: null, p50: null, p90: null, p99: null, p999: null, max: null }
  return { n: r.n, mean: ms(r.mean_ns), p50: ms(r.p50_ns), p90: ms(r.p90_ns), p99: ms(r.p99_ns), p999: ms(r.p999_ns), max: ms(r.max_ns) }
}

/** Deterministic rows (lcg, no Math.random): runs of 1, 2, 5000 and 333 requests, one all single-token, one all cancelled. */
const fill = (db: Database.Database): number[] => {
  const next = lcg(987654)
  const { run, request: req } = rowInserts(db)
  const runs = [
    { n: 1, oneToken: false, cancelled: false },
    { n: 2, oneToken: false, cancelled: false },
    { n: 5000, oneToken: false, cancelled: false },
    { n: 333, oneToken: true, cancelled: false },
    { n: 7, oneToken: false, cancelled: true },
  ]
  db.transaction(() => {
    runs.forEach((r, i) => {
      run.run(i + 1)
      for (let k = 0; k < r.n; k++) {
        const arrival = next(1_000_000) * 1000
        const queue = next(50) * 100 // coarse steps make ties
        const ttft = queue + 1 + next(20_000_000)
        const out = r.oneToken || next(10) === 0 ? 1 : 2 + next(400)
        const finished = arrival + ttft + (out - 1) * (1 + next(70_000_000))
        const status = r.cancelled || next(25) === 0 ? "cancelled" : "completed"
        req.run(i + 1, k, arrival, arrival + queue, arrival + ttft, finished, out, out, status)
      }
    })
  })()
  return runs.map((_, i) => i + 1)
}

describe("summarizeRun", () => {
  it("gives latency_percentiles' count, mean, percentiles and max of every metric, to the bit", () => {
    const db = new Database(":memory:")
    migrate(db)
    const runs = fill(db)
    for (const runId of runs) {
      const s = summarizeRun(db, runId)
      for (const m of ["ttft", "tpot", "e2e", "queue"] as const) expect(s.latencyMs[m], `run ${runId} ${m}`).toEqual(fromView(db, runId, m))
    }
    // not vacuous: the big run has every metric, the single-token run no tpot, the cancelled run nothing
    const big = summarizeRun(db, 3).latencyMs
    expect(big.tpot.n).toBeGreaterThan(3000)
    expect(big.tpot.mean).not.toBe(big.tpot.p50)
    expect(summarizeRun(db, 4).latencyMs.tpot.n).toBe(0)
    expect(summarizeRun(db, 4).latencyMs.ttft.n).toBeGreaterThan(300)
    expect(summarizeRun(db, 5).latencyMs.e2e).toEqual({ n: 0, mean: null, p50: null, p90: null, p99: null, p999: null, max: null })
  })
})
