import { existsSync, statSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import type { Scenario } from "../core/scenario.js"
import type { RequestSpec } from "../core/workload.js"
import { openTraceDb } from "../db/openTraceDb.js"
import { runRecords } from "../db/runRecords.js"
import type { RunProgress, RunReport } from "./executeRun.js"

/** What the worker receives (structured-cloned). `stop` is shared: 1 = SIGINT, 2 = SIGTERM. */
export interface WorkerInput {
  readonly scenario: Scenario
  readonly traceRequests: readonly RequestSpec[] | undefined
  readonly dbFile: string
  readonly codeVersion: string
  /** Stored in the run's row; null when not given. */
  readonly label: string | null
  readonly stop: SharedArrayBuffer
}

export type WorkerMessage =
  | { readonly type: "progress"; readonly progress: RunProgress }
  | { readonly type: "done"; readonly report: RunReport }
  | { readonly type: "interrupted"; readonly signal: "SIGINT" | "SIGTERM"; readonly runId: number | null }
  | { readonly type: "error"; readonly error: Record<string, unknown> }

/**
 * The simulation worker's young generation (V8 splits it into two semi-spaces and a large-object
 * space: 192 MiB gives 64 MiB semi-spaces instead of the default 16). The sim allocates short-lived
 * objects at a high rate (an xstate snapshot per request transition, a work item per step) and
 * keeps little: fewer, larger scavenges copy about as many survivors each, so GC time falls (issue 12).
 * A fixed cost in peak RSS, not one per request.
 */
const WORKER_YOUNG_GENERATION_MB = 192

/** How long a worker that has not written yet has to stop by itself after the first signal before it is ended. */
export const STOP_GRACE_MS = 2000

/** Size and modification time of the database and its WAL: whether anything was written since. */
const dbStamp = (file: string): string =>
  [file, `${file}-wal`].map((f) => {
    try {
      const st = statSync(f)
      return `${st.size}@${st.mtimeMs}`
    } catch {
      return "none"
    }
  }).join(" ")

/**
 * Marks this process's runs still `running` in `dbFile` interrupted: the worker writing them was
 * ended mid-run, so it could not. Best effort: the process is exiting on a signal.
 */
const interruptOwnRuns = (dbFile: string, signal: string): void => {
  if (!existsSync(dbFile)) return
  try {
    const db = openTraceDb(dbFile)
    try {
      runRecords.interruptOwn(db, new Date().toISOString(), `stopped at once by a second ${signal}; rows not yet committed (about the last second) are lost`)
    } finally {
      db.close()
    }
  } catch {
    // the file cannot be written now; the next writer on this host marks the run crashed
  }
}

/** How a run ended when a signal stopped it. */
export class RunStopped extends Error {
  constructor(readonly signal: "SIGINT" | "SIGTERM", readonly runId: number | null) {
    super(`interrupted by ${signal}${runId !== null ? `; run ${runId} is marked interrupted, its rows so far are kept` : ""}`)
  }
}

/**
 * Runs executeRun in a worker thread and forwards SIGINT/SIGTERM to it: the first signal asks the
 * simulation to stop at its next progress report (rows flushed, run marked interrupted) and rejects
 * with RunStopped; a second one terminates the worker (committed batches stay; WAL keeps the file
 * consistent) and marks its run interrupted from here; the first one left unanswered for
 * STOP_GRACE_MS by a worker that has not touched the database yet (still setting up: set-up does
 * not look at the flag) terminates it too. Falls back to the main thread when running from TypeScript sources.
 * @example const report = await runInWorker({ scenario, traceRequests, dbFile, codeVersion, onProgress })
 */
export const runInWorker = (input: Omit<WorkerInput, "stop"> & { readonly onProgress?: (p: RunProgress) => void }): Promise<RunReport> => {
  const workerFile = fileURLToPath(new URL("./simWorker.js", import.meta.url))
  const { onProgress, ...data } = input
  if (!existsSync(workerFile)) {
    // tsx / vitest on sources: no compiled worker; run inline (signals then wait for the run to end)
    return import("./executeRun.js").then(({ executeRun }) => executeRun({ ...data, clock: Date.now, ...(onProgress !== undefined ? { onProgress } : {}) }))
  }
  const stop = new SharedArrayBuffer(4)
  const flag = new Int32Array(stop)
  const worker = new Worker(workerFile, {
    workerData: { ...data, stop } satisfies WorkerInput,
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  })
  return new Promise<RunReport>((resolve, reject) => {
    let settled = false
    let terminatedBy: "SIGINT" | "SIGTERM" | null = null
    let grace: ReturnType<typeof setTimeout> | undefined
    const untouched = dbStamp(data.dbFile)
    const onSignal = (signal: "SIGINT" | "SIGTERM") => {
      if (Atomics.load(flag, 0) !== 0) {
        // a second signal: end the worker now; once it has exited, its run's row says so (see "exit")
        terminatedBy = signal
        void worker.terminate()
        return
      }
      Atomics.store(flag, 0, signal === "SIGINT" ? 1 : 2)
      // The event loop sees the flag at its next progress check; set-up (building the engine) does
      // not look at it. A worker that has not stopped within the grace period and has not touched
      // the database yet (so no run row can be left behind as running) is ended.
      grace = setTimeout(() => {
        if (dbStamp(data.dbFile) !== untouched) return
        void worker.terminate()
        finish(() => reject(new RunStopped(signal, null)))
      }, STOP_GRACE_MS)
    }
    const onInt = () => onSignal("SIGINT")
    const onTerm = () => onSignal("SIGTERM")
    process.on("SIGINT", onInt)
    process.on("SIGTERM", onTerm)
    const finish = (f: () => void) => {
      if (settled) return
      settled = true
      if (grace !== undefined) clearTimeout(grace)
      process.off("SIGINT", onInt)
      process.off("SIGTERM", onTerm)
      f()
    }
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "progress") onProgress?.(m.progress)
      else if (m.type === "done") finish(() => resolve(m.report))
      else if (m.type === "interrupted") finish(() => reject(new RunStopped(m.signal, m.runId)))
      else finish(() => reject(m.error))
    })
    worker.on("error", (e) => finish(() => reject(e)))
    worker.on("exit", (code) => {
      const by = terminatedBy
      if (by === null) finish(() => reject(new Error(`the simulation worker exited with code ${code} before reporting`)))
      else {
        interruptOwnRuns(data.dbFile, by)
        finish(() => reject(new RunStopped(by, null)))
      }
    })
  })
}

