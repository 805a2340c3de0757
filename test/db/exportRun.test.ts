import type { Database } from "better-sqlite3"
import { parquetReadObjects } from "hyparquet"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { exportParquet } from "../../src/db/exportParquet.js"
import { exportRun } from "../../src/db/exportRun.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"
import { runRecords } from "../../src/db/runRecords.js"

const fill = (): { db: Database; runId: number } => {
  const db = openTraceDb(join(mkdtempSync(join(tmpdir(), "moska-export-")), "t.db"))
  const runId = runRecords.insertRun(db, {
    mode: "live", system: "moska", scenarioName: "t", scenarioJson: "{}", seed: 1,
    startedAt: "2026-01-01T00:00:00.000Z", codeVersion: "test", hardware: "{}",
  })
  const req = db.prepare(`INSERT INTO requests (run_id, request_id, arrival_ns, admitted_ns, first_token_ns, finished_ns, unique_tokens, requested_tokens, output_tokens, status, reason)
                          VALUES (?, ?, ?, ?, ?, ?, 10, 4, ?, ?, ?)`)
  req.run(runId, 1, 5, 6, 7, 8, 4, "completed", null)
  req.run(runId, 0, 0, null, null, null, 0, "rejected", 'KV "too big", try again')
  const k = db.prepare(`INSERT INTO kernels (run_id, seq, worker_id, kind, chunk_id, queries, start_ns, end_ns, flops, bytes, gpu_ns, predicted_ns)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1.5, 2, ?, ?)`)
  k.run(runId, 0, "unique-0", "unique.iteration", null, 3, 1000, 3500, 2400, 2600)
  k.run(runId, 1, "shared-0", "shared.chunk", 7, 2, 2000, 2500, null, null)
  k.run(runId, 2, "unique-0", "unique.prefill", null, 1, 3000, 4000, 900, 1000) // overlaps seq 0 on unique-0
  k.run(runId, 3, "unique-0", "unique.iteration", null, 3, 5000, 6000, 1000, 1000) // after both: back on the first lane
  return { db, runId }
}
const run = (db: Database, runId: number, format: "csv" | "jsonl" | "perfetto", table: "requests" | "kernels" | "tokens") => {
  const chunks: string[] = []
  const n = exportRun(db, runId, { format, table }, (s) => chunks.push(s))
  return { n, text: chunks.join("") }
}

describe("exportRun", () => {
  it("writes CSV with a header, rows in key order, NULL as empty and quotes around commas and quotes", () => {
    const { db, runId } = fill()
    const { n, text } = run(db, runId, "csv", "requests")
    expect(n).toBe(2)
    expect(text).toBe([
      "run_id,request_id,arrival_ns,admitted_ns,first_token_ns,finished_ns,unique_tokens,requested_tokens,output_tokens,status,reason",
      '1,0,0,,,,10,4,0,rejected,"KV ""too big"", try again"',
      "1,1,5,6,7,8,10,4,4,completed,",
      "",
    ].join("\n"))
    expect(run(db, runId, "csv", "tokens")).toEqual({ n: 0, text: "run_id,request_id,idx,at_ns\n" })
  })

  it("writes JSONL, one object per row with the table's columns and nulls kept", () => {
    const { db, runId } = fill()
    const { n, text } = run(db, runId, "jsonl", "kernels")
    expect(n).toBe(4)
    const rows = text.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(rows[1]).toEqual({ run_id: 1, seq: 1, worker_id: "shared-0", kind: "shared.chunk", chunk_id: 7, queries: 2, start_ns: 2000, end_ns: 2500,
      flops: 1.5, bytes: 2, gpu_ns: null, predicted_ns: null })
  })

  it("writes a trace-event timeline: a named track per worker, X slices in µs with the kernel's args, overlaps on a second lane", () => {
    const { db, runId } = fill()
    const { n, text } = run(db, runId, "perfetto", "kernels")
    expect(n).toBe(4)
    const trace = JSON.parse(text) as { displayTimeUnit: string; traceEvents: Array<Record<string, any>> }
    const threads = Object.fromEntries(trace.traceEvents.filter((e) => e.name === "thread_name").map((e) => [e.tid, e.args.name]))
    expect(threads).toEqual({ 1: "unique-0", 2: "shared-0", 3: "unique-0 #2" })
    const slices = trace.traceEvents.filter((e) => e.ph === "X")
    expect(slices.map((e) => [e.args.seq, e.tid, e.ts, e.dur])).toEqual([[0, 1, 1, 2.5], [1, 2, 2, 0.5], [2, 3, 3, 1], [3, 1, 5, 1]])
    expect(slices[0]).toMatchObject({ name: "unique.iteration", pid: 1, args: { kind: "unique.iteration", queries: 3, chunk_id: null, gpu_ns: 2400, predicted_ns: 2600 } })
    expect(slices[1]?.args).toMatchObject({ chunk_id: 7, gpu_ns: null, predicted_ns: null })
  })
})

describe("exportParquet", () => {
  it("writes a Parquet file that reads back (hyparquet) with the table's rows, nulls and exact integers", async () => {
    const { db, runId } = fill()
    db.prepare("UPDATE requests SET finished_ns = ? WHERE request_id = 1").run(2n ** 53n + 1n) // past float precision, as INTEGER
    const file = join(mkdtempSync(join(tmpdir(), "moska-pq-")), "r.parquet")
    expect(exportParquet(db, runId, "requests", file)).toBe(2)
    const buf = readFileSync(file)
    const rows = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) })
    expect(rows.map((r) => [r.request_id, r.admitted_ns, r.finished_ns, r.status, r.reason])).toEqual([
      [0n, null, null, "rejected", 'KV "too big", try again'],
      [1n, 6n, 2n ** 53n + 1n, "completed", null],
    ])
  })
})
