import { InputFileInvalid } from "../core/errors.js"
import type { Ns } from "../core/units.js"
import type { RequestSpec } from "../core/workload.js"
import type { TraceFormatName, TraceImport } from "./TraceImport.js"

/** One parsed row before ordering: `atNs` on any integer ns axis (only differences matter). */
export interface TraceRow {
  readonly atNs: number
  readonly uniqueTokens: number
  readonly outputTokens: number
  readonly blocks?: readonly number[]
  /** 1-based line of the row in its file, for messages. */
  readonly line?: number
}

/**
 * Latest arrival a trace may have, ns after its earliest row: sim time is integer ns in a double,
 * exact up to 2^53 ns (about 104 days).
 */
export const MAX_TRACE_SPAN_NS = Number.MAX_SAFE_INTEGER

/**
 * Orders rows by arrival (stable, so ties keep file order), rebases arrivals on the earliest row,
 * numbers requests 0..n-1 in that order, and drops rows with zero output tokens (counted in
 * `skipped`): a request that generates nothing has no TTFT or TPOT and, in BurstGPT, marks a
 * failed request. Throws InputFileInvalid (naming `where.file`, the row's line and `where.column`)
 * when the arrivals span more than MAX_TRACE_SPAN_NS.
 * @example assembleRequests("azure", [{ atNs: 5, uniqueTokens: 10, outputTokens: 2 }]).requests[0].arrivalNs // 0
 */
export const assembleRequests = (
  format: TraceFormatName,
  rows: readonly TraceRow[],
  where?: { readonly file: string; readonly column: string },
): TraceImport => {
  const kept = rows.filter((r) => r.outputTokens > 0)
  const sorted = kept.every((r, i) => i === 0 || (kept[i - 1] as TraceRow).atNs <= r.atNs)
    ? kept
    : kept.map((r, i) => ({ r, i })).sort((a, b) => a.r.atNs - b.r.atNs || a.i - b.i).map((x) => x.r)
  const base = sorted.length === 0 ? 0 : (sorted[0] as TraceRow).atNs
  const last = sorted[sorted.length - 1]
  if (last !== undefined && !(last.atNs - base <= MAX_TRACE_SPAN_NS)) {
    const spanDays = (last.atNs - base) / 86_400e9
    throw new InputFileInvalid({
      file: where?.file ?? "trace",
      ...(last.line !== undefined ? { line: last.line } : {}),
      message: `${where?.column ?? "timestamp"} is ${Number.isFinite(spanDays) ? spanDays.toPrecision(3) : "too many"} days after the earliest row; a trace may span at most 104 days (2^53 ns of simulated time): split the trace or fix the timestamp`,
    })
  }
  const requests: RequestSpec[] = sorted.map((r, id) => ({
    id,
    arrivalNs: (r.atNs - base) as Ns,
    uniqueTokens: r.uniqueTokens,
    outputTokens: r.outputTokens,
    ...(r.blocks !== undefined ? { blocks: r.blocks } : {}),
  }))
  return { format, requests, skipped: rows.length - kept.length }
}
