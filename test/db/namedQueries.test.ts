import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { executeRun } from "../../src/cli/executeRun.js"
import { loadScenarioFile } from "../../src/cli/loadScenarioFile.js"
import type { RequestRow } from "../../src/core/trace.js"
import type { Ns } from "../../src/core/units.js"
import { NAMED_QUERIES } from "../../src/db/namedQueries.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"
import { runRecords } from "../../src/db/runRecords.js"
import { SqliteTraceSink } from "../../src/db/SqliteTraceSink.js"

const t = (x: number) => x as Ns
const start = {
  mode: "sim" as const, system: "moska", scenarioName: "t", scenarioJson: "{}", seed: 1,
  startedAt: "2026-01-01T00:00:00.000Z", codeVersion: "test", hardware: "{}",
}
const freshDb = () => openTraceDb(join(mkdtempSync(join(tmpdir(), "moska-nq-")), "t.db"))
const completed = (requestId: number, arrival: number, first: number, finished: number, outputTokens: number): RequestRow => ({
  requestId, arrivalNs: t(arrival), admittedNs: t(arrival), firstTokenNs: t(first), finishedNs: t(finished),
  uniqueTokens: 100, requestedTokens: outputTokens, outputTokens, status: "completed", reason: null,
})
const q = (name: string) => {
  const query = NAMED_QUERIES[name]
  if (query === undefined) throw new Error(`no named query ${name}`)
  return query.sql
}

/** numpy.percentile(xs, p) with the default method='linear', written out as numpy documents it. */
const numpyLinear = (sorted: readonly number[], p: number): number => {
  const h = (sorted.length - 1) * p / 100
  const lo = Math.floor(h)
  const a = sorted[lo] as number
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] as number
  return a + (h - lo) * (b - a)
}
const nearestRank = (sorted: readonly number[], p: number): number => sorted[Math.ceil(p / 100 * sorted.length) - 1] as number

describe("run labels", () => {
  it("a label given to the run is stored in its row and shown by the runs query", () => {
    const dbFile = join(mkdtempSync(join(tmpdir(), "moska-nq-")), "t.db")
    const scenario = loadScenarioFile(fileURLToPath(new URL("../golden/small.yaml", import.meta.url)))
    executeRun({ scenario, dbFile, codeVersion: "test", clock: () => 0, label: "rate=8" })
    executeRun({ scenario, dbFile, codeVersion: "test", clock: () => 0 })
    const db = openTraceDb(dbFile, { readonly: true })
    expect(db.prepare(q("runs")).all().map((r) => (r as { run_id: number; label: string | null }))
      .map((r) => [r.run_id, r.label])).toEqual([[1, "rate=8"], [2, null]])
    db.close()
  })
})

describe("inter-token latency", () => {
  it("is the gap between a request's consecutive tokens, with nearest-rank and linear percentiles", () => {
    const db = freshDb()
    const runId = runRecords.insertRun(db, start)
    const sink = new SqliteTraceSink({ open: () => ({ db, runId }), level: "tokens" })
    sink.request(completed(0, 0, 10, 26, 4))
    sink.request(completed(1, 0, 100, 300, 2))
    for (const [i, at] of [10, 15, 25, 26].entries()) sink.token({ requestId: 0, index: i, atNs: t(at) })
    for (const [i, at] of [100, 300].entries()) sink.token({ requestId: 1, index: i, atNs: t(at) })
    sink.flush()
    const itl = db.prepare("SELECT request_id, idx, itl_ns FROM inter_token_latency WHERE run_id = ? ORDER BY request_id, idx").raw().all(runId)
    expect(itl).toEqual([[0, 1, 5], [0, 2, 10], [0, 3, 1], [1, 1, 200]])
    // sorted [1, 5, 10, 200]: nearest rank p50 = rank 2, p90 = rank 4; linear p50 at h = 1.5, p90 at h = 2.7
    const rows = db.prepare(q("itl")).all({ run: runId }) as Array<Record<string, number | string | null>>
    expect(rows[0]).toMatchObject({ method: "nearest-rank", n: 4, p50_ms: 5e-6, p90_ms: 200e-6, p99_ms: 200e-6, max_ms: 200e-6 })
    expect(rows[1]?.method).toBe("linear")
    expect(rows[1]?.p50_ms).toBeCloseTo(7.5e-6, 15)
    expect(rows[1]?.p90_ms).toBeCloseTo(143e-6, 15)
    expect(rows[1]?.p99_ms).toBeCloseTo(194.3e-6, 15)
    expect(rows[1]?.p999_ms).toBeCloseTo(199.43e-6, 15)
  })
})

describe("percentiles of a produced run", () => {
  it("latency_percentiles is nearest-rank and latency_percentiles_linear is numpy's linear, for every metric and ITL", () => {
    const dbFile = join(mkdtempSync(join(tmpdir(), "moska-nq-")), "t.db")
    const scenario = loadScenarioFile(fileURLToPath(new URL("../golden/small.yaml", import.meta.url)), ["trace=tokens"])
    const { runId } = executeRun({ scenario, dbFile, codeVersion: "test", clock: () => 0 })
    const db = openTraceDb(dbFile, { readonly: true })
    const samples = (sql: string) => (db.prepare(sql).pluck().all(runId) as number[]).sort((a, b) => a - b)
    const metrics = {
      ttft: samples("SELECT v FROM latency_samples WHERE run_id = ? AND metric = 'ttft'"),
      tpot: samples("SELECT v FROM latency_samples WHERE run_id = ? AND metric = 'tpot'"),
      e2e: samples("SELECT v FROM latency_samples WHERE run_id = ? AND metric = 'e2e'"),
      queue: samples("SELECT v FROM latency_samples WHERE run_id = ? AND metric = 'queue'"),
      itl: samples("SELECT itl_ns FROM inter_token_latency WHERE run_id = ?"),
    }
    expect(metrics.itl.length).toBeGreaterThan(100)
    const nearest = db.prepare("SELECT * FROM latency_percentiles WHERE run_id = ? UNION ALL SELECT * FROM itl_percentiles WHERE run_id = ?").all(runId, runId) as Array<Record<string, number>>
    const linear = db.prepare("SELECT * FROM latency_percentiles_linear WHERE run_id = ? UNION ALL SELECT * FROM itl_percentiles_linear WHERE run_id = ?").all(runId, runId) as Array<Record<string, number>>
    let differ = 0
    for (const [metric, xs] of Object.entries(metrics)) {
      const nr = nearest.find((r) => (r.metric as unknown) === metric)
      const li = linear.find((r) => (r.metric as unknown) === metric)
      expect(nr?.n, metric).toBe(xs.length)
      expect(li?.n, metric).toBe(xs.length)
      for (const [col, p] of [["p50_ns", 50], ["p90_ns", 90], ["p99_ns", 99], ["p999_ns", 99.9]] as const) {
        expect(nr?.[col], `${metric} ${col}`).toBe(nearestRank(xs, p))
        const want = numpyLinear(xs, p)
        expect(Math.abs((li?.[col] as number) - want), `${metric} ${col}`).toBeLessThanOrEqual(Math.abs(want) * 1e-12)
        if (nr?.[col] !== li?.[col]) differ++
      }
    }
    expect(differ).toBeGreaterThan(0) // the two definitions are not the same numbers
    db.close()
  })
})

describe("goodput", () => {
  it("counts requests that meet both the TTFT and the TPOT bound, over all requests and per second", () => {
    const db = freshDb()
    const runId = runRecords.insertRun(db, start)
    const sink = new SqliteTraceSink({ open: () => ({ db, runId }) })
    const ms = 1e6
    sink.request(completed(0, 0, 100 * ms, 100 * ms + 10 * 20 * ms, 11)) // ttft 100, tpot 20: meets both
    sink.request(completed(1, 0, 300 * ms, 300 * ms + 10 * 20 * ms, 11)) // ttft 300: misses TTFT
    sink.request(completed(2, 0, 100 * ms, 100 * ms + 10 * 60 * ms, 11)) // tpot 60: misses TPOT
    sink.request(completed(3, 0, 50 * ms, 50 * ms, 1)) // one token: no TPOT, meets it
    sink.request({ ...completed(4, 0, 0, 0, 0), admittedNs: null, firstTokenNs: null, finishedNs: null, status: "rejected", reason: "AdmissionRejected" })
    sink.flush()
    const [row] = db.prepare(q("goodput")).all({ run: runId, ttft_ms: 200, tpot_ms: 50 }) as Array<Record<string, number>>
    expect(row).toMatchObject({ requests: 5, completed: 4, met_ttft: 3, met_tpot: 3, met_slo: 2, attainment: 0.4 })
    // span: arrival 0 to the last finish, 700 ms
    expect(row?.span_s).toBe(0.7)
    expect(row?.goodput_requests_per_s).toBeCloseTo(2 / 0.7, 9)
    expect(row?.goodput_tokens_per_s).toBeCloseTo(12 / 0.7, 9)
  })
})

describe("the summary query", () => {
  it("reads only the run it names (its percentile join is limited to :run, so another run's 100k requests cost nothing)", () => {
    const db = freshDb()
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${q("summary")}`).all({ run: 1 }) as Array<{ detail: string }>).map((r) => r.detail)
    // every read of requests is a search on its primary key's run_id, none a full scan
    expect(plan.filter((d) => /^SCAN (q|requests)\b/.test(d)), plan.join(" | ")).toEqual([])
    expect(plan.filter((d) => /^SEARCH (q|requests) USING PRIMARY KEY \(run_id=\?/.test(d)).length).toBeGreaterThan(1)
  })
})
