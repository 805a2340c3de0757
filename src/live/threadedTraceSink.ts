import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { TraceWriteFailed } from "../core/errors.js"
import type { TraceLevel } from "../core/scenario.js"
import type { KernelRow, RequestRow, TokenRow, TraceSink } from "../core/trace.js"
import type { RunStart } from "../db/runRecords.js"

type Level = typeof TraceLevel.Type

/** Which run the rows belong to: an existing `runs` row, or one the writer inserts at the first row. */
export type RunTarget = { readonly runId: number } | { readonly start: RunStart }

/** What the writer thread is started with (structured-cloned). */
export interface WriterInput {
  readonly file: string
  readonly run: RunTarget
  readonly level: Level
  /** Trace level `totals`: the window the writer sums kernel rows over, ns. */
  readonly windowNs?: number
}

/** Main → writer. Tokens travel packed as (requestId, index, atNs) triples in a transferred buffer. */
export type ToWriter =
  | { readonly type: "rows"; readonly requests: readonly RequestRow[]; readonly kernels: readonly KernelRow[]; readonly tokens: Float64Array }
  | { readonly type: "close" }

/** Rows committed so far, by table. */
export interface Written { readonly requests: number; readonly kernels: number; readonly tokens: number; readonly kernelTotals: number }

/** Writer → main. */
export type FromWriter =
  | { readonly type: "opened"; readonly runId: number }
  | { readonly type: "committed"; readonly written: Written }
  | { readonly type: "closed"; readonly written: Written }
  | { readonly type: "failed"; readonly message: string }

/**
 * Starts the writer thread: the compiled `.js` beside this module (dist), or, when running from
 * TypeScript sources (vitest, tsx), the `.ts` through tsx's loader. runInWorker falls back to the
 * main thread instead; here that would put SQLite back on the event loop this sink exists to
 * keep free, and leave the thread path untested.
 */
const startWriter = (input: WriterInput): Worker => {
  const js = new URL("./traceWriterWorker.js", import.meta.url)
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData: input })
  const ts = new URL("./traceWriterWorker.ts", import.meta.url)
  let tsx: string
  try {
    tsx = import.meta.resolve("tsx/esm/api")
  } catch {
    throw new Error(`ThreadedTraceSink: ${fileURLToPath(js)} is missing; build with \`npm run build\`, or install tsx to run from sources`)
  }
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(ts.href)}) })`
  return new Worker(boot, { eval: true, workerData: input })
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").trim()

/**
 * A TraceSink for live mode that keeps synchronous SQLite writes off the event loop: rows are
 * appended to in-memory batches (tokens packed into a Float64Array) and posted to a worker thread
 * every `batchRows` rows or `flushMs` after the first unposted row, whichever comes first; the
 * worker writes each batch through SqliteTraceSink in one transaction, so table order (and kernel
 * `seq`) is the order of the calls here. `flush()` posts at once and the batch is committed when
 * the worker receives it; `close()` posts the rest, waits for the last commit and for the thread
 * to exit. A worker failure rejects `close()` with TraceWriteFailed, is passed to `onError` when
 * it arrives, and makes the next row call throw it (as SqliteTraceSink would), so a run on the
 * clock stops instead of losing rows silently. The database and run row are opened at the first
 * row, as SqliteTraceSink does. Always `close()` it: the thread keeps the process alive until then.
 * @example
 * const sink = new ThreadedTraceSink({ file: "moska.db", run: { start: runStart }, level: "tokens" })
 * sink.token({ requestId: 1, index: 0, atNs: clock.now() })
 * await sink.close() // every row committed; sink.runId names the run
 */
export class ThreadedTraceSink implements TraceSink {
  private readonly file: string
  private readonly keepKernels: boolean
  private readonly keepTokens: boolean
  private readonly batchRows: number
  private readonly flushMs: number
  private readonly onError: ((e: TraceWriteFailed) => void) | undefined
  private readonly worker: Worker
  private requests: RequestRow[] = []
  private kernels: KernelRow[] = []
  private tokens = new Float64Array(3 * 1024)
  private tokenCount = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private error: TraceWriteFailed | undefined
  private closing: Promise<void> | undefined
  private closedSeen = false
  private exited = false
  private readonly exitWaiters: Array<() => void> = []
  private id: number | null = null
  private committed: Written = { requests: 0, kernels: 0, tokens: 0, kernelTotals: 0 }

  constructor(options: {
    /** The trace database file (created and migrated if needed). */
    readonly file: string
    readonly run: RunTarget
    /** Rows above the scenario's trace level are dropped before they are posted. Default `kernels`. */
    readonly level?: Level
    /** Post once this many rows are buffered (default 2,048). */
    readonly batchRows?: number
    /** Post at most this long after the first unposted row (default 50 ms). */
    readonly flushMs?: number
    /** Trace level `totals`: the writer thread sums kernel rows per window of this many ns (default 1 s). */
    readonly windowNs?: number
    /** Called once, as soon as the writer reports a failure. */
    readonly onError?: (e: TraceWriteFailed) => void
  }) {
    const level = options.level ?? "kernels"
    this.file = options.file
    // at `totals` the rows still travel: the writer's SqliteTraceSink sums them
    this.keepKernels = level !== "requests"
    this.keepTokens = level === "tokens"
    this.batchRows = options.batchRows ?? 2_048
    this.flushMs = options.flushMs ?? 50
    this.onError = options.onError
    // started now, before the clock runs, so the thread's start-up never lands inside a live run
    this.worker = startWriter({ file: options.file, run: options.run, level, ...(options.windowNs === undefined ? {} : { windowNs: options.windowNs }) })
    this.worker.on("message", (m: FromWriter) => this.onMessage(m))
    this.worker.on("error", (e) => this.fail(e.message))
    this.worker.on("exit", (code) => {
      this.exited = true
      if (!this.closedSeen) this.fail(`the trace writer thread exited (code ${code}) before committing every row`)
      for (const w of this.exitWaiters.splice(0)) w()
    })
  }

  /** The run the rows went to, once the writer has opened it (after the first row); else null. */
  get runId(): number | null {
    return this.id
  }

  /** Rows committed to the database so far, as last reported by the writer. */
  get written(): Written {
    return this.committed
  }

  request(row: RequestRow): void {
    this.check()
    this.requests.push(row)
    this.added()
  }

  kernel(row: KernelRow): void {
    this.check()
    if (!this.keepKernels) return
    this.kernels.push(row)
    this.added()
  }

  token(row: TokenRow): void {
    this.check()
    if (!this.keepTokens) return
    const i = 3 * this.tokenCount
    if (i + 3 > this.tokens.length) {
      const grown = new Float64Array(2 * this.tokens.length)
      grown.set(this.tokens)
      this.tokens = grown
    }
    this.tokens[i] = row.requestId
    this.tokens[i + 1] = row.index
    this.tokens[i + 2] = row.atNs
    this.tokenCount++
    this.added()
  }

  /** Posts everything buffered now; the writer commits it as soon as it receives it. */
  flush(): void {
    this.check()
    this.post()
  }

  /**
   * Posts the rest, waits until the writer has committed every row and its thread has exited.
   * Rejects with TraceWriteFailed if anything failed. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    if (this.error === undefined) {
      this.post()
      this.send({ type: "close" })
    }
    await new Promise<void>((resolve) => {
      if (this.exited) resolve()
      else this.exitWaiters.push(resolve)
    })
    if (this.error !== undefined) throw this.error
  }

  private check(): void {
    if (this.error !== undefined) throw this.error
    if (this.closing !== undefined) throw new Error(`ThreadedTraceSink(${this.file}): a row arrived after close()`)
  }

  private added(): void {
    if (this.requests.length + this.kernels.length + this.tokenCount >= this.batchRows) this.post()
    else this.timer ??= setTimeout(() => this.post(), this.flushMs)
  }

  private post(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.error !== undefined) return
    if (this.requests.length + this.kernels.length + this.tokenCount === 0) return
    const tokens = this.tokens.slice(0, 3 * this.tokenCount)
    this.send({ type: "rows", requests: this.requests, kernels: this.kernels, tokens }, [tokens.buffer])
    this.requests = []
    this.kernels = []
    this.tokenCount = 0
  }

  private send(m: ToWriter, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer)
  }

  private onMessage(m: FromWriter): void {
    switch (m.type) {
      case "opened":
        this.id = m.runId
        break
      case "committed":
        this.committed = m.written
        break
      case "closed":
        this.committed = m.written
        this.closedSeen = true
        break
      case "failed":
        this.fail(m.message)
        break
    }
  }

  private fail(message: string): void {
    if (this.error !== undefined) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.error = new TraceWriteFailed({ file: this.file, message: `writing trace database ${this.file} failed: ${oneLine(message)}` })
    // the writer stops at its first failure; make sure its thread is gone so close() can settle
    if (!this.exited) void this.worker.terminate()
    this.onError?.(this.error)
  }
}
