import type { Clock, TimerHandle } from "../core/clock.js"
import { reuseTimerEntry, TimerHeap, type TimerEntry as Entry } from "../streams/timerHeap.js"
import type { Ns } from "../core/units.js"

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
  private readonly heap = new TimerHeap()
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
    const e: Entry = { id: this.seq++, at, priority, fn, queued: false }
    this.heap.push(e)
    this.live++
    return e
  }

  reschedule(handle: TimerHandle, at: Ns, fn: () => void, priority = 0): TimerHandle {
    if (!Number.isInteger(at) || at < this.t) {
      throw new RangeError(`VirtualClock.reschedule: time must be an integer ns ≥ now (${this.t}), got ${at}`)
    }
    const e = reuseTimerEntry(handle, this.seq++, at, priority, fn, "VirtualClock")
    this.heap.push(e)
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
    const top = this.heap.top()
    return top === undefined ? undefined : (top.at as Ns)
  }

  /** Runs the next pending callback; false when there is none. */
  step(): boolean {
    if (this.heap.top() === undefined) return false
    const e = this.heap.pop() as Entry
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
      const top = this.heap.top()
      if (top === undefined || top.at > limit) break
      this.step()
    }
    if (until !== undefined && until > this.t) this.t = until
    return this.events - start
  }
}
