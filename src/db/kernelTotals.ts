import type { KernelRow } from "../core/trace.js"

/** One (worker, kind, window) sum of kernel batches: a `kernel_totals` row without its run id. */
export interface KernelTotal {
  readonly workerId: string
  readonly kind: string
  readonly windowNs: number
  batches: number
  queries: number
  busyNs: number
  flops: number
  bytes: number
  gpuNs: number | null
  predictedNs: number | null
  /** Handed out (written): a later row for its window starts a new sum. */
  out: boolean
}

/**
 * Sums kernel rows per worker, kind and window of `windowNs` (by the batch's end) for trace level
 * `totals`. `closed()` hands out the windows that can no longer grow: rows arrive at their batches'
 * completion (in sim in end order; live a worker's reply may come a little late), so a window is
 * closed once a row has ended two windows after it. Each sum is then written once, whole, and a
 * sim run's file does not depend on when it was flushed (float sums in one order). `all()` hands
 * out the rest at the end. A row for a window already handed out starts a new sum for it, which
 * the writer adds to the stored one.
 * @example const t = new KernelTotals(1e9); t.add(row); for (const s of t.closed()) write(s)
 */
export class KernelTotals {
  private readonly open = new Map<string, KernelTotal>()
  private readonly last = new Map<string, Map<string, KernelTotal>>()
  private latest = Number.NEGATIVE_INFINITY

  constructor(readonly windowNs: number) {
    if (!(Number.isInteger(windowNs) && windowNs > 0)) throw new Error(`KernelTotals: the window must be a positive integer of ns (got ${windowNs})`)
  }

  add(k: KernelRow): void {
    const windowNs = k.endNs - (k.endNs % this.windowNs)
    if (windowNs > this.latest) this.latest = windowNs
    // Most rows go to the sum their worker and kind added to last: two map reads, no key string.
    let kinds = this.last.get(k.workerId)
    if (kinds === undefined) this.last.set(k.workerId, (kinds = new Map()))
    let t = kinds.get(k.kind)
    if (t === undefined || t.windowNs !== windowNs || t.out) {
      const key = `${windowNs}\u0000${k.workerId}\u0000${k.kind}`
      t = this.open.get(key)
      if (t === undefined) {
        t = { workerId: k.workerId, kind: k.kind, windowNs, batches: 0, queries: 0, busyNs: 0, flops: 0, bytes: 0, gpuNs: null, predictedNs: null, out: false }
        this.open.set(key, t)
      }
      kinds.set(k.kind, t)
    }
    t.batches++
    t.queries += k.queries
    t.busyNs += k.endNs - k.startNs
    t.flops += k.flops
    t.bytes += k.bytes
    if (k.gpuNs !== undefined) t.gpuNs = (t.gpuNs ?? 0) + k.gpuNs
    if (k.predictedNs !== undefined) t.predictedNs = (t.predictedNs ?? 0) + k.predictedNs
  }

  /** The sums of windows that ended at least two windows before the latest row's, in the order first seen; forgotten here. */
  closed(): KernelTotal[] {
    const before = this.latest - this.windowNs
    const out: KernelTotal[] = []
    for (const [key, t] of this.open) {
      if (t.windowNs >= before) continue
      t.out = true
      out.push(t)
      this.open.delete(key)
    }
    return out
  }

  /** Every sum still held (the run's end), in the order first seen; forgotten here. */
  all(): KernelTotal[] {
    const out = [...this.open.values()]
    for (const t of out) t.out = true
    this.open.clear()
    return out
  }
}
