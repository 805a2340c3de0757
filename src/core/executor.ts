import type { Observable } from "rxjs"
import type { KernelCost } from "./costModel.js"
import type { KernelSpec } from "./kernels.js"
import type { Ns } from "./units.js"

/** One unit of GPU work a worker submits: kernels run back to back on one device. */
export interface WorkItem {
  /** Worker (device) that runs it, e.g. `unique-0`, `shared-1`. */
  readonly workerId: string
  /** Trace kind, e.g. `unique.iteration`, `shared.chunk`, `shared.iteration`, `transfer`. */
  readonly label: string
  readonly kernels: readonly KernelSpec[]
  /** Chunk id for per-chunk work, else undefined. */
  readonly chunkId?: number
  /** Query rows (or requests) in the item, for traces. */
  readonly queries: number
  /** Backend-specific data (tensors in live mode); sim ignores it. */
  readonly payload?: unknown
}

/** Completion of a `WorkItem`. */
export interface WorkDone {
  readonly item: WorkItem
  readonly startNs: Ns
  readonly endNs: Ns
  readonly flops: number
  readonly bytes: number
  readonly costs: readonly KernelCost[]
  /** Backend output (sampled tokens in live mode). */
  readonly output?: unknown
  /** Live: GPU time measured with timestamp queries (ns). */
  readonly gpuNs?: number
  /** Live: the cost model's price of the same work (ns). */
  readonly predictedNs?: number
}

/**
 * Port: runs GPU work. Work submitted to one worker id runs in FIFO order, one item at a time
 * (one stream per device); the returned Observable emits one `WorkDone` and completes.
 * `PricedExecutor` completes after the cost model's price (on the virtual clock in sim); `WebGpuExecutor` when the GPU queue reports done.
 * @example executor.execute(item).subscribe(done => log(done.endNs - done.startNs))
 */
export interface GpuExecutor {
  execute(item: WorkItem): Observable<WorkDone>
  /**
   * When `workerId` is expected to finish everything submitted so far (ns of the run's clock), so a
   * pool can send work to the worker that frees first. The priced executor knows it exactly; a real
   * device answers from what it has observed (submitted work priced by recent measured durations).
   */
  freeAtNs(workerId: string): number
  /**
   * The graph cancelled a request before it finished (a client went away): anything the executor
   * holds for it (a KV slot on a real device) can go. Called at a step boundary of its worker.
   */
  release?(requestId: number): void
}
