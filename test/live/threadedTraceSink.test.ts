import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { TraceWriteFailed } from "../../src/core/errors.js"
import type { KernelRow, RequestRow, RequestStatus, TokenRow, TraceSink } from "../../src/core/trace.js"
import type { Ns } from "../../src/core/units.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"
import { runRecords, type RunStart } from "../../src/db/runRecords.js"
import { SqliteTraceSink } from "../../src/db/SqliteTraceSink.js"
import { ThreadedTraceSink } from "../../src/live/threadedTraceSink.js"

const dir = mkdtempSync(join(tmpdir(), "moska-threaded-sink-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const start: RunStart = {
  mode: "live", system: "moska", scenarioName: "threaded-sink", scenarioJson: "{}", seed: 7,
  startedAt: "2025-01-01T00:00:00.000Z", codeVersion: "test", hardware: "{}",
}

type Call = { readonly table: "request"; readonly row: RequestRow } | { readonly table: "kernel"; readonly row: KernelRow } | { readonly table: "token"; readonly row: TokenRow }

/** A deterministic interleaving of all three row kinds, with nulls, large ns and fractional values. */
const calls = (): Call[] => {
  const out: Call[] = []
  const statuses: RequestStatus[] = ["completed", "rejected", "failed", "cancelled"]
  let t = 1_700_000_000_000 // ns: beyond 2^32, as a long live run's are
  for (let r = 0; r < 300; r++) {
    for (let k = 0; k < 12; k++) {
      t += 1_000 + ((r * 31 + k * 17) % 977)
      out.push({ table: "kernel", row: {
        workerId: `w${(r + k) % 5}`, kind: k % 3 === 0 ? "shared" : "unique", chunkId: k % 4 === 0 ? null : k,
        queries: 1 + ((r * k) % 64), startNs: t as Ns, endNs: (t + 3_333) as Ns, flops: 1.5e9 + r * 0.25, bytes: 2 ** 30 + k * 0.5,
      } })
    }
    for (let i = 0; i < 25; i++) out.push({ table: "token", row: { requestId: r, index: i, atNs: (t + i * 41) as Ns } })
    const status = statuses[r % 4] as RequestStatus
    out.push({ table: "request", row: {
      requestId: r, arrivalNs: (t - 90_000) as Ns, admittedNs: r % 4 === 1 ? null : ((t - 50_000) as Ns),
      firstTokenNs: status === "completed" ? ((t - 10_000) as Ns) : null, finishedNs: r % 4 === 1 ? null : (t as Ns),
      uniqueTokens: 100 + r, requestedTokens: 25, outputTokens: status === "completed" ? 25 : r % 7,
      status, reason: status === "completed" ? null : `Reason${r}: why it did not complete`,
    } })
  }
  return out
}

const replay = (sink: TraceSink, cs: readonly Call[]) => {
  for (const c of cs) {
    if (c.table === "request") sink.request(c.row)
    else if (c.table === "kernel") sink.kernel(c.row)
    else sink.token(c.row)
  }
}

const dump = (file: string, runId: number) => {
  const db = openTraceDb(file, { readonly: true })
  try {
    return {
      requests: db.prepare("SELECT * FROM requests WHERE run_id = ? ORDER BY request_id").all(runId),
      kernels: db.prepare("SELECT * FROM kernels WHERE run_id = ? ORDER BY seq").all(runId),
      tokens: db.prepare("SELECT * FROM tokens WHERE run_id = ? ORDER BY request_id, idx").all(runId),
    }
  } finally {
    db.close()
  }
}

/** Rows visible to another connection; 0 while the writer has not created or migrated the file yet. */
const countRows = (file: string): number => {
  if (!existsSync(file)) return 0
  let db: ReturnType<typeof openTraceDb> | undefined
  try {
    db = openTraceDb(file, { readonly: true })
    return db.prepare("SELECT (SELECT COUNT(*) FROM requests) + (SELECT COUNT(*) FROM kernels) + (SELECT COUNT(*) FROM tokens)").pluck().get() as number
  } catch {
    return 0
  } finally {
    db?.close()
  }
}

/** Polls until `cond` holds or 30 s pass (the writer thread may take seconds to boot from sources on a busy host). */
const eventually = async (cond: () => boolean) => {
  const end = Date.now() + 30_000
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
}

// Each test starts its own writer thread (from sources that means loading tsx, about a second on a
// busy host), so they run concurrently; they share nothing but the temporary directory.
describe.concurrent("ThreadedTraceSink", () => {
  it("commits every row, in call order, with the values SqliteTraceSink writes directly", async () => {
    const cs = calls()
    const directFile = join(dir, "direct.db")
    const directDb = openTraceDb(directFile)
    const direct = new SqliteTraceSink({ level: "tokens", batchRows: 500, open: () => ({ db: directDb, runId: runRecords.insertRun(directDb, start) }) })
    replay(direct, cs)
    direct.flush()
    const directRunId = direct.connect().runId
    directDb.close()

    const file = join(dir, "threaded.db")
    // no timer posts within the test: only flush(), batchRows and close() move rows
    const sink = new ThreadedTraceSink({ file, run: { start }, level: "tokens", batchRows: 333, flushMs: 3_600_000 })
    replay(sink, cs.slice(0, 40))
    sink.flush()
    await eventually(() => countRows(file) >= 40)
    expect(countRows(file)).toBe(40) // flushed rows are durable while the sink is still open
    replay(sink, cs.slice(40))
    await sink.close()

    expect(sink.runId).not.toBeNull()
    const got = dump(file, sink.runId as number)
    const want = dump(directFile, directRunId)
    expect(got.requests.length).toBe(300)
    expect(got.kernels.length).toBe(3_600)
    expect(got.tokens.length).toBe(7_500)
    expect(got).toEqual(want)
    // seq is the call order: the n-th kernel call is the row with seq n
    const kernelCalls = cs.flatMap((c) => (c.table === "kernel" ? [c.row] : []))
    expect(got.kernels.map((k) => [(k as { seq: number }).seq, (k as { start_ns: number }).start_ns]))
      .toEqual(kernelCalls.map((k, i) => [i, k.startNs]))
    expect(sink.written).toEqual({ requests: 300, kernels: 3_600, tokens: 7_500, kernelTotals: 0 })
  })

  it("posts a batch that stays below batchRows once flushMs has passed, without flush or close", async () => {
    const file = join(dir, "timer.db")
    const sink = new ThreadedTraceSink({ file, run: { start }, level: "tokens", flushMs: 20 })
    try {
      replay(sink, calls().slice(0, 50))
      await eventually(() => countRows(file) >= 50)
      expect(countRows(file)).toBe(50)
    } finally {
      await sink.close()
    }
  })

  it("at level totals, the writer sums the kernel rows per worker, kind and window (the open windows at close)", async () => {
    const cs = calls()
    const file = join(dir, "totals.db")
    const sink = new ThreadedTraceSink({ file, run: { start }, level: "totals", windowNs: 100_000, batchRows: 500 })
    replay(sink, cs)
    await sink.close()
    const db = openTraceDb(file, { readonly: true })
    const W = 100_000
    const got = db.prepare("SELECT worker_id, kind, window_ns, batches, queries, busy_ns FROM kernel_totals WHERE run_id = ? ORDER BY 1, 2, 3").all(sink.runId)
    expect(db.prepare("SELECT COUNT(*) FROM kernels").pluck().get()).toBe(0)
    db.close()
    const want = new Map<string, { worker_id: string; kind: string; window_ns: number; batches: number; queries: number; busy_ns: number }>()
    for (const c of cs) {
      if (c.table !== "kernel") continue
      const k = c.row
      const w = k.endNs - (k.endNs % W)
      const key = `${k.workerId} ${k.kind} ${w}`
      const t = want.get(key) ?? { worker_id: k.workerId, kind: k.kind, window_ns: w, batches: 0, queries: 0, busy_ns: 0 }
      t.batches++
      t.queries += k.queries
      t.busy_ns += k.endNs - k.startNs
      want.set(key, t)
    }
    const sorted = [...want.values()].sort((a, b) => a.worker_id.localeCompare(b.worker_id) || a.kind.localeCompare(b.kind) || a.window_ns - b.window_ns)
    expect(sorted.length).toBeGreaterThan(100)
    expect(got).toEqual(sorted)
    expect(sink.written.kernelTotals).toBe(sorted.length)
  })

  it("drops rows above the trace level and opens nothing when no row was kept", async () => {
    const file = join(dir, "requests-level.db")
    const sink = new ThreadedTraceSink({ file, run: { start }, level: "requests" })
    const cs = calls()
    replay(sink, cs.filter((c) => c.table !== "request"))
    await sink.close()
    expect(sink.runId).toBeNull()
    expect(existsSync(file)).toBe(false)
  })

  it("rejects close with a one-line TraceWriteFailed when the writer cannot open the database", async () => {
    const file = join(dir, "no-such-dir", "trace.db")
    const seen: TraceWriteFailed[] = []
    const sink = new ThreadedTraceSink({ file, run: { start }, onError: (e) => seen.push(e) })
    replay(sink, calls().slice(0, 20))
    sink.flush()
    const err = await sink.close().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(TraceWriteFailed)
    const e = err as TraceWriteFailed
    expect(e.file).toBe(file)
    expect(e.message).toMatch(/^writing trace database .*no-such-dir.*trace\.db failed: .*director/i)
    expect(e.message).not.toContain("\n")
    expect(seen).toEqual([err])
    // the failure also stops the producer, as a synchronous sink's throw would
    expect(() => sink.request(calls().find((c) => c.table === "request")!.row as RequestRow)).toThrow(e.message)
    await expect(sink.close()).rejects.toBe(err)
  })
})
