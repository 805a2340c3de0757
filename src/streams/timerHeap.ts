import type { TimerHandle } from "../core/clock.js"

/**
 * A pending callback; doubles as its own cancel handle. `fn === undefined` marks it cancelled or run.
 * `queued` says whether the heap still holds it (a cancelled entry stays until it surfaces), so a
 * clock can reuse an entry (`Clock.reschedule`) only once it is out of the heap.
 */
export interface TimerEntry extends TimerHandle {
  id: number
  at: number
  priority: number
  fn: (() => void) | undefined
  queued: boolean
}

/**
 * A run entry made pending again for `Clock.reschedule`: a fresh `id` (so it orders as a new
 * `schedule` would), its new time, priority and callback. Throws if the heap still holds it.
 */
export const reuseTimerEntry = (handle: TimerHandle, id: number, at: number, priority: number, fn: () => void, clock: string): TimerEntry => {
  const e = handle as TimerEntry
  if (e.queued) throw new Error(`${clock}.reschedule: the entry is still queued (pending or cancelled)`)
  e.id = id
  e.at = at
  e.priority = priority
  e.fn = fn
  return e
}

const less = (a: TimerEntry, b: TimerEntry): boolean =>
  a.at < b.at || (a.at === b.at && (a.priority < b.priority || (a.priority === b.priority && a.id < b.id)))

/**
 * The one ordering of clock callbacks, `(at, priority, seq)`, as a binary heap: the virtual clock
 * (sim) and the wall clock (live) both keep their pending callbacks here, so one graph runs its
 * callbacks in the same order in both modes. Cancelled entries are dropped lazily from the top.
 * @example const h = new TimerHeap(); h.push({ id: 0, at: 5, priority: 0, fn, queued: false }); h.top()?.at // 5
 */
export class TimerHeap {
  private readonly h: TimerEntry[] = []

  /** The next live entry (cancelled ones at the top are dropped first), or undefined. */
  top(): TimerEntry | undefined {
    const h = this.h
    while (h.length > 0 && (h[0] as TimerEntry).fn === undefined) this.pop()
    return h[0]
  }

  push(e: TimerEntry): void {
    const h = this.h
    let i = h.length
    e.queued = true
    h.push(e)
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = h[p] as TimerEntry
      if (!less(e, parent)) break
      h[i] = parent
      i = p
    }
    h[i] = e
  }

  /** Removes and returns the first entry in order (live or cancelled). */
  pop(): TimerEntry | undefined {
    const h = this.h
    const top = h[0]
    if (top === undefined) return undefined
    top.queued = false
    const last = h.pop() as TimerEntry
    const n = h.length
    if (n > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        let c = l
        if (r < n && less(h[r] as TimerEntry, h[l] as TimerEntry)) c = r
        const child = h[c] as TimerEntry
        if (!less(child, last)) break
        h[i] = child
        i = c
      }
      h[i] = last
    }
    return top
  }
}
