import type { Ns } from "../core/units.js"
import type { RequestSpec } from "../core/workload.js"

/**
 * Applies a trace workload's `limit` (keep the first N requests in arrival order) and `timeScale`
 * (multiply every arrival, hence every gap, by the factor; 0.5 = twice the load), rounding to
 * integer ns. Returns the input unchanged when neither applies.
 * @example applyTraceOptions(requests, { timeScale: 0.5, limit: 100 })
 */
export const applyTraceOptions = (
  requests: readonly RequestSpec[],
  options: { readonly timeScale?: number; readonly limit?: number | undefined },
): readonly RequestSpec[] => {
  const limited = options.limit !== undefined && options.limit < requests.length ? requests.slice(0, options.limit) : requests
  const scale = options.timeScale ?? 1
  if (scale === 1) return limited
  return limited.map((r) => ({ ...r, arrivalNs: Math.round(r.arrivalNs * scale) as Ns }))
}
