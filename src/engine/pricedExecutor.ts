import { Observable } from "rxjs"
import { Priority, type Clock, type TimerHandle } from "../core/clock.js"
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
      const p = this.book(item)
      const startNs = this.bookedStart
      const done: WorkDone = { item, startNs: startNs as Ns, endNs: (startNs + p.ns) as Ns, flops: p.flops, bytes: p.bytes, costs: p.costs }
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
   * `execute(item).subscribe({ next: (d) => next(d, arg), error })` without the Observable: the same
   * price, the same clock entry at the same moment (same order), `next(done, arg)` called at
   * completion. The engine's hot loop submits a few items per decode step (5.8M in the Mooncake
   * replay), so nothing is allocated per item once warm: the completion is a pooled record that is
   * the `WorkDone` itself and owns a reusable clock entry (`Clock.reschedule`) and its callback, and
   * `arg` carries what a closure would have captured. The `WorkDone` is valid only during `next`
   * (the record is reused afterwards): read it there, do not keep it. A throw from pricing or from
   * `next` goes to `error` (the engine's defect), not to RxJS's asynchronous unhandled-error report.
   * @example executor.submit(item, (d, log) => log(d.endNs), (e) => defect(e), console.log)
   */
  submit<A>(item: WorkItem, next: (done: WorkDone, arg: A) => void, error: (e: unknown) => void, arg: A): void {
    let p: Priced
    try {
      p = this.book(item)
    } catch (e) {
      error(e)
      return
    }
    const c = this.free.pop() ?? new Completion(this.free)
    const startNs = this.bookedStart
    c.item = item
    c.startNs = startNs as Ns
    c.endNs = (startNs + p.ns) as Ns
    c.flops = p.flops
    c.bytes = p.bytes
    c.costs = p.costs
    c.next = next as (done: WorkDone, arg: unknown) => void
    c.error = error
    c.arg = arg
    c.handle = c.handle === undefined ? this.clock.schedule(c.endNs, c.fire, Priority.completion) : this.clock.reschedule(c.handle, c.endNs, c.fire, Priority.completion)
  }

  // Completion records not in flight (see `submit`).
  private readonly free: Completion[] = []
  // Start of the item `book` booked last (a field rather than a returned object per item).
  private bookedStart = 0

  // Prices an item and books it on its worker's FIFO; its start is left in `bookedStart`.
  private book(item: WorkItem): Priced {
    const w = this.worker(item.workerId)
    const p = this.priceOf(w, item.kernels)
    const now = this.clock.now()
    const startNs = Math.max(now, w.freeAt)
    const endNs = startNs + p.ns
    w.freeAt = endNs
    w.busyNs += p.ns
    this.bookedStart = startNs
    return p
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
    // sized up front: a push-grown array would take a 17-slot store for the usual 4 kernels
    const costs: KernelCost[] = new Array<KernelCost>(kernels.length)
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
      costs[i] = c
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

const noop = (): void => undefined

/**
 * One submitted item in flight: its `WorkDone` fields, its completion callback and argument, and the
 * clock entry it reuses. `fire` (one closure per record, not per item) runs `next`, then returns the
 * record to the free list, dropping its references so a finished item is not kept alive.
 */
class Completion implements WorkDone {
  item: WorkItem = EMPTY_ITEM
  startNs = 0 as Ns
  endNs = 0 as Ns
  flops = 0
  bytes = 0
  costs: readonly KernelCost[] = NO_COSTS
  next: (done: WorkDone, arg: unknown) => void = noop
  error: (e: unknown) => void = noop
  arg: unknown = undefined
  handle: TimerHandle | undefined = undefined

  constructor(private readonly free: Completion[]) {}

  readonly fire = (): void => {
    try {
      this.next(this, this.arg)
    } catch (e) {
      this.error(e)
    }
    this.item = EMPTY_ITEM
    this.costs = NO_COSTS
    this.next = noop
    this.error = noop
    this.arg = undefined
    this.free.push(this)
  }
}

const EMPTY_ITEM: WorkItem = { workerId: "", label: "", kernels: [], queries: 0 }
const NO_COSTS: readonly KernelCost[] = []
