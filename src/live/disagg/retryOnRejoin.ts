import { Observable, type Subscription } from "rxjs"
import { Priority, type Clock, type TimerHandle } from "../../core/clock.js"
import { WorkerLost } from "../../core/errors.js"
import type { WorkDone, WorkItem } from "../../core/executor.js"
import type { Ns } from "../../core/units.js"
import type { LiveExecutor } from "../runLive.js"

export interface RetryOnRejoinOptions {
  /** The deployment's executor (a RemoteExecutor): it fails a lost worker's items with WorkerLost once its rejoin window has passed. */
  readonly inner: LiveExecutor
  readonly clock: Clock
  /** Whether a live process holds `workerId` now. */
  readonly holds: (workerId: string) => boolean
  /** How often, while items wait, whether their worker is back is checked. */
  readonly pollNs: number
  /** Once per loss the window did not cover (the server fails the requests whose work the worker held); the items wait on. */
  readonly onLost: (lost: WorkerLost) => void
}

interface Waiting {
  readonly workerId: string
  readonly retry: () => void
}

/**
 * The executor of a server that outlives its workers (`moska serve --bind`): a WorkerLost from the
 * inner executor is not passed on, since the graph would take it for a defect and stop serving.
 * The item waits instead, and is run again on the inner executor once a process holds its worker
 * id again (checked every `pollNs` on the run's clock), so the step that holds it completes and
 * the engine drops the requests it failed meanwhile at that step boundary. `onLost` tells the
 * server at once (ServingEngine.failLostWorker fails the requests whose work the lost worker held),
 * so its clients are not left waiting for a worker that may never come. Running an item again is
 * right for priced workers, which hold no state (as RemoteExecutor's rejoin already assumes); a
 * real device's KV would have gone with its process. Other errors pass through.
 * @example new RetryOnRejoin({ inner: remote, clock, holds: (id) => !status().lost.includes(id), pollNs: 250e6, onLost: (e) => serving.failLostWorker(e.workerId, `WorkerLost: ${e.message}`) })
 */
export class RetryOnRejoin implements LiveExecutor {
  private readonly waiting = new Set<Waiting>()
  /** RemoteExecutor fails every held item of one loss with the same error: report each loss once. */
  private readonly reported = new WeakSet<object>()
  private timer: TimerHandle | undefined
  private retried = 0

  constructor(private readonly o: RetryOnRejoinOptions) {}

  execute(item: WorkItem): Observable<WorkDone> {
    return new Observable<WorkDone>((subscriber) => {
      let sub: Subscription | undefined
      let wait: Waiting | undefined
      const attempt = (): void => {
        wait = undefined
        sub = this.o.inner.execute(item).subscribe({
          next: (d) => subscriber.next(d),
          complete: () => subscriber.complete(),
          error: (e: unknown) => {
            if (!(e instanceof WorkerLost)) {
              subscriber.error(e)
              return
            }
            wait = { workerId: e.workerId, retry: () => {
              this.retried++
              attempt()
            } }
            this.waiting.add(wait)
            if (!this.reported.has(e)) {
              this.reported.add(e)
              this.o.onLost(e)
            }
            this.arm()
          },
        })
      }
      attempt()
      return () => {
        sub?.unsubscribe()
        if (wait !== undefined) this.waiting.delete(wait)
      }
    })
  }

  freeAtNs(workerId: string): number {
    return this.o.inner.freeAtNs(workerId)
  }

  release(requestId: number): void {
    this.o.inner.release?.(requestId)
  }

  facts(): Readonly<Record<string, number | string | boolean>> {
    return { ...(this.o.inner.facts?.() ?? {}), "disagg.retriedAfterLoss": this.retried, "disagg.waitingForRejoin": this.waiting.size }
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) this.o.clock.cancel(this.timer)
    this.timer = undefined
    this.waiting.clear()
    await this.o.inner.close?.()
  }

  private arm(): void {
    if (this.timer !== undefined || this.waiting.size === 0) return
    this.timer = this.o.clock.schedule((this.o.clock.now() + this.o.pollNs) as Ns, () => {
      this.timer = undefined
      for (const w of [...this.waiting]) {
        if (!this.o.holds(w.workerId)) continue
        this.waiting.delete(w)
        w.retry()
      }
      this.arm()
    }, Priority.completion)
  }
}
