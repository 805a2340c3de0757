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
}
