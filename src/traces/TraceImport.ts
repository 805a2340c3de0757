import type { RequestSpec } from "../core/workload.js"

/** The formats moska reads; `auto` in a scenario resolves to one of these. */
export type TraceFormatName = "azure" | "burstgpt" | "mooncake"

/**
 * What an importer returns: requests in arrival order (ids 0..n-1 in that order, arrivals in ns
 * relative to the earliest row) and how many rows were skipped because they generated no tokens.
 * @example { format: "mooncake", requests: [{ id: 0, arrivalNs: 0, uniqueTokens: 6758, outputTokens: 500 }], skipped: 0 }
 */
export interface TraceImport {
  readonly format: TraceFormatName
  readonly requests: readonly RequestSpec[]
  /** Rows with zero output tokens (BurstGPT marks failed requests this way); not replayed. */
  readonly skipped: number
}
