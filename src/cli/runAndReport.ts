import type { SingleBar } from "cli-progress"
import { topReasons } from "../db/topReasons.js"
import { UsageError } from "../core/errors.js"
import type { Scenario } from "../core/scenario.js"
import type { RequestSpec } from "../core/workload.js"
import { resolveScenario } from "../sim/resolve.js"
import { codeVersion } from "./codeVersion.js"
import type { RunReport } from "./executeRun.js"
import { loadTraceRequests } from "./loadTraceRequests.js"
import { prepareHardware } from "./prepareHardware.js"
import { RunStopped, runInWorker } from "./runInWorker.js"

/** Options shared by `moska sim` and `moska replay --sim`. */
export interface RunOptions {
  readonly seed?: string
  readonly set: string[]
  readonly db: string
  readonly json?: boolean
  /** `--label`: stored in the run's row (`moska query runs`). */
  readonly label?: string
}

/** `--seed N` as a `--set seed=N` override, applied after the other overrides. */
export const seedOverride = (seed: string | undefined): string[] => {
  if (seed === undefined) return []
  if (!/^\d+$/.test(seed) || !Number.isSafeInteger(Number(seed))) {
    throw new UsageError({ message: `--seed must be a non-negative integer (got "${seed}")` })
  }
  return [`seed=${seed}`]
}

const fmt = (v: number | null, digits = 2) => (v === null ? "—" : v.toFixed(digits))
const int = (v: number) => v.toLocaleString("en-US")

/** The short human summary printed on stderr; rejected or failed requests get their most common reasons. */
export const humanSummary = (r: RunReport, dbFile: string): string => {
  const rows = (["ttft", "tpot", "e2e"] as const).map((m) => {
    const p = r.latencyMs[m]
    return `  ${m.toUpperCase().padEnd(5)} ${fmt(p.p50).padStart(11)} ${fmt(p.p90).padStart(11)} ${fmt(p.p99).padStart(11)} ${fmt(p.p999).padStart(11)}   n=${int(p.n)}`
  })
  return [
    `run ${r.runId}: ${r.scenario} (system ${r.system}, seed ${r.seed}) — ${fmt(r.simulatedS, 3)} s simulated in ${fmt(r.wallS, 2)} s wall, ${int(r.events)} events`,
    `  requests   ${int(r.requests.completed)} completed, ${int(r.requests.rejected)} rejected, ${int(r.requests.cancelled)} cancelled, ${int(r.requests.failed)} failed (of ${int(r.requests.total)})`,
    `  throughput ${r.throughput.outputTokensPerS === null ? "—" : int(Math.round(r.throughput.outputTokensPerS))} output tokens/s (${int(r.outputTokens)} tokens)`,
    `  latency ms ${"p50".padStart(11)} ${"p90".padStart(11)} ${"p99".padStart(11)} ${"p99.9".padStart(11)}`,
    ...rows,
    ...(r.requests.rejected + r.requests.failed > 0
      ? topReasons(dbFile, r.runId).map((x) => `  ${x.status.padEnd(10)} ${int(x.requests)} × ${x.example}${x.requests > 1 ? " (or alike)" : ""}`)
      : []),
    `  trace: ${dbFile} (moska query summary --db ${dbFile} --run ${r.runId})`,
  ].join("\n")
}

/**
 * The body of `moska sim` and `moska replay --sim`: validates everything that can be validated
 * before the database is touched (the scenario is already decoded; here the trace file and the
 * capacity), runs the simulation in a worker thread with a progress bar on a TTY, then prints one
 * JSON object on stdout (`--json`) or a summary on stderr. Signals end with exit 130 / 143.
 * @example await runAndReport(scenario, { set: [], db: "moska.db", json: true, source: "scenarios/default.yaml" })
 */
export const runAndReport = async (scenario: Scenario, opts: RunOptions & { readonly source: string; readonly traceRequests?: readonly RequestSpec[] }): Promise<void> => {
  // replay --from-run hands over a run's own requests; otherwise a trace workload's file is read here
  const traceRequests = opts.traceRequests ?? loadTraceRequests(scenario)
  prepareHardware(scenario, opts.source)
  resolveScenario(scenario) // CapacityExceeded: bad input, exit 2, nothing written
  // cli-progress loads only for a terminal
  const bar: SingleBar | undefined = process.stderr.isTTY
    ? new (await import("cli-progress")).SingleBar({
        stream: process.stderr,
        format: "sim [{bar}] {value}/{total} requests | {simS} s simulated | {eventsPerS} events/s",
        hideCursor: true,
        clearOnComplete: true,
      })
    : undefined
  const started = Date.now()
  let barStarted = false
  try {
    const report = await runInWorker({
      scenario,
      traceRequests,
      dbFile: opts.db,
      codeVersion: codeVersion(),
      label: opts.label ?? null,
      onProgress: (p) => {
        if (bar === undefined) return
        const payload = { simS: (p.simNs / 1e9).toFixed(1), eventsPerS: Math.round(p.events / Math.max(1e-3, (Date.now() - started) / 1000)).toLocaleString("en-US") }
        if (!barStarted) {
          bar.start(p.total, p.finished, payload)
          barStarted = true
        } else bar.update(p.finished, payload)
      },
    })
    if (barStarted) bar?.stop()
    if (opts.json === true) process.stdout.write(`${JSON.stringify(report)}\n`)
    else process.stderr.write(`${humanSummary(report, opts.db)}\n`)
  } catch (e) {
    if (barStarted) bar?.stop()
    if (e instanceof RunStopped) {
      process.stderr.write(`moska: ${e.message}\n`)
      // The run is stopped and what it committed is kept (its row says interrupted: the worker closed
      // the database before reporting, or was terminated and its run marked here). While the process
      // winds down (the worker thread exiting takes a while) a further signal must not find Node's
      // default action, which would end the process by the signal instead of with this exit code.
      // A listener that ends the process now, with the same code, covers both (and a wind-down that hangs).
      const code = e.signal === "SIGINT" ? 130 : 143
      process.exitCode = code
      const now = () => process.exit(code)
      process.on("SIGINT", now)
      process.on("SIGTERM", now)
      return
    }
    throw e
  }
}
