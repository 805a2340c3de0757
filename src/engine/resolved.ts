import type { CostModel } from "../core/costModel.js"
import type { DType } from "../core/dtype.js"
import type { LinkSpec } from "../core/hardware.js"
import type { ModelSpec } from "../core/model.js"
import type { Scenario } from "../core/scenario.js"

export type System = Scenario["system"]
export type RoutingConfig = Scenario["corpus"]["routing"]

/** Everything a run needs from the scenario, with presets expanded and derived sizes computed once. */
export interface Resolved {
  readonly system: System
  readonly model: ModelSpec
  readonly precision: { readonly kv: DType; readonly weights: DType; readonly math: DType }
  /** KV bytes per context token over all layers. */
  readonly kvBytesPerToken: number
  readonly weightBytes: number
  readonly corpus: {
    readonly sharedTokens: number
    readonly chunkTokens: number
    readonly chunks: number
    /** Chunks each query selects (moska); all chunks for the other systems' accounting. */
    readonly topK: number
    readonly routing: RoutingConfig
    readonly bytes: number
  }
  /** moska with `policy.disaggregated`: shared attention on the Shared-KV pool over the interconnect. */
  readonly disaggregated: boolean
  /** The corpus lives in each unique worker's memory (prefix, cascade, non-disaggregated moska). */
  readonly corpusOnUnique: boolean
  readonly unique: PoolResolved
  /** Present only when disaggregated. */
  readonly shared: PoolResolved | null
  readonly link: LinkSpec
  /** Sub-steps per decode iteration: 1 (iteration granularity) or the layer count. */
  readonly stepsPerIteration: number
  /** Bytes of unique KV (plus the private corpus copy) available to requests on one unique worker. */
  readonly kvBudgetBytes: number
}

export interface PoolResolved {
  /** Independent workers (replicas), or 1 for a sharded pool. */
  readonly workers: number
  readonly parallel: "replicas" | "sharded"
  readonly cost: CostModel
  /** memoryFraction · HBM of one worker. */
  readonly capacityBytes: number
}

/** KV bytes a request reserves on admission: its final unique context (prompt + output), plus its own corpus copy under `private`. */
export const requestKvBytes = (r: Resolved, uniqueTokens: number, outputTokens: number): number =>
  (uniqueTokens + outputTokens + (r.system === "private" ? r.corpus.sharedTokens : 0)) * r.kvBytesPerToken
