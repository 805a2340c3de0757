import type { RequestRecord } from "./engineContext.js"

/**
 * What a unique worker's work item is about, for an executor that runs it for real (live mode's
 * decoder needs the requests, their prompts and positions; the priced executor ignores it). The
 * array is the worker's own and changes after the item completes: read it when `execute` is called.
 * @example if ((item.payload as StepPayload).phase === "decode") decoder.decode(...)
 */
export interface StepPayload {
  readonly phase: "prefill" | "decode"
  readonly requests: readonly RequestRecord[]
}
