import type { Database } from "better-sqlite3"

export type ExportFormat = "csv" | "jsonl" | "perfetto"
export type ExportTable = "requests" | "kernels" | "kernel_totals" | "tokens"

export const EXPORT_FORMATS: readonly ExportFormat[] = ["csv", "jsonl", "perfetto"]
export const EXPORT_TABLES: readonly ExportTable[] = ["requests", "kernels", "kernel_totals", "tokens"]

// each table in its primary-key order, so an export of the same run is the same bytes
const SELECT: Readonly<Record<ExportTable, string>> = {
  requests: "SELECT * FROM requests WHERE run_id = ? ORDER BY request_id",
  kernels: "SELECT * FROM kernels WHERE run_id = ? ORDER BY seq",
  kernel_totals: "SELECT * FROM kernel_totals WHERE run_id = ? ORDER BY worker_id, kind, window_ns",
  tokens: "SELECT * FROM tokens WHERE run_id = ? ORDER BY request_id, idx",
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; NULL is empty. */
const csvField = (v: unknown): string => {
  if (v === null || v === undefined) return ""
  const s = String(v)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** Buffers small pieces into chunks of about 64 kB, so a million rows are not a million writes. */
const chunked = (write: (chunk: string) => void) => {
  let buf: string[] = []
  let size = 0
  return {
    push(s: string) {
      buf.push(s)
      size += s.length
      if (size >= 65_536) this.flush()
    },
    flush() {
      if (buf.length > 0) write(buf.join(""))
      buf = []
      size = 0
    },
  }
}

const perfetto = (db: Database, runId: number, out: ReturnType<typeof chunked>): number => {
  const run = db.prepare("SELECT mode, system, scenario_name FROM runs WHERE run_id = ?").get(runId) as { mode: string; system: string; scenario_name: string }
  const ev = (e: Record<string, unknown>, first = false) => out.push(`${first ? "" : ",\n"}${JSON.stringify(e)}`)
  out.push('{"displayTimeUnit":"ns","traceEvents":[\n')
  ev({ ph: "M", pid: 1, tid: 0, name: "process_name", args: { name: `moska run ${runId}: ${run.scenario_name} (${run.mode}, ${run.system})` } }, true)
  // One track (tid) per worker. Trace-event slices on one track must nest, so a kernel that
  // overlaps the previous one on its worker goes on that worker's next free lane ("unique-0 #2").
  const lanes = new Map<string, Array<{ tid: number; endNs: number }>>()
  let nextTid = 1
  const laneOf = (worker: string, startNs: number, endNs: number): number => {
    let ls = lanes.get(worker)
    if (ls === undefined) lanes.set(worker, (ls = []))
    let lane = ls.find((l) => l.endNs <= startNs)
    if (lane === undefined) {
      lane = { tid: nextTid++, endNs: 0 }
      ls.push(lane)
      const name = ls.length === 1 ? worker : `${worker} #${ls.length}`
      ev({ ph: "M", pid: 1, tid: lane.tid, name: "thread_name", args: { name } })
      ev({ ph: "M", pid: 1, tid: lane.tid, name: "thread_sort_index", args: { sort_index: lane.tid } })
    }
    lane.endNs = endNs
    return lane.tid
  }
  let n = 0
  const rows = db.prepare(`SELECT worker_id, kind, chunk_id, queries, start_ns, end_ns, flops, bytes, gpu_ns, predicted_ns, seq
                           FROM kernels WHERE run_id = ? ORDER BY start_ns, seq`).raw().iterate(runId) as IterableIterator<
    [string, string, number | null, number, number, number, number, number, number | null, number | null, number]
  >
  for (const [worker, kind, chunkId, queries, startNs, endNs, flops, bytes, gpuNs, predictedNs, seq] of rows) {
    const tid = laneOf(worker, startNs, endNs)
    // µs with ns precision: the format's unit, and Perfetto keeps the fraction
    ev({
      ph: "X", pid: 1, tid, name: kind, cat: "kernel", ts: startNs / 1000, dur: (endNs - startNs) / 1000,
      args: { kind, queries, chunk_id: chunkId, gpu_ns: gpuNs, predicted_ns: predictedNs, flops, bytes, seq },
    })
    n++
  }
  out.push("\n]}\n")
  return n
}

/**
 * Writes one run's table as CSV (header line, RFC 4180 quoting, NULL as an empty field) or JSONL
 * (one object per row), or its kernel timeline as Chrome trace-event JSON that ui.perfetto.dev and
 * chrome://tracing open: one track per worker_id, `ph: "X"` slices with ts/dur in µs and args kind,
 * queries, chunk_id, gpu_ns, predicted_ns (null in sim). Rows stream from the database in chunks
 * through `write`, so a large run never sits in memory whole. Returns the rows written.
 * @example exportRun(db, 3, { format: "perfetto", table: "kernels" }, (s) => writeSync(fd, s))
 */
export const exportRun = (db: Database, runId: number, opts: { readonly format: ExportFormat; readonly table: ExportTable }, write: (chunk: string) => void): number => {
  const out = chunked(write)
  let n = 0
  if (opts.format === "perfetto") n = perfetto(db, runId, out)
  else {
    const stmt = db.prepare(SELECT[opts.table]).raw()
    const cols = stmt.columns().map((c) => c.name)
    if (opts.format === "csv") out.push(`${cols.join(",")}\n`)
    for (const row of stmt.iterate(runId) as IterableIterator<unknown[]>) {
      if (opts.format === "csv") out.push(`${row.map(csvField).join(",")}\n`)
      else out.push(`${JSON.stringify(Object.fromEntries(cols.map((c, i) => [c, row[i]])))}\n`)
      n++
    }
  }
  out.flush()
  return n
}
