import type { Clock, TimerHandle } from "../core/clock.js"
import type { Ns } from "../core/units.js"

/** A pending callback; doubles as its own cancel handle. `fn === undefined` marks it cancelled. */
interface Entry extends TimerHandle {
  readonly id: number
  readonly at: number
  readonly priority: number
  fn: (() => void) | undefined
}

/**
 * The discrete-event core: integer-ns virtual time and a binary heap ordered by
 * `(at, priority, seq)` (seq = insertion order, so equal keys run FIFO). `step` runs one event,
 * `run(until)` runs every event at or before `until` and then parks the clock at `until`.
 * Cancelling is O(1) (the entry is skipped when it surfaces). Nothing here awaits: callbacks run
 * synchronously inside `step`, which is what keeps microtasks out of virtual time.
 * @example
 * const clock = new VirtualClock()
 * clock.schedule(ns(2_000), () => log("2 µs"))
 * clock.run() // clock.now() === 2000
 */
export class VirtualClock implements Clock {
  private t = 0
  private seq = 0
  private heap: Entry[] = []
  private live = 0
  /** Events executed so far (cancelled ones are not counted). */
  events = 0

  now(): Ns {
    return this.t as Ns
  }

  schedule(at: Ns, fn: () => void, priority = 0): TimerHandle {
    if (!Number.isInteger(at) || at < this.t) {
      throw new RangeError(`VirtualClock.schedule: time must be an integer ns ≥ now (${this.t}), got ${at}`)
    }
    const e: Entry = { id: this.seq++, at, priority, fn }
    this.push(e)
    this.live++
    return e
  }

  /** Runs `fn` after `delayNs` from now. */
  after(delayNs: number, fn: () => void, priority = 0): TimerHandle {
    return this.schedule((this.t + Math.round(delayNs)) as Ns, fn, priority)
  }

  cancel(handle: TimerHandle): void {
    const e = handle as Entry
    if (e.fn !== undefined) {
      e.fn = undefined
      this.live--
    }
  }

  /** Pending (not cancelled) callbacks. */
  get pending(): number {
    return this.live
  }

  /** Time of the next pending callback, or undefined when idle. */
  peek(): Ns | undefined {
    this.dropCancelled()
    const top = this.heap[0]
    return top === undefined ? undefined : (top.at as Ns)
  }

  /** Runs the next pending callback; false when there is none. */
  step(): boolean {
    this.dropCancelled()
    const e = this.pop()
    if (e === undefined) return false
    const fn = e.fn as () => void
    e.fn = undefined
    this.live--
    this.t = e.at
    this.events++
    fn()
    return true
  }

  /**
   * Runs callbacks in order until none is left or the next one lies after `until`; with `until`
   * the clock then stands at `until` (like SimPy's `run(until)`). Returns events executed.
   */
  run(until?: Ns): number {
    const start = this.events
    const limit = until ?? Number.POSITIVE_INFINITY
    for (;;) {
      this.dropCancelled()
      const top = this.heap[0]
      if (top === undefined || top.at > limit) break
      this.step()
    }
    if (until !== undefined && until > this.t) this.t = until
    return this.events - start
  }

  private dropCancelled(): void {
    const h = this.heap
    while (h.length > 0 && (h[0] as Entry).fn === undefined) this.pop()
  }

  private static less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && (a.priority < b.priority || (a.priority === b.priority && a.id < b.id)))
  }

  private push(e: Entry): void {
    const h = this.heap
    let i = h.length
    h.push(e)
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = h[p] as Entry
      if (!VirtualClock.less(e, parent)) break
      h[i] = parent
      i = p
    }
    h[i] = e
  }

  private pop(): Entry | undefined {
    const h = this.heap
    const top = h[0]
    if (top === undefined) return undefined
    const last = h.pop() as Entry
    const n = h.length
    if (n > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        let c = l
        if (r < n && VirtualClock.less(h[r] as Entry, h[l] as Entry)) c = r
        const child = h[c] as Entry
        if (!VirtualClock.less(child, last)) break
        h[i] = child
        i = c
      }
      h[i] = last
    }
    return top
  }
}
