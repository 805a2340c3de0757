import * as Either from "effect/Either"
import { existsSync } from "node:fs"
import { InputFileInvalid, UsageError } from "../core/errors.js"
import type { Scenario } from "../core/scenario.js"
import { loadScenarioText } from "../core/scenarioLoader.js"
import type { Ns } from "../core/units.js"
import type { RequestSpec } from "../core/workload.js"
import { openTraceDb } from "../db/openTraceDb.js"

/**
 * What `moska replay --from-run N` replays: run N's own scenario (as stored in `runs.scenario_json`,
 * `--set` overrides applied on top, e.g. a calibrated device) with its workload replaced by the
 * run's observed arrivals and token counts (each request's arrival, unique tokens and requested
 * output tokens, from the `requests` rows). Routing follows the scenario's law: a live run's
 * per-step router choices are not stored per request.
 * @example const { scenario, traceRequests } = loadRunReplay("live.db", 3, ["hardware.unique.gpu=H200-cal"])
 */
export const loadRunReplay = (dbFile: string, runId: number, overrides: readonly string[]): { scenario: Scenario; traceRequests: RequestSpec[] } => {
  if (!existsSync(dbFile)) throw new InputFileInvalid({ file: dbFile, message: "no such trace database (--from-db or --db)" })
  const db = openTraceDb(dbFile, { readonly: true })
  try {
    const run = db.prepare("SELECT scenario_json, mode FROM runs WHERE run_id = ?").get(runId) as { scenario_json: string; mode: string } | undefined
    if (run === undefined) throw new UsageError({ message: `--from-run ${runId}: no such run in ${dbFile} (moska query runs --db ${dbFile} lists them)` })
    const rows = db.prepare("SELECT request_id, arrival_ns, unique_tokens, requested_tokens FROM requests WHERE run_id = ? ORDER BY arrival_ns, request_id").all(runId) as Array<{ request_id: number; arrival_ns: number; unique_tokens: number; requested_tokens: number }>
    if (rows.length === 0) throw new UsageError({ message: `--from-run ${runId}: the run has no request rows to replay` })
    const stored = JSON.parse(run.scenario_json) as Record<string, unknown>
    const source = `${dbFile} run ${runId}`
    const text = JSON.stringify({ ...stored, workload: { kind: "trace", path: source } })
    const scenario = Either.getOrThrowWith(loadScenarioText(text, { source, overrides }), (e) => e)
    const traceRequests = rows.map((r) => ({ id: r.request_id, arrivalNs: r.arrival_ns as Ns, uniqueTokens: r.unique_tokens, outputTokens: r.requested_tokens }))
    return { scenario, traceRequests }
  } finally {
    db.close()
  }
}
