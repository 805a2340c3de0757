import type { Database } from "better-sqlite3"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { compareRuns, configDiff } from "../../src/db/compareRuns.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"
import { runRecords } from "../../src/db/runRecords.js"

const MS = 1e6
const freshDb = () => openTraceDb(join(mkdtempSync(join(tmpdir(), "moska-cmp-")), "t.db"))
const addRun = (db: Database, mode: "sim" | "live", scenario: unknown) =>
  runRecords.insertRun(db, {
    mode, system: "moska", scenarioName: "t", scenarioJson: JSON.stringify(scenario), seed: 1,
    startedAt: "2026-01-01T00:00:00.000Z", codeVersion: "test", hardware: "{}",
  })
/** A completed request arriving at 0: first token and finish in ms. */
const addRequest = (db: Database, runId: number, id: number, firstMs: number, finishedMs: number, tokens: number) =>
  db.prepare(`INSERT INTO requests (run_id, request_id, arrival_ns, admitted_ns, first_token_ns, finished_ns, unique_tokens, requested_tokens, output_tokens, status)
              VALUES (?, ?, 0, 0, ?, ?, 100, ?, ?, 'completed')`).run(runId, id, firstMs * MS, finishedMs * MS, tokens, tokens)
let seq = 0
const addKernel = (db: Database, runId: number, kind: string, k: { start: number; end: number; gpu: number | null; predicted: number | null }) =>
  db.prepare(`INSERT INTO kernels (run_id, seq, worker_id, kind, chunk_id, queries, start_ns, end_ns, flops, bytes, gpu_ns, predicted_ns)
              VALUES (?, ?, 'w0', ?, NULL, 1, ?, ?, 0, 0, ?, ?)`).run(runId, seq++, kind, k.start, k.end, k.gpu, k.predicted)

const SCENARIO_A = { seed: 1, workload: { kind: "poisson", ratePerS: 8 }, hardware: { pools: [{ gpu: "H200" }] } }
const SCENARIO_B = { seed: 1, workload: { kind: "poisson", ratePerS: 16, limit: 5 }, hardware: { pools: [{ gpu: "H100" }, { gpu: "H200" }] } }

/** Run A (sim): TTFT 10 / 20 / 40 ms, TPOT 10 / 10 ms, E2E 30 / 60 / 40 ms; run B (live) shares requests 0 and 1. */
const fill = (dbA: Database, dbB: Database) => {
  const a = addRun(dbA, "sim", SCENARIO_A)
  addRequest(dbA, a, 0, 10, 30, 3)
  addRequest(dbA, a, 1, 20, 60, 5)
  addRequest(dbA, a, 2, 40, 40, 1)
  for (const [idx, at] of [[0, 10], [1, 20], [2, 30]] as const) {
    dbA.prepare("INSERT INTO tokens (run_id, request_id, idx, at_ns) VALUES (?, 0, ?, ?)").run(a, idx, at * MS)
  }
  const b = addRun(dbB, "live", SCENARIO_B)
  addRequest(dbB, b, 0, 12, 36, 3) // +20% on TTFT, TPOT and E2E
  addRequest(dbB, b, 1, 15, 35, 5) // TTFT -25%, TPOT 5 ms (-50%), E2E 35 ms (-41.7%)
  addRequest(dbB, b, 3, 30, 30, 1) // only in B
  addKernel(dbB, b, "unique", { start: 0, end: 200, gpu: 100, predicted: 110 }) // |err| 0.1, wall 0.45
  addKernel(dbB, b, "unique", { start: 0, end: 200, gpu: 200, predicted: 150 }) // 0.25, wall 0.25
  addKernel(dbB, b, "unique", { start: 0, end: 500, gpu: 400, predicted: 400 }) // 0, wall 0.2
  addKernel(dbB, b, "unique", { start: 0, end: 50, gpu: null, predicted: 10 }) // not measured: excluded
  addKernel(dbB, b, "shared", { start: 0, end: 0, gpu: 0, predicted: 5 }) // measured 0: excluded
  addKernel(dbB, b, "shared", { start: 7, end: 7, gpu: 1000, predicted: 1500 }) // 0.5, no wall duration
  return { a, b }
}

const expectKnownAnswers = (c: ReturnType<typeof compareRuns>) => {
  expect(c.a.mode).toBe("sim")
  expect(c.b.mode).toBe("live")
  // nearest rank of [10, 20, 40] and [12, 15, 30]: p50 = 20 and 15, p90 = p99 = 40 and 30
  expect(c.latencyMs.ttft.a).toEqual({ n: 3, p50: 20, p90: 40, p99: 40 })
  expect(c.latencyMs.ttft.b).toEqual({ n: 3, p50: 15, p90: 30, p99: 30 })
  expect(c.latencyMs.ttft.relErr.p50).toBeCloseTo(-0.25, 12)
  expect(c.latencyMs.ttft.relErr.p99).toBeCloseTo(-0.25, 12)
  expect(c.latencyMs.tpot.relErr.p50).toBeCloseTo((5 - 10) / 10, 12)
  expect(c.latencyMs.tpot.relErr.p90).toBeCloseTo((12 - 10) / 10, 12)
  // token rows only in A: ITL [10, 10] ms against nothing
  expect(c.latencyMs.itl.a).toEqual({ n: 2, p50: 10, p90: 10, p99: 10 })
  expect(c.latencyMs.itl.b).toBeNull()
  expect(c.latencyMs.itl.relErr).toEqual({ p50: null, p90: null, p99: null })
  // only requests 0 and 1 are in both
  expect(c.requestMape.ttft.n).toBe(2)
  expect(c.requestMape.ttft.mape).toBeCloseTo((0.2 + 0.25) / 2, 12)
  expect(c.requestMape.tpot.mape).toBeCloseTo((0.2 + 0.5) / 2, 12)
  expect(c.requestMape.e2e.mape).toBeCloseTo((0.2 + 25 / 60) / 2, 12)
  // 9 output tokens over 60 ms and over 36 ms
  expect(c.throughput.a).toBeCloseTo(150, 9)
  expect(c.throughput.b).toBeCloseTo(250, 9)
  expect(c.throughput.relErr).toBeCloseTo(2 / 3, 9)
  expect(c.kernels.a).toEqual({ source: "sim" })
  expect(c.kernels.b).toEqual({
    source: "measured",
    kinds: [
      { kind: "shared", n: 1, excluded: 1, measuredMs: 1000 / MS, predictedMs: 1500 / MS,
        gpu: { medianAbsRelErr: 0.5, p90AbsRelErr: 0.5 }, wall: { n: 0, wallMs: 0, medianAbsRelErr: null, p90AbsRelErr: null } },
      { kind: "unique", n: 3, excluded: 1, measuredMs: 700 / MS, predictedMs: 660 / MS,
        gpu: { medianAbsRelErr: 0.1, p90AbsRelErr: 0.25 }, wall: { n: 3, wallMs: 900 / MS, medianAbsRelErr: 0.25, p90AbsRelErr: 0.45 } },
    ],
  })
  expect(c.configDiff).toEqual([
    { path: "hardware.pools[0].gpu", a: "H200", b: "H100" },
    { path: "hardware.pools[1]", b: { gpu: "H200" } },
    { path: "workload.limit", b: 5 },
    { path: "workload.ratePerS", a: 8, b: 16 },
  ])
}

describe("compareRuns", () => {
  it("gives the known percentiles, relative errors, request MAPE, throughput, kernel fidelity and config diff of two runs in one database", () => {
    const db = freshDb()
    const { a, b } = fill(db, db)
    expectKnownAnswers(compareRuns({ db, runId: a }, { db, runId: b }))
    db.close()
  })

  it("gives the same answers when the two runs live in two databases", () => {
    const dbA = freshDb()
    const dbB = freshDb()
    dbB.prepare("INSERT INTO runs (run_id, mode, system, scenario_name, scenario_json, seed, started_at, code_version, hardware) VALUES (7, 'sim', 'x', 'x', '{}', 1, 'x', 'x', '{}')").run()
    const { a, b } = fill(dbA, dbB)
    expect(b).toBe(8) // run ids overlap across files: each is read from its own database
    expectKnownAnswers(compareRuns({ db: dbA, runId: a }, { db: dbB, runId: b }))
    dbA.close()
    dbB.close()
  })

  it("says a live run without measured GPU times is unmeasured, and reverses the errors when the runs swap", () => {
    const db = freshDb()
    const { a, b } = fill(db, db)
    const priced = addRun(db, "live", SCENARIO_A)
    addRequest(db, priced, 0, 10, 30, 3)
    addKernel(db, priced, "unique", { start: 0, end: 100, gpu: null, predicted: 100 })
    expect(compareRuns({ db, runId: a }, { db, runId: priced }).kernels.b).toEqual({ source: "unmeasured" })
    const swapped = compareRuns({ db, runId: b }, { db, runId: a })
    expect(swapped.latencyMs.ttft.relErr.p50).toBeCloseTo((20 - 15) / 15, 12)
    expect(swapped.requestMape.ttft.mape).toBeCloseTo((2 / 12 + 5 / 15) / 2, 12)
    expect(swapped.configDiff[0]).toEqual({ path: "hardware.pools[0].gpu", a: "H100", b: "H200" })
    db.close()
  })
})

describe("configDiff", () => {
  it("lists nothing for equal scenarios and tells a null value from an absent field", () => {
    expect(configDiff(JSON.stringify(SCENARIO_A), JSON.stringify(SCENARIO_A))).toEqual([])
    expect(configDiff('{"x":null}', "{}")).toEqual([{ path: "x", a: null }])
    expect(configDiff('{"x":[1,2]}', '{"x":{"0":1}}')).toEqual([{ path: "x", a: [1, 2], b: { 0: 1 } }])
  })
})
