import type { FieldIssue } from "../../core/formatParseIssues.js"
import type { WorkloadConfig } from "../../core/scenario.js"
import type { RequestSpec } from "../../core/workload.js"

/** Latest virtual time a run can hold exactly: sim time is integer ns in a double. */
export const MAX_VIRTUAL_NS = Number.MAX_SAFE_INTEGER

/**
 * The problem with a trace workload's derived arrival times, if any: `timeScale` multiplies the gaps
 * (of the first `limit` requests in arrival order), and the last scaled arrival must stay an exact
 * integer ns (at most 2^53 ns, about 104 days). Used by makeWorkload, where the times are derived,
 * and by the CLI before anything runs so the message can name the file.
 * @example workloadTimeIssue({ kind: "trace", timeScale: 1e300, ... }, requests) // { path: "workload.timeScale", message: "..." }
 */
export const workloadTimeIssue = (cfg: WorkloadConfig, traceRequests: readonly RequestSpec[] | undefined): FieldIssue | undefined => {
  if (cfg.kind !== "trace" || traceRequests === undefined || traceRequests.length === 0) return undefined
  const arrivals = traceRequests.map((r) => r.arrivalNs as number).sort((a, b) => a - b)
  const kept = cfg.limit === undefined ? arrivals : arrivals.slice(0, cfg.limit)
  const first = kept[0] as number
  const spanNs = (kept[kept.length - 1] as number) - first
  const lastNs = Math.round(first + spanNs * cfg.timeScale)
  if (Number.isSafeInteger(lastNs)) return undefined
  const maxScale = (MAX_VIRTUAL_NS - first) / Math.max(1, spanNs)
  return {
    path: "workload.timeScale",
    message: `stretches the trace's ${(spanNs / 1e9).toPrecision(4)} s of arrivals to ${((spanNs * cfg.timeScale) / 1e9).toPrecision(3)} s, beyond the 2^53 ns (about 104 days) a run can simulate; use a timeScale ≤ ${maxScale.toPrecision(3)} (got ${cfg.timeScale})`,
  }
}
