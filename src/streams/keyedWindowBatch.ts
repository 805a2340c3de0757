import { Observable, type OperatorFunction, type SchedulerLike, type Subscription } from "rxjs"

export interface KeyedWindowBatchOptions<K, T> {
  readonly keyOf: (item: T) => K
  readonly rowsOf: (item: T) => number
  /** Longest a key's oldest item waits, in scheduler units; 0 = flush at the end of the instant. */
  readonly windowNs: number
  /** Most rows per key batch; an item that would overflow its key's batch flushes it first. */
  readonly maxRows: number
  readonly scheduler: SchedulerLike
}

/** One key's batch. */
export interface KeyedBatch<K, T> {
  readonly key: K
  readonly items: readonly T[]
  readonly rows: number
}

/**
 * Per-key time windows (the SharedBatcher's per-chunk policy in exact mode): each key's batch
 * opens with its first item and is flushed when it reaches `maxRows` (alone, at once) or when its
 * window expires. Keys whose windows expire at the same instant are emitted together as one array
 * (one launch for many chunks). On completion everything pending is flushed, oldest deadline first.
 * @example queries$.pipe(keyedWindowBatch({ keyOf: (q) => q.chunk, rowsOf: (q) => q.rows, windowNs: 0, maxRows: 64, scheduler }))
 */
export const keyedWindowBatch =
  <K, T>(opts: KeyedWindowBatchOptions<K, T>): OperatorFunction<T, KeyedBatch<K, T>[]> =>
  (source) =>
    new Observable<KeyedBatch<K, T>[]>((subscriber) => {
      const open = new Map<K, { items: T[]; rows: number; deadline: number }>()
      const due = new Map<number, { keys: Set<K>; timer: Subscription }>()
      const take = (key: K): KeyedBatch<K, T> | undefined => {
        const b = open.get(key)
        if (b === undefined) return undefined
        open.delete(key)
        const d = due.get(b.deadline)
        if (d !== undefined) {
          d.keys.delete(key)
          if (d.keys.size === 0) {
            d.timer.unsubscribe()
            due.delete(b.deadline)
          }
        }
        return { key, items: b.items, rows: b.rows }
      }
      const expire = (deadline: number): void => {
        const d = due.get(deadline)
        if (d === undefined) return
        const out: KeyedBatch<K, T>[] = []
        for (const key of [...d.keys]) {
          const b = take(key)
          if (b !== undefined) out.push(b)
        }
        if (out.length > 0) subscriber.next(out)
      }
      const sub = source.subscribe({
        next(item) {
          const key = opts.keyOf(item)
          const r = opts.rowsOf(item)
          let b = open.get(key)
          if (b !== undefined && b.rows + r > opts.maxRows) {
            subscriber.next([take(key) as KeyedBatch<K, T>])
            b = undefined
          }
          if (b === undefined) {
            const deadline = opts.scheduler.now() + opts.windowNs
            b = { items: [], rows: 0, deadline }
            open.set(key, b)
            let d = due.get(deadline)
            if (d === undefined) {
              d = { keys: new Set(), timer: opts.scheduler.schedule(() => expire(deadline), opts.windowNs) }
              due.set(deadline, d)
            }
            d.keys.add(key)
          }
          b.items.push(item)
          b.rows += r
          if (b.rows >= opts.maxRows) subscriber.next([take(key) as KeyedBatch<K, T>])
        },
        error: (e) => subscriber.error(e),
        complete() {
          for (const deadline of [...due.keys()].sort((a, b) => a - b)) expire(deadline)
          subscriber.complete()
        },
      })
      return () => {
        for (const d of due.values()) d.timer.unsubscribe()
        sub.unsubscribe()
      }
    })
