import Database from "better-sqlite3"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type { RequestRow } from "../../src/core/trace.js"
import type { Ns } from "../../src/core/units.js"
import { migrate, MIGRATIONS_DIR } from "../../src/db/migrate.js"
import { NAMED_QUERIES } from "../../src/db/namedQueries.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"
import { runRecords } from "../../src/db/runRecords.js"
import { SqliteTraceSink } from "../../src/db/SqliteTraceSink.js"
import { summarizeRun } from "../../src/db/summarizeRun.js"

const t = (x: number) => x as Ns
const start = {
  mode: "sim" as const, system: "moska", scenarioName: "t", scenarioJson: "{}", seed: 1,
  startedAt: "2026-01-01T00:00:00.000Z", codeVersion: "test", hardware: "{}",
}
const freshDb = () => openTraceDb(join(mkdtempSync(join(tmpdir(), "moska-db-")), "t.db"))
const completed = (requestId: number, arrival: number, first: number, finished: number, outputTokens: number): RequestRow => ({
  requestId, arrivalNs: t(arrival), admittedNs: t(arrival), firstTokenNs: t(first), finishedNs: t(finished),
  uniqueTokens: 100, requestedTokens: outputTokens, outputTokens, status: "completed", reason: null,
})

describe("migrations", () => {
  it("apply once and are idempotent", () => {
    const db = new Database(":memory:")
    // every NNN_*.sql of db/ in numeric order (other migrations may sit beyond these numbers)
    const versions = readdirSync(MIGRATIONS_DIR).map((f) => /^(\d+)_.*\.sql$/.exec(f)?.[1]).filter((v) => v !== undefined).map(Number).sort((a, b) => a - b)
    expect(versions.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6])
    expect(migrate(db)).toEqual(versions)
    expect(migrate(db)).toEqual([])
    expect(db.prepare("SELECT version FROM schema_version ORDER BY version").pluck().all()).toEqual(versions)
    const names = db.prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name").pluck().all()
    expect(names).toEqual(expect.arrayContaining(["runs", "requests", "kernels", "tokens", "request_latency", "latency_percentiles", "throughput", "worker_utilization", "run_span"]))
    // SQLite resolves a view's columns only when it is used: query each one
    for (const v of db.prepare("SELECT name FROM sqlite_schema WHERE type = 'view'").pluck().all() as string[]) {
      expect(() => db.prepare(`SELECT * FROM ${v} LIMIT 1`).all(), v).not.toThrow()
    }
  })

  it("refuse a database from a newer moska", () => {
    const db = new Database(":memory:")
    migrate(db)
    db.prepare("INSERT INTO schema_version VALUES (99, '099_future.sql', 'x')").run()
    expect(() => migrate(db)).toThrow(/^the trace database has schema version 99, newer than this moska knows \(\d+\); use a newer moska or another --db file$/)
  })

  it("reopening a file keeps its rows and opens in WAL mode", () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-db-"))
    const a = openTraceDb(join(dir, "x.db"))
    expect(a.pragma("journal_mode", { simple: true })).toBe("wal")
    runRecords.insertRun(a, start)
    a.close()
    const b = openTraceDb(join(dir, "x.db"))
    expect(runRecords.latestRunId(b)).toBe(1)
    b.close()
  })
})

describe("SqliteTraceSink and the views", () => {
  it("gives nearest-rank percentiles of TTFT, TPOT and E2E from hand-made rows", () => {
    const db = freshDb()
    const runId = runRecords.insertRun(db, start)
    const sink = new SqliteTraceSink({ open: () => ({ db, runId }), batchRows: 64 })
    // 1000 requests in a scrambled order: TTFT = i ms, 11 tokens over 10·i ms (TPOT = i ms), E2E = 11·i ms
    for (let k = 0; k < 1000; k++) {
      const i = ((k * 379) % 1000) + 1
      const arrival = i * 1_000
      sink.request(completed(i, arrival, arrival + i * 1e6, arrival + i * 1e6 + 10 * i * 1e6, 11))
    }
    // these must not count in latency: a rejected request and a 1-token request (no TPOT)
    sink.request({ ...completed(2000, 0, 0, 0, 0), admittedNs: null, firstTokenNs: null, finishedNs: null, status: "rejected", reason: "AdmissionRejected" })
    sink.request(completed(2001, 0, 5e6, 5e6, 1))
    sink.flush()
    const s = summarizeRun(db, runId)
    expect(s.requests).toEqual({ total: 1002, completed: 1001, rejected: 1, cancelled: 0, failed: 0 })
    expect(s.latencyMs.tpot).toMatchObject({ n: 1000, p50: 500, p90: 900, p99: 990, p999: 999, max: 1000 })
    expect(s.latencyMs.ttft).toMatchObject({ n: 1001, p50: 500, p90: 900, p99: 990, p999: 999, max: 1000 })
    expect(s.latencyMs.e2e).toMatchObject({ n: 1001, p50: 5500, p90: 9900, p99: 10890, p999: 10989, max: 11000 })
    // throughput: 11,001 tokens over the span from arrival 0 to the last finish (1000·1000 + 11000 ms)
    const spanNs = 1_000_000 + 11_000 * 1e6
    expect(s.spanS).toBe(spanNs / 1e9)
    expect(s.throughput.outputTokensPerS).toBeCloseTo((11 * 1000 + 1) / (spanNs / 1e9), 5)
    expect(sink.written.requests).toBe(1002)
  })

  it("keeps the nearest rank for small samples", () => {
    const db = freshDb()
    const runId = runRecords.insertRun(db, start)
    const sink = new SqliteTraceSink({ open: () => ({ db, runId }) })
    for (const [i, ttft] of [30, 10, 20].entries()) sink.request(completed(i, 0, ttft * 1e6, ttft * 1e6 + 1e6, 2))
    sink.flush()
    // a second run in the same file must not leak into the first one's figures
    const other = runRecords.insertRun(db, start)
    const sink2 = new SqliteTraceSink({ open: () => ({ db, runId: other }) })
    sink2.request(completed(0, 0, 1e9, 2e9, 3))
    sink2.flush()
    // n = 3: p50 is rank 2, p90/p99/p99.9 are rank 3
    expect(summarizeRun(db, runId).latencyMs.ttft).toMatchObject({ n: 3, p50: 20, p90: 30, p99: 30, p999: 30 })
    expect(summarizeRun(db, runId).spanS).toBe(0.031)
    expect(summarizeRun(db, other).latencyMs.ttft).toMatchObject({ n: 1, p50: 1000, p999: 1000 })
    expect(summarizeRun(db, other).throughput.outputTokensPerS).toBe(1.5)
  })

  it("measures worker utilization as the union of busy intervals over the run span", () => {
    const db = freshDb()
    const runId = runRecords.insertRun(db, start)
    const sink = new SqliteTraceSink({ open: () => ({ db, runId }) })
    sink.request(completed(0, 0, 10, 100, 2))
    const k = (workerId: string, s: number, e: number) =>
      sink.kernel({ workerId, kind: "gemm", chunkId: null, queries: 4, startNs: t(s), endNs: t(e), flops: 10, bytes: 20 })
    k("unique-0", 0, 30)
    k("unique-0", 20, 50) // overlaps the first: busy 0..50 once
    k("unique-0", 60, 70)
    k("shared-0", 10, 35)
    sink.flush()
    const rows = db.prepare(NAMED_QUERIES.utilization!.sql).all({ run: runId }) as Array<{ worker_id: string; batches: number; utilization: number }>
    expect(rows.map((r) => [r.worker_id, r.batches, r.utilization])).toEqual([["shared-0", 1, 0.25], ["unique-0", 3, 0.6]])
    // the named query is the worker_utilization view with the run filter moved inside
    const view = db.prepare("SELECT worker_id, batches, busy_ns / 1e9 AS busy_s, span_ns / 1e9 AS span_s, utilization, flops, bytes FROM worker_utilization WHERE run_id = ? ORDER BY worker_id").all(runId)
    expect(rows).toEqual(view)
  })

  it("writes in batches of batchRows, keeps kernel order, and drops rows above the trace level", () => {
    const db = freshDb()
    const runId = runRecords.insertRun(db, start)
    const sink = new SqliteTraceSink({ open: () => ({ db, runId }), batchRows: 3, level: "kernels" })
    for (let i = 0; i < 5; i++) sink.kernel({ workerId: "w", kind: `k${i}`, chunkId: i, queries: 1, startNs: t(0), endNs: t(1), flops: 0, bytes: 0 })
    sink.token({ requestId: 0, index: 0, atNs: t(0) })
    expect(sink.written.kernels).toBe(3) // one batch flushed, two rows still buffered
    sink.flush()
    expect(db.prepare("SELECT kind FROM kernels WHERE run_id = ? ORDER BY seq").pluck().all(runId)).toEqual(["k0", "k1", "k2", "k3", "k4"])
    expect(db.prepare("SELECT COUNT(*) FROM tokens").pluck().get()).toBe(0)
  })

  it("opens the database only when the first row is written", () => {
    let opened = 0
    const db = new Database(":memory:")
    migrate(db)
    const sink = new SqliteTraceSink({ open: () => (opened++, { db, runId: runRecords.insertRun(db, start) }), level: "requests" })
    sink.kernel({ workerId: "w", kind: "gemm", chunkId: null, queries: 1, startNs: t(0), endNs: t(1), flops: 0, bytes: 0 })
    sink.flush()
    expect(opened).toBe(0)
    sink.request(completed(0, 0, 1, 2, 2))
    sink.flush()
    sink.flush()
    expect(opened).toBe(1)
  })

  it("answers every named query on a finished run", () => {
    const db = freshDb()
    const runId = runRecords.insertRun(db, start)
    const sink = new SqliteTraceSink({ open: () => ({ db, runId }) })
    sink.request(completed(0, 0, 10, 100, 2))
    sink.kernel({ workerId: "w", kind: "gemm", chunkId: null, queries: 1, startNs: t(0), endNs: t(1), flops: 0, bytes: 0 })
    sink.chunkStats({ chunks: [{ chunkId: 3, rows: 4, gemms: 2, basis: "counted" }], gemmSizes: [{ rows: 2, gemms: 2 }] })
    sink.flush()
    const tokens = new SqliteTraceSink({ open: () => ({ db, runId }), level: "tokens" })
    tokens.token({ requestId: 0, index: 0, atNs: t(10) })
    tokens.token({ requestId: 0, index: 1, atNs: t(100) })
    tokens.flush()
    runRecords.finishRun(db, runId, { status: "finished", finishedAt: "2026-01-01T00:00:01.000Z", wallS: 1, simulatedNs: 100, events: 7 })
    for (const [name, q] of Object.entries(NAMED_QUERIES)) {
      const params = Object.fromEntries(Object.keys(q.params ?? {}).map((p) => [p, 1e6]))
      const rows = db.prepare(q.sql).all(name === "runs" ? {} : { ...params, run: runId })
      expect(rows.length, name).toBeGreaterThan(0)
    }
  })
})
