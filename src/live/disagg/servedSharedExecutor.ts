import { Observable } from "rxjs"
import { Priority, type Clock } from "../../core/clock.js"
import type { CostModel } from "../../core/costModel.js"
import type { GpuExecutor, WorkDone, WorkItem } from "../../core/executor.js"
import { priceKernels } from "../../core/priceKernels.js"
import type { Ns } from "../../core/units.js"

/**
 * The executor of a WebGPU shared worker's own work items (the engine's `shared.*` items). The real
 * shared attention of a step runs earlier, inside the unique worker's decode step, as one data-link
 * request per layer answered by this worker's SharedServer; the item the engine sends after that
 * step is its bookkeeping, so it completes at once. Its row carries, as `gpuNs`, the wall time this
 * worker's server spent answering since the previous item (the step's shared work), and the cost
 * model's price as `predictedNs`.
 * @example const ex = new ServedSharedExecutor(clock, modelOf, () => served.takeNs())
 */
export class ServedSharedExecutor implements GpuExecutor {
  constructor(
    private readonly clock: Clock,
    private readonly modelOf: (workerId: string) => CostModel,
    /** Ns the server worked since the last call (and resets it). */
    private readonly takeServedNs: () => number,
  ) {}

  execute(item: WorkItem): Observable<WorkDone> {
    return new Observable<WorkDone>((subscriber) => {
      const now = this.clock.now()
      const { costs, ns, flops, bytes } = priceKernels(this.modelOf(item.workerId), item.kernels)
      const done: WorkDone = { item, startNs: now as Ns, endNs: now as Ns, flops, bytes, costs, gpuNs: Math.round(this.takeServedNs()), predictedNs: Math.round(ns) }
      const h = this.clock.schedule(now as Ns, () => {
        subscriber.next(done)
        subscriber.complete()
      }, Priority.completion)
      return () => this.clock.cancel(h)
    })
  }

  freeAtNs(): number {
    return this.clock.now()
  }
}
