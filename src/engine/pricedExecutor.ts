import { Observable } from "rxjs"
import { Priority, type Clock } from "../core/clock.js"
import type { CostModel, KernelCost } from "../core/costModel.js"
import type { GpuExecutor, WorkDone, WorkItem } from "../core/executor.js"
import type { Ns } from "../core/units.js"

interface Priced {
  readonly kernels: WorkItem["kernels"]
  readonly ns: number
  readonly flops: number
  readonly bytes: number
  readonly costs: readonly KernelCost[]
}

interface Worker {
  readonly model: CostModel
  freeAt: number
  busyNs: number
  last: Priced | undefined
  before: Priced | undefined
}

/**
 * `GpuExecutor` that prices work instead of running it: sim mode runs it on the virtual clock, and
 * live mode's `--executor priced` on the wall clock (GPU time paced by the cost model, no GPU
 * needed). One FIFO per worker id (a device runs one item at a time, items back
 * to back); an item's duration is the sum of its kernels' prices under the worker's cost model, and
 * it completes on the virtual clock at `Priority.completion`. Subscribing submits; unsubscribing
 * before completion drops the notification (the device time stays spent, as on a real GPU).
 * @example new PricedExecutor(clock, (id) => models[id]).execute(item).subscribe(d => d.endNs)
 */
export class PricedExecutor implements GpuExecutor {
  private readonly workers = new Map<string, Worker>()

  constructor(
    private readonly clock: Clock,
    private readonly modelOf: (workerId: string) => CostModel,
  ) {}

  execute(item: WorkItem): Observable<WorkDone> {
    return new Observable<WorkDone>((subscriber) => {
      const done = this.price(item)
      const handle = this.clock.schedule(
        done.endNs,
        () => {
          subscriber.next(done)
          subscriber.complete()
        },
        Priority.completion,
      )
      return () => this.clock.cancel(handle)
    })
  }

  /**
   * `execute(item).subscribe({ next, error })` without the Observable: the same price, the same
   * clock entry at the same moment, `next` called at completion. The engine's hot loop submits a few
   * items per decode step (millions in a long replay), and an Observable, its subscriber and its
   * teardown per item were a quarter of a replay's time. A throw from pricing or from `next` goes to
   * `error` (the engine's defect), not to RxJS's asynchronous unhandled-error report.
   * @example executor.submit(item, (d) => log(d.endNs), (e) => defect(e))
   */
  submit(item: WorkItem, next: (done: WorkDone) => void, error: (e: unknown) => void): void {
    let done: WorkDone
    try {
      done = this.price(item)
    } catch (e) {
      error(e)
      return
    }
    this.clock.schedule(
      done.endNs,
      () => {
        try {
          next(done)
        } catch (e) {
          error(e)
        }
      },
      Priority.completion,
    )
  }

  // Prices an item and books it on its worker's FIFO.
  private price(item: WorkItem): WorkDone {
    const w = this.worker(item.workerId)
    const { ns, flops, bytes, costs } = this.priceOf(w, item.kernels)
    const now = this.clock.now()
    const startNs = Math.max(now, w.freeAt)
    const endNs = startNs + ns
    w.freeAt = endNs
    w.busyNs += ns
    return { item, startNs: startNs as Ns, endNs: endNs as Ns, flops, bytes, costs }
  }

  // Prices are pure, and the graph hands the same kernels array again while a batch repeats (a
  // round of unchanged decode sets), so each worker keeps its last two priced arrays (a link
  // alternates q out and o back).
  private priceOf(w: Worker, kernels: WorkItem["kernels"]): Priced {
    if (w.last !== undefined && w.last.kernels === kernels) return w.last
    if (w.before !== undefined && w.before.kernels === kernels) {
      const hit = w.before
      w.before = w.last
      w.last = hit
      return hit
    }
    const costs: KernelCost[] = []
    let ns = 0
    let flops = 0
    let bytes = 0
    // A new array often repeats kernels of the last one at the same places (iterationWork hands
    // out the same dense, router and merge specs while B is unchanged): their prices are reused.
    const lastKernels = w.last?.kernels
    const lastCosts = w.last?.costs
    for (let i = 0; i < kernels.length; i++) {
      const k = kernels[i] as WorkItem["kernels"][number]
      const c = lastKernels !== undefined && lastKernels[i] === k ? (lastCosts as readonly KernelCost[])[i] as KernelCost : w.model.price(k)
      costs.push(c)
      ns += c.ns
      flops += c.flops
      bytes += c.bytes
    }
    w.before = w.last
    w.last = { kernels, ns, flops, bytes, costs }
    return w.last
  }

  /** Time at which `workerId` finishes everything submitted so far. */
  freeAtNs(workerId: string): number {
    return this.workers.get(workerId)?.freeAt ?? 0
  }

  /** Busy ns per worker so far (for utilization facts). */
  busy(): ReadonlyMap<string, number> {
    return new Map([...this.workers].map(([id, w]) => [id, w.busyNs]))
  }

  private worker(id: string): Worker {
    let w = this.workers.get(id)
    if (w === undefined) {
      w = { model: this.modelOf(id), freeAt: 0, busyNs: 0, last: undefined, before: undefined }
      this.workers.set(id, w)
    }
    return w
  }
}
