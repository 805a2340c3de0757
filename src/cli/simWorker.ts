/**
 * Worker-thread entry of `moska sim` / `moska replay`: runs executeRun off the main thread so that
 * SIGINT/SIGTERM (delivered to the main thread's event loop) can stop the synchronous simulation
 * loop through a shared flag. Messages: `progress`, then `done` with the report or `error`.
 */
import { parentPort, workerData } from "node:worker_threads"
import { recordRun, RunInterrupted } from "./recordRun.js"
import type { WorkerInput, WorkerMessage } from "./runInWorker.js"

const input = workerData as WorkerInput
const flag = new Int32Array(input.stop)
const post = (m: WorkerMessage) => parentPort?.postMessage(m)
let lastPost = 0

// No top-level await: the bundled worker (scripts/bundle.mjs) is CommonJS, which starts faster than an ES module.
const run = async (): Promise<void> => {
  try {
    // Device files into this thread's GPU registry (the main thread checked the names). Loaded only
    // when the scenario names some: decoding them loads effect/Schema, most of a worker's start-up.
    if ((input.scenario.hardware.devices ?? []).length > 0) (await import("./prepareHardware.js")).prepareHardware(input.scenario, input.scenario.name)
    const report = recordRun({
      scenario: input.scenario,
      traceRequests: input.traceRequests,
      dbFile: input.dbFile,
      codeVersion: input.codeVersion,
      label: input.label,
      clock: Date.now,
      interrupted: () => {
        const v = Atomics.load(flag, 0)
        return v === 1 ? "SIGINT" : v === 2 ? "SIGTERM" : null
      },
      onProgress: (p) => {
        const now = Date.now()
        if (now - lastPost >= 100) {
          lastPost = now
          post({ type: "progress", progress: p })
        }
      },
    })
    post({ type: "done", report })
  } catch (e) {
    if (e instanceof RunInterrupted) {
      post({ type: "interrupted", signal: e.signal, runId: e.runId })
    } else if (typeof e === "object" && e !== null && "_tag" in e) {
      // tagged errors keep their fields; src/cli/exit.ts formats them from those
      post({ type: "error", error: { ...(e as object), message: (e as unknown as Error).message } })
    } else {
      post({ type: "error", error: { message: e instanceof Error ? (e.stack ?? e.message) : String(e) } })
    }
  }
}

void run()
