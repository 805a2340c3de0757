/**
 * Worker-thread entry of ThreadedTraceSink: owns the SQLite connection and writes each batch the
 * main thread posts through SqliteTraceSink, one transaction per batch, so the live event loop
 * never waits on the disk. Replies `opened` (the run id, at the first row), `committed` after
 * each batch, `closed` after the last commit; `failed` on the first error, after which it writes
 * nothing more.
 */
import { parentPort, workerData } from "node:worker_threads"
import type { Database } from "better-sqlite3"
import type { TokenRow } from "../core/trace.js"
import type { Ns } from "../core/units.js"
import { openTraceDb } from "../db/openTraceDb.js"
import { HEARTBEAT_EVERY_MS } from "../db/runLiveness.js"
import { runRecords } from "../db/runRecords.js"
import { SqliteTraceSink } from "../db/SqliteTraceSink.js"
import type { ToWriter, WriterInput, FromWriter } from "./threadedTraceSink.js"

const input = workerData as WriterInput
const port = parentPort
if (port === null) throw new Error("traceWriterWorker.ts runs only as a worker thread (see ThreadedTraceSink)")
const post = (m: FromWriter) => port.postMessage(m)

let db: Database | undefined
let failed = false
let heartbeat: ReturnType<typeof setInterval> | undefined
const sink = new SqliteTraceSink({
  level: input.level,
  ...(input.windowNs === undefined ? {} : { windowNs: input.windowNs }),
  // batches arrive already sized by the main thread; commit each whole, as one transaction
  batchRows: Number.POSITIVE_INFINITY,
  open: () => {
    db = openTraceDb(input.file)
    const runId = "runId" in input.run ? input.run.runId : runRecords.insertRun(db, input.run.start)
    post({ type: "opened", runId })
    // A sign of life every second from this thread, even while no rows come (an idle server), so
    // readers can tell this run from one whose process died (src/db/runLiveness.ts).
    const opened = db
    heartbeat = setInterval(() => {
      try {
        runRecords.heartbeat(opened, runId, new Date().toISOString())
      } catch {
        // the database is busy or gone: the next beat or commit tries again
      }
    }, HEARTBEAT_EVERY_MS)
    heartbeat.unref()
    return { db, runId }
  },
})

const handle = (m: ToWriter): void => {
  if (m.type === "rows") {
    for (const r of m.requests) sink.request(r)
    for (const k of m.kernels) sink.kernel(k)
    const t = m.tokens
    for (let i = 0; i + 2 < t.length; i += 3) {
      sink.token({ requestId: t[i] as number, index: t[i + 1] as number, atNs: t[i + 2] as Ns } satisfies TokenRow)
    }
    sink.flush()
    post({ type: "committed", written: { ...sink.written } })
  } else {
    // the run's end: trace level totals writes its open windows too
    sink.finish()
    sink.flush()
    clearInterval(heartbeat)
    db?.close()
    db = undefined
    post({ type: "closed", written: { ...sink.written } })
    port.close() // nothing else keeps the thread alive, so it exits
  }
}

port.on("message", (m: ToWriter) => {
  if (failed) return
  try {
    handle(m)
  } catch (e) {
    failed = true
    clearInterval(heartbeat)
    post({ type: "failed", message: e instanceof Error ? e.message : String(e) })
    try {
      db?.close() // WAL: committed batches stay, the failed transaction was rolled back
    } catch {
      // the connection is already unusable; the failure above is the one to report
    }
    port.close()
  }
})
