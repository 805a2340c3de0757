import { Observable, type OperatorFunction, type SchedulerLike, type Subscription } from "rxjs"

export interface WindowBatchOptions<T> {
  /** Longest the first item of a batch waits for others, in scheduler units (ns on the clock scheduler). */
  readonly windowNs: number
  /** Most rows per batch; an item that would overflow the open batch flushes it first. */
  readonly maxRows: number
  /** Rows an item adds (≤ maxRows). */
  readonly rowsOf: (item: T) => number
  readonly scheduler: SchedulerLike
}

/**
 * Time-window batching: a batch opens with its first item and is emitted when its rows reach
 * `maxRows` (at once) or `windowNs` after it opened, whichever comes first. Unlike `bufferTime`,
 * the window starts at the first item, not on a free-running period, and nothing is emitted
 * empty. On completion the open batch is flushed.
 * @example routed$.pipe(windowBatch({ windowNs: 50_000, maxRows: 64, rowsOf: (s) => s.rows, scheduler }))
 */
export const windowBatch =
  <T>(opts: WindowBatchOptions<T>): OperatorFunction<T, T[]> =>
  (source) =>
    new Observable<T[]>((subscriber) => {
      let batch: T[] = []
      let rows = 0
      let timer: Subscription | undefined
      const flush = (): void => {
        timer?.unsubscribe()
        timer = undefined
        if (batch.length === 0) return
        const out = batch
        batch = []
        rows = 0
        subscriber.next(out)
      }
      const sub = source.subscribe({
        next(item) {
          const r = opts.rowsOf(item)
          if (batch.length > 0 && rows + r > opts.maxRows) flush()
          batch.push(item)
          rows += r
          if (rows >= opts.maxRows) flush()
          else if (timer === undefined) timer = opts.scheduler.schedule(flush, opts.windowNs)
        },
        error: (e) => subscriber.error(e),
        complete() {
          flush()
          subscriber.complete()
        },
      })
      return () => {
        timer?.unsubscribe()
        sub.unsubscribe()
      }
    })
