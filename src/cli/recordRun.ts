import type Database from "better-sqlite3"
import type { Scenario } from "../core/scenario.js"
import { traceWindowNs } from "../core/traceWindowNs.js"
import type { RequestSpec } from "../core/workload.js"
import { openTraceDb } from "../db/openTraceDb.js"
import { HEARTBEAT_EVERY_MS } from "../db/runLiveness.js"
import { runRecords } from "../db/runRecords.js"
import { SqliteTraceSink } from "../db/SqliteTraceSink.js"
import { summarizeRun, type RunSummary } from "../db/summarizeRun.js"
import { resolveScenario } from "../sim/resolve.js"
import { runSimulation, type SimulationResult } from "../sim/runSimulation.js"

/** Progress of a running simulation, as the engine reports it. */
export interface RunProgress {
  readonly simNs: number
  readonly events: number
  readonly finished: number
  readonly total: number
}

/** The one JSON object `moska sim --json` prints. Everything but `runId` and `wallS` is a function of scenario and seed. */
export interface RunReport extends RunSummary {
  readonly runId: number
  readonly mode: "sim" | "live"
  readonly system: string
  readonly scenario: string
  readonly seed: number
  readonly simulatedS: number
  readonly wallS: number
  readonly events: number
  readonly iterations: number
  readonly engine: {
    readonly requests: SimulationResult["requests"]
    readonly outputTokens: number
    readonly config: SimulationResult["config"]
  }
}

/** Thrown from the progress callback to stop the simulation loop when a signal arrives. */
export class RunInterrupted extends Error {
  /** The run marked interrupted, once known. */
  runId: number | null = null
  constructor(readonly signal: "SIGINT" | "SIGTERM") {
    super(`interrupted by ${signal}`)
  }
}

const BAD_INPUT = new Set(["ScenarioInvalid", "InputFileInvalid", "UsageError", "CapacityExceeded"])
const isBadInput = (e: unknown): boolean =>
  typeof e === "object" && e !== null && "_tag" in e && BAD_INPUT.has(String((e as { _tag: unknown })._tag))

/**
 * Runs one validated scenario in sim mode and records it, its device files (`hardware.devices`)
 * already in this thread's GPU registry (executeRun loads them first): checks capacity before touching the
 * database, streams trace rows through a batched SqliteTraceSink (the database and run row are
 * created at the first commit, so a configuration the engine rejects leaves nothing behind; commits
 * come every 10,000 rows or every second, each stamping the run's heartbeat), then reads the
 * summary back from the views. When `interrupted()` returns a signal, the loop is stopped at the
 * next progress report, the requests in flight are recorded as cancelled with the tokens they
 * had, buffered rows are flushed and the run is marked interrupted.
 * Synchronous: the CLI runs it in a worker thread so signals reach the main thread. Kept apart
 * from executeRun so that a worker whose scenario names no device file does not load effect/Schema
 * (device files decode with it).
 * @example const report = recordRun({ scenario, dbFile: "moska.db", codeVersion: "dev", clock: Date.now })
 */
export const recordRun = (input: {
  readonly scenario: Scenario
  readonly traceRequests?: readonly RequestSpec[] | undefined
  readonly dbFile: string
  readonly codeVersion: string
  /** Free-form run label for the runs row (`--label`). */
  readonly label?: string | null
  /** Wall clock in ms, for run metadata only. */
  readonly clock: () => number
  readonly onProgress?: (p: RunProgress) => void
  readonly interrupted?: () => "SIGINT" | "SIGTERM" | null
}): RunReport => {
  const { scenario } = input
  resolveScenario(scenario) // throws CapacityExceeded before anything is written
  const t0 = input.clock()
  let opened: { db: Database.Database; runId: number } | undefined
  const sink = new SqliteTraceSink({
    level: scenario.trace,
    windowNs: traceWindowNs(scenario),
    open: () => {
      const db = openTraceDb(input.dbFile)
      const runId = runRecords.insertRun(db, {
        mode: "sim",
        system: scenario.system,
        scenarioName: scenario.name,
        scenarioJson: JSON.stringify(scenario),
        seed: scenario.seed,
        startedAt: new Date(t0).toISOString(),
        codeVersion: input.codeVersion,
        hardware: JSON.stringify(scenario.hardware),
        label: input.label ?? null,
      })
      opened = { db, runId }
      return opened
    },
  })
  const wallS = () => (input.clock() - t0) / 1000
  // Rows reach the disk at least every HEARTBEAT_EVERY_MS of wall time (not only every 10,000
  // rows), and each commit or beat stamps the run, so a killed process loses about a second of
  // rows and its run can be told from a live one (src/db/runLiveness.ts).
  let lastBeat = t0
  const beat = (): void => {
    const now = input.clock()
    if (now - lastBeat < HEARTBEAT_EVERY_MS) return
    lastBeat = now
    sink.flush()
    if (opened !== undefined) runRecords.heartbeat(opened.db, opened.runId, new Date(now).toISOString())
  }
  let result: SimulationResult
  try {
    result = runSimulation({
      scenario,
      sink,
      ...(input.traceRequests !== undefined ? { traceRequests: input.traceRequests } : {}),
      onProgress: (p) => {
        const signal = input.interrupted?.() ?? null
        if (signal !== null) throw new RunInterrupted(signal)
        beat()
        input.onProgress?.(p)
      },
    })
  } catch (e) {
    if (!(isBadInput(e) && !sink.connected)) {
      sink.flush()
      const { db, runId } = sink.connect()
      runRecords.finishRun(db, runId, {
        status: e instanceof RunInterrupted ? "interrupted" : "failed",
        finishedAt: new Date(input.clock()).toISOString(),
        wallS: wallS(),
        error: e instanceof Error ? e.message : String(e),
      })
      if (e instanceof RunInterrupted) e.runId = runId
    }
    opened?.db.close()
    throw e
  }
  try {
    sink.flush()
    const { db, runId } = sink.connect()
    const summary = summarizeRun(db, runId)
    const report: RunReport = {
      runId,
      mode: "sim",
      system: scenario.system,
      scenario: scenario.name,
      seed: scenario.seed,
      ...summary,
      simulatedS: result.simulatedNs / 1e9,
      wallS: wallS(),
      events: result.events,
      iterations: result.iterations,
      engine: { requests: result.requests, outputTokens: result.outputTokens, config: result.config },
    }
    runRecords.finishRun(db, runId, {
      status: "finished",
      finishedAt: new Date(input.clock()).toISOString(),
      wallS: report.wallS,
      simulatedNs: result.simulatedNs,
      events: result.events,
      summaryJson: JSON.stringify({ ...report, wallS: undefined }),
    })
    return report
  } finally {
    opened?.db.close()
  }
}
