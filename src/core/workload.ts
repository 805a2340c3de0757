import type { Ns } from "./units.js"

/**
 * One request as a workload or trace importer describes it, before it enters the graph.
 * @example { id: 0, arrivalNs: 0, uniqueTokens: 6758, outputTokens: 500, blocks: [0, 1, 2] }
 */
export interface RequestSpec {
  readonly id: number
  readonly arrivalNs: Ns
  /** Unique (per-request) context tokens at arrival (its prompt). */
  readonly uniqueTokens: number
  /** Output tokens to generate (≥ 1). */
  readonly outputTokens: number
  /** Trace block ids (e.g. Mooncake `hash_ids`); drive routing when `corpus.routing.kind` is `trace`. */
  readonly blocks?: readonly number[]
  /** The client's id for it (serving: the `x-request-id` header), kept in its trace row; absent in sim. */
  readonly externalId?: string
}

/**
 * Port: where requests come from (a workload generator or trace in sim and replay, HTTP in serving). Open-loop sources hand out requests in arrival order; a closed loop
 * hands out a new request (arriving at the given time) each time one ends, `concurrency` at start.
 */
export type WorkloadSource =
  | { readonly kind: "open"; readonly total: number; next(): RequestSpec | undefined; readonly meanUnique: number; readonly meanOutput: number }
  | {
      readonly kind: "closed"
      readonly total: number
      readonly concurrency: number
      next(arrivalNs: Ns): RequestSpec | undefined
      readonly meanUnique: number
      readonly meanOutput: number
    }
  /**
   * Requests handed in from outside through `engine.submit` (the HTTP server): the engine schedules
   * nothing itself and the source never ends (`total` is infinite). The means describe the traffic
   * expected, for the engine's resolved-configuration facts only.
   */
  | { readonly kind: "external"; readonly total: number; readonly meanUnique: number; readonly meanOutput: number }
