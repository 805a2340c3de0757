import type { Clock } from "../core/clock.js"
import type { GpuExecutor } from "../core/executor.js"
import type { SchedulerLike } from "rxjs"
import type { Rng } from "../core/rng.js"
import type { Scenario } from "../core/scenario.js"
import type { KernelRow, TokenRow } from "../core/trace.js"
import type { RequestSpec } from "../core/workload.js"
import type { XstateClock } from "../actors/xstateClock.js"
import type { FlatActor } from "../actors/flatMachineLogic.js"
import type { requestMachine } from "../actors/requestMachine.js"
import type { routerMachine } from "../actors/routerMachine.js"
import type { Channel } from "../streams/channel.js"
import type { ChunkTally } from "./chunkTally.js"
import type { Resolved } from "./resolved.js"
import type { RouteTracker, RoutingModel } from "./routingModel.js"

/** A request's actor: the request machine run through its compiled table (flatMachineLogic). */
export type RequestActor = FlatActor<typeof requestMachine>

/** A request inside the engine: its actor plus the bulk counters the workers keep for it. */
export interface RequestRecord {
  readonly spec: RequestSpec
  readonly actor: RequestActor
  /** KV bytes reserved on admission. */
  readonly needBytes: number
  replica: number
  /** Decode iterations of its worker completed when it joined the decode set. */
  joinedIter: number
  /** Tokens it had when it joined (1 after prefill, 0 without). */
  genAtJoin: number
  /** Index in its worker's decode array, or -1. */
  slot: number
  /** Tokens generated, while not decoding (decoding: derived from the iteration counter). */
  generated: number
  ended: boolean
}

/** Everything the engine's parts share (one per run): the ports a mode plugs in, and the run's shared state. */
export interface EngineContext {
  readonly scenario: Scenario
  readonly resolved: Resolved
  readonly clock: Clock
  readonly scheduler: SchedulerLike
  readonly xclock: XstateClock
  readonly executor: GpuExecutor
  readonly routing: RoutingModel
  readonly trackers: RouteTracker[]
  readonly router: FlatActor<typeof routerMachine>
  readonly rng: { readonly route: Rng; readonly batcher: Rng }
  /** null when the trace level does not keep kernel rows. */
  readonly kernelRows: Channel<KernelRow> | null
  /** null unless the trace level is `tokens`. */
  readonly tokenRows: Channel<TokenRow> | null
  /**
   * Every generated token as it is accounted, for a live consumer (the HTTP server streams them).
   * Workers emit only while it is `observed`, so sim, which never subscribes, pays one check per step.
   */
  readonly tokenEvents: Channel<TokenRow>
  readonly stats: { iterations: number; prefills: number; outputTokens: number }
  /** Moska: the run's per-chunk facts, written to the sink at the end; null for other systems. */
  readonly chunkTally: ChunkTally | null
  /** Global FIFO of requests waiting for admission (head at `queueHead`). */
  readonly queue: RequestRecord[]
  queueHead: number
  /** Called once when a request ends, after its actor reached a final state. */
  readonly onEnded: (rec: RequestRecord) => void
  /** Aborts the run with a defect (broken invariant or actor error). */
  readonly defect: (err: unknown) => void
}
