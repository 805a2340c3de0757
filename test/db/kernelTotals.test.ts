import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { executeRun } from "../../src/cli/executeRun.js"
import { loadScenarioFile } from "../../src/cli/loadScenarioFile.js"
import type { KernelRow } from "../../src/core/trace.js"
import type { Ns } from "../../src/core/units.js"
import { NAMED_QUERIES } from "../../src/db/namedQueries.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"
import { runRecords } from "../../src/db/runRecords.js"
import { SqliteTraceSink } from "../../src/db/SqliteTraceSink.js"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const SMALL = join(ROOT, "test/golden/small.yaml")
const hasCli = spawnSync("sqlite3", ["--version"]).status === 0
const W = 50_000_000

const produce = (overrides: readonly string[]) => {
  const dbFile = join(mkdtempSync(join(tmpdir(), "moska-totals-")), "t.db")
  const report = executeRun({ scenario: loadScenarioFile(SMALL, overrides), dbFile, codeVersion: "test", clock: () => 0 })
  return { dbFile, runId: report.runId }
}

const TOTALS = "SELECT worker_id, kind, window_ns, batches, queries, busy_ns, flops, bytes FROM kernel_totals WHERE run_id = ? ORDER BY worker_id, kind, window_ns"
const SUMMED = `SELECT worker_id, kind, end_ns - end_ns % ${W} AS window_ns, COUNT(*) AS batches, SUM(queries) AS queries,
                       SUM(end_ns - start_ns) AS busy_ns, SUM(flops) AS flops, SUM(bytes) AS bytes
                FROM kernels WHERE run_id = ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
type Total = { worker_id: string; kind: string; window_ns: number; batches: number; queries: number; busy_ns: number; flops: number; bytes: number }

const expectSameTotals = (got: readonly Total[], want: readonly Total[]): void => {
  expect(got.map(({ flops, bytes, ...exact }) => exact)).toEqual(want.map(({ flops, bytes, ...exact }) => exact))
  got.forEach((g, i) => {
    expect(g.flops).toBeCloseTo(want[i]!.flops, -Math.ceil(Math.log10(Math.max(1, want[i]!.flops))) + 12)
    expect(g.bytes).toBeCloseTo(want[i]!.bytes, -Math.ceil(Math.log10(Math.max(1, want[i]!.bytes))) + 12)
  })
}

describe("trace level totals (kernel_totals)", () => {
  it("keeps no kernel rows, and its window sums equal the kernel rows of the same run at level kernels grouped by window of their end", () => {
    const totals = produce(["trace=totals", `traceWindowMs=${W / 1e6}`])
    const kernels = produce(["trace=kernels"])
    const t = new Database(totals.dbFile, { readonly: true })
    const k = new Database(kernels.dbFile, { readonly: true })
    expect(t.prepare("SELECT COUNT(*) FROM kernels").pluck().get()).toBe(0)
    expect(k.prepare("SELECT COUNT(*) FROM kernel_totals").pluck().get()).toBe(0)
    const got = t.prepare(TOTALS).all(totals.runId) as Total[]
    const want = k.prepare(SUMMED).all(kernels.runId) as Total[]
    expect(want.length).toBeGreaterThan(20) // several windows of several workers and kinds
    expectSameTotals(got, want)
    expect(t.prepare("SELECT DISTINCT window_len FROM kernel_totals").pluck().all()).toEqual([W])
    // the named queries answer from either table: same batches, rows and times per worker and kind
    const kernelsQ = (db: Database.Database, run: number) => (db.prepare(NAMED_QUERIES.kernels!.sql).all({ run }) as Array<Record<string, number | string>>)
      .map(({ flops, bytes, mean_ms, total_ms, ...r }) => ({ ...r, total_ms: Math.round(Number(total_ms) * 1e6) }))
    expect(kernelsQ(t, totals.runId)).toEqual(kernelsQ(k, kernels.runId))
    type Window = { window_ms: number; worker_id: string; batches: number; rows: number; busy_ms: number; busy_share: number }
    const timeline = (db: Database.Database, run: number) => (db.prepare(NAMED_QUERIES.timeline!.sql).all({ run }) as Window[])
      .map((r) => ({ window_ms: r.window_ms, worker_id: r.worker_id, batches: r.batches, rows: r.rows, busy_ms: r.busy_ms, busy_share: r.busy_share }))
    const fromTotals = timeline(t, totals.runId)
    expect(fromTotals.length).toBeGreaterThan(10)
    expect(fromTotals.some((r) => r.worker_id === "unique-0" && r.busy_share > 0.5)).toBe(true)
    // from the kernel rows, in windows of the run's traceWindowMs: the same windows as the sums
    const windowed = produce(["trace=kernels", `traceWindowMs=${W / 1e6}`])
    const kw = new Database(windowed.dbFile, { readonly: true })
    expect(timeline(kw, windowed.runId)).toEqual(fromTotals)
    kw.close()
    // without traceWindowMs a kernels run's timeline is in 1 s windows
    expect(new Set(timeline(k, kernels.runId).map((r) => r.window_ms % 1000))).toEqual(new Set([0]))
    t.close()
    k.close()
  })

  it("a run's file does not depend on when it was flushed, and a row arriving after its window was written is added to it", () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-totals-sink-"))
    const row = (workerId: string, startNs: number, endNs: number, queries: number): KernelRow =>
      ({ workerId, kind: "k", chunkId: null, queries, startNs: startNs as Ns, endNs: endNs as Ns, flops: 0.1 * queries, bytes: 3 * queries })
    const rows: KernelRow[] = []
    for (let i = 0; i < 400; i++) rows.push(row(i % 3 === 0 ? "a" : "b", i * 7_000_000, i * 7_000_000 + 5_000_000 + (i % 5) * 1_000_000, 1 + (i % 4)))
    const write = (name: string, flushEvery: number, late?: KernelRow) => {
      const db = openTraceDb(join(dir, `${name}.db`))
      const runId = runRecords.insertRun(db, { mode: "sim", system: "moska", scenarioName: name, scenarioJson: "{}", seed: 1, startedAt: "t", codeVersion: "test", hardware: "{}", label: null })
      const sink = new SqliteTraceSink({ level: "totals", windowNs: W, open: () => ({ db, runId }) })
      rows.forEach((r, i) => {
        sink.kernel(r)
        if ((i + 1) % flushEvery === 0) sink.flush()
      })
      if (late !== undefined) {
        sink.flush()
        sink.kernel(late)
      }
      sink.finish()
      sink.flush()
      const out = db.prepare(TOTALS).all(runId) as Total[]
      db.close()
      return out
    }
    const once = write("once", Number.POSITIVE_INFINITY)
    expect(once.reduce((a, t) => a + t.batches, 0)).toBe(400)
    expect(write("often", 3)).toEqual(once)
    // a reply that comes in after its window went out (live): its sum is added to the stored one
    const withLate = write("late", 10, row("a", 0, 10_000_000, 2))
    const first = (ts: Total[]) => ts.find((t) => t.worker_id === "a" && t.window_ns === 0)!
    expect(first(withLate).batches).toBe(first(once).batches + 1)
    expect(first(withLate).queries).toBe(first(once).queries + 2)
    expect(first(withLate).busy_ns).toBe(first(once).busy_ns + 10_000_000)
  })

  it.skipIf(!hasCli)("opens in the system sqlite3 (Debian 12's 3.40), the timeline query included", () => {
    const { dbFile, runId } = produce(["trace=totals"])
    const sql = NAMED_QUERIES.timeline!.sql.replaceAll(":run", String(runId))
    const r = spawnSync("sqlite3", ["-bail", "-json", dbFile, `${sql};`], { encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).length).toBeGreaterThan(2)
  })
})
