import type { Database } from "better-sqlite3"
import type { TraceLevel } from "../core/scenario.js"
import type { ChunkStats, KernelRow, RequestRow, TokenRow, TraceSink } from "../core/trace.js"
import { traceWindowNs } from "../core/traceWindowNs.js"
import { bulkInsert } from "./bulkInsert.js"
import { KernelTotals, type KernelTotal } from "./kernelTotals.js"

type Level = typeof TraceLevel.Type

const byKey = (a: TokenRow, b: TokenRow): number => a.requestId - b.requestId || a.index - b.index

/**
 * The TraceSink port over SQLite: rows are buffered and written in one transaction per
 * `batchRows` rows (default 10,000) with prepared multi-row statements, in the order received. The database
 * and run row are obtained lazily from `open` at the first write, so a run that fails validation
 * inside the engine (before producing rows) leaves no trace at all. Rows above the scenario's trace
 * level are dropped here (kernels at `requests`; tokens unless `tokens`). At `totals` kernel rows
 * are summed per worker, kind and window (KernelTotals) into `kernel_totals`: a window is written
 * once it is closed, the rest at `finish()`.
 * @example
 * const sink = new SqliteTraceSink({ open: () => ({ db, runId }), level: "kernels" })
 * sink.request(row); sink.flush()
 */
export class SqliteTraceSink implements TraceSink {
  private readonly open: () => { readonly db: Database; readonly runId: number }
  private readonly batchRows: number
  private readonly keepKernels: boolean
  private readonly keepTokens: boolean
  private readonly totals: KernelTotals | null
  private pendingTotals: KernelTotal[] = []
  private requests: RequestRow[] = []
  private kernels: KernelRow[] = []
  private tokens: TokenRow[] = []
  private chunks: ChunkStats | undefined
  private kernelSeq = 0
  private target: { db: Database; runId: number; write: () => void } | undefined
  /** Rows written to the database so far, by table. */
  readonly written = { requests: 0, kernels: 0, tokens: 0, kernelTotals: 0 }

  constructor(options: {
    readonly open: () => { readonly db: Database; readonly runId: number }
    readonly level?: Level
    readonly batchRows?: number
    /** Window of the `totals` level's sums, ns of the run's clock (default: traceWindowNs's, 1 s). */
    readonly windowNs?: number
  }) {
    this.open = options.open
    this.batchRows = options.batchRows ?? 10_000
    const level = options.level ?? "kernels"
    this.keepKernels = level === "kernels" || level === "tokens"
    this.keepTokens = level === "tokens"
    this.totals = level === "totals" ? new KernelTotals(options.windowNs ?? traceWindowNs({})) : null
  }

  request(row: RequestRow): void {
    this.requests.push(row)
    this.maybeFlush()
  }

  kernel(row: KernelRow): void {
    if (this.totals !== null) {
      this.totals.add(row)
      return
    }
    if (!this.keepKernels) return
    this.kernels.push(row)
    this.maybeFlush()
  }

  /** The run's last row has arrived: the `totals` level's open windows are written at the next flush. */
  finish(): void {
    if (this.totals === null) return
    for (const t of this.totals.all()) this.pendingTotals.push(t)
  }

  token(row: TokenRow): void {
    if (!this.keepTokens) return
    this.tokens.push(row)
    this.maybeFlush()
  }

  /** Kept at every trace level (a run's per-chunk facts are a few thousand rows at most); written at the next flush. */
  chunkStats(stats: ChunkStats): void {
    this.chunks = stats
  }

  /** Writes everything buffered in one transaction (opening the database first if needed). */
  flush(): void {
    if (this.totals !== null) for (const t of this.totals.closed()) this.pendingTotals.push(t)
    if (this.requests.length + this.kernels.length + this.tokens.length + this.pendingTotals.length === 0 && this.chunks === undefined) return
    this.connect().write()
  }

  /** The run's database and id, opening them now if no row has been written yet. */
  connect(): { readonly db: Database; readonly runId: number; readonly write: () => void } {
    if (this.target !== undefined) return this.target
    const { db, runId } = this.open()
    const insRequest = bulkInsert<RequestRow>(db, "requests", [
      "run_id", "request_id", "arrival_ns", "admitted_ns", "first_token_ns", "finished_ns",
      "unique_tokens", "requested_tokens", "output_tokens", "status", "reason",
    ])
    const insKernel = bulkInsert<KernelRow>(db, "kernels", [
      "run_id", "seq", "worker_id", "kind", "chunk_id", "queries", "start_ns", "end_ns", "flops", "bytes", "gpu_ns", "predicted_ns",
    ])
    const insToken = bulkInsert<TokenRow>(db, "tokens", ["run_id", "request_id", "idx", "at_ns"])
    // Only served requests carry a client id (db/021); sim and replay rows never reach this table.
    const insExternal = bulkInsert<RequestRow>(db, "request_external_ids", ["run_id", "request_id", "external_id"])
    const insChunk = bulkInsert<ChunkStats["chunks"][number]>(db, "chunk_stats", ["run_id", "chunk_id", "rows", "gemms", "basis"])
    const insGemmSize = bulkInsert<ChunkStats["gemmSizes"][number]>(db, "chunk_gemm_sizes", ["run_id", "rows", "gemms"])
    // A window is written once, whole; a late row's sum for a window already written is added to it.
    const upsertTotal = db.prepare(`INSERT INTO kernel_totals
        (run_id, worker_id, kind, window_ns, window_len, batches, queries, busy_ns, flops, bytes, gpu_ns, predicted_ns)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id, worker_id, kind, window_ns) DO UPDATE SET
        batches = batches + excluded.batches, queries = queries + excluded.queries, busy_ns = busy_ns + excluded.busy_ns,
        flops = flops + excluded.flops, bytes = bytes + excluded.bytes,
        gpu_ns = CASE WHEN excluded.gpu_ns IS NULL THEN gpu_ns ELSE coalesce(gpu_ns, 0) + excluded.gpu_ns END,
        predicted_ns = CASE WHEN excluded.predicted_ns IS NULL THEN predicted_ns ELSE coalesce(predicted_ns, 0) + excluded.predicted_ns END`)
    const windowLen = this.totals?.windowNs ?? 0
    const write = db.transaction(() => {
      insRequest(this.requests, (r, out) => {
        out.push(runId, r.requestId, r.arrivalNs, r.admittedNs, r.firstTokenNs, r.finishedNs, r.uniqueTokens,
          r.requestedTokens, r.outputTokens, r.status, r.reason)
      })
      const withExternal = this.requests.filter((r) => r.externalId !== undefined && r.externalId !== null)
      if (withExternal.length > 0) insExternal(withExternal, (r, out) => out.push(runId, r.requestId, r.externalId))
      insKernel(this.kernels, (k, out) => {
        out.push(runId, this.kernelSeq++, k.workerId, k.kind, k.chunkId, k.queries, k.startNs, k.endNs, k.flops, k.bytes, k.gpuNs ?? null, k.predictedNs ?? null)
      })
      // Token rows arrive in time order (every decoding request's token of one step, then the next
      // step's), which scatters them over the (run_id, request_id, idx) B-tree; in key order a
      // transaction writes each request's run of tokens into the same leaf pages. The table is
      // WITHOUT ROWID, so the stored rows are the same whatever the insertion order.
      this.tokens.sort(byKey)
      insToken(this.tokens, (t, out) => {
        out.push(runId, t.requestId, t.index, t.atNs)
      })
      for (const t of this.pendingTotals) {
        upsertTotal.run(runId, t.workerId, t.kind, t.windowNs, windowLen, t.batches, t.queries, t.busyNs, t.flops, t.bytes, t.gpuNs, t.predictedNs)
      }
      if (this.chunks !== undefined) {
        insChunk(this.chunks.chunks, (c, out) => out.push(runId, c.chunkId, c.rows, c.gemms, c.basis))
        insGemmSize(this.chunks.gemmSizes, (g, out) => out.push(runId, g.rows, g.gemms))
        this.chunks = undefined
      }
      this.written.requests += this.requests.length
      this.written.kernels += this.kernels.length
      this.written.tokens += this.tokens.length
      this.written.kernelTotals += this.pendingTotals.length
      this.pendingTotals = []
      this.requests = []
      this.kernels = []
      this.tokens = []
    })
    this.target = { db, runId, write: () => write() }
    return this.target
  }

  /** Whether the database has been opened (a row was written or `connect` was called). */
  get connected(): boolean {
    return this.target !== undefined
  }

  // Tokens wait for ten batches' worth: a longer buffer sorts into longer runs per request (see write).
  private maybeFlush(): void {
    if (this.requests.length + this.kernels.length + this.tokens.length / 10 >= this.batchRows) this.flush()
  }
}
